//! Every partition group held by this node: creating and dropping them as
//! the metadata group says, routing messages and produce proposals, ticking,
//! the ready steps of each, and their summary in `/v1/status`.

use super::error::{AppendError, FatalError};
use super::meta_group::{forget_progress, most_caught_up};
use super::partition_group::{AppendReply, GroupSpec, PartitionGroup};
use super::peers::Peers;
use super::status::GroupsSummary;
use crate::partition::PartitionRegistry;
use crate::state_machine::MetaStateMachine;
use crate::storage::WriteBatch;
use raft::eraftpb::{ConfState, Message};
use raft::{ProgressState, Ready};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The partition groups of this node, by group id.
pub(super) struct PartitionGroups {
    /// This node's id.
    own: u64,
    groups: BTreeMap<u64, PartitionGroup>,
    /// Partitions shared with the Kafka read path.
    registry: Arc<PartitionRegistry>,
    /// Election and heartbeat ticks of every group.
    ticks: (usize, usize),
}

impl PartitionGroups {
    /// No groups yet; [`Self::sync`] opens the ones the metadata lists.
    pub fn new(own: u64, registry: Arc<PartitionRegistry>, ticks: (usize, usize)) -> Self {
        Self {
            own,
            groups: BTreeMap::new(),
            registry,
            ticks,
        }
    }

    /// This node's id.
    pub fn own(&self) -> u64 {
        self.own
    }

    /// Every group, in group id order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut PartitionGroup> {
        self.groups.values_mut()
    }

    /// Steps a peer's message into its group; a group unknown here (not
    /// created yet, or deleted) drops it and Raft retries.
    pub fn step(&mut self, group: u64, m: Message) {
        match self.groups.get_mut(&group) {
            Some(g) => g.step(m),
            None => tracing::trace!(group, "message for an unknown group dropped"),
        }
    }

    /// Proposes produced record batches to a partition group.
    pub fn append(&mut self, group: u64, data: Vec<u8>, local_ack: bool, reply: AppendReply) {
        match self.groups.get_mut(&group) {
            Some(g) => g.propose(data, reply, local_ack),
            None => {
                let _ = reply.send(Err(AppendError::GroupNotOpen {
                    partition_group: group,
                }));
            }
        }
    }

    /// Ticks every group and publishes its leader to the read path.
    pub fn tick(&mut self) {
        for g in self.groups.values_mut() {
            g.raw.tick();
            g.publish_leader();
        }
    }

    /// The link to `peer` broke.
    pub fn report_unreachable(&mut self, peer: u64) {
        for g in self.groups.values_mut() {
            g.raw.report_unreachable(peer);
        }
    }

    /// A snapshot of `group` reached `peer` (or failed to).
    pub fn report_snapshot(&mut self, group: u64, peer: u64, status: raft::SnapshotStatus) {
        if let Some(g) = self.groups.get_mut(&group) {
            g.raw.report_snapshot(peer, status);
        }
    }

    /// Every group this node leads forgets what it believed `peer` had
    /// stored (the peer's disk was wiped).
    pub fn forget_progress(&mut self, peer: u64) {
        for g in self.groups.values_mut() {
            forget_progress(&mut g.raw, peer);
        }
    }

    /// Fails every waiting produce (shutdown).
    pub fn fail_pending(&mut self) {
        for g in self.groups.values_mut() {
            g.fail_pending();
        }
    }

    /// Creates the partition groups the metadata lists and drops the ones it
    /// no longer does (deleted topics).
    pub fn sync(&mut self, meta: &MetaStateMachine) -> Result<(), FatalError> {
        let mut wanted: BTreeMap<u64, GroupSpec> = BTreeMap::new();
        for topic in meta.topics().values() {
            for (p, g) in topic.partition_groups.iter().enumerate() {
                wanted.insert(
                    g.group_id,
                    GroupSpec {
                        group_id: g.group_id,
                        topic: topic.name.clone(),
                        partition: i32::try_from(p).unwrap_or(i32::MAX),
                        voters: g.voters.clone(),
                    },
                );
            }
        }
        let gone: Vec<u64> = self
            .groups
            .keys()
            .filter(|id| !wanted.contains_key(id))
            .copied()
            .collect();
        for id in gone {
            if let Some(mut g) = self.groups.remove(&id) {
                g.fail_pending();
                self.registry.remove(&g.shared.topic, g.shared.partition);
                self.registry.engine().remove_group(id)?;
                tracing::info!(group = id, "partition group removed");
            }
        }
        for (id, spec) in wanted {
            if self.groups.contains_key(&id) {
                continue;
            }
            let mut g =
                PartitionGroup::open(self.own, self.registry.engine().clone(), &spec, self.ticks)?;
            g.set_producer_expiration(self.registry.producer_expiration_ms());
            // Spread initial leadership deterministically: the preferred
            // leader campaigns first (see `balance`).
            let designated = super::balance::preferred_leader(&spec.voters, spec.partition);
            if designated == Some(self.own) && g.raw.raft.term == 0 {
                g.raw.campaign()?;
            }
            self.registry.insert(g.shared.clone());
            tracing::info!(group = id, topic = %spec.topic, partition = spec.partition, "partition group opened");
            self.groups.insert(id, g);
        }
        Ok(())
    }

    /// On shutdown, moves leadership of led partitions to the most caught-up voter.
    pub fn hand_off(&mut self) {
        for g in self.groups.values_mut() {
            if !g.is_leader() {
                continue;
            }
            if let Some(target) = most_caught_up(&g.raw, self.own) {
                g.raw.transfer_leader(target);
            }
        }
    }

    /// Where member `id` stands in the partition groups held here (their
    /// configuration as applied here).
    pub fn roles_of(&self, id: u64) -> super::rejoin::PartitionRoles {
        let voter = |g: &PartitionGroup| {
            let conf = g.raw.raft.prs().conf().to_conf_state();
            conf.voters.contains(&id)
        };
        super::rejoin::PartitionRoles {
            voter_in_any: self.groups.values().any(voter),
            voter_in_all: self.groups.values().all(voter),
        }
    }

    /// Every group's `Ready`, for those that have one.
    pub fn readies(&mut self) -> Vec<(u64, Ready)> {
        let mut readies = Vec::new();
        for (id, g) in self.groups.iter_mut() {
            if g.raw.has_ready() {
                readies.push((*id, g.raw.ready()));
            }
        }
        readies
    }

    /// Steps 1-3 of the ready loop of group `id`.
    pub fn stage(
        &mut self,
        id: u64,
        ready: &mut Ready,
        batch: &mut WriteBatch,
        peers: &mut Peers,
    ) -> Result<(), FatalError> {
        match self.groups.get_mut(&id) {
            Some(g) => g.stage(ready, batch, peers),
            None => Ok(()),
        }
    }

    /// Steps 4-5 of the ready loop of group `id`; whether records were added.
    pub fn finish(&mut self, id: u64, ready: Ready, peers: &mut Peers) -> Result<bool, FatalError> {
        match self.groups.get_mut(&id) {
            Some(g) => g.finish(ready, peers),
            None => Ok(false),
        }
    }

    /// Wakes readers waiting for new records.
    pub fn notify_changes(&self) {
        self.registry.notify_changes();
    }

    /// Counts of local groups for `/v1/status`; `meta` is the metadata
    /// group's configuration, which every group converges to.
    pub fn summary(&self, meta: &ConfState) -> GroupsSummary {
        let mut summary = GroupsSummary {
            total: self.groups.len(),
            ..Default::default()
        };
        for g in self.groups.values() {
            let raft = &g.raw.raft;
            if raft.leader_id == raft::INVALID_ID {
                summary.leaderless += 1;
            }
            if !g.caught_up() {
                summary.replaying += 1;
            }
            let conf = raft.prs().conf().to_conf_state();
            if !super::reconcile::same_members(&conf, meta) {
                summary.unconverged += 1;
            }
            if !g.is_leader() {
                continue;
            }
            summary.led += 1;
            let committed = raft.raft_log.committed;
            for id in conf.voters.iter().filter(|id| **id != self.own) {
                // A follower the leader lost track of (the transport reported
                // it unreachable) stays in Probe while the group is idle even
                // when its log is complete, so the match index decides; only
                // one that needs a snapshot is behind whatever it matched.
                let caught_up = raft.prs().get(*id).is_some_and(|p| {
                    p.state != ProgressState::Snapshot
                        && p.matched + super::reconcile::CAUGHT_UP_SLACK >= committed
                });
                if !caught_up {
                    *summary.lagging.entry(*id).or_default() += 1;
                }
            }
        }
        summary
    }
}
