//! Idempotent producer sequence checking for one partition.
//!
//! A [`crate::backend::Backend`] keeps one [`ProducerStateTable`] per partition as part
//! of the partition's replicated state (so a new leader checks sequences exactly like
//! the old one). The rules follow Kafka's: per producer id the epoch may only grow, a
//! new epoch starts at sequence 0, each batch continues the previous one, and a retry
//! of one of the last [`RECENT_BATCHES`] batches is answered with its original offset
//! instead of being appended twice.

use std::collections::{HashMap, VecDeque};

use crate::backend::BackendError;
use crate::batch::BatchSummary;

/// How many recent batches per producer are remembered for duplicate detection
/// (Kafka clients keep at most 5 requests in flight).
pub const RECENT_BATCHES: usize = 5;

/// What to do with an incoming record set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// A retry of data already stored at `base_offset`: do not append again.
    Duplicate {
        /// Offset assigned the first time.
        base_offset: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StoredBatch {
    first_sequence: i32,
    last_sequence: i32,
    base_offset: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    recent: VecDeque<StoredBatch>,
}

/// Sequence state of every idempotent producer writing to one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
}

fn next_sequence(sequence: i32) -> i32 {
    if sequence == i32::MAX {
        0
    } else {
        sequence + 1
    }
}

impl ProducerStateTable {
    /// Creates an empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the batches of one append (all from the same producer, as clients send).
    pub fn check(&self, batches: &[BatchSummary]) -> Result<SequenceCheck, BackendError> {
        let Some(first) = batches.first() else {
            return Ok(SequenceCheck::Append);
        };
        if !first.is_idempotent() {
            return Ok(SequenceCheck::Append);
        }
        let mut expected = match self.producers.get(&first.producer_id) {
            None => 0,
            Some(entry) if first.producer_epoch < entry.epoch => {
                return Err(BackendError::InvalidProducerEpoch {
                    producer_id: first.producer_id,
                    epoch: first.producer_epoch,
                    current: entry.epoch,
                })
            }
            Some(entry) if first.producer_epoch > entry.epoch => 0,
            Some(entry) => {
                if let Some(dup) = entry.recent.iter().find(|b| {
                    b.first_sequence == first.base_sequence
                        && b.last_sequence == first.last_sequence()
                }) {
                    return Ok(SequenceCheck::Duplicate {
                        base_offset: dup.base_offset,
                    });
                }
                entry
                    .recent
                    .back()
                    .map_or(0, |b| next_sequence(b.last_sequence))
            }
        };
        for batch in batches {
            if batch.producer_id != first.producer_id
                || batch.producer_epoch != first.producer_epoch
                || batch.base_sequence != expected
            {
                return Err(BackendError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    sequence: batch.base_sequence,
                    expected,
                });
            }
            expected = next_sequence(batch.last_sequence());
        }
        Ok(SequenceCheck::Append)
    }

    /// Records appended batches; `base_offset` is the offset of the first record of
    /// the first batch.
    pub fn record(&mut self, batches: &[BatchSummary], base_offset: i64) {
        let mut offset = base_offset;
        for batch in batches {
            if batch.is_idempotent() {
                let entry = self.producers.entry(batch.producer_id).or_default();
                if batch.producer_epoch != entry.epoch {
                    entry.epoch = batch.producer_epoch;
                    entry.recent.clear();
                }
                entry.recent.push_back(StoredBatch {
                    first_sequence: batch.base_sequence,
                    last_sequence: batch.last_sequence(),
                    base_offset: offset,
                });
                while entry.recent.len() > RECENT_BATCHES {
                    entry.recent.pop_front();
                }
            }
            offset += batch.offset_count();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(producer_id: i64, epoch: i16, seq: i32, count: i32) -> BatchSummary {
        BatchSummary {
            position: 0,
            size: 100,
            last_offset_delta: count - 1,
            record_count: count,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id,
            producer_epoch: epoch,
            base_sequence: seq,
        }
    }

    #[test]
    fn non_idempotent_always_appends() {
        let table = ProducerStateTable::new();
        assert_eq!(
            table.check(&[batch(-1, -1, -1, 3)]),
            Ok(SequenceCheck::Append)
        );
    }

    #[test]
    fn sequences_continue_and_duplicates_return_first_offset() {
        let mut table = ProducerStateTable::new();
        let b1 = batch(7, 0, 0, 3);
        assert_eq!(table.check(&[b1]), Ok(SequenceCheck::Append));
        table.record(&[b1], 100);
        let b2 = batch(7, 0, 3, 2);
        assert_eq!(table.check(&[b2]), Ok(SequenceCheck::Append));
        table.record(&[b2], 103);
        assert_eq!(
            table.check(&[b1]),
            Ok(SequenceCheck::Duplicate { base_offset: 100 })
        );
        assert!(matches!(
            table.check(&[batch(7, 0, 9, 1)]),
            Err(BackendError::OutOfOrderSequence { expected: 5, .. })
        ));
    }

    #[test]
    fn epochs_fence_and_reset() {
        let mut table = ProducerStateTable::new();
        let b1 = batch(7, 1, 0, 1);
        table.record(&[b1], 0);
        assert!(matches!(
            table.check(&[batch(7, 0, 1, 1)]),
            Err(BackendError::InvalidProducerEpoch { .. })
        ));
        assert_eq!(table.check(&[batch(7, 2, 0, 1)]), Ok(SequenceCheck::Append));
        assert!(table.check(&[batch(7, 2, 4, 1)]).is_err());
    }

    #[test]
    fn unknown_producer_must_start_at_zero() {
        let table = ProducerStateTable::new();
        assert!(table.check(&[batch(9, 0, 5, 1)]).is_err());
    }
}
