//! DeleteRecords over a partition group: the new log start offset is a
//! command in the partition's Raft log, so every replica moves it at the same
//! position (see docs/kafka-raft.md, "DeleteRecords").

use super::error::append_error;
use crate::node::NodeHandle;
use crate::partition::{PartitionCommand, PartitionShared};
use chronik_kafka::backend::{BackendResult, TopicPartition};
use chronik_kafka::BackendError;

/// Moves the log start of the partition `shared` (led here) to `offset`
/// (`-1`: the high watermark); answers the log start once applied.
pub async fn delete_records(
    node: &NodeHandle,
    shared: &PartitionShared,
    partition: &TopicPartition,
    offset: i64,
) -> BackendResult<i64> {
    let (high_watermark, log_start) = {
        let index = shared.index();
        (index.high_watermark(), index.log_start_offset())
    };
    let target = if offset == -1 { high_watermark } else { offset };
    if target > high_watermark || target < 0 {
        return Err(BackendError::OffsetOutOfRange {
            topic: partition.topic.clone(),
            partition: partition.partition,
            offset,
            log_start,
            high_watermark,
        });
    }
    let command = PartitionCommand::DeleteRecords { offset: target };
    node.append(shared.raft_group_id, command.encode(), false)
        .await
        .map_err(|e| append_error(partition, e))
}
