//! Plain data types crossing the [`super::Backend`] boundary.

use std::collections::BTreeMap;

use bytes::Bytes;
use uuid::Uuid;

use crate::batch::BatchSummary;

/// A topic name and partition index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// Builds a topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

/// A broker as advertised to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Node id.
    pub node_id: i32,
    /// Advertised host name.
    pub host: String,
    /// Kafka port.
    pub port: i32,
}

/// The cluster as clients should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// Cluster id reported in Metadata.
    pub cluster_id: String,
    /// The node clients should treat as controller (topic management requests go there).
    pub controller_id: i32,
    /// Every broker.
    pub brokers: Vec<BrokerInfo>,
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Current leader, `-1` when unknown.
    pub leader: i32,
    /// Leader epoch (Raft term or equivalent), `-1` when unknown.
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
}

/// A topic with its partitions and configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Topic id.
    pub id: Uuid,
    /// Partitions, ordered by index.
    pub partitions: Vec<PartitionInfo>,
    /// Replication factor.
    pub replication_factor: i16,
    /// Topic-level configuration overrides (e.g. `retention.ms`).
    pub configs: BTreeMap<String, String>,
}

/// What CreateTopics asks for, after the front end resolved defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name (validated by the front end).
    pub name: String,
    /// Number of partitions (>= 1).
    pub partitions: i32,
    /// Replication factor (>= 1).
    pub replication_factor: i16,
    /// Topic configuration overrides.
    pub configs: BTreeMap<String, String>,
}

/// Produce acknowledgement level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: the client does not wait; the broker still appends.
    None,
    /// `acks=1`: answer after the leader's local append.
    Leader,
    /// `acks=all` (`-1`): answer after the data is committed.
    All,
}

/// An append of one partition's record batches.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    /// Target partition.
    pub partition: TopicPartition,
    /// Record batches (magic v2) exactly as received; base offsets are rewritten by
    /// the implementation (see [`crate::batch::assign_offsets`]).
    pub records: Bytes,
    /// Parsed headers of each batch in `records`.
    pub batches: Vec<BatchSummary>,
    /// Acknowledgement level.
    pub acks: Acks,
}

/// Result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Offset assigned to the first record (for a duplicate idempotent batch: the
    /// offset assigned the first time).
    pub base_offset: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    /// The broker time stamped into the batches when the topic uses
    /// `LogAppendTime`, `-1` otherwise.
    pub log_append_time_ms: i64,
}

/// A read of committed data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// Source partition.
    pub partition: TopicPartition,
    /// First offset wanted.
    pub offset: i64,
    /// Soft byte limit: `0` returns no records (watermarks only); otherwise at least
    /// one whole batch is returned if any exists, further batches only while the
    /// total stays within the limit.
    pub max_bytes: usize,
}

/// Committed data of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Whole record batches, possibly empty.
    pub records: Bytes,
    /// Offset after the last committed record.
    pub high_watermark: i64,
    /// First offset still stored.
    pub log_start_offset: i64,
}

/// Which offset ListOffsets resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (`-2`).
    Earliest,
    /// The high watermark (`-1`).
    Latest,
    /// The offset of the record with the largest timestamp (`-3`).
    MaxTimestamp,
    /// The first offset whose timestamp is >= the given one.
    Timestamp(i64),
}

/// An offset with the timestamp it was resolved from (`-1` when not applicable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// Offset, `-1` when no record matches a timestamp lookup.
    pub offset: i64,
    /// Timestamp, `-1` when not applicable.
    pub timestamp: i64,
}

/// A producer id with its epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdentity {
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
}

/// A committed consumer group offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// Next offset to consume.
    pub offset: i64,
    /// Leader epoch given by the client, `-1` if none.
    pub leader_epoch: i32,
    /// Client metadata string.
    pub metadata: Option<String>,
}

/// A committed offset of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    /// The partition.
    pub partition: TopicPartition,
    /// The committed offset.
    pub committed: CommittedOffset,
}

/// One change of AlterUserScramCredentials (or of the HTTP users API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramAlteration {
    /// Creates or replaces `user`'s credential for `mechanism`.
    Upsert {
        /// User name.
        user: String,
        /// Mechanism.
        mechanism: crate::sasl::ScramMechanism,
        /// The derived credential (never the password).
        credential: crate::sasl::ScramCredential,
    },
    /// Removes `user`'s credential for `mechanism`.
    Delete {
        /// User name.
        user: String,
        /// Mechanism.
        mechanism: crate::sasl::ScramMechanism,
    },
}

/// Each listener's address of each broker: listener name → node id →
/// (host, port).
pub type ListenerAddresses = BTreeMap<String, BTreeMap<i32, (String, i32)>>;
