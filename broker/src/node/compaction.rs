//! Compaction and DeleteRecords of partition logs, as commands in each
//! partition's Raft log (see docs/kafka-raft.md, "Compaction").
//!
//! The leader of a `compact` topic's partition proposes a compaction when
//! records were appended since the last one or when one is due (a
//! tombstone or a young record maturing, DeleteRecords). The command carries
//! the leader's clock and the topic config; every replica applies it at the
//! same log position to the same records, so every replica ends with the
//! same compacted segment, stored in a snapshot at the command's index (the
//! log up to it is dropped). A replica behind it, or added later, receives
//! that snapshot.

use super::error::AppendError;
use super::error::FatalError;
use super::partition_group::PartitionGroup;
use crate::partition::{
    compact, rewrite_base_offsets, CompactionParams, PartitionCommand, PartitionSnapshot,
};
use raft::eraftpb::{Entry, SnapshotMetadata};

impl PartitionGroup {
    /// Applies a command entry; the result answers its proposer.
    pub(super) fn apply_command(
        &mut self,
        entry: &Entry,
    ) -> Result<Option<Result<i64, AppendError>>, FatalError> {
        match PartitionCommand::decode(entry.get_data()) {
            Some(PartitionCommand::Compact(params)) => {
                self.apply_compact(entry.index, entry.term, &params)?;
                Ok(None)
            }
            Some(PartitionCommand::DeleteRecords { offset }) => {
                let mut index = self.shared.index_mut();
                index.advance_log_start(offset);
                let start = index.log_start_offset();
                self.deleted_to = (entry.index, start);
                // The leader compacts the deleted records away soon.
                self.compaction_due_ms = Some(i64::MIN);
                Ok(Some(Ok(start)))
            }
            None => {
                tracing::warn!(
                    group = self.shared.raft_group_id,
                    index = entry.index,
                    "unknown partition command skipped"
                );
                Ok(None)
            }
        }
    }

    /// The partition's records, whole batches with absolute offsets, or
    /// `None` when an indexed entry is missing (the compaction is skipped).
    fn stored_batches(&self) -> Result<Option<Vec<bytes::Bytes>>, FatalError> {
        let index = self.shared.index();
        let engine = self.raw.store().engine();
        let mut out = Vec::with_capacity(index.entries().len());
        for e in index.entries() {
            if e.next_offset <= index.log_start_offset() {
                continue;
            }
            if let Some(bytes) = index.compacted_bytes(e) {
                out.push(bytes);
                continue;
            }
            let Some(entry) = engine.entry(self.shared.raft_group_id, e.raft_index)? else {
                tracing::error!(
                    group = self.shared.raft_group_id,
                    index = e.raft_index,
                    "indexed entry missing; compaction skipped"
                );
                return Ok(None);
            };
            let mut buf = bytes::BytesMut::new();
            rewrite_base_offsets(entry.get_data(), e.base_offset, &mut buf);
            out.push(buf.freeze());
        }
        Ok(Some(out))
    }

    /// Compacts every record applied before Raft index `index` and stores
    /// the result as the snapshot at `index`.
    fn apply_compact(
        &mut self,
        index: u64,
        term: u64,
        params: &CompactionParams,
    ) -> Result<(), FatalError> {
        let group = self.shared.raft_group_id;
        let Some(batches) = self.stored_batches()? else {
            return Ok(());
        };
        let (log_start, next_offset) = {
            let idx = self.shared.index();
            (idx.log_start_offset(), idx.high_watermark())
        };
        let compacted = match compact(&batches, log_start, params) {
            Ok(c) => c,
            Err(e) => {
                // Same input everywhere: every replica skips alike.
                tracing::error!(group, error = %e, "compaction skipped");
                return Ok(());
            }
        };
        let snapshot = PartitionSnapshot {
            log_start_offset: compacted.log_start_offset,
            next_offset,
            producers: self.producers.clone(),
            segment: compacted.segment,
        };
        let meta = SnapshotMetadata {
            index,
            term,
            conf_state: Some(self.raw.store().conf_state().clone()).into(),
            ..Default::default()
        };
        let bytes_before: usize = batches.iter().map(|b| b.len()).sum();
        *self.shared.index_mut() = snapshot.index(index);
        self.raw
            .mut_store()
            .compact_with_snapshot(meta, snapshot.encode())?;
        self.compaction_due_ms = compacted.due_ms;
        tracing::debug!(
            group,
            index,
            bytes_before,
            bytes_after = snapshot.segment.len(),
            log_start_offset = snapshot.log_start_offset,
            "partition compacted"
        );
        Ok(())
    }

    /// On the leader: proposes a compaction when records were appended since
    /// the last one or one is due at `now_ms`, and none is in flight.
    pub(super) fn propose_compaction(
        &mut self,
        layers: &chronik_api::config::ConfigLayers,
        configs: &std::collections::BTreeMap<String, String>,
        now_ms: i64,
    ) {
        if !self.is_leader() || self.applied < self.compaction_proposed || !self.caught_up() {
            return;
        }
        let dirty = self.shared.index().dirty_bytes() > 0;
        let due = self.compaction_due_ms.is_some_and(|d| d <= now_ms);
        if !dirty && !due {
            return;
        }
        let command = PartitionCommand::Compact(CompactionParams::resolve(layers, configs, now_ms));
        if self.raw.propose(Vec::new(), command.encode()).is_ok() {
            self.compaction_proposed = self.raw.raft.raft_log.last_index();
        }
    }
}
