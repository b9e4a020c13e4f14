//! Scaling: Raft membership and StatefulSet replicas, one change at a time.

use super::input::{PlanInput, RaftView};
use super::plan::{Action, Step};
use chronik_api::{MemberRole, NodeId};

use crate::crd::{OperationKind, OperationStep};
use crate::validate::quorum;

/// StatefulSet replicas that keep a pod for every Raft member and never
/// create a pod before its member was added: the highest member id, or the
/// current replicas when they are between that and the spec.
pub(super) fn statefulset_target(input: &PlanInput<'_>, raft: &RaftView) -> i32 {
    // Every member keeps its pod: the pods up to its ordinal.
    let highest = raft
        .members
        .iter()
        .filter_map(|m| NodeId(m.id).ordinal())
        .map(|ordinal| i32::try_from(ordinal).map_or(i32::MAX, |o| o.saturating_add(1)))
        .max()
        .unwrap_or(0);
    let current = input
        .workload
        .statefulset_replicas
        .unwrap_or(input.desired_replicas);
    highest.max(current.min(input.desired_replicas))
}

/// The node id of the highest pod of `replicas` pods (0 for none).
fn highest_id(replicas: i32) -> u64 {
    u32::try_from(replicas)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .map_or(0, |ordinal| NodeId::from_ordinal(ordinal).0)
}

/// The next scaling step, or `None` when membership and the StatefulSet
/// match the spec (all members voters).
pub(super) fn next(input: &PlanInput<'_>, raft: &RaftView, sts_target: i32) -> Option<Step> {
    let desired = highest_id(input.desired_replicas);
    let current = input.workload.statefulset_replicas.unwrap_or(0);
    let scale = |step, id, reason| Step::member(OperationKind::Scale, step, id, reason);

    // The StatefulSet follows membership: grow right after a learner was
    // added, shrink right after a member was removed.
    if current != sts_target {
        let (step, reason, message) = if current < sts_target {
            (
                OperationStep::GrowStatefulSet,
                "GrowingStatefulSet",
                format!("growing the StatefulSet to {sts_target} pods"),
            )
        } else {
            (
                OperationStep::ShrinkStatefulSet,
                "ShrinkingStatefulSet",
                format!("shrinking the StatefulSet to {sts_target} pods (members above {sts_target} are removed from Raft)"),
            )
        };
        let id = highest_id(sts_target.max(current));
        return Some(scale(step, id, reason).say(message));
    }

    // Leaving members, highest id first.
    if let Some(leaving) = raft
        .members
        .iter()
        .filter(|m| m.id > desired)
        .max_by_key(|m| m.id)
    {
        let id = leaving.id;
        if leaving.role == MemberRole::Learner {
            return Some(
                scale(OperationStep::RemoveMember, id, "RemovingMember")
                    .act(Action::RemoveMember { id })
                    .say(format!("removing learner {id} from Raft")),
            );
        }
        let voters: Vec<u64> = raft.voters().map(|m| m.id).collect();
        if id == raft.leader_id {
            return Some(match transfer_target(input, raft, |v| v <= desired) {
                Some(to) => scale(OperationStep::TransferLeadership, id, "TransferringLeadership")
                    .act(Action::TransferLeader { from: id, to })
                    .say(format!("transferring leadership from leaving member {id} to member {to}")),
                None => scale(OperationStep::TransferLeadership, id, "WaitingForMembers").say(format!(
                    "member {id} leaves but leads; no remaining voter is Ready and caught up to take over"
                )),
            });
        }
        let remaining = voters.len().saturating_sub(1);
        let healthy = voters
            .iter()
            .filter(|v| **v != id && input.workload.pod_ready(**v))
            .count();
        let needed = quorum(i32::try_from(remaining).unwrap_or(i32::MAX));
        if i32::try_from(healthy).unwrap_or(0) < needed {
            return Some(scale(OperationStep::RemoveMember, id, "WaitingForQuorum").say(format!(
                "removing member {id} would leave {healthy}/{remaining} healthy voters, quorum needs {needed}"
            )));
        }
        return Some(
            scale(OperationStep::RemoveMember, id, "RemovingMember")
                .act(Action::RemoveMember { id })
                .say(format!("removing member {id} from Raft")),
        );
    }

    // Joining members, lowest id first, one at a time.
    for id in 1..=desired {
        match raft.member(id) {
            Some(m) if m.role == MemberRole::Voter => continue,
            Some(_) => return Some(catch_up_or_promote(input, raft, id)),
            None => {
                let url = input.addresses.raft_url_of(NodeId(id));
                return Some(
                    scale(OperationStep::AddLearner, id, "AddingLearner")
                        .act(Action::AddLearner { id, url })
                        .say(format!("adding member {id} as learner")),
                );
            }
        }
    }
    None
}

fn catch_up_or_promote(input: &PlanInput<'_>, raft: &RaftView, id: u64) -> Step {
    let step = |s, reason| Step::member(OperationKind::Scale, s, id, reason);
    if raft.member(id).is_some_and(|m| m.rejoining.is_some()) {
        // A member that came back with a wiped disk was demoted by the
        // brokers, which promote it themselves once it holds the log again.
        return step(OperationStep::CatchUp, "WaitingForRejoin").say(format!(
            "member {id} came back with a new incarnation (wiped disk); the brokers restore it as a voter once it holds the log"
        ));
    }
    if !input.workload.pod_ready(id) {
        let pod = input.addresses.pod_of(NodeId(id));
        let why = input
            .workload
            .pod(id)
            .and_then(|p| p.failure.clone())
            .map(|f| format!(" ({f})"))
            .unwrap_or_default();
        return step(OperationStep::CatchUp, "WaitingForCatchUp").say(format!(
            "waiting for member {id}: pod {pod} is not Ready{why}"
        ));
    }
    match raft.lag(id) {
        Some(lag) if lag <= input.settings.max_lag => {
            step(OperationStep::Promote, "PromotingMember")
                .act(Action::Promote { id })
                .say(format!("promoting member {id} to voter"))
        }
        Some(lag) => step(OperationStep::CatchUp, "WaitingForCatchUp").say(format!(
            "waiting for member {id} to catch up: lag {lag} entries"
        )),
        None => step(OperationStep::CatchUp, "WaitingForCatchUp")
            .say(format!("waiting for member {id} to catch up: lag unknown")),
    }
}

/// The voter that should take leadership: Ready, caught up, allowed by
/// `eligible`, least lag, then lowest id.
pub(super) fn transfer_target(
    input: &PlanInput<'_>,
    raft: &RaftView,
    eligible: impl Fn(u64) -> bool,
) -> Option<u64> {
    raft.voters()
        .filter(|m| m.id != raft.leader_id && eligible(m.id))
        .filter(|m| input.workload.pod_ready(m.id))
        .filter_map(|m| raft.lag(m.id).map(|lag| (lag, m.id)))
        .filter(|(lag, _)| *lag <= input.settings.max_lag)
        .min()
        .map(|(_, id)| id)
}
