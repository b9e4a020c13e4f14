//! The partition admin APIs of the in-memory backend: one node leading
//! every partition at leader epoch 0, whose only log directory is memory.

use super::{led_log_mut, log_mut, MemoryBackend};
use crate::backend::{
    BackendResult, ElectionOutcome, ElectionType, EpochLookup, LogDirDescription, ReplicaLog,
    TopicPartition,
};
use crate::leader_epochs::LeaderEpochCache;

/// The leader epoch of every partition here.
const EPOCH: i32 = 0;

impl MemoryBackend {
    /// OffsetForLeaderEpoch: epoch 0 spans the whole log.
    pub(super) fn epoch_end_offset(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> BackendResult<EpochLookup> {
        let mut state = self.lock();
        let log = led_log_mut(&mut state, tp)?;
        if let Some(refusal) = EpochLookup::check_current(current_leader_epoch, EPOCH) {
            return Ok(refusal);
        }
        let cache = LeaderEpochCache::starting(EPOCH, 0);
        Ok(EpochLookup::EndOffset(cache.end_offset_for(
            leader_epoch,
            EPOCH,
            0,
            log.next_offset,
        )))
    }

    /// Every partition, with the bytes of its stored batches.
    pub(super) fn log_dir(&self) -> LogDirDescription {
        let state = self.lock();
        let replicas = state
            .topics
            .iter()
            .flat_map(|(name, topic)| {
                topic.partitions.iter().enumerate().map(move |(i, log)| {
                    let size: usize = log.batches.iter().map(|b| b.bytes.len()).sum();
                    ReplicaLog {
                        partition: TopicPartition::new(
                            name.clone(),
                            i32::try_from(i).unwrap_or(i32::MAX),
                        ),
                        size: i64::try_from(size).unwrap_or(i64::MAX),
                        offset_lag: 0,
                    }
                })
            })
            .collect();
        LogDirDescription {
            path: "memory".to_string(),
            total_bytes: -1,
            usable_bytes: -1,
            replicas,
        }
    }

    /// This node is the only replica: it always leads already.
    pub(super) fn election(
        &self,
        tp: &TopicPartition,
        election: ElectionType,
    ) -> BackendResult<ElectionOutcome> {
        let mut state = self.lock();
        let log = log_mut(&mut state, tp)?;
        Ok(match (election, log.foreign_leader) {
            (_, None) => ElectionOutcome::NotNeeded,
            (ElectionType::Preferred, Some(_)) => ElectionOutcome::PreferredLeaderNotAvailable,
            (ElectionType::Unclean, Some(_)) => ElectionOutcome::NotNeeded,
        })
    }
}
