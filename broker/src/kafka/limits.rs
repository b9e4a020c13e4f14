//! The checks the Kafka adapter makes before proposing: topic creations and
//! growth against [`TopicLimits`], and produced timestamps against each
//! topic's [`TimestampPolicy`] (its effective configs: topic overrides over
//! dynamic and static broker defaults, see `broker_config`).

use super::error::{limit_error, unavailable};
use crate::broker_config::StaticConfig;
use crate::node::NodeHandle;
use crate::partition::PartitionShared;
use crate::topic_limits::{check_name, TopicLimits};
use chronik_kafka::backend::BackendResult;
use chronik_kafka::batch::BatchSummary;
use chronik_kafka::timestamps::TimestampPolicy;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Cached timestamp policies before the cache starts over: more than the
/// cluster can hold partitions.
const CACHE_LIMIT: usize = 2 * crate::topic_limits::HARD_MAX_PARTITIONS as usize;
/// How long a cached policy is used: a changed config (AlterConfigs, a new
/// dynamic broker default) is in force on produce within this time.
const CACHE_TTL: Duration = Duration::from_millis(500);

/// What the adapter enforces before anything reaches Raft.
pub struct AdapterLimits {
    topics: TopicLimits,
    static_config: StaticConfig,
    /// Each partition group's timestamp policy and when it was resolved
    /// (group ids are never reused; configs change, hence [`CACHE_TTL`]).
    timestamps: RwLock<HashMap<u64, (TimestampPolicy, Instant)>>,
}

impl AdapterLimits {
    /// Limits with the given topic limits and static broker configs.
    pub fn new(topics: TopicLimits, static_config: StaticConfig) -> Self {
        Self {
            topics,
            static_config,
            timestamps: RwLock::new(HashMap::new()),
        }
    }

    /// Checks a topic creation: name, count, per-topic and cluster limits.
    pub async fn check_create(
        &self,
        node: &NodeHandle,
        name: &str,
        partitions: i32,
    ) -> BackendResult<()> {
        check_name(name).map_err(limit_error)?;
        let total = node
            .query(|sm| sm.topics().values().map(|t| u64::from(t.partitions)).sum())
            .await
            .map_err(unavailable)?;
        self.topics
            .check_partitions(name, 0, i64::from(partitions), total)
            .map_err(limit_error)
    }

    /// Checks growing `name` to `total` partitions (an unknown topic passes:
    /// the proposal reports it).
    pub async fn check_grow(&self, node: &NodeHandle, name: &str, total: i32) -> BackendResult<()> {
        let topic = name.to_string();
        let (current, cluster) = node
            .query(move |sm| {
                let current = sm.topics().get(&topic).map(|t| t.partitions);
                let cluster: u64 = sm.topics().values().map(|t| u64::from(t.partitions)).sum();
                (current, cluster)
            })
            .await
            .map_err(unavailable)?;
        let Some(current) = current else {
            return Ok(());
        };
        if i64::from(total) <= i64::from(current) {
            // Not growing: the state machine refuses it with its own error.
            return Ok(());
        }
        self.topics
            .check_partitions(name, current, i64::from(total), cluster)
            .map_err(limit_error)
    }

    /// Refuses batches stamped outside the partition's topic's window.
    pub async fn check_timestamps(
        &self,
        node: &NodeHandle,
        shared: &PartitionShared,
        batches: &[BatchSummary],
    ) -> BackendResult<()> {
        let policy = self.timestamp_policy(node, shared).await?;
        let now = i64::try_from(crate::node::now_ms()).unwrap_or(i64::MAX);
        policy.check(batches, now)
    }

    async fn timestamp_policy(
        &self,
        node: &NodeHandle,
        shared: &PartitionShared,
    ) -> BackendResult<TimestampPolicy> {
        let group = shared.raft_group_id;
        let cached = self
            .timestamps
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&group)
            .copied();
        if let Some((policy, at)) = cached {
            if at.elapsed() < CACHE_TTL {
                return Ok(policy);
            }
        }
        let topic = shared.topic.clone();
        let static_config = self.static_config.clone();
        let resolved = node
            .query(move |sm| {
                let layers = crate::broker_config::layers(sm, &static_config);
                let config = sm
                    .topics()
                    .get(&topic)
                    .filter(|t| t.partition_groups.iter().any(|g| g.group_id == group))
                    .map(|t| t.config.clone());
                (layers, config)
            })
            .await
            .map_err(unavailable)?;
        let (layers, Some(config)) = resolved else {
            // The topic is being deleted: the append fails on its own.
            return Ok(TimestampPolicy::default());
        };
        let policy = TimestampPolicy::resolve(&layers, &config).unwrap_or_else(|e| {
            tracing::warn!(topic = %shared.topic, error = %e, "timestamp config ignored");
            TimestampPolicy::resolve(&layers, &Default::default()).unwrap_or_default()
        });
        let mut cache = self.timestamps.write().unwrap_or_else(|e| e.into_inner());
        // Groups of deleted topics stay behind; starting over now and then
        // keeps the cache bounded through endless create/delete cycles.
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(group, (policy, Instant::now()));
        Ok(policy)
    }
}
