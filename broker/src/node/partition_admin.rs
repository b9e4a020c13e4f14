//! Partition admin requests the node task answers for the Kafka adapter:
//! the live producers of a partition (DescribeProducers), the replicas this
//! node holds (DescribeLogDirs) and preferred leader elections
//! (ElectLeaders), each run as a [`PartitionTask`] over the partition groups;
//! and elections asked through the metadata log, which the node acts on
//! once applied ([`act_on_election`]): peers accept Raft messages only in
//! their sender's name, so only the leader or the preferred leader itself
//! can start the transfer.

use super::balance::preferred_leader;
use super::error::NodeError;
use super::handle::{NodeHandle, NodeMsg};
use super::partition_groups::PartitionGroups;
use crate::partition::PartitionShared;
use chronik_kafka::idempotence::ActiveProducer;
use raft::ProgressState;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Work run by the node task over its partition groups.
pub struct PartitionTask(Box<dyn FnOnce(&mut PartitionGroups) + Send>);

impl PartitionTask {
    /// Runs the task (node task only).
    pub(super) fn run(self, groups: &mut PartitionGroups) {
        (self.0)(groups)
    }
}

/// What this node did to move a partition's leadership to its preferred
/// replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferredElection {
    /// The preferred replica leads already.
    AlreadyLeads,
    /// A Raft leader transfer to `preferred` started (this node leads the
    /// group, or is the preferred replica and asked the leader).
    Transferring {
        /// The preferred replica.
        preferred: u64,
    },
    /// This node neither leads the group nor is its preferred replica:
    /// the leader acts once asked through the metadata log.
    LeftToLeader {
        /// The preferred replica.
        preferred: u64,
    },
    /// The preferred replica cannot take over now: the leader does not
    /// replicate to it (unreachable or far behind), or the group has no
    /// leader or no voters.
    Unavailable,
    /// This node holds no such partition group.
    NotHeld,
}

fn elect(groups: &mut PartitionGroups, group: u64) -> PreferredElection {
    let own = groups.own();
    let Some(g) = groups.iter_mut().find(|g| g.shared.raft_group_id == group) else {
        return PreferredElection::NotHeld;
    };
    let r = &g.raw.raft;
    let voters = r.prs().conf().to_conf_state().voters;
    let Some(preferred) = preferred_leader(&voters, g.shared.partition) else {
        return PreferredElection::Unavailable;
    };
    if r.leader_id == preferred {
        return PreferredElection::AlreadyLeads;
    }
    if r.leader_id == raft::INVALID_ID {
        return PreferredElection::Unavailable;
    }
    if g.is_leader() {
        let replicating = r
            .prs()
            .get(preferred)
            .is_some_and(|p| p.state == ProgressState::Replicate);
        if !replicating {
            return PreferredElection::Unavailable;
        }
        g.raw.transfer_leader(preferred);
    } else if own == preferred {
        // A follower forwards the transfer to the leader, naming itself.
        g.raw.transfer_leader(own);
    } else {
        return PreferredElection::LeftToLeader { preferred };
    }
    PreferredElection::Transferring { preferred }
}

/// Acts on a preferred leader election applied from the metadata log:
/// the leader of the group (or its preferred leader) starts the transfer;
/// other nodes have nothing to do.
pub(super) fn act_on_election(groups: &mut PartitionGroups, group: u64) {
    let outcome = elect(groups, group);
    tracing::debug!(group, ?outcome, "preferred leader election applied");
}

impl NodeHandle {
    async fn on_partitions<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PartitionGroups) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        let task = PartitionTask(Box::new(move |groups| {
            let _ = tx.send(f(groups));
        }));
        self.send(NodeMsg::Partitions(task)).await?;
        rx.await.map_err(|_| NodeError::ShuttingDown)
    }

    /// The live idempotent producers of partition group `group` (`None`
    /// when this node does not hold it).
    pub async fn active_producers(
        &self,
        group: u64,
    ) -> Result<Option<Vec<ActiveProducer>>, NodeError> {
        self.on_partitions(move |groups| {
            groups
                .iter_mut()
                .find(|g| g.shared.raft_group_id == group)
                .map(|g| g.producers().active())
        })
        .await
    }

    /// The partitions whose group has this node as a voter or learner.
    pub async fn held_replicas(&self) -> Result<Vec<Arc<PartitionShared>>, NodeError> {
        self.on_partitions(|groups| {
            let own = groups.own();
            groups
                .iter_mut()
                .filter(|g| {
                    let cs = g.raw.raft.prs().conf().to_conf_state();
                    cs.voters.contains(&own) || cs.learners.contains(&own)
                })
                .map(|g| g.shared.clone())
                .collect()
        })
        .await
    }

    /// Starts moving partition group `group`'s leadership to its preferred
    /// replica where this node can (see [`PreferredElection`]).
    pub async fn elect_preferred(&self, group: u64) -> Result<PreferredElection, NodeError> {
        self.on_partitions(move |groups| elect(groups, group)).await
    }
}
