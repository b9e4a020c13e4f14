//! Serving committed partition data straight from raft-engine.

use crate::partition::{epoch_of, rewrite_base_offsets, PartitionRegistry, PartitionShared};
use chronik_kafka::backend::{BackendResult, OffsetSpec, ReadRequest, ReadResult, TimestampOffset};
use chronik_kafka::leader_epochs::stamp_leader_epoch;
use chronik_kafka::BackendError;

/// Whole batches from the one containing `request.offset`, committed only.
pub fn read(
    registry: &PartitionRegistry,
    shared: &PartitionShared,
    request: &ReadRequest,
) -> BackendResult<ReadResult> {
    let (entries, high_watermark, log_start_offset) = {
        let index = shared.index();
        let hw = index.high_watermark();
        let start = index.log_start_offset();
        if request.offset < start || request.offset > hw {
            return Err(BackendError::OffsetOutOfRange {
                topic: request.partition.topic.clone(),
                partition: request.partition.partition,
                offset: request.offset,
                log_start: start,
                high_watermark: hw,
            });
        }
        let entries = if request.max_bytes == 0 {
            Vec::new()
        } else {
            index.entries_from(request.offset, request.max_bytes)
        };
        (entries, hw, start)
    };
    let mut out = bytes::BytesMut::new();
    for e in entries {
        let entry = registry
            .engine()
            .entry(shared.raft_group_id, e.raft_index)
            .map_err(|err| {
                tracing::error!(group = shared.raft_group_id, index = e.raft_index, error = %err, "reading a committed entry failed");
                BackendError::Unavailable {
                    reason: "reading the partition log failed",
                }
            })?;
        let Some(entry) = entry else {
            // Retention deleted it after the index was read.
            let index = shared.index();
            return Err(BackendError::OffsetOutOfRange {
                topic: request.partition.topic.clone(),
                partition: request.partition.partition,
                offset: request.offset,
                log_start: index.log_start_offset(),
                high_watermark: index.high_watermark(),
            });
        };
        let start = out.len();
        rewrite_base_offsets(entry.get_data(), e.base_offset, &mut out);
        // The batch's leader epoch is the term that appended it (Kafka's
        // leader stamps it on append; see `partition::epochs`).
        stamp_leader_epoch(&mut out[start..], epoch_of(entry.term));
    }
    Ok(ReadResult {
        records: out.freeze(),
        high_watermark,
        log_start_offset,
    })
}

/// Resolves ListOffsets from the index (batch granularity for timestamps).
pub fn list_offset(shared: &PartitionShared, spec: OffsetSpec) -> TimestampOffset {
    let index = shared.index();
    let none = TimestampOffset {
        offset: -1,
        timestamp: -1,
    };
    match spec {
        OffsetSpec::Earliest => TimestampOffset {
            offset: index.log_start_offset(),
            timestamp: -1,
        },
        OffsetSpec::Latest => TimestampOffset {
            offset: index.high_watermark(),
            timestamp: -1,
        },
        OffsetSpec::MaxTimestamp => index.max_timestamp().map_or(none, |e| TimestampOffset {
            offset: e.next_offset - 1,
            timestamp: e.max_timestamp,
        }),
        OffsetSpec::Timestamp(ts) => {
            index
                .first_at_or_after(ts)
                .map_or(none, |e| TimestampOffset {
                    offset: e.base_offset,
                    timestamp: e.max_timestamp,
                })
        }
    }
}
