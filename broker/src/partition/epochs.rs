//! The leader epochs of a partition: Chronik's leader epoch is the
//! partition group's Raft term (what Metadata reports). Every replica notes,
//! while applying, the offset at which the first entry of each term begins
//! (the new leader's empty entry included, as Kafka records an epoch when a
//! leader takes over), so all replicas agree and a new leader answers
//! OffsetForLeaderEpoch as the old one would have. A restart or an
//! installed snapshot starts the cache at the snapshot's term and log start
//! (earlier epochs are gone with their records, as Kafka truncates its
//! cache from the start).

use super::PartitionShared;
use chronik_kafka::backend::EpochLookup;
use chronik_kafka::leader_epochs::{EpochEndOffset, LeaderEpochCache};
use std::sync::RwLockReadGuard;

/// The epoch of Raft term 0, which no entry has.
const NO_TERM_EPOCH: i32 = 0;

/// The Kafka leader epoch of Raft term `term`.
pub fn epoch_of(term: u64) -> i32 {
    i32::try_from(term).unwrap_or(i32::MAX)
}

impl PartitionShared {
    /// The partition's leader epoch cache.
    pub fn epochs(&self) -> RwLockReadGuard<'_, LeaderEpochCache> {
        self.epochs.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes an entry of Raft term `term` about to apply (Raft task only):
    /// a new term starts at the current end of the log.
    pub fn note_term(&self, term: u64) {
        let epoch = epoch_of(term);
        if self.epochs().latest().is_some_and(|latest| latest >= epoch) {
            return;
        }
        let start = self.index().high_watermark();
        self.epochs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .assign(epoch, start);
    }

    /// Restarts the cache at a snapshot of Raft term `term` whose log
    /// starts at `log_start` (Raft task only).
    pub fn reset_epochs(&self, term: u64, log_start: i64) {
        *self.epochs.write().unwrap_or_else(|e| e.into_inner()) =
            LeaderEpochCache::starting(epoch_of(term), log_start);
    }

    /// OffsetForLeaderEpoch on this replica: the client's
    /// `current_leader_epoch` checked against the group's term, then the end
    /// offset of `leader_epoch` in the committed log.
    pub fn end_offset_for(&self, current_leader_epoch: i32, leader_epoch: i32) -> EpochLookup {
        let current = epoch_of(self.term());
        if let Some(refusal) = EpochLookup::check_current(current_leader_epoch, current) {
            return refusal;
        }
        let (log_start, log_end) = {
            let index = self.index();
            (index.log_start_offset(), index.high_watermark())
        };
        if leader_epoch == NO_TERM_EPOCH {
            // No record carries epoch 0 (Raft terms of entries start at 1):
            // a client holding it got it from an answer without a real
            // epoch (ListOffsets answers 0). Committed records are never
            // truncated, so its position stands: answer the log end rather
            // than Kafka's "start of the first epoch", which would make
            // librdkafka see a truncation and seek back.
            return EpochLookup::EndOffset(EpochEndOffset {
                leader_epoch,
                end_offset: log_end,
            });
        }
        EpochLookup::EndOffset(self.epochs().end_offset_for(
            leader_epoch,
            current,
            log_start,
            log_end,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(epoch: i32, offset: i64) -> EpochLookup {
        EpochLookup::EndOffset(EpochEndOffset {
            leader_epoch: epoch,
            end_offset: offset,
        })
    }

    #[test]
    fn each_term_starts_where_the_log_ended_when_its_first_entry_applied() {
        let p = PartitionShared::new("t", 0, 5);
        p.note_term(1);
        p.index_mut().push(2, 10, 0, 100);
        p.note_term(1);
        p.note_term(3);
        p.index_mut().push(4, 5, 0, 100);
        p.set_leader(2, 3);
        assert_eq!(p.end_offset_for(3, 1), end(1, 10));
        assert_eq!(p.end_offset_for(3, 2), end(1, 10));
        assert_eq!(p.end_offset_for(-1, 3), end(3, 15));
        assert_eq!(p.end_offset_for(2, 1), EpochLookup::FencedLeaderEpoch);
        assert_eq!(p.end_offset_for(4, 1), EpochLookup::UnknownLeaderEpoch);
        // Epoch 0 (ListOffsets' answer) keeps the client's position.
        assert_eq!(p.end_offset_for(3, 0), end(0, 15));
        // A snapshot at term 3 whose log starts at 12 replaces the epochs.
        *p.index_mut() = crate::partition::PartitionIndex::starting_at(12);
        p.reset_epochs(3, 12);
        assert_eq!(p.end_offset_for(3, 1), end(1, 12));
        assert_eq!(p.end_offset_for(3, 3), end(3, 12));
    }
}
