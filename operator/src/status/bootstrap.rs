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

#[cfg(test)]
mod tests {
    use super::*;
    use chronik_api::{BrokerStatus, MemberRole, MemberStatus, RaftRole};

    fn answer(id: u64, leader: u64, members: &[u64]) -> BrokerStatus {
        let mut s = BrokerStatus::initial(id, "uid", "inc", 0);
        s.role = if id == leader {
            RaftRole::Leader
        } else {
            RaftRole::Follower
        };
        s.leader_id = leader;
        s.term = 2;
        s.members = members
            .iter()
            .map(|m| MemberStatus {
                id: *m,
                url: format!("http://b-{m}:5001"),
                role: MemberRole::Voter,
                match_index: None,
                incarnation: String::new(),
                rejoining: None,
            })
            .collect();
        s
    }

    fn answers(list: Vec<BrokerStatus>) -> Answers {
        Answers::new(list.into_iter().map(Ok).collect())
    }

    #[test]
    fn formed_needs_a_leader_and_every_initial_voter_following_it() {
        let all = [1, 2, 3];
        let healthy = answers(vec![
            answer(1, 2, &all),
            answer(2, 2, &all),
            answer(3, 2, &all),
        ]);
        assert!(formed(&healthy, 3));
        // The leader lists every initial voter from the bootstrap on; that
        // alone is not a formed cluster.
        let alone = answers(vec![answer(2, 2, &all)]);
        assert!(!formed(&alone, 3));
        let no_leader = answers(vec![answer(1, 0, &all), answer(2, 0, &all)]);
        assert!(!formed(&no_leader, 3));
        // An initial voter waiting on an empty disk is no member.
        let waiting = answers(vec![
            answer(1, 2, &all),
            answer(2, 2, &all),
            answer(3, 0, &[]),
        ]);
        assert!(!formed(&waiting, 3));
        let mut other = answer(3, 2, &all);
        other.cluster_id = "another".to_string();
        let forked = answers(vec![answer(1, 2, &all), answer(2, 2, &all), other]);
        assert!(!formed(&forked, 3));
        assert!(!formed(&healthy, 0));
    }

    #[test]
    fn the_latch_never_clears() {
        let silent = answers(Vec::new());
        let stored = ChronikClusterStatus {
            bootstrapped: true,
            ..ChronikClusterStatus::default()
        };
        assert!(latch(Some(&stored), false, &silent, 3));
        assert!(latch(None, true, &silent, 3));
        assert!(!latch(None, false, &silent, 3));
        assert!(!latch(
            Some(&ChronikClusterStatus::default()),
            false,
            &silent,
            3
        ));
        assert_eq!(initial_cluster_state(false), "new");
        assert_eq!(initial_cluster_state(true), "existing");
    }
}
