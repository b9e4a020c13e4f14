//! Partition groups follow the metadata group's membership: the leader of
//! each partition group moves its configuration one step at a time toward the
//! metadata configuration (add learner, demote a voter the metadata group
//! demoted, promote once caught up, remove).

use super::partition_groups::PartitionGroups;
use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfChangeV2, ConfState};

/// Ticks between two reconciliation passes.
pub const RECONCILE_EVERY_TICKS: u64 = 10;
/// A learner this close to the leader's commit index counts as caught up.
pub(super) const CAUGHT_UP_SLACK: u64 = 64;

/// Whether two configurations have the same voters and learners.
pub fn same_members(a: &ConfState, b: &ConfState) -> bool {
    let sorted = |v: &[u64]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v
    };
    sorted(&a.voters) == sorted(&b.voters) && sorted(&a.learners) == sorted(&b.learners)
}

/// The next step toward `target`, if any.
enum Step {
    Change(u64, ConfChangeType),
    TransferAway,
}

fn next_step(
    own: u64,
    conf: &ConfState,
    target: &ConfState,
    caught_up: impl Fn(u64) -> bool,
) -> Option<Step> {
    let in_group = |id: &u64| conf.voters.contains(id) || conf.learners.contains(id);
    let in_target = |id: &u64| target.voters.contains(id) || target.learners.contains(id);
    if let Some(id) = target
        .voters
        .iter()
        .chain(&target.learners)
        .find(|id| !in_group(id))
    {
        return Some(Step::Change(*id, ConfChangeType::AddLearnerNode));
    }
    // A voter the metadata group demoted (it came back with a wiped disk)
    // stops voting here too before anything else changes.
    if let Some(id) = conf.voters.iter().find(|id| target.learners.contains(id)) {
        if *id == own {
            return Some(Step::TransferAway);
        }
        return Some(Step::Change(*id, ConfChangeType::AddLearnerNode));
    }
    if let Some(id) = conf
        .learners
        .iter()
        .find(|id| target.voters.contains(id) && caught_up(**id))
    {
        return Some(Step::Change(*id, ConfChangeType::AddNode));
    }
    if let Some(id) = conf
        .voters
        .iter()
        .chain(&conf.learners)
        .find(|id| !in_target(id))
    {
        if *id == own {
            return Some(Step::TransferAway);
        }
        return Some(Step::Change(*id, ConfChangeType::RemoveNode));
    }
    None
}

impl PartitionGroups {
    /// One reconciliation pass over the partition groups this node leads,
    /// toward `target`, the metadata group's configuration.
    pub(super) fn reconcile(&mut self, target: &ConfState) {
        if target.voters.is_empty() {
            return;
        }
        let own = self.own();
        for g in self.iter_mut() {
            if !g.is_leader() || g.raw.raft.has_pending_conf() {
                continue;
            }
            let conf = g.raw.raft.prs().conf().to_conf_state();
            let committed = g.raw.raft.raft_log.committed;
            // A learner holds the log at least up to the conf change that
            // made it one: a demoted member (wiped disk) then holds every
            // entry committed before it came back.
            let made_learner = g.raw.store().conf_index();
            let prs = g.raw.raft.prs();
            let caught_up = |id: u64| {
                prs.get(id).is_some_and(|p| {
                    p.matched >= made_learner && p.matched + CAUGHT_UP_SLACK >= committed
                })
            };
            match next_step(own, &conf, target, caught_up) {
                None => {}
                Some(Step::TransferAway) => {
                    let best = conf.voters.iter().find(|id| **id != own).copied();
                    if let Some(to) = best {
                        g.raw.transfer_leader(to);
                    }
                }
                Some(Step::Change(node_id, change_type)) => {
                    let mut single = ConfChangeSingle {
                        node_id,
                        ..Default::default()
                    };
                    single.set_change_type(change_type);
                    let mut cc = ConfChangeV2::default();
                    cc.mut_changes().push(single);
                    tracing::info!(group = g.shared.raft_group_id, node_id, change = ?change_type, "partition group follows the metadata membership");
                    if let Err(e) = g.raw.propose_conf_change(Vec::new(), cc) {
                        tracing::debug!(error = %e, "partition conf change not proposed");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(voters: &[u64], learners: &[u64]) -> ConfState {
        ConfState {
            voters: voters.to_vec(),
            learners: learners.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn steps_add_then_promote_then_remove() {
        let target = cs(&[1, 2, 4], &[]);
        let step = next_step(1, &cs(&[1, 2, 3], &[]), &target, |_| true);
        assert!(matches!(
            step,
            Some(Step::Change(4, ConfChangeType::AddLearnerNode))
        ));
        let step = next_step(1, &cs(&[1, 2, 3], &[4]), &target, |_| false);
        assert!(matches!(
            step,
            Some(Step::Change(3, ConfChangeType::RemoveNode))
        ));
        let step = next_step(1, &cs(&[1, 2, 3], &[4]), &target, |_| true);
        assert!(matches!(
            step,
            Some(Step::Change(4, ConfChangeType::AddNode))
        ));
        let step = next_step(3, &cs(&[1, 2, 3, 4], &[]), &target, |_| true);
        assert!(matches!(step, Some(Step::TransferAway)));
        assert!(next_step(1, &target, &target, |_| true).is_none());
    }

    #[test]
    fn a_voter_the_metadata_demoted_is_demoted_then_promoted_when_caught_up() {
        let demoted = cs(&[1, 2], &[3]);
        let step = next_step(1, &cs(&[1, 2, 3], &[]), &demoted, |_| true);
        assert!(matches!(
            step,
            Some(Step::Change(3, ConfChangeType::AddLearnerNode))
        ));
        assert!(next_step(1, &demoted, &demoted, |_| true).is_none());
        let step = next_step(3, &cs(&[1, 2, 3], &[]), &demoted, |_| true);
        assert!(
            matches!(step, Some(Step::TransferAway)),
            "never demotes itself"
        );
        let restored = cs(&[1, 2, 3], &[]);
        assert!(next_step(1, &demoted, &restored, |_| false).is_none());
        let step = next_step(1, &demoted, &restored, |_| true);
        assert!(matches!(
            step,
            Some(Step::Change(3, ConfChangeType::AddNode))
        ));
    }
}
