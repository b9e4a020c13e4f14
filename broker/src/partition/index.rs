//! The in-memory offset index of one partition: which Raft entry (or which
//! batch of the compacted segment) holds which offsets. Rebuilt on restart
//! from the partition snapshot (log start offset, compacted segment) and a
//! replay of the entries the log still holds.

use super::compaction::batch_bounds;
use bytes::Bytes;
use std::collections::VecDeque;

/// Where the records of an index entry are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the Raft entry `raft_index`, base offsets as produced.
    Raft,
    /// In the compacted segment at byte `at`, absolute base offsets.
    Compacted {
        /// Byte position of the batch in the segment.
        at: usize,
    },
}

/// One applied produce entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Offset after the last record.
    pub next_offset: i64,
    /// Raft log index of the entry holding the batches (for a compacted
    /// batch: the index of the compaction that wrote it).
    pub raft_index: u64,
    /// Largest record timestamp in the entry.
    pub max_timestamp: i64,
    /// Bytes of record batches.
    pub size: usize,
    /// Where the batches are stored.
    pub location: Location,
}

/// Committed offsets of one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PartitionIndex {
    entries: VecDeque<IndexEntry>,
    log_start_offset: i64,
    next_offset: i64,
    /// Sum of `size` over `entries`.
    total_size: u64,
    /// The compacted batches the `Compacted` entries point into.
    segment: Bytes,
}

impl PartitionIndex {
    /// An empty index whose log starts at `offset` (everything before it was
    /// deleted by retention).
    pub fn starting_at(offset: i64) -> Self {
        Self {
            log_start_offset: offset,
            next_offset: offset,
            ..Self::default()
        }
    }

    /// An index over a compacted `segment` written by the compaction at
    /// Raft index `raft_index`, log start `log_start_offset` and high
    /// watermark `next_offset` (the offsets after the segment's last batch
    /// were removed by compaction).
    pub fn compacted(
        log_start_offset: i64,
        next_offset: i64,
        raft_index: u64,
        segment: Bytes,
    ) -> Self {
        let entries: VecDeque<IndexEntry> = batch_bounds(&segment)
            .into_iter()
            .map(|b| IndexEntry {
                base_offset: b.base_offset,
                next_offset: b.next_offset,
                raft_index,
                max_timestamp: b.max_timestamp,
                size: b.size,
                location: Location::Compacted { at: b.at },
            })
            .collect();
        Self {
            total_size: entries.iter().map(|e| e.size as u64).sum(),
            entries,
            log_start_offset,
            next_offset: next_offset.max(log_start_offset),
            segment,
        }
    }

    /// The compacted segment the `Compacted` entries point into.
    pub fn segment(&self) -> &Bytes {
        &self.segment
    }

    /// The stored bytes of a compacted entry (`None` for a Raft entry).
    pub fn compacted_bytes(&self, e: &IndexEntry) -> Option<Bytes> {
        match e.location {
            Location::Compacted { at } => self
                .segment
                .get(at..at + e.size)
                .map(|_| self.segment.slice(at..at + e.size)),
            Location::Raft => None,
        }
    }

    /// Bytes of entries still in the Raft log (not compacted yet).
    pub fn dirty_bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.location == Location::Raft)
            .map(|e| e.size as u64)
            .sum()
    }

    /// Moves the log start to `offset` (DeleteRecords): the records before
    /// it are no longer served; their entries go at the next retention or
    /// compaction. Never moves it back.
    pub fn advance_log_start(&mut self, offset: i64) {
        self.log_start_offset = self.log_start_offset.max(offset.min(self.next_offset));
    }

    /// The stored entries, oldest first.
    pub fn entries(&self) -> &VecDeque<IndexEntry> {
        &self.entries
    }

    /// Bytes of record batches still stored.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    /// Forgets every entry up to and including the one ending at
    /// `next_offset`; the log then starts after the last one dropped (or
    /// later, if DeleteRecords moved it further).
    pub fn drop_to(&mut self, next_offset: i64) {
        while let Some(first) = self.entries.front() {
            if first.next_offset > next_offset {
                break;
            }
            self.log_start_offset = self.log_start_offset.max(first.next_offset);
            self.total_size -= first.size as u64;
            self.entries.pop_front();
        }
    }

    /// The high watermark: offset after the last committed record.
    pub fn high_watermark(&self) -> i64 {
        self.next_offset
    }

    /// The first offset still stored.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Records an applied entry of `offsets` records; returns its base offset.
    pub fn push(&mut self, raft_index: u64, offsets: i64, max_timestamp: i64, size: usize) -> i64 {
        let base_offset = self.next_offset;
        self.next_offset += offsets;
        self.total_size += size as u64;
        self.entries.push_back(IndexEntry {
            base_offset,
            next_offset: self.next_offset,
            raft_index,
            max_timestamp,
            size,
            location: Location::Raft,
        });
        base_offset
    }

    /// Entries from the one containing `offset`, at least one and then while
    /// their total size stays within `max_bytes`.
    pub fn entries_from(&self, offset: i64, max_bytes: usize) -> Vec<IndexEntry> {
        let start = self.entries.partition_point(|e| e.next_offset <= offset);
        let mut total = 0usize;
        let mut out = Vec::new();
        for e in self.entries.range(start..) {
            if !out.is_empty() && total + e.size > max_bytes {
                break;
            }
            total += e.size;
            out.push(*e);
        }
        out
    }

    /// Entries holding offsets at or after the log start.
    fn live(&self) -> impl Iterator<Item = IndexEntry> + '_ {
        let start = self.log_start_offset;
        self.entries
            .iter()
            .copied()
            .filter(move |e| e.next_offset > start)
    }

    /// The entry holding the largest timestamp.
    pub fn max_timestamp(&self) -> Option<IndexEntry> {
        self.live().max_by_key(|e| e.max_timestamp)
    }

    /// The first entry whose largest timestamp reaches `ts`.
    pub fn first_at_or_after(&self, ts: i64) -> Option<IndexEntry> {
        self.live().find(|e| e.max_timestamp >= ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_a_prefix_moves_the_log_start_and_keeps_the_rest_readable() {
        let mut idx = PartitionIndex::starting_at(100);
        idx.push(7, 10, 1, 300);
        idx.push(8, 10, 2, 200);
        idx.push(9, 10, 3, 100);
        assert_eq!(idx.total_size(), 600);
        idx.drop_to(120);
        assert_eq!(idx.log_start_offset(), 120);
        assert_eq!(idx.high_watermark(), 130);
        assert_eq!(idx.total_size(), 100);
        assert_eq!(idx.entries_from(120, 1).len(), 1);
    }

    #[test]
    fn entries_from_returns_the_containing_entry_then_fills_the_budget() {
        let mut idx = PartitionIndex::default();
        assert_eq!(idx.push(2, 10, 100, 500), 0);
        assert_eq!(idx.push(3, 5, 50, 500), 10);
        assert_eq!(idx.push(5, 1, 200, 500), 15);
        assert_eq!(idx.high_watermark(), 16);
        let got = idx.entries_from(12, 10);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].raft_index, 3);
        assert_eq!(idx.entries_from(0, 1000).len(), 2);
        assert!(idx.entries_from(16, 1000).is_empty());
        assert_eq!(idx.max_timestamp().map(|e| e.raft_index), Some(5));
        assert_eq!(idx.first_at_or_after(60).map(|e| e.base_offset), Some(0));
    }

    /// A fake v2 batch at `base` spanning `delta + 1` offsets: only the
    /// header fields the index reads are meaningful.
    fn fake_batch(base: i64, delta: i32, max_ts: i64, body: usize) -> Vec<u8> {
        let mut b = vec![0u8; 12 + body];
        b[..8].copy_from_slice(&base.to_be_bytes());
        b[8..12].copy_from_slice(&(body as i32).to_be_bytes());
        b[23..27].copy_from_slice(&delta.to_be_bytes());
        b[35..43].copy_from_slice(&max_ts.to_be_bytes());
        b
    }

    #[test]
    fn a_compacted_index_serves_the_segment_with_gaps_then_raft_entries() {
        let mut segment = fake_batch(3, 1, 10, 60);
        segment.extend(fake_batch(9, 0, 20, 50));
        let segment = Bytes::from(segment);
        let mut idx = PartitionIndex::compacted(2, 12, 40, segment.clone());
        assert_eq!(idx.dirty_bytes(), 0);
        assert_eq!(idx.total_size(), 134);
        assert_eq!(idx.push(41, 3, 30, 100), 12);
        assert_eq!(idx.dirty_bytes(), 100);
        // Offset 6 was compacted away: the next batch (at 9) answers.
        let got = idx.entries_from(6, 1);
        assert_eq!((got[0].base_offset, got[0].next_offset), (9, 10));
        assert_eq!(
            idx.compacted_bytes(&got[0]).as_deref(),
            Some(&segment[72..])
        );
        let raft = idx.entries_from(12, 1000);
        assert_eq!(raft[0].location, Location::Raft);
        assert_eq!(idx.compacted_bytes(&raft[0]), None);
        // DeleteRecords: the start moves, never back, never past the end.
        idx.advance_log_start(9);
        assert_eq!(idx.log_start_offset(), 9);
        assert_eq!(idx.max_timestamp().map(|e| e.base_offset), Some(12));
        assert_eq!(idx.first_at_or_after(0).map(|e| e.base_offset), Some(9));
        idx.advance_log_start(4);
        assert_eq!(idx.log_start_offset(), 9);
        idx.advance_log_start(99);
        assert_eq!(idx.log_start_offset(), 15);
    }
}
