//! How big topics may get, checked before a creation is proposed and again
//! when a committed one is applied: one request must not make every replica
//! open millions of Raft groups (and crash again on every replay).
//!
//! Two layers:
//! - [`TopicLimits`], the broker flags `--max-partitions-per-topic` and
//!   `--max-partitions`: the HTTP API and the Kafka adapter check every
//!   creation against them (and against Kafka's topic name rule) before
//!   proposing anything. Concurrent creations through different brokers can
//!   together exceed the cluster limit slightly; the hard caps still hold.
//! - [`HARD_LIMITS`], compiled in: the metadata state machine refuses a
//!   committed creation beyond them, deterministically on every replica and on
//!   every replay (flags may differ between brokers; these may not). The flags
//!   cannot be set above them.

use chronik_kafka::topic_name::{valid_topic_name, MAX_TOPIC_NAME_LEN};

/// Default of `--max-partitions-per-topic`: what a 2-core broker opens
/// without trouble as Raft groups.
pub const DEFAULT_MAX_PARTITIONS_PER_TOPIC: u32 = 1_000;
/// Default of `--max-partitions` (every topic of the cluster together).
pub const DEFAULT_MAX_PARTITIONS: u32 = 10_000;
/// Largest `--max-partitions-per-topic`, and what apply enforces.
pub const HARD_MAX_PARTITIONS_PER_TOPIC: u32 = 10_000;
/// Largest `--max-partitions`, and what apply enforces.
pub const HARD_MAX_PARTITIONS: u32 = 100_000;

/// The caps the metadata state machine enforces on committed commands.
pub const HARD_LIMITS: TopicLimits = TopicLimits {
    max_partitions_per_topic: HARD_MAX_PARTITIONS_PER_TOPIC,
    max_partitions: HARD_MAX_PARTITIONS,
};

/// The flag of the per-topic limit, named in refusals.
pub const PER_TOPIC_FLAG: &str = "--max-partitions-per-topic";
/// The flag of the cluster limit, named in refusals.
pub const PER_CLUSTER_FLAG: &str = "--max-partitions";

/// Partition limits of topic creation and growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicLimits {
    /// Largest partition count of one topic.
    pub max_partitions_per_topic: u32,
    /// Largest partition count of all topics together.
    pub max_partitions: u32,
}

impl Default for TopicLimits {
    fn default() -> Self {
        Self {
            max_partitions_per_topic: DEFAULT_MAX_PARTITIONS_PER_TOPIC,
            max_partitions: DEFAULT_MAX_PARTITIONS,
        }
    }
}

/// Why a topic creation or growth is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The name breaks Kafka's rule.
    #[error("invalid topic name {name:?}: topic names are 1 to {MAX_TOPIC_NAME_LEN} characters of [a-zA-Z0-9._-], not \".\" or \"..\"")]
    InvalidName { name: String },
    /// Fewer than one partition.
    #[error("topic {topic:?}: a topic needs at least one partition, not {requested}")]
    NoPartitions { topic: String, requested: i64 },
    /// More partitions than one topic may have.
    #[error("topic {topic:?}: {requested} partitions exceed the limit of {limit} per topic ({PER_TOPIC_FLAG})")]
    PerTopic {
        topic: String,
        requested: i64,
        limit: u32,
    },
    /// More partitions than the cluster may hold.
    #[error("topic {topic:?}: {added} more partitions would make {total} in the cluster, over the limit of {limit} ({PER_CLUSTER_FLAG})")]
    PerCluster {
        topic: String,
        added: i64,
        total: u64,
        limit: u32,
    },
}

impl LimitError {
    /// The flag whose limit was hit, `None` for a bad name or count.
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            Self::PerTopic { .. } => Some(PER_TOPIC_FLAG),
            Self::PerCluster { .. } => Some(PER_CLUSTER_FLAG),
            Self::InvalidName { .. } | Self::NoPartitions { .. } => None,
        }
    }
}

/// Checks a topic name against Kafka's rule.
pub fn check_name(name: &str) -> Result<(), LimitError> {
    if valid_topic_name(name) {
        Ok(())
    } else {
        Err(LimitError::InvalidName {
            name: name.to_string(),
        })
    }
}

impl TopicLimits {
    /// Checks growing topic `topic` from `current` to `requested` partitions
    /// (0 for a new topic) while the cluster holds `cluster_total`
    /// partitions, `current` included.
    pub fn check_partitions(
        &self,
        topic: &str,
        current: u32,
        requested: i64,
        cluster_total: u64,
    ) -> Result<(), LimitError> {
        if requested < 1 {
            return Err(LimitError::NoPartitions {
                topic: topic.to_string(),
                requested,
            });
        }
        if requested > i64::from(self.max_partitions_per_topic) {
            return Err(LimitError::PerTopic {
                topic: topic.to_string(),
                requested,
                limit: self.max_partitions_per_topic,
            });
        }
        let added = requested - i64::from(current);
        let total = cluster_total.saturating_add(added.max(0).unsigned_abs());
        if total > u64::from(self.max_partitions) {
            return Err(LimitError::PerCluster {
                topic: topic.to_string(),
                added,
                total,
                limit: self.max_partitions,
            });
        }
        Ok(())
    }

    /// Checks a new topic: its name and its partition count.
    pub fn check_create(
        &self,
        name: &str,
        partitions: i64,
        cluster_total: u64,
    ) -> Result<(), LimitError> {
        check_name(name)?;
        self.check_partitions(name, 0, partitions, cluster_total)
    }
}

#[cfg(test)]
mod tests;
