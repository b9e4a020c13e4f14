//! The live producers of a partition's [`ProducerStateTable`], as
//! DescribeProducers reports them.

use super::ProducerStateTable;

/// One idempotent producer the partition remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActiveProducer {
    /// Producer id.
    pub producer_id: i64,
    /// Its latest epoch.
    pub producer_epoch: i16,
    /// Sequence number of its last appended record (`-1` when none).
    pub last_sequence: i32,
    /// Largest timestamp of its batches (`-1` when unknown).
    pub last_timestamp: i64,
}

impl ProducerStateTable {
    /// Every producer not expired at the partition's clock, by id.
    pub fn active(&self) -> Vec<ActiveProducer> {
        let mut out: Vec<ActiveProducer> = self
            .producers
            .iter()
            .filter(|(_, e)| !self.expired(e, self.clock))
            .map(|(id, e)| ActiveProducer {
                producer_id: *id,
                producer_epoch: e.epoch,
                last_sequence: e.recent.back().map_or(-1, |b| b.last_sequence),
                last_timestamp: e.last_timestamp,
            })
            .collect();
        out.sort_unstable();
        out
    }
}
