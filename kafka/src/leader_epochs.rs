//! Leader epochs of one partition (Kafka's leader epoch cache, KIP-101/KIP-320):
//! the offset at which each epoch started, and the answer of
//! OffsetForLeaderEpoch for a requested epoch. Also the stamping of each
//! fetched batch's `partitionLeaderEpoch` (not covered by the CRC), which is
//! what a consumer sends back when it validates its position after a leader
//! change.

use std::collections::BTreeMap;

/// Kafka's "no epoch" (`UNDEFINED_EPOCH`).
pub const UNDEFINED_EPOCH: i32 = -1;
/// Kafka's "no offset" (`UNDEFINED_EPOCH_OFFSET`).
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// Byte position of `partitionLeaderEpoch` in a v2 record batch.
const LEADER_EPOCH_AT: usize = 12;
/// Bytes of a batch's base offset and length fields.
const LOG_OVERHEAD: usize = 12;

/// The start offset of every epoch a partition's log holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    /// Epoch → offset of its first record (or the log end when it began).
    starts: BTreeMap<i32, i64>,
}

/// The end offset of an epoch, as OffsetForLeaderEpoch answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The largest known epoch not above the requested one
    /// ([`UNDEFINED_EPOCH`] when there is none).
    pub leader_epoch: i32,
    /// Offset after the last record of that epoch: the start of the next
    /// larger epoch, or the log end for the latest one.
    pub end_offset: i64,
}

impl EpochEndOffset {
    /// Kafka's answer when no epoch matches.
    pub const UNDEFINED: Self = Self {
        leader_epoch: UNDEFINED_EPOCH,
        end_offset: UNDEFINED_EPOCH_OFFSET,
    };
}

impl LeaderEpochCache {
    /// A cache whose only epoch is `epoch`, starting at `offset` (after a
    /// restart from a snapshot: earlier epochs are gone with their records).
    pub fn starting(epoch: i32, offset: i64) -> Self {
        let mut cache = Self::default();
        cache.assign(epoch, offset);
        cache
    }

    /// Notes that `epoch` began at `offset`. Only a larger epoch than the
    /// latest is recorded (entries arrive in log order).
    pub fn assign(&mut self, epoch: i32, offset: i64) {
        if epoch < 0 || self.latest().is_some_and(|latest| epoch <= latest) {
            return;
        }
        self.starts.insert(epoch, offset);
    }

    /// The latest epoch recorded.
    pub fn latest(&self) -> Option<i32> {
        self.starts.keys().next_back().copied()
    }

    /// Every (epoch, start offset), oldest first.
    pub fn epochs(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.starts.iter().map(|(e, o)| (*e, *o))
    }

    /// The end offset of `requested` (Kafka's `LeaderEpochFileCache.endOffsetFor`),
    /// where `current` is the partition's current leader epoch (which may
    /// not have an entry yet), `log_end` the log end offset and `log_start`
    /// the log start offset (epochs that ended before it are gone, as
    /// Kafka truncates its cache from the start).
    pub fn end_offset_for(
        &self,
        requested: i32,
        current: i32,
        log_start: i64,
        log_end: i64,
    ) -> EpochEndOffset {
        if requested == UNDEFINED_EPOCH {
            return EpochEndOffset::UNDEFINED;
        }
        if requested == current || self.latest() == Some(requested) {
            return EpochEndOffset {
                leader_epoch: requested,
                end_offset: log_end,
            };
        }
        let Some((_, &higher_start)) = self.starts.range(requested + 1..).next() else {
            if requested > current {
                return EpochEndOffset::UNDEFINED;
            }
            // Between the latest recorded epoch and the current one (the
            // new leader's first entry has not applied yet).
            return match self.latest() {
                Some(latest) => EpochEndOffset {
                    leader_epoch: latest,
                    end_offset: log_end,
                },
                None => EpochEndOffset {
                    leader_epoch: requested,
                    end_offset: log_end,
                },
            };
        };
        let higher_start = higher_start.max(log_start);
        // The largest epoch not above the requested one that still holds
        // records at or after the log start.
        let floor = self
            .starts
            .range(..=requested)
            .next_back()
            .map(|(e, _)| *e)
            .filter(|_| higher_start > log_start);
        EpochEndOffset {
            leader_epoch: floor.unwrap_or(requested),
            end_offset: higher_start,
        }
    }
}

fn read_i32(data: &[u8], at: usize) -> Option<i32> {
    let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(i32::from_be_bytes(bytes))
}

/// Sets `partitionLeaderEpoch` of every whole v2 batch in `records` to
/// `epoch`, as Kafka's leader does when it appends (the field lies before
/// the CRC's range). A truncated tail is left alone.
pub fn stamp_leader_epoch(records: &mut [u8], epoch: i32) {
    let mut pos = 0usize;
    while pos + LOG_OVERHEAD <= records.len() {
        let Some(len) = read_i32(records, pos + 8).and_then(|l| usize::try_from(l).ok()) else {
            return;
        };
        let end = pos + LOG_OVERHEAD + len;
        if end > records.len() || len < 4 {
            return;
        }
        records[pos + LEADER_EPOCH_AT..pos + LEADER_EPOCH_AT + 4]
            .copy_from_slice(&epoch.to_be_bytes());
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> LeaderEpochCache {
        // Epoch 1 wrote 0..100, epoch 3 wrote 100..250, epoch 6 from 250.
        let mut c = LeaderEpochCache::default();
        c.assign(1, 0);
        c.assign(3, 100);
        c.assign(3, 180); // same epoch again: ignored
        c.assign(2, 190); // older epoch: ignored
        c.assign(6, 250);
        c
    }

    fn end(epoch: i32, offset: i64) -> EpochEndOffset {
        EpochEndOffset {
            leader_epoch: epoch,
            end_offset: offset,
        }
    }

    #[test]
    fn an_epoch_ends_where_the_next_larger_one_starts() {
        let c = cache();
        assert_eq!(c.end_offset_for(1, 6, 0, 300), end(1, 100));
        assert_eq!(c.end_offset_for(3, 6, 0, 300), end(3, 250));
        // An epoch without records: the largest earlier one answers.
        assert_eq!(c.end_offset_for(2, 6, 0, 300), end(1, 100));
        assert_eq!(c.end_offset_for(5, 6, 0, 300), end(3, 250));
        // Below every known epoch: the requested epoch, first start.
        assert_eq!(c.end_offset_for(0, 6, 0, 300), end(0, 0));
    }

    #[test]
    fn the_current_epoch_ends_at_the_log_end_and_unknown_ones_are_undefined() {
        let c = cache();
        assert_eq!(c.end_offset_for(6, 6, 0, 300), end(6, 300));
        // The leader of epoch 8 has not applied its first entry yet.
        assert_eq!(c.end_offset_for(8, 8, 0, 300), end(8, 300));
        assert_eq!(c.end_offset_for(7, 8, 0, 300), end(6, 300));
        assert_eq!(c.end_offset_for(9, 8, 0, 300), EpochEndOffset::UNDEFINED);
        assert_eq!(c.end_offset_for(-1, 8, 0, 300), EpochEndOffset::UNDEFINED);
        assert_eq!(
            LeaderEpochCache::default().end_offset_for(4, 4, 0, 0),
            end(4, 0)
        );
    }

    #[test]
    fn epochs_before_the_log_start_are_clamped_to_it() {
        let c = cache();
        // Records 0..120 were deleted: epoch 1 ended before the log start.
        assert_eq!(c.end_offset_for(1, 6, 120, 300), end(1, 120));
        assert_eq!(c.end_offset_for(3, 6, 120, 300), end(3, 250));
        let c = LeaderEpochCache::starting(5, 400);
        assert_eq!(c.end_offset_for(2, 5, 400, 410), end(2, 400));
    }

    #[test]
    fn stamping_sets_every_batch_epoch_and_skips_a_torn_tail() {
        let batch = |body: usize| {
            let mut b = vec![0u8; LOG_OVERHEAD + body];
            b[8..12].copy_from_slice(&(body as i32).to_be_bytes());
            b[12..16].copy_from_slice(&(-1i32).to_be_bytes());
            b
        };
        let mut data = batch(60);
        data.extend(batch(70));
        let whole = data.len();
        data.extend(&batch(80)[..30]);
        stamp_leader_epoch(&mut data, 7);
        assert_eq!(read_i32(&data, 12), Some(7));
        assert_eq!(read_i32(&data, LOG_OVERHEAD + 60 + 12), Some(7));
        assert_eq!(read_i32(&data, whole + 12), Some(-1));
    }
}
