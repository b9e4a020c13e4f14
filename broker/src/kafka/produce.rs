//! The append path of [`super::RaftBackend`] and what it reads of a topic's
//! configs: each produce uses the topic's produce configs as the metadata
//! state holds them at that moment (a changed `max.message.bytes`,
//! `compression.type` or `message.timestamp.type` applies once this broker
//! applied the change and published it, within a tick), the leader applies
//! them to the batches (size limit, recompression, `LogAppendTime` stamp)
//! before proposing, so every replica stores the same bytes; and ListOffsets
//! by timestamp resolved to the record inside the stored entry.

use super::error::unavailable;
use crate::node::NodeHandle;
use crate::partition::{rewrite_base_offsets, IndexEntry, PartitionRegistry, PartitionShared};
use chronik_kafka::backend::{BackendResult, TimestampOffset};
use chronik_kafka::batch::lookup::{self, Found};
use chronik_kafka::batch::policy::ProducePolicy;
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// Candidate entries a timestamp lookup reads before giving up: the first
/// entry whose largest timestamp reaches the target holds the record, the
/// others only matter if that entry cannot be read.
const LOOKUP_ENTRIES: usize = 4;

/// The effective value of topic config `key` for a topic with `overrides`
/// over the broker `layers` (override, dynamic broker default, static
/// `--config`, table default). The one place the append path reads a topic
/// config.
pub fn topic_config_value(
    layers: &chronik_api::config::ConfigLayers,
    overrides: &BTreeMap<String, String>,
    key: &str,
) -> String {
    layers
        .topic_value(overrides, key)
        .map(|v| v.value)
        .unwrap_or_default()
}

/// Topics whose produce policy is remembered before the cache starts over.
const CACHE_LIMIT: usize = 4096;

/// Each topic's produce policy as of a metadata applied index. A produce
/// reads the policy the metadata state holds at that moment: the cached one
/// while the metadata group applied nothing new (the published status,
/// refreshed every tick and on every change of role), else a fresh query to
/// the node task. Asking the node task on every produce would queue each
/// request behind a whole Raft loop turn (an fsync).
#[derive(Default)]
pub struct ProducePolicies {
    cache: RwLock<HashMap<String, (u64, ProducePolicy)>>,
}

impl ProducePolicies {
    /// The produce configs of the partition's topic (defaults for a topic
    /// being deleted: the append then fails on its own).
    pub async fn policy(
        &self,
        node: &NodeHandle,
        static_config: &crate::broker_config::StaticConfig,
        shared: &PartitionShared,
    ) -> BackendResult<ProducePolicy> {
        let applied = node.watch_status().borrow().applied_index;
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&shared.topic)
            .copied();
        if let Some((at, policy)) = cached {
            if at == applied {
                return Ok(policy);
            }
        }
        let topic = shared.topic.clone();
        // Read after `applied` was: at least that new, so the entry stays
        // right until the published index moves on.
        let static_config = static_config.clone();
        let (layers, configs) = node
            .query(move |sm| {
                let configs = sm.topics().get(&topic).map(|t| t.config.clone());
                (
                    crate::broker_config::layers(sm, &static_config),
                    configs.unwrap_or_default(),
                )
            })
            .await
            .map_err(unavailable)?;
        let policy = ProducePolicy::from_config(|key| topic_config_value(&layers, &configs, key));
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(shared.topic.clone(), (applied, policy));
        Ok(policy)
    }
}

/// Topic ids and names as of a metadata applied index: Fetch v13+ (what
/// librdkafka 2.16 sends) resolves ids on every request.
#[derive(Default)]
pub struct TopicIdCache {
    cache: RwLock<Option<(u64, HashMap<uuid::Uuid, String>)>>,
}

impl TopicIdCache {
    /// Every topic's id and name as the metadata state holds them now.
    pub async fn ids(
        &self,
        node: &NodeHandle,
        registry: &PartitionRegistry,
    ) -> BackendResult<HashMap<uuid::Uuid, String>> {
        let applied = node.watch_status().borrow().applied_index;
        if let Some((at, ids)) = &*self.cache.read().unwrap_or_else(|e| e.into_inner()) {
            if *at == applied {
                return Ok(ids.clone());
            }
        }
        let topics = node.topics().await.map_err(unavailable)?;
        let ids: HashMap<uuid::Uuid, String> = topics
            .values()
            .map(|t| (super::topics::topic_info(t, registry).id, t.name.clone()))
            .collect();
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Some((applied, ids.clone()));
        Ok(ids)
    }
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

/// Reads a stored entry with its batches at the offsets the index gives:
/// from the compacted segment (absolute offsets, as stored) or the Raft
/// entry (base offsets rewritten).
fn entry_bytes(
    registry: &PartitionRegistry,
    shared: &PartitionShared,
    e: &IndexEntry,
) -> Option<bytes::BytesMut> {
    if let Some(compacted) = shared.index().compacted_bytes(e) {
        return Some(bytes::BytesMut::from(&compacted[..]));
    }
    let entry = registry
        .engine()
        .entry(shared.raft_group_id, e.raft_index)
        .ok()
        .flatten()?;
    let mut out = bytes::BytesMut::new();
    rewrite_base_offsets(entry.get_data(), e.base_offset, &mut out);
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
        let bytes = entry_bytes(registry, shared, e)?;
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
    let found = entry_bytes(registry, shared, &e).and_then(|bytes| lookup::max_timestamp(&bytes));
    to_offset(found)
}
