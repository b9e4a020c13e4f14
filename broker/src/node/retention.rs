//! Retention of partition logs: every few seconds each replica deletes the
//! prefix of each partition's Raft log that the topic's `retention.ms` /
//! `retention.bytes` (or DeleteRecords) let go, leaving a record-free
//! snapshot at the cut so a replica behind it catches up from there (see
//! docs/kafka-raft.md). Partitions of `compact` topics are instead compacted
//! by their leader's commands (`super::compaction`), in the same pass.

use super::error::FatalError;
use super::partition_group::PartitionGroup;
use super::partition_groups::PartitionGroups;
use super::status::now_ms;
use crate::broker_config::{layers, StaticConfig};
use crate::partition::{is_compacted, IndexEntry, Location, PartitionSnapshot, RetentionPolicy};
use crate::state_machine::MetaStateMachine;
use chronik_kafka::batch;
use raft::eraftpb::SnapshotMetadata;
use raft::Storage;

/// Ticks between two retention checks of every partition (2 s at the
/// default 50 ms tick): checks stay off the produce path.
pub const RETENTION_EVERY_TICKS: u64 = 40;

impl PartitionGroups {
    /// Applies each topic's retention (its effective configs as of the
    /// metadata state `sm`) to the partition groups held here.
    pub(super) fn enforce_retention(
        &mut self,
        sm: &MetaStateMachine,
        static_config: &StaticConfig,
    ) -> Result<(), FatalError> {
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        let topics = sm.topics();
        let layers = layers(sm, static_config);
        for g in self.iter_mut() {
            g.refresh_snapshot_for_new_members()?;
            let Some(topic) = topics.get(&g.shared.topic) else {
                continue;
            };
            if is_compacted(&layers, &topic.config) {
                g.propose_compaction(&layers, &topic.config, now);
                continue;
            }
            let policy = RetentionPolicy::resolve(&layers, &topic.config).unwrap_or_else(|e| {
                tracing::warn!(topic = %topic.name, error = %e, "retention config ignored");
                RetentionPolicy::default()
            });
            g.enforce_retention(&policy, now)?;
        }
        Ok(())
    }
}

impl PartitionGroup {
    /// Deletes the log prefix `policy` lets go at `now_ms`.
    ///
    /// The cut is an applied entry at or after the last configuration
    /// change, so the snapshot's configuration is exactly the one in force
    /// at the cut; until data after a configuration change expires, the
    /// prefix waits.
    pub(super) fn enforce_retention(
        &mut self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> Result<(), FatalError> {
        let Some(cut) = policy.cut(&self.shared.index(), now_ms) else {
            return Ok(());
        };
        let store = self.raw.store();
        if cut.raft_index < store.conf_index() || cut.raft_index > self.applied {
            return Ok(());
        }
        let Some(producers) = self.producers_at(cut.raft_index)? else {
            return Ok(());
        };
        let meta = SnapshotMetadata {
            index: cut.raft_index,
            term: store.term(cut.raft_index)?,
            conf_state: Some(store.conf_state().clone()).into(),
            ..Default::default()
        };
        // DeleteRecords up to the cut moved the log start further.
        let (deleted_at, deleted_to) = self.deleted_to;
        let log_start = if deleted_at <= cut.raft_index {
            cut.next_offset.max(deleted_to)
        } else {
            cut.next_offset
        };
        let snapshot = PartitionSnapshot {
            log_start_offset: log_start,
            next_offset: cut.next_offset,
            producers,
            segment: self.compacted_after(&cut),
        };
        // Readers stop seeing the prefix before its entries go.
        self.shared.index_mut().drop_to(cut.next_offset);
        self.raw
            .mut_store()
            .compact_with_snapshot(meta, snapshot.encode())?;
        tracing::debug!(
            group = self.shared.raft_group_id,
            raft_index = cut.raft_index,
            log_start_offset = cut.next_offset,
            "retention deleted a log prefix"
        );
        Ok(())
    }

    /// The compacted batches after `cut` (a topic compacted before its
    /// policy became `delete`), which the new snapshot keeps.
    fn compacted_after(&self, cut: &IndexEntry) -> bytes::Bytes {
        let index = self.shared.index();
        let next = index
            .entries()
            .iter()
            .find(|e| e.next_offset > cut.next_offset && e.raft_index <= cut.raft_index);
        match next.map(|e| e.location) {
            Some(Location::Compacted { at }) => index.segment().slice(at..),
            _ => bytes::Bytes::new(),
        }
    }

    /// The producer state after entry `raft_index`: the previous snapshot's
    /// state with the entries being deleted replayed on top (they applied
    /// without error, since the index lists them). `None` when an entry is
    /// unexpectedly missing (the cut is skipped).
    fn producers_at(
        &self,
        raft_index: u64,
    ) -> Result<Option<chronik_kafka::idempotence::ProducerStateTable>, FatalError> {
        let previous = PartitionSnapshot::decode(self.raw.store().latest_snapshot().get_data())?;
        let mut producers = previous
            .producers
            .with_expiration(self.producers_expiration_ms());
        let dropped: Vec<IndexEntry> = self
            .shared
            .index()
            .entries()
            .iter()
            .take_while(|e| e.raft_index <= raft_index)
            .filter(|e| e.location == Location::Raft)
            .copied()
            .collect();
        let engine = self.raw.store().engine();
        for e in dropped {
            let Some(entry) = engine.entry(self.shared.raft_group_id, e.raft_index)? else {
                tracing::warn!(
                    group = self.shared.raft_group_id,
                    index = e.raft_index,
                    "indexed entry missing; retention skipped"
                );
                return Ok(None);
            };
            let data = bytes::Bytes::copy_from_slice(entry.get_data());
            if let Ok(batches) = batch::validate(&data) {
                producers.record(&batches, e.base_offset);
            }
        }
        Ok(Some(producers))
    }

    /// A member added after the snapshot was taken cannot install it (Raft
    /// refuses a snapshot whose configuration lacks the receiver): restamp
    /// the same snapshot with the current configuration. The receiver then
    /// re-applies the configuration changes after the cut, which repeat
    /// what the configuration already holds.
    fn refresh_snapshot_for_new_members(&mut self) -> Result<(), FatalError> {
        let store = self.raw.store();
        let snap = store.latest_snapshot();
        if !store.snapshot_wanted() || snap.get_metadata().index == 0 {
            return Ok(());
        }
        let mut meta = snap.get_metadata().clone();
        meta.set_conf_state(store.conf_state().clone());
        let data = snap.get_data().to_vec();
        tracing::info!(
            group = self.shared.raft_group_id,
            index = meta.index,
            "partition snapshot restamped with the current configuration"
        );
        self.raw.mut_store().compact_with_snapshot(meta, data)?;
        Ok(())
    }
}
