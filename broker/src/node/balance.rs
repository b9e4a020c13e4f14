//! Leader balancing: each partition has a preferred leader, the voter at
//! position `partition mod voters` of its sorted voters (the same node that
//! campaigns first when the group is created). A leader that is not the
//! preferred one hands leadership over once the preferred voter is replicating
//! and fully caught up, so leadership spreads again after restarts and failovers.

use super::partition_groups::PartitionGroups;
use raft::ProgressState;

/// Ticks between two balancing passes.
pub const BALANCE_EVERY_TICKS: u64 = 100;

/// The preferred leader of `partition` among `voters`.
pub fn preferred_leader(voters: &[u64], partition: i32) -> Option<u64> {
    let mut sorted = voters.to_vec();
    sorted.sort_unstable();
    let at = usize::try_from(partition).ok()? % sorted.len().max(1);
    sorted.get(at).copied()
}

impl PartitionGroups {
    /// Hands at most one led partition per pass to its preferred leader.
    pub(super) fn balance_leaders(&mut self) {
        let own = self.own();
        for g in self.iter_mut() {
            let r = &g.raw.raft;
            if !g.is_leader() || r.has_pending_conf() || r.lead_transferee.is_some() {
                continue;
            }
            let voters = r.prs().conf().to_conf_state().voters;
            let Some(preferred) = preferred_leader(&voters, g.shared.partition) else {
                continue;
            };
            if preferred == own {
                continue;
            }
            let last = r.raft_log.last_index();
            // Replicating (a peer the transport cannot reach is reported
            // unreachable and drops to probing) and fully caught up.
            // `recent_active` is no use here: with check_quorum the leader
            // clears it every election timeout, and this pass runs every
            // 100 ticks, so in some phases it would always read false.
            let ready = r
                .prs()
                .get(preferred)
                .is_some_and(|p| p.state == ProgressState::Replicate && p.matched >= last);
            if ready {
                tracing::info!(
                    group = g.shared.raft_group_id,
                    to = preferred,
                    "moving partition leadership to its preferred leader"
                );
                g.raw.transfer_leader(preferred);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_rotate_over_the_sorted_voters() {
        assert_eq!(preferred_leader(&[3, 1, 2], 0), Some(1));
        assert_eq!(preferred_leader(&[3, 1, 2], 1), Some(2));
        assert_eq!(preferred_leader(&[3, 1, 2], 5), Some(3));
        assert_eq!(preferred_leader(&[], 0), None);
    }
}
