//! Idempotent producer sequence checking for one partition.
//!
//! A [`crate::backend::Backend`] keeps one [`ProducerStateTable`] per partition as part
//! of the partition's replicated state (so a new leader checks sequences exactly like
//! the old one). The rules follow Kafka's: per producer id the epoch may only grow, a
//! new epoch starts at sequence 0, each batch continues the previous one, and a retry
//! of one of the last [`RECENT_BATCHES`] batches is answered with its original offset
//! instead of being appended twice.
//!
//! Producers expire as in Kafka (`producer.id.expiration.ms`): one whose last
//! batch is older than the expiration is forgotten, and its next batch must
//! start a new sequence. "Now" is the partition's own clock, the largest batch
//! timestamp appended so far, never a replica's wall clock: every replica
//! applies the same entries, so every replica expires the same producers at
//! the same entry.

use std::collections::{HashMap, VecDeque};

use crate::backend::BackendError;
use crate::batch::BatchSummary;

mod active;
pub use active::ActiveProducer;

/// Why an idempotent record set breaks the producer's sequence rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    /// A batch whose sequence does not follow the producer's last one.
    #[error("out of order sequence {sequence} for producer {producer_id} (expected {expected})")]
    OutOfOrder {
        /// Producer id.
        producer_id: i64,
        /// First sequence of the batch.
        sequence: i32,
        /// Expected sequence.
        expected: i32,
    },
    /// A batch from an older producer epoch.
    #[error("producer {producer_id} epoch {epoch} is fenced by epoch {current}")]
    FencedEpoch {
        /// Producer id.
        producer_id: i64,
        /// Epoch in the batch.
        epoch: i16,
        /// Current epoch.
        current: i16,
    },
}

impl From<SequenceError> for BackendError {
    fn from(e: SequenceError) -> Self {
        match e {
            SequenceError::OutOfOrder {
                producer_id,
                sequence,
                expected,
            } => BackendError::OutOfOrderSequence {
                producer_id,
                sequence,
                expected,
            },
            SequenceError::FencedEpoch {
                producer_id,
                epoch,
                current,
            } => BackendError::InvalidProducerEpoch {
                producer_id,
                epoch,
                current,
            },
        }
    }
}

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

/// Kafka's `producer.id.expiration.ms` default: one day.
pub const DEFAULT_PRODUCER_ID_EXPIRATION_MS: i64 = 24 * 60 * 60 * 1000;

/// Partition-clock milliseconds between two sweeps of expired producers out
/// of memory (an expired producer already behaves as unknown before it).
const SWEEP_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    recent: VecDeque<StoredBatch>,
    /// Largest timestamp of its batches; -1 when unknown (a table stored
    /// before expiry existed), which never expires.
    last_timestamp: i64,
}

/// Sequence state of every idempotent producer writing to one partition.
#[derive(Debug, Clone)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
    /// The partition's clock: the largest batch timestamp appended (ms).
    clock: i64,
    /// `producer.id.expiration.ms`.
    expiration_ms: i64,
    /// Clock of the last sweep (memory only: it changes nothing observable).
    swept_at: i64,
}

impl Default for ProducerStateTable {
    fn default() -> Self {
        Self {
            producers: HashMap::new(),
            clock: -1,
            expiration_ms: DEFAULT_PRODUCER_ID_EXPIRATION_MS,
            swept_at: -1,
        }
    }
}

/// Equal when they answer every check alike: same expiration, same clock,
/// same live producers (expired ones not yet swept do not count).
impl PartialEq for ProducerStateTable {
    fn eq(&self, other: &Self) -> bool {
        self.expiration_ms == other.expiration_ms && self.encode() == other.encode()
    }
}

impl Eq for ProducerStateTable {}

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

    /// The same table with producers expiring after `expiration_ms` of
    /// partition clock (must be equal on every replica).
    pub fn with_expiration(mut self, expiration_ms: i64) -> Self {
        self.expiration_ms = expiration_ms;
        self
    }

    /// `producer.id.expiration.ms` of this table.
    pub fn expiration_ms(&self) -> i64 {
        self.expiration_ms
    }

    /// Number of producers remembered (expired ones not yet swept included).
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// True when no producer is remembered.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The clock once `batches` are appended.
    fn clock_with(&self, batches: &[BatchSummary]) -> i64 {
        batches
            .iter()
            .map(|b| b.max_timestamp)
            .fold(self.clock, i64::max)
    }

    fn expired(&self, entry: &ProducerEntry, clock: i64) -> bool {
        entry.last_timestamp >= 0
            && clock.saturating_sub(entry.last_timestamp) >= self.expiration_ms
    }

    /// The producer's live state at `clock`.
    fn live(&self, producer_id: i64, clock: i64) -> Option<&ProducerEntry> {
        self.producers
            .get(&producer_id)
            .filter(|e| !self.expired(e, clock))
    }

    /// Drops expired producers from memory, at most once per
    /// [`SWEEP_EVERY_MS`] of clock.
    fn sweep(&mut self) {
        if self.clock < self.swept_at.saturating_add(SWEEP_EVERY_MS) {
            return;
        }
        self.swept_at = self.clock;
        let (clock, expiration) = (self.clock, self.expiration_ms);
        self.producers.retain(|_, e| {
            e.last_timestamp < 0 || clock.saturating_sub(e.last_timestamp) < expiration
        });
    }

    /// Checks the batches of one append (all from the same producer, as clients send).
    pub fn check(&self, batches: &[BatchSummary]) -> Result<SequenceCheck, SequenceError> {
        let Some(first) = batches.first() else {
            return Ok(SequenceCheck::Append);
        };
        if !first.is_idempotent() {
            return Ok(SequenceCheck::Append);
        }
        let clock = self.clock_with(batches);
        let mut expected = match self.live(first.producer_id, clock) {
            None => 0,
            Some(entry) if first.producer_epoch < entry.epoch => {
                return Err(SequenceError::FencedEpoch {
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
                return Err(SequenceError::OutOfOrder {
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
        self.clock = self.clock_with(batches);
        let mut offset = base_offset;
        for batch in batches {
            if batch.is_idempotent() {
                if self
                    .producers
                    .get(&batch.producer_id)
                    .is_some_and(|e| self.expired(e, self.clock))
                {
                    self.producers.remove(&batch.producer_id);
                }
                let entry =
                    self.producers
                        .entry(batch.producer_id)
                        .or_insert_with(|| ProducerEntry {
                            epoch: batch.producer_epoch,
                            recent: VecDeque::new(),
                            last_timestamp: -1,
                        });
                entry.last_timestamp = entry.last_timestamp.max(batch.max_timestamp);
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
        self.sweep();
    }
}

/// A stored producer state table could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("producer state is truncated or malformed at byte {at}")]
pub struct ProducerStateDecodeError {
    /// Byte position where decoding failed.
    pub at: usize,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], ProducerStateDecodeError> {
        let err = ProducerStateDecodeError { at: self.pos };
        let bytes = self.data.get(self.pos..self.pos + N).ok_or(err.clone())?;
        self.pos += N;
        bytes.try_into().map_err(|_| err)
    }
}

impl ProducerStateTable {
    /// Encodes the table (producers sorted by id, so equal tables encode
    /// alike): how it travels in a partition snapshot.
    /// Expired producers are left out. After the producers come the clock
    /// and each producer's last timestamp (a table without them decodes with
    /// unknown timestamps).
    pub fn encode(&self) -> Vec<u8> {
        let mut ids: Vec<&i64> = self
            .producers
            .iter()
            .filter(|(_, e)| !self.expired(e, self.clock))
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        let mut out = Vec::with_capacity(4 + ids.len() * (11 + RECENT_BATCHES * 16));
        out.extend_from_slice(&u32::try_from(ids.len()).unwrap_or(u32::MAX).to_be_bytes());
        for id in &ids {
            let entry = &self.producers[id];
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&entry.epoch.to_be_bytes());
            // At most RECENT_BATCHES, so it fits a byte.
            out.push(u8::try_from(entry.recent.len()).unwrap_or(u8::MAX));
            for b in &entry.recent {
                out.extend_from_slice(&b.first_sequence.to_be_bytes());
                out.extend_from_slice(&b.last_sequence.to_be_bytes());
                out.extend_from_slice(&b.base_offset.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.clock.to_be_bytes());
        for id in ids {
            out.extend_from_slice(&self.producers[id].last_timestamp.to_be_bytes());
        }
        out
    }

    /// Decodes what [`Self::encode`] wrote (or the older layout without
    /// timestamps); trailing bytes are an error. The expiration is the
    /// default: the owner sets its own with [`Self::with_expiration`].
    pub fn decode(data: &[u8]) -> Result<Self, ProducerStateDecodeError> {
        let mut r = Reader { data, pos: 0 };
        let count = u32::from_be_bytes(r.take()?);
        let mut producers = HashMap::new();
        let mut order = Vec::new();
        for _ in 0..count {
            let id = i64::from_be_bytes(r.take()?);
            let epoch = i16::from_be_bytes(r.take()?);
            let [n] = r.take::<1>()?;
            if usize::from(n) > RECENT_BATCHES {
                return Err(ProducerStateDecodeError { at: r.pos - 1 });
            }
            let mut recent = VecDeque::with_capacity(usize::from(n));
            for _ in 0..n {
                recent.push_back(StoredBatch {
                    first_sequence: i32::from_be_bytes(r.take()?),
                    last_sequence: i32::from_be_bytes(r.take()?),
                    base_offset: i64::from_be_bytes(r.take()?),
                });
            }
            producers.insert(
                id,
                ProducerEntry {
                    epoch,
                    recent,
                    last_timestamp: -1,
                },
            );
            order.push(id);
        }
        let mut table = Self {
            producers,
            ..Self::default()
        };
        if r.pos < data.len() {
            table.clock = i64::from_be_bytes(r.take()?);
            table.swept_at = table.clock;
            for id in order {
                let last = i64::from_be_bytes(r.take()?);
                if let Some(e) = table.producers.get_mut(&id) {
                    e.last_timestamp = last;
                }
            }
        }
        if r.pos != data.len() {
            return Err(ProducerStateDecodeError { at: r.pos });
        }
        Ok(table)
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
            Err(SequenceError::OutOfOrder { expected: 5, .. })
        ));
    }

    #[test]
    fn epochs_fence_and_reset() {
        let mut table = ProducerStateTable::new();
        let b1 = batch(7, 1, 0, 1);
        table.record(&[b1], 0);
        assert!(matches!(
            table.check(&[batch(7, 0, 1, 1)]),
            Err(SequenceError::FencedEpoch { .. })
        ));
        assert_eq!(table.check(&[batch(7, 2, 0, 1)]), Ok(SequenceCheck::Append));
        assert!(table.check(&[batch(7, 2, 4, 1)]).is_err());
    }

    #[test]
    fn unknown_producer_must_start_at_zero() {
        let table = ProducerStateTable::new();
        assert!(table.check(&[batch(9, 0, 5, 1)]).is_err());
    }

    #[test]
    fn encoding_round_trips_and_rejects_truncation() {
        let mut table = ProducerStateTable::new();
        table.record(&[batch(7, 1, 0, 3), batch(7, 1, 3, 2)], 40);
        table.record(&[batch(9, 0, 0, 1)], 45);
        let bytes = table.encode();
        assert_eq!(ProducerStateTable::decode(&bytes), Ok(table.clone()));
        assert!(ProducerStateTable::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ProducerStateTable::decode(&longer).is_err());
        assert_eq!(
            ProducerStateTable::decode(&ProducerStateTable::new().encode()),
            Ok(ProducerStateTable::new())
        );
        let decoded = ProducerStateTable::decode(&bytes).expect("decodes");
        assert_eq!(
            decoded.check(&[batch(7, 1, 0, 3)]),
            Ok(SequenceCheck::Duplicate { base_offset: 40 })
        );
    }

    fn at(mut b: BatchSummary, timestamp: i64) -> BatchSummary {
        b.base_timestamp = timestamp;
        b.max_timestamp = timestamp;
        b
    }

    /// A producer idle for `producer.id.expiration.ms` of partition clock is
    /// forgotten: its next batch must start a new sequence, a stale retry is
    /// no longer answered as a duplicate, and the table stops holding it.
    #[test]
    fn idle_producers_expire_by_the_partitions_clock() {
        let mut table = ProducerStateTable::new().with_expiration(1_000);
        table.record(&[at(batch(7, 0, 0, 3), 10_000)], 0);
        table.record(&[at(batch(8, 0, 0, 1), 10_500)], 3);
        // Producer 8 advances the clock to 10,999: 7 is still live.
        table.record(&[at(batch(8, 0, 1, 1), 10_999)], 4);
        assert_eq!(
            table.check(&[at(batch(7, 0, 3, 1), 10_999)]),
            Ok(SequenceCheck::Append)
        );
        // At 11,000 producer 7 has been idle for the expiration.
        table.record(&[at(batch(8, 0, 2, 1), 11_000)], 5);
        assert!(matches!(
            table.check(&[at(batch(7, 0, 3, 1), 11_000)]),
            Err(SequenceError::OutOfOrder { expected: 0, .. })
        ));
        assert_eq!(
            table.check(&[at(batch(7, 0, 0, 3), 11_000)]),
            Ok(SequenceCheck::Append),
            "an expired producer's old batch is new data, not a duplicate"
        );
        // Both replicas of the state agree, whether restored or live.
        let restored = ProducerStateTable::decode(&table.encode())
            .expect("decodes")
            .with_expiration(1_000);
        assert_eq!(restored, table);
        // A sweep after a minute of clock frees the memory of expired ones.
        table.record(&[at(batch(9, 0, 0, 1), 80_000)], 6);
        assert_eq!(table.len(), 1);
    }

    /// A client clock in the past does not move the partition's clock back.
    #[test]
    fn the_clock_only_moves_forward_with_appends() {
        let mut table = ProducerStateTable::new().with_expiration(1_000);
        table.record(&[at(batch(7, 0, 0, 1), 50_000)], 0);
        table.record(&[at(batch(8, 0, 0, 1), 1)], 1);
        assert_eq!(
            table.check(&[at(batch(7, 0, 1, 1), 50_500)]),
            Ok(SequenceCheck::Append)
        );
        // As in Kafka, a producer's last timestamp is judged against "now":
        // one whose clock lags by more than the expiration expires at once.
        assert!(table.check(&[at(batch(8, 0, 1, 1), 50_500)]).is_err());
    }

    /// A table stored before timestamps existed still decodes; its producers
    /// are kept until they write again.
    #[test]
    fn tables_without_timestamps_decode_and_never_expire_unknowns() {
        let mut table = ProducerStateTable::new();
        table.record(&[batch(7, 0, 0, 2)], 0);
        let mut old = table.encode();
        old.truncate(old.len() - 16);
        let decoded = ProducerStateTable::decode(&old)
            .expect("old layout decodes")
            .with_expiration(1);
        assert_eq!(
            decoded.check(&[at(batch(7, 0, 2, 1), i64::MAX / 2)]),
            Ok(SequenceCheck::Append)
        );
    }
}
