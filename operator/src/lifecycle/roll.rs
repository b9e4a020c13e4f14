//! Rolls: one pod at a time onto the StatefulSet's update revision,
//! followers first, the leader last after a transfer, the next pod only when
//! the previous one is Ready and caught up.

use std::cmp::Reverse;

use chronik_api::NodeId;

use super::input::{PlanInput, PodView, RaftView};
use super::plan::{seconds_since, Action, Step};
use super::scale::transfer_target;
use crate::crd::{OperationKind, OperationStep};
use crate::validate::quorum;

fn id_of(pod: &PodView) -> u64 {
    NodeId::from_ordinal(pod.ordinal).0
}

fn roll_step(step: OperationStep, id: u64, revision: &str, reason: &'static str) -> Step {
    let mut s = Step::member(OperationKind::Roll, step, id, reason);
    s.revision = Some(revision.to_string());
    s
}

/// The next roll step, or `None` when every pod runs the update revision and
/// the last restarted pod is Ready and caught up.
pub(super) fn next(input: &PlanInput<'_>, raft: &RaftView) -> Option<Step> {
    let revision = input.workload.update_revision.as_deref()?;
    let outdated = |p: &PodView| p.revision.as_deref().is_some_and(|r| r != revision);

    // The recorded restart first: complete it, or wait for its pod.
    if let Some(recorded) = input.recorded.filter(|r| r.kind == OperationKind::Roll) {
        if let Some(step) = recorded_restart(input, raft, revision, recorded, &outdated) {
            return Some(step);
        }
    }

    let mut candidates: Vec<&PodView> = input
        .workload
        .pods
        .iter()
        .filter(|p| outdated(p) && !p.terminating)
        .collect();
    if candidates.is_empty() {
        return None;
    }
    // Broken pods first (they serve nothing), then followers from the
    // highest ordinal down, the leader last.
    candidates.sort_by_key(|p| (p.ready, id_of(p) == raft.leader_id, Reverse(p.ordinal)));
    let pod = candidates[0];
    let id = id_of(pod);
    let name = input.addresses.pod_of(NodeId(id));

    if !pod.ready {
        // Restarting a pod that serves nothing keeps the other voters; only
        // make sure they are a quorum.
        let voters: Vec<u64> = raft.voters().map(|m| m.id).collect();
        let healthy = voters
            .iter()
            .filter(|v| **v != id && input.workload.pod_ready(**v))
            .count();
        let needed = quorum(i32::try_from(voters.len()).unwrap_or(i32::MAX));
        if i32::try_from(healthy).unwrap_or(0) < needed {
            return Some(
                roll_step(OperationStep::RestartPod, id, revision, "WaitingForQuorum").say(format!(
                    "pod {name} is outdated and not Ready; restarting it waits for a quorum of other voters ({healthy}, quorum needs {needed})"
                )),
            );
        }
        return Some(restart(id, name, revision));
    }

    if let Some(why) = not_settled(input, raft) {
        return Some(
            roll_step(OperationStep::WaitReady, id, revision, "WaitingForMembers").say(format!(
                "rolling to revision {revision}: waiting before restarting {name}: {why}"
            )),
        );
    }
    if id == raft.leader_id {
        let updated = |v: u64| {
            input
                .workload
                .pod(v)
                .is_some_and(|p| p.revision.as_deref() == Some(revision))
        };
        let to = transfer_target(input, raft, updated)
            .or_else(|| transfer_target(input, raft, |_| true));
        return Some(match to {
            Some(to) => roll_step(
                OperationStep::TransferLeadership,
                id,
                revision,
                "TransferringLeadership",
            )
            .act(Action::TransferLeader { from: id, to })
            .say(format!(
                "transferring leadership from member {id} to member {to} before restarting {name}"
            )),
            None => roll_step(
                OperationStep::TransferLeadership,
                id,
                revision,
                "WaitingForMembers",
            )
            .say(format!(
                "no voter is Ready and caught up to take leadership from member {id}"
            )),
        });
    }
    Some(restart(id, name, revision))
}

fn restart(id: u64, name: String, revision: &str) -> Step {
    let mut step = roll_step(OperationStep::RestartPod, id, revision, "RestartingPod")
        .act(Action::DeletePod { pod: name.clone() })
        .say(format!(
            "restarting pod {name} (member {id}) onto revision {revision}"
        ));
    step.pod = Some(name);
    step
}

/// Why the cluster is not ready for the next restart: a pod not Ready or
/// terminating, a member behind the leader or rejoining after a wiped disk,
/// or a partition group that is
/// not fully replicated (restarting a broker then could leave it without a
/// quorum of caught-up replicas: the metadata group being healthy is not
/// enough, each partition is its own Raft group).
fn not_settled(input: &PlanInput<'_>, raft: &RaftView) -> Option<String> {
    for member in &raft.members {
        let pod = input.addresses.pod_of(NodeId(member.id));
        if !input.workload.pod_ready(member.id) {
            return Some(format!("pod {pod} is not Ready"));
        }
        if member.rejoining.is_some() {
            // Its votes do not count until it rejoined: restarting another
            // broker meanwhile could leave a group without a quorum.
            return Some(format!("member {} rejoins after a wiped disk", member.id));
        }
        match raft.lag(member.id) {
            Some(lag) if lag <= input.settings.max_lag => {}
            Some(lag) => return Some(format!("member {} lags {lag} entries", member.id)),
            None => return Some(format!("lag of member {} unknown", member.id)),
        }
    }
    raft.partitions.unsettled()
}

/// Continue the restart recorded in status: delete the pod if it was not
/// deleted yet, otherwise wait until it is Ready and caught up, or stop the
/// roll when it does not come up.
fn recorded_restart(
    input: &PlanInput<'_>,
    raft: &RaftView,
    revision: &str,
    recorded: &crate::crd::OperationStatus,
    outdated: &dyn Fn(&PodView) -> bool,
) -> Option<Step> {
    if !matches!(
        recorded.step,
        OperationStep::RestartPod | OperationStep::WaitReady
    ) || recorded.step == OperationStep::WaitReady && recorded.pod.is_none()
    {
        return None;
    }
    let id = recorded.member_id?;
    let name = input.addresses.pod_of(NodeId(id));
    if recorded.pod.as_deref() != Some(name.as_str()) {
        return None;
    }
    let wait = |reason, message: String| {
        let mut s = roll_step(OperationStep::WaitReady, id, revision, reason).say(message);
        s.pod = Some(name.clone());
        s
    };
    let Some(pod) = input.workload.pod(id) else {
        return Some(wait(
            "WaitingForPod",
            format!("waiting for pod {name} to be recreated"),
        ));
    };
    if pod.terminating {
        return Some(wait(
            "WaitingForPod",
            format!("waiting for pod {name} to terminate"),
        ));
    }
    if outdated(pod) {
        if recorded.step == OperationStep::RestartPod
            || recorded.revision.as_deref() != Some(revision)
        {
            // Not deleted yet, or the spec was reverted while it was broken.
            return Some(restart(id, name, revision));
        }
        return None;
    }
    let elapsed = recorded
        .started_at
        .as_deref()
        .and_then(|s| seconds_since(s, input.now));
    let timed_out = elapsed.is_some_and(|e| e > input.settings.roll_ready_timeout_seconds);
    if !pod.ready {
        if pod.failure.is_some() || timed_out {
            let why = pod
                .failure
                .clone()
                .unwrap_or_else(|| format!("not Ready after {}s", elapsed.unwrap_or(0)));
            let mut s = wait(
                "RollStopped",
                format!(
                    "roll to revision {revision} stopped: pod {name} does not become Ready ({why}); no further pod is restarted; fix or revert the spec"
                ),
            );
            s.blocked = true;
            return Some(s);
        }
        return Some(wait(
            "WaitingForPod",
            format!("waiting for pod {name} to become Ready"),
        ));
    }
    match raft.lag(id) {
        Some(lag) if lag <= input.settings.max_lag => None,
        Some(lag) => Some(wait(
            "WaitingForCatchUp",
            format!("waiting for member {id} to catch up: lag {lag} entries"),
        )),
        None => Some(wait(
            "WaitingForCatchUp",
            format!("waiting for member {id} to catch up: lag unknown"),
        )),
    }
}
