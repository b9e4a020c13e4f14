//! The node task's partition groups: creating and dropping them as the
//! metadata group says, routing messages, ticking, produce proposals.

use super::actor::{FatalError, NodeActor};
use super::group::{AppendReply, GroupSpec, PartitionGroup};
use super::status::GroupsSummary;
use super::METADATA_GROUP;
use crate::state_machine::commands;
use crate::storage::RaftStore;
use chronik_kafka::BackendError;
use raft::eraftpb::{Message, MessageType};
use raft::{ProgressState, RawNode};
use std::collections::BTreeMap;

/// Ticks between two attempts to register this broker's Kafka address.
const REGISTER_EVERY_TICKS: u64 = 5;

impl NodeActor {
    /// Steps a peer's message into its group; a group unknown here (not
    /// created yet, or deleted) drops it and Raft retries.
    pub(super) fn step(&mut self, group: u64, mut m: Message) {
        let result = if group == METADATA_GROUP {
            clamp_heartbeat(&self.raw, &mut m);
            self.raw.step(m)
        } else if let Some(g) = self.groups.get_mut(&group) {
            clamp_heartbeat(&g.raw, &mut m);
            g.raw.step(m)
        } else {
            tracing::trace!(group, "message for an unknown group dropped");
            return;
        };
        // Messages from unknown or removed nodes are refused by raft itself.
        if let Err(e) = result {
            tracing::debug!(group, error = %e, "raft refused a message");
        }
    }

    /// A peer came back with a new incarnation (wiped disk): every group this
    /// node leads forgets what it believed the peer had stored, so it probes
    /// the peer's log from the start (entries or a snapshot) instead of
    /// ignoring its rejections as stale.
    pub(super) fn forget_progress(&mut self, peer: u64) {
        let rafts =
            std::iter::once(&mut self.raw).chain(self.groups.values_mut().map(|g| &mut g.raw));
        for raw in rafts {
            if let Some(pr) = raw.raft.mut_prs().get_mut(peer) {
                pr.matched = 0;
                pr.become_probe();
            }
        }
    }

    /// Proposes produced record batches to a partition group.
    pub(super) fn append(
        &mut self,
        group: u64,
        data: Vec<u8>,
        local_ack: bool,
        reply: AppendReply,
    ) {
        if self.shutdown.is_some() {
            let _ = reply.send(Err(BackendError::Unavailable {
                reason: "broker shutting down",
            }));
            return;
        }
        match self.groups.get_mut(&group) {
            Some(g) => g.propose(data, reply, local_ack),
            None => {
                let _ = reply.send(Err(BackendError::Unavailable {
                    reason: "partition group not created on this broker yet",
                }));
            }
        }
    }

    /// Ticks every partition group, publishes leaders, reconciles membership
    /// and keeps this broker's Kafka address registered.
    pub(super) fn tick_groups(&mut self) -> Result<(), FatalError> {
        self.tick_count += 1;
        for g in self.groups.values_mut() {
            g.raw.tick();
            g.publish_leader();
        }
        if self
            .tick_count
            .is_multiple_of(super::reconcile::RECONCILE_EVERY_TICKS)
        {
            self.reconcile_groups();
        }
        if self
            .tick_count
            .is_multiple_of(super::balance::BALANCE_EVERY_TICKS)
        {
            self.balance_leaders();
        }
        if self.tick_count.is_multiple_of(REGISTER_EVERY_TICKS) {
            self.register_kafka_addr();
        }
        if self
            .tick_count
            .is_multiple_of(super::retention::RETENTION_EVERY_TICKS)
        {
            self.enforce_retention()?;
        }
        Ok(())
    }

    /// Proposes this broker's Kafka address until the metadata records it.
    /// Followers' proposals are forwarded to the leader by Raft itself.
    fn register_kafka_addr(&mut self) {
        let state = self.applier.state();
        if !state.members().contains_key(&self.id)
            || state.brokers().get(&self.id) == Some(&self.kafka_addr)
            || self.raw.raft.leader_id == 0
        {
            return;
        }
        let cmd = commands::register_broker(self.id, &self.kafka_addr);
        if let Err(e) = self.raw.propose(Vec::new(), cmd) {
            tracing::debug!(error = %e, "registering the kafka address failed; will retry");
        }
    }

    /// Creates the partition groups the metadata lists and drops the ones it
    /// no longer does (deleted topics).
    pub(super) fn sync_partition_groups(&mut self) -> Result<(), FatalError> {
        let mut wanted: BTreeMap<u64, GroupSpec> = BTreeMap::new();
        for topic in self.applier.state().topics().values() {
            for (p, g) in topic.groups.iter().enumerate() {
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
                PartitionGroup::open(self.id, self.registry.engine().clone(), &spec, self.ticks)?;
            // Spread initial leadership deterministically: the preferred
            // leader campaigns first (see `balance`).
            let designated = super::balance::preferred_leader(&spec.voters, spec.partition);
            if designated == Some(self.id) && g.raw.raft.term == 0 {
                g.raw.campaign()?;
            }
            self.registry.insert(g.shared.clone());
            tracing::info!(group = id, topic = %spec.topic, partition = spec.partition, "partition group opened");
            self.groups.insert(id, g);
        }
        Ok(())
    }

    /// On shutdown, moves leadership of led partitions to the most caught-up voter.
    pub(super) fn hand_off_partitions(&mut self) {
        for g in self.groups.values_mut() {
            if !g.is_leader() {
                continue;
            }
            let conf = g.raw.raft.prs().conf().to_conf_state();
            let prs = g.raw.raft.prs();
            let best = conf
                .voters
                .iter()
                .filter(|id| **id != self.id)
                .max_by_key(|id| prs.get(**id).map(|p| p.matched).unwrap_or(0))
                .copied();
            if let Some(target) = best {
                g.raw.transfer_leader(target);
            }
        }
    }

    /// Counts of local groups for `/v1/status`.
    pub(super) fn groups_summary(&self) -> GroupsSummary {
        let meta = self.raw.raft.prs().conf().to_conf_state();
        let mut summary = GroupsSummary {
            total: self.groups.len(),
            ..Default::default()
        };
        for g in self.groups.values() {
            let raft = &g.raw.raft;
            if raft.leader_id == raft::INVALID_ID {
                summary.leaderless += 1;
            }
            let conf = raft.prs().conf().to_conf_state();
            if !super::reconcile::same_members(&conf, &meta) {
                summary.unconverged += 1;
            }
            if !g.is_leader() {
                continue;
            }
            summary.led += 1;
            let committed = raft.raft_log.committed;
            for id in conf.voters.iter().filter(|id| **id != self.id) {
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

/// A heartbeat carries `min(match, commit)` as the leader knows it. A follower
/// that lost its disk has less than the leader believes; raft-rs would abort
/// on a commit index beyond its log, so such a heartbeat advances nothing
/// (the leader re-probes the follower once it sees its new incarnation).
fn clamp_heartbeat(raw: &RawNode<RaftStore>, m: &mut Message) {
    if m.get_msg_type() == MessageType::MsgHeartbeat && m.commit > raw.raft.raft_log.last_index() {
        m.commit = raw.raft.raft_log.committed;
    }
}
