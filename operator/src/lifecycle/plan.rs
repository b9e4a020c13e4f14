//! The planner's output and its top level: paused, no leader, scale, roll, done.

use chronik_api::NodeId;
use k8s_openapi::jiff::Timestamp;

use super::input::PlanInput;
use super::{roll, scale};
use crate::brokers::MemberChange;
use crate::crd::{OperationKind, OperationStatus, OperationStep};
use crate::validate::quorum;

/// A change the operator makes now through the brokers' HTTP API or kube.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `POST /v1/members {"id","url"}` on the leader.
    AddLearner { id: u64, url: String },
    /// `POST /v1/members/{id}/promote` on the leader.
    Promote { id: u64 },
    /// `POST /v1/leader/transfer {"target_id"}` on the leader.
    TransferLeader { from: u64, to: u64 },
    /// `DELETE /v1/members/{id}` on the leader.
    RemoveMember { id: u64 },
    /// Delete the pod; the StatefulSet (`OnDelete`) recreates it from the new template.
    DeletePod { pod: String },
}

impl Action {
    /// The broker's part of the action; `None` for a pod deletion (kube's).
    pub fn member_change(&self) -> Option<MemberChange> {
        Some(match self {
            Self::AddLearner { id, url } => MemberChange::AddLearner {
                id: *id,
                url: url.clone(),
            },
            Self::Promote { id } => MemberChange::Promote { id: *id },
            Self::TransferLeader { to, .. } => MemberChange::TransferLeader { to: *to },
            Self::RemoveMember { id } => MemberChange::Remove { id: *id },
            Self::DeletePod { .. } => return None,
        })
    }
}

/// How the cluster stands after this plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanState {
    /// The cluster matches the spec: nothing to do.
    Done,
    /// A step is being carried out or awaited.
    Progressing,
    /// The operation cannot go on without the user (e.g. a restarted pod
    /// never became Ready): `Degraded=True`, nothing else is touched.
    Blocked,
    /// `spec.paused` is set: no change to the workload.
    Paused,
}

/// The single next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What to do now, if anything (otherwise wait and look again).
    pub action: Option<Action>,
    /// StatefulSet replicas to apply; `None` leaves the StatefulSet as it is.
    pub statefulset_replicas: Option<i32>,
    /// What to record in `status.operation` (before carrying out `action`).
    pub operation: Option<OperationStatus>,
    /// `minAvailable` of the PodDisruptionBudget.
    pub pdb_min_available: i32,
    pub state: PlanState,
    /// Condition reason, e.g. `AddingLearner`, `RollStopped`.
    pub reason: String,
    /// Condition and Event message, e.g. `adding member 4 as learner`.
    pub message: String,
}

impl Plan {
    /// True when the plan starts a step other than the recorded one (or
    /// stops the roll): worth one Event, not one per poll.
    pub fn is_news(&self, recorded: Option<&OperationStatus>) -> bool {
        let key = |o: &OperationStatus| (o.kind, o.step, o.member_id, o.pod.clone());
        match (recorded, self.operation.as_ref()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(old), Some(new)) => {
                key(old) != key(new)
                    || (self.state == PlanState::Blocked && old.message != new.message)
            }
        }
    }
}

/// A step before the common fields are filled in.
pub(super) struct Step {
    pub action: Option<Action>,
    pub kind: OperationKind,
    pub step: OperationStep,
    pub member_id: Option<u64>,
    pub pod: Option<String>,
    pub revision: Option<String>,
    pub blocked: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Step {
    /// A step of `kind` about one member.
    pub fn member(kind: OperationKind, step: OperationStep, id: u64, reason: &'static str) -> Self {
        Self {
            action: None,
            kind,
            step,
            member_id: Some(id),
            pod: None,
            revision: None,
            blocked: false,
            reason,
            message: String::new(),
        }
    }
    pub fn act(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }
    pub fn say(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

/// The single next step towards the spec.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut plan = next_step(input);
    // The budget matches the pods there will be after this step.
    let pods = plan
        .statefulset_replicas
        .or(input.workload.statefulset_replicas)
        .unwrap_or(input.desired_replicas);
    plan.pdb_min_available = pdb_min_available(input, pods);
    plan
}

fn next_step(input: &PlanInput<'_>) -> Plan {
    let current = input.workload.statefulset_replicas;
    // Filled in by `plan` once the StatefulSet's replicas are known.
    let pdb = 0;
    if input.paused {
        return Plan {
            action: None,
            statefulset_replicas: None,
            operation: input.recorded.cloned(),
            pdb_min_available: pdb,
            state: PlanState::Paused,
            reason: "Paused".to_string(),
            message: "spec.paused is true: membership, StatefulSet and pods are left as they are"
                .to_string(),
        };
    }
    if current.is_none() {
        // Creation: the initial voters bootstrap themselves from --peers;
        // nothing for the lifecycle to do (status follows the StatefulSet).
        return Plan {
            action: None,
            statefulset_replicas: Some(input.desired_replicas),
            operation: None,
            pdb_min_available: pdb,
            state: PlanState::Done,
            reason: "Creating".to_string(),
            message: "creating the StatefulSet".to_string(),
        };
    }
    let Some(raft) = input.raft else {
        return Plan {
            action: None,
            statefulset_replicas: current,
            operation: input.recorded.cloned(),
            pdb_min_available: pdb,
            state: PlanState::Progressing,
            reason: "NoLeader".to_string(),
            message: "no Raft leader known: membership changes and rolls wait".to_string(),
        };
    };
    let sts_target = scale::statefulset_target(input, raft);
    if raft.unconverged_groups > 0 {
        return Plan {
            action: None,
            statefulset_replicas: Some(sts_target),
            operation: input.recorded.cloned(),
            pdb_min_available: pdb,
            state: PlanState::Progressing,
            reason: "GroupsConverging".to_string(),
            message: format!(
                "{} partition groups have not followed the membership yet",
                raft.unconverged_groups
            ),
        };
    }
    let step = scale::next(input, raft, sts_target).or_else(|| roll::next(input, raft));
    match step {
        None => Plan {
            action: None,
            statefulset_replicas: Some(sts_target),
            operation: None,
            pdb_min_available: pdb,
            state: PlanState::Done,
            reason: "Stable".to_string(),
            message: format!(
                "{} members, all voters, all pods current",
                raft.members.len()
            ),
        },
        Some(step) => finish(input, step, sts_target, pdb),
    }
}

fn finish(input: &PlanInput<'_>, step: Step, sts_target: i32, pdb: i32) -> Plan {
    let pod = step
        .pod
        .clone()
        .or_else(|| step.member_id.map(|id| input.addresses.pod_of(NodeId(id))));
    // Keep the start time while the same step is recorded.
    let started_at = input
        .recorded
        .filter(|r| {
            r.kind == step.kind
                && r.step == step.step
                && r.member_id == step.member_id
                && r.pod == pod
        })
        .and_then(|r| r.started_at.clone())
        .unwrap_or_else(|| input.now.to_string());
    Plan {
        operation: Some(OperationStatus {
            kind: step.kind,
            target_replicas: input.desired_replicas,
            step: step.step,
            member_id: step.member_id,
            pod,
            revision: step.revision,
            started_at: Some(started_at),
            message: step.message.clone(),
        }),
        action: step.action,
        statefulset_replicas: Some(sts_target),
        pdb_min_available: pdb,
        state: if step.blocked {
            PlanState::Blocked
        } else {
            PlanState::Progressing
        },
        reason: step.reason.to_string(),
        message: step.message,
    }
}

/// `minAvailable` that lets at most `voters - quorum(voters)` pods go: the
/// quorum of the current voters plus every pod that is not a voter (learners,
/// members on their way out).
fn pdb_min_available(input: &PlanInput<'_>, pods: i32) -> i32 {
    let voters = input
        .raft
        .map(|r| i32::try_from(r.voters().count()).unwrap_or(i32::MAX))
        .filter(|n| *n > 0)
        .unwrap_or(input.desired_replicas);
    let spare = voters - quorum(voters);
    (pods - spare).max(quorum(voters))
}

/// Seconds since an RFC 3339 time; `None` when it does not parse.
pub(super) fn seconds_since(since: &str, now: Timestamp) -> Option<i64> {
    let since: Timestamp = since.parse().ok()?;
    Some(now.as_second() - since.as_second())
}
