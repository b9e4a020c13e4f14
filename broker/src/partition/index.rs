//! The in-memory offset index of one partition: which Raft entry holds
//! which offsets. Rebuilt on restart by replaying the partition's log.

/// One applied produce entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Offset after the last record.
    pub next_offset: i64,
    /// Raft log index of the entry holding the batches.
    pub raft_index: u64,
    /// Largest record timestamp in the entry.
    pub max_timestamp: i64,
    /// Bytes of record batches.
    pub size: usize,
}

/// Committed offsets of one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PartitionIndex {
    entries: Vec<IndexEntry>,
    log_start_offset: i64,
    next_offset: i64,
}

impl PartitionIndex {
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
        self.entries.push(IndexEntry {
            base_offset,
            next_offset: self.next_offset,
            raft_index,
            max_timestamp,
            size,
        });
        base_offset
    }

    /// Entries from the one containing `offset`, at least one and then while
    /// their total size stays within `max_bytes`.
    pub fn entries_from(&self, offset: i64, max_bytes: usize) -> Vec<IndexEntry> {
        let start = self.entries.partition_point(|e| e.next_offset <= offset);
        let mut total = 0usize;
        let mut out = Vec::new();
        for e in &self.entries[start..] {
            if !out.is_empty() && total + e.size > max_bytes {
                break;
            }
            total += e.size;
            out.push(*e);
        }
        out
    }

    /// The entry holding the largest timestamp.
    pub fn max_timestamp(&self) -> Option<IndexEntry> {
        self.entries.iter().copied().max_by_key(|e| e.max_timestamp)
    }

    /// The first entry whose largest timestamp reaches `ts`.
    pub fn first_at_or_after(&self, ts: i64) -> Option<IndexEntry> {
        self.entries.iter().copied().find(|e| e.max_timestamp >= ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
