//! The `status.bootstrapped` latch: set once the brokers report a formed
//! cluster, never cleared. While it is unset the brokers start with
//! `--initial-cluster-state new` (an empty initial voter bootstraps); once
//! set, with `existing` (an empty data directory waits for the leader), so
//! wiped initial voters can never form a second cluster under the same id.

use crate::brokers::Answers;
use crate::crd::ChronikClusterStatus;

/// Whether the brokers report a formed cluster: a leader, and every initial
/// voter (node ids `1..=initial_voters`) answering as a member of the
/// leader's configuration, of the leader's cluster, following that leader.
pub fn formed(answers: &Answers, initial_voters: i32) -> bool {
    let Some(leader) = answers.leader() else {
        return false;
    };
    let Ok(voters) = u64::try_from(initial_voters) else {
        return false;
    };
    voters > 0
        && (1..=voters).all(|id| {
            leader.member(id).is_some()
                && answers.answered().any(|a| {
                    a.node_id == id
                        && a.cluster_id == leader.cluster_id
                        && a.is_member()
                        && a.leader() == Some(leader.node_id)
                })
        })
}

/// The latch after this pass: set when it was set before (in the stored
/// status or remembered elsewhere, `remembered`) or the cluster is formed now.
pub fn latch(
    previous: Option<&ChronikClusterStatus>,
    remembered: bool,
    answers: &Answers,
    initial_voters: i32,
) -> bool {
    previous.is_some_and(|p| p.bootstrapped) || remembered || formed(answers, initial_voters)
}

/// The value of `--initial-cluster-state` the brokers start with.
pub fn initial_cluster_state(bootstrapped: bool) -> &'static str {
    if bootstrapped {
        "existing"
    } else {
        "new"
    }
}
