//! The append path of [`super::RaftBackend`] and what it reads of a topic's
//! configs: each produce looks the topic's produce configs up at that
//! moment (a changed `max.message.bytes`, `compression.type` or
//! `message.timestamp.type` applies to the next batch), the leader applies
//! them to the batches (size limit, recompression, `LogAppendTime` stamp)
//! before proposing, so every replica stores the same bytes; and ListOffsets
//! by timestamp resolved to the record inside the stored entry.

use super::error::unavailable;
use crate::node::NodeHandle;
use crate::partition::{rewrite_base_offsets, PartitionRegistry, PartitionShared};
use chronik_kafka::backend::{BackendResult, TimestampOffset};
use chronik_kafka::batch::lookup::{self, Found};
use chronik_kafka::batch::policy::ProducePolicy;
use std::collections::BTreeMap;

/// Candidate entries a timestamp lookup reads before giving up: the first
/// entry whose largest timestamp reaches the target holds the record, the
/// others only matter if that entry cannot be read.
const LOOKUP_ENTRIES: usize = 4;

/// The effective value of topic config `key` in `configs` (the topic's
/// overrides): the override, else the table's default. The one place the
/// append path reads a topic config.
pub fn topic_config_value(configs: &BTreeMap<String, String>, key: &str) -> String {
    configs
        .get(key)
        .cloned()
        .or_else(|| chronik_api::config::topic_key(key).map(|k| k.default.to_string()))
        .unwrap_or_default()
}

/// The produce configs of the partition's topic as the metadata state holds
/// them now (defaults for a topic being deleted: the append then fails on
/// its own).
pub async fn produce_policy(
    node: &NodeHandle,
    shared: &PartitionShared,
) -> BackendResult<ProducePolicy> {
    let topic = shared.topic.clone();
    let configs = node
        .query(move |sm| sm.topics().get(&topic).map(|t| t.config.clone()))
        .await
        .map_err(unavailable)?
        .unwrap_or_default();
    Ok(ProducePolicy::from_config(|key| {
        topic_config_value(&configs, key)
    }))
}

fn to_offset(found: Option<Found>) -> TimestampOffset {
    found.map_or(
        TimestampOffset {
            offset: -1,
            timestamp: -1,
        },
        |f| TimestampOffset {
            offset: f.offset,
            timestamp: f.timestamp,
        },
    )
}

/// Reads a stored entry with its batches at the offsets the index gives.
fn entry_bytes(
    registry: &PartitionRegistry,
    shared: &PartitionShared,
    raft_index: u64,
    base_offset: i64,
) -> Option<bytes::BytesMut> {
    let entry = registry
        .engine()
        .entry(shared.raft_group_id, raft_index)
        .ok()
        .flatten()?;
    let mut out = bytes::BytesMut::new();
    rewrite_base_offsets(entry.get_data(), base_offset, &mut out);
    Some(out)
}

/// The first record whose timestamp is at least `target`.
pub fn offset_for_timestamp(
    registry: &PartitionRegistry,
    shared: &PartitionShared,
    target: i64,
) -> TimestampOffset {
    let candidates: Vec<_> = {
        let index = shared.index();
        index
            .entries()
            .iter()
            .filter(|e| e.max_timestamp >= target)
            .take(LOOKUP_ENTRIES)
            .copied()
            .collect()
    };
    let found = candidates.iter().find_map(|e| {
        let bytes = entry_bytes(registry, shared, e.raft_index, e.base_offset)?;
        lookup::first_at_or_after(&bytes, e.base_offset, target)
    });
    to_offset(found)
}

/// The first record holding the partition's largest timestamp.
pub fn max_timestamp_offset(
    registry: &PartitionRegistry,
    shared: &PartitionShared,
) -> TimestampOffset {
    let Some(e) = shared.index().max_timestamp() else {
        return to_offset(None);
    };
    let found = entry_bytes(registry, shared, e.raft_index, e.base_offset)
        .and_then(|bytes| lookup::max_timestamp(&bytes));
    to_offset(found)
}
