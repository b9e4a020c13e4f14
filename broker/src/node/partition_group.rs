//! One partition's Raft group inside the node task: its `RawNode`, the
//! applier that assigns offsets, and the produce requests waiting for their
//! entries to apply. Beside it stands the metadata group
//! ([`super::meta_group`]).

use super::apply::decode_conf_change;
use super::error::{AppendError, FatalError};
use super::meta_group::clamp_heartbeat;
use super::peers::Peers;
use crate::partition::{PartitionCommand, PartitionShared, PartitionSnapshot};
use crate::storage::{LogEngine, RaftStore, WriteBatch};
use chronik_kafka::batch;
use chronik_kafka::idempotence::{ProducerStateTable, SequenceCheck};
use raft::eraftpb::{ConfState, Entry, EntryType, Message, Snapshot};
use raft::{RawNode, Ready, StateRole};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Answer to a produce: the base offset (original one for a duplicate).
pub type AppendReply = oneshot::Sender<Result<i64, AppendError>>;

/// Largest amount of committed entries handed over per `Ready` (bounds
/// memory when a restarted node replays a long partition log).
const MAX_COMMITTED_PER_READY: u64 = 16 * 1024 * 1024;

/// What a partition group is built from.
pub struct GroupSpec {
    /// Raft group id.
    pub group_id: u64,
    /// Topic of the partition.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The group's initial voters (the metadata voters at creation).
    pub voters: Vec<u64>,
}

/// A partition's Raft group.
pub struct PartitionGroup {
    /// The group's Raft node.
    pub raw: RawNode<RaftStore>,
    /// What the read path sees of the partition.
    pub shared: Arc<PartitionShared>,
    pub(super) producers: ProducerStateTable,
    pub(super) applied: u64,
    /// When the leader should compact again without new records (a
    /// tombstone or a young record maturing); set by every compaction.
    pub(super) compaction_due_ms: Option<i64>,
    /// Raft index of the last compaction this node proposed.
    pub(super) compaction_proposed: u64,
    /// Raft index and log start offset of the last DeleteRecords applied.
    pub(super) deleted_to: (u64, i64),
    /// `acks=all` produces, answered when their entry applies.
    pending: BTreeMap<u64, (u64, AppendReply)>,
    /// `acks=1`/`acks=0` produces, answered when their entry is on local disk.
    pending_local: BTreeMap<u64, (u64, AppendReply)>,
}

/// Raft settings shared by every group of this node.
pub fn raft_config(
    id: u64,
    applied: u64,
    election_tick: usize,
    heartbeat_tick: usize,
) -> raft::Config {
    raft::Config {
        id,
        election_tick,
        heartbeat_tick,
        applied,
        max_size_per_msg: 1024 * 1024,
        max_inflight_msgs: 256,
        max_committed_size_per_ready: MAX_COMMITTED_PER_READY,
        check_quorum: true,
        pre_vote: true,
        ..Default::default()
    }
}

impl PartitionGroup {
    /// Opens the group, initialising it with its initial voters when nothing
    /// is stored yet. A node outside them waits for the leader to add it.
    pub fn open(
        node_id: u64,
        engine: Arc<LogEngine>,
        spec: &GroupSpec,
        ticks: (usize, usize),
    ) -> Result<Self, FatalError> {
        let mut store = RaftStore::open(engine, spec.group_id)?;
        if store.is_empty() {
            // Every node, member or not, starts from the initial voters; a
            // node outside them replays the conf changes that add it.
            store.initialize(ConfState {
                voters: spec.voters.clone(),
                ..Default::default()
            })?;
        }
        let applied = store.latest_snapshot().get_metadata().index;
        let snapshot = PartitionSnapshot::decode(store.latest_snapshot().get_data())?;
        let snapshot_term = store.latest_snapshot().get_metadata().term;
        let cfg = raft_config(node_id, applied, ticks.0, ticks.1);
        let raw = RawNode::new(&cfg, store, &crate::logging::raft_logger())?;
        let shared = Arc::new(PartitionShared::new(
            &spec.topic,
            spec.partition,
            spec.group_id,
        ));
        // Entries after the snapshot are replayed by Raft from `applied` on.
        *shared.index_mut() = snapshot.index(applied);
        if applied > 0 {
            shared.reset_epochs(snapshot_term, snapshot.log_start_offset);
        }
        Ok(Self {
            raw,
            shared,
            producers: snapshot.producers,
            applied,
            compaction_due_ms: Some(i64::MIN),
            compaction_proposed: 0,
            deleted_to: (0, 0),
            pending: BTreeMap::new(),
            pending_local: BTreeMap::new(),
        })
    }

    /// The partition's idempotent producer state.
    pub(super) fn producers(&self) -> &ProducerStateTable {
        &self.producers
    }

    /// `producer.id.expiration.ms` of the partition's producer table.
    pub(super) fn producers_expiration_ms(&self) -> i64 {
        self.producers.expiration_ms()
    }

    /// Sets `producer.id.expiration.ms` of the partition's producer table.
    pub fn set_producer_expiration(&mut self, expiration_ms: i64) {
        self.producers = std::mem::take(&mut self.producers).with_expiration(expiration_ms);
    }

    /// Resets the partition to a snapshot received from the leader (this
    /// replica was behind the leader's retention or compaction point): the
    /// index restarts with the snapshot's compacted segment (empty after
    /// retention) at the snapshot's log start offset.
    pub fn restore_snapshot(&mut self, snap: &Snapshot) -> Result<(), FatalError> {
        let decoded = PartitionSnapshot::decode(snap.get_data())?;
        *self.shared.index_mut() = decoded.index(snap.get_metadata().index);
        self.compaction_due_ms = Some(i64::MIN);
        let term = snap.get_metadata().term;
        self.shared.reset_epochs(term, decoded.log_start_offset);
        self.producers = decoded
            .producers
            .with_expiration(self.producers.expiration_ms());
        self.applied = snap.get_metadata().index;
        tracing::info!(
            group = self.shared.raft_group_id,
            index = self.applied,
            log_start_offset = decoded.log_start_offset,
            "partition restored from the leader's snapshot"
        );
        Ok(())
    }

    /// Whether this node leads the group.
    pub fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    fn not_leader(&self) -> AppendError {
        AppendError::NotLeader {
            partition_group: self.shared.raft_group_id,
            leader_id: self.raw.raft.leader_id,
        }
    }

    /// Steps a peer's message.
    pub fn step(&mut self, mut m: Message) {
        clamp_heartbeat(&self.raw, &mut m);
        // Messages from unknown or removed nodes are refused by raft itself.
        if let Err(e) = self.raw.step(m) {
            tracing::debug!(group = self.shared.raft_group_id, error = %e, "raft refused a message");
        }
    }

    /// Proposes produced record batches. With `local_ack` (`acks=1`/`0`)
    /// `reply` is answered once the entry is on the leader's disk, with base
    /// offset `-1` (offsets are assigned when the entry applies); otherwise
    /// once the entry is committed and applied, with its base offset.
    pub fn propose(&mut self, data: Vec<u8>, reply: AppendReply, local_ack: bool) {
        if !self.is_leader() {
            let _ = reply.send(Err(self.not_leader()));
            return;
        }
        match self.raw.propose(Vec::new(), data) {
            Ok(()) => {
                let index = self.raw.raft.raft_log.last_index();
                let term = self.raw.raft.term;
                let waiting = if local_ack {
                    &mut self.pending_local
                } else {
                    &mut self.pending
                };
                if let Some((_, old)) = waiting.insert(index, (term, reply)) {
                    let _ = old.send(Err(self.not_leader()));
                }
            }
            Err(_) => {
                let _ = reply.send(Err(self.not_leader()));
            }
        }
    }

    /// Whether every entry known committed here is applied, i.e. the
    /// partition index is complete up to the commit index.
    pub fn caught_up(&self) -> bool {
        self.applied >= self.raw.raft.raft_log.committed
    }

    /// Publishes leadership to the read path. A leader whose index is still
    /// being rebuilt (replaying its log after a restart) is published as
    /// "no leader": it would answer a short high watermark or miss records,
    /// so clients retry until it has applied everything committed.
    pub fn publish_leader(&self) {
        let raft = &self.raw.raft;
        let leader = if raft.leader_id == raft.id && !self.caught_up() {
            raft::INVALID_ID
        } else {
            raft.leader_id
        };
        self.shared.set_leader(leader, raft.term);
    }

    /// Fails every waiting produce (leadership lost for good or shutdown).
    pub fn fail_pending(&mut self) {
        let err = self.not_leader();
        let all = std::mem::take(&mut self.pending)
            .into_values()
            .chain(std::mem::take(&mut self.pending_local).into_values());
        for (_, reply) in all {
            let _ = reply.send(Err(err.clone()));
        }
    }

    /// Answers the `acks=1` produces whose entries reached the local disk:
    /// called after the fsync of a ready that held every unstable entry.
    pub fn persisted(&mut self) {
        let last = self.raw.raft.raft_log.last_index();
        while let Some(first) = self.pending_local.first_entry() {
            if *first.key() > last {
                break;
            }
            let index = *first.key();
            let (term, reply) = first.remove();
            let same = self.raw.raft.raft_log.term(index).is_ok_and(|t| t == term);
            let _ = reply.send(if same { Ok(-1) } else { Err(self.not_leader()) });
        }
    }

    /// Applies committed entries; returns whether records were added.
    pub fn apply(&mut self, entries: Vec<Entry>) -> Result<bool, FatalError> {
        let mut grew = false;
        let mut conf_batch = WriteBatch::default();
        for entry in entries {
            if entry.index <= self.applied {
                continue;
            }
            self.applied = entry.index;
            self.shared.note_term(entry.term);
            let result = match entry.get_entry_type() {
                EntryType::EntryNormal if entry.get_data().is_empty() => None,
                EntryType::EntryNormal if PartitionCommand::is_command(entry.get_data()) => {
                    // A compaction snapshots the configuration: store the
                    // changes applied so far first.
                    let staged = std::mem::take(&mut conf_batch);
                    self.raw.mut_store().write(staged, false)?;
                    self.apply_command(&entry)?
                }
                EntryType::EntryNormal => {
                    let r = self.apply_records(&entry);
                    grew |= r.is_ok();
                    Some(r)
                }
                EntryType::EntryConfChange | EntryType::EntryConfChangeV2 => {
                    let cc = decode_conf_change(&entry)?;
                    if entry.index > self.raw.store().conf_index() {
                        match self.raw.apply_conf_change(&cc) {
                            Ok(cs) => self.raw.mut_store().set_conf_state(
                                &mut conf_batch,
                                cs,
                                entry.index,
                            )?,
                            Err(e) => {
                                tracing::warn!(group = self.shared.raft_group_id, error = %e, "conf change refused")
                            }
                        }
                    }
                    None
                }
            };
            self.resolve(entry.index, entry.term, result);
        }
        self.raw.mut_store().write(conf_batch, false)?;
        Ok(grew)
    }

    /// Assigns offsets to one produced entry, deterministically on every replica.
    fn apply_records(&mut self, entry: &Entry) -> Result<i64, AppendError> {
        let partition_group = self.shared.raft_group_id;
        let data = bytes::Bytes::copy_from_slice(entry.get_data());
        let Ok(batches) = batch::validate(&data) else {
            return Err(AppendError::InvalidEntry {
                partition_group,
                index: entry.index,
            });
        };
        let check = self
            .producers
            .check(&batches)
            .map_err(|source| AppendError::Sequence {
                partition_group,
                source,
            })?;
        match check {
            SequenceCheck::Duplicate { base_offset } => Ok(base_offset),
            SequenceCheck::Append => {
                let offsets: i64 = batches.iter().map(|b| b.offset_count()).sum();
                // A header without a max timestamp (-1: sarama 1.22 never
                // sets it) counts by its first record's (Kafka recomputes it
                // from the records); else retention deletes it at once.
                let max_ts = batches
                    .iter()
                    .map(|b| b.max_timestamp.max(b.base_timestamp))
                    .max()
                    .unwrap_or(-1);
                let base = self
                    .shared
                    .index_mut()
                    .push(entry.index, offsets, max_ts, data.len());
                self.producers.record(&batches, base);
                Ok(base)
            }
        }
    }

    fn resolve(&mut self, index: u64, term: u64, result: Option<Result<i64, AppendError>>) {
        while let Some(first) = self.pending.first_entry() {
            if *first.key() >= index {
                break;
            }
            let (_, reply) = first.remove();
            let _ = reply.send(Err(self.not_leader()));
        }
        let Some((t, reply)) = self.pending.remove(&index) else {
            return;
        };
        let answer = match result {
            Some(r) if t == term => r,
            _ => Err(self.not_leader()),
        };
        let _ = reply.send(answer);
    }

    /// Steps 1-3 of the ready loop: messages, snapshot, staged writes.
    pub fn stage(
        &mut self,
        ready: &mut Ready,
        batch: &mut WriteBatch,
        peers: &mut Peers,
    ) -> Result<(), FatalError> {
        let id = self.shared.raft_group_id;
        if ready.ss().is_some() {
            self.publish_leader();
        }
        if !ready.messages().is_empty() {
            peers.send(id, ready.take_messages());
        }
        if !ready.snapshot().is_empty() {
            let snap = ready.snapshot().clone();
            self.restore_snapshot(&snap)?;
            self.raw.mut_store().apply_snapshot(batch, snap)?;
        }
        self.raw.mut_store().append(batch, ready.entries())?;
        if let Some(hs) = ready.hs() {
            self.raw.mut_store().set_hard_state(batch, hs.clone())?;
        }
        Ok(())
    }

    /// Steps 4-5 of the ready loop: persisted messages, local acks, apply,
    /// advance. Returns whether records were added.
    pub fn finish(&mut self, mut ready: Ready, peers: &mut Peers) -> Result<bool, FatalError> {
        let id = self.shared.raft_group_id;
        if !ready.persisted_messages().is_empty() {
            peers.send(id, ready.take_persisted_messages());
        }
        self.persisted();
        let mut grew = self.apply(ready.take_committed_entries())?;
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            let mut batch = WriteBatch::default();
            self.raw.mut_store().set_commit(&mut batch, commit)?;
            self.raw.mut_store().write(batch, false)?;
        }
        peers.send(id, light.take_messages());
        grew |= self.apply(light.take_committed_entries())?;
        self.raw.advance_apply();
        Ok(grew)
    }
}
