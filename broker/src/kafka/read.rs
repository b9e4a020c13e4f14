//! Serving committed partition data straight from raft-engine, and from the
//! compacted segment of a compacted partition.

use crate::partition::{
    epoch_of, rewrite_base_offsets, IndexEntry, PartitionRegistry, PartitionShared,
};
use bytes::Bytes;
use chronik_kafka::backend::{BackendResult, OffsetSpec, ReadRequest, ReadResult, TimestampOffset};
use chronik_kafka::leader_epochs::stamp_leader_epoch;
use chronik_kafka::BackendError;

/// Reads retried when a compaction replaced the entries just looked up.
const READ_ATTEMPTS: usize = 3;

/// Whole batches from the one containing `request.offset` (or, in a
/// compacted log, the first one after it), committed only.
pub fn read(
    registry: &PartitionRegistry,
    shared: &PartitionShared,
    request: &ReadRequest,
) -> BackendResult<ReadResult> {
    for _ in 1..READ_ATTEMPTS {
        if let Some(result) = read_once(registry, shared, request)? {
            return Ok(result);
        }
    }
    read_once(registry, shared, request)?.ok_or_else(|| {
        // Retention deleted the entries after the index was read.
        let index = shared.index();
        BackendError::OffsetOutOfRange {
            topic: request.partition.topic.clone(),
            partition: request.partition.partition,
            offset: request.offset,
            log_start: index.log_start_offset(),
            high_watermark: index.high_watermark(),
        }
    })
}

/// An entry's stored bytes: from the compacted segment, or the Raft entry.
enum Stored {
    Compacted(Bytes),
    Raft(IndexEntry),
}

/// One read; `None` when an entry went between reading the index and
/// reading the entry (compaction or retention replaced it).
fn read_once(
    registry: &PartitionRegistry,
    shared: &PartitionShared,
    request: &ReadRequest,
) -> BackendResult<Option<ReadResult>> {
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
        let entries: Vec<Stored> = entries
            .into_iter()
            .map(|e| {
                index
                    .compacted_bytes(&e)
                    .map_or(Stored::Raft(e), Stored::Compacted)
            })
            .collect();
        (entries, hw, start)
    };
    let mut out = bytes::BytesMut::new();
    for stored in entries {
        let e = match stored {
            Stored::Compacted(bytes) => {
                out.extend_from_slice(&bytes);
                continue;
            }
            Stored::Raft(e) => e,
        };
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
            return Ok(None);
        };
        let start = out.len();
        rewrite_base_offsets(entry.get_data(), e.base_offset, &mut out);
        // The batch's leader epoch is the term that appended it (Kafka's
        // leader stamps it on append; see `partition::epochs`).
        stamp_leader_epoch(&mut out[start..], epoch_of(entry.term));
    }
    Ok(Some(ReadResult {
        records: out.freeze(),
        high_watermark,
        log_start_offset,
    }))
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
