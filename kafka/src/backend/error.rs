//! Errors a [`super::Backend`] reports, each mapping to a Kafka error code.

use kafka_protocol::ResponseError;

/// A failed backend operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The topic does not exist.
    #[error("unknown topic {topic}")]
    UnknownTopic {
        /// Topic name.
        topic: String,
    },
    /// The topic exists but not the partition.
    #[error("unknown partition {topic}-{partition}")]
    UnknownPartition {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// CreateTopics of an existing topic.
    #[error("topic {topic} already exists")]
    TopicAlreadyExists {
        /// Topic name.
        topic: String,
    },
    /// A partition count that is invalid (e.g. shrinking).
    #[error("invalid partition count {requested} for topic {topic} (has {current})")]
    InvalidPartitions {
        /// Topic name.
        topic: String,
        /// Current count.
        current: i32,
        /// Requested count.
        requested: i32,
    },
    /// A partition count over a configured limit (`INVALID_PARTITIONS`).
    #[error(
        "topic {topic}: {requested} partitions exceed the limit of {limit} per topic ({setting})"
    )]
    PartitionLimit {
        /// Topic name.
        topic: String,
        /// Partitions the topic would have.
        requested: i64,
        /// The limit.
        limit: u64,
        /// The setting that sets the limit.
        setting: &'static str,
    },
    /// A request the cluster's policy refuses (`POLICY_VIOLATION`), e.g. more
    /// partitions in the cluster than it allows.
    #[error("policy violation: {message}")]
    PolicyViolation {
        /// What the policy refused and which setting says so.
        message: String,
    },
    /// A topic name Kafka's rules refuse (`INVALID_TOPIC_EXCEPTION`).
    #[error("invalid topic name {topic:?}: {reason}")]
    InvalidTopic {
        /// The name.
        topic: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A record timestamp outside the window the topic accepts
    /// (`INVALID_TIMESTAMP`).
    #[error("timestamp {timestamp} is more than {limit_ms} ms {direction} the broker's clock ({now}); see {setting}")]
    InvalidTimestamp {
        /// The batch's offending timestamp.
        timestamp: i64,
        /// The broker's clock when checked.
        now: i64,
        /// The limit in milliseconds.
        limit_ms: i64,
        /// `"ahead of"` or `"behind"`.
        direction: &'static str,
        /// The topic config that sets the limit.
        setting: &'static str,
    },
    /// A replication factor the cluster cannot satisfy.
    #[error("replication factor {requested} exceeds {available} available brokers")]
    InvalidReplicationFactor {
        /// Requested factor.
        requested: i16,
        /// Brokers available.
        available: usize,
    },
    /// This node does not lead the partition.
    #[error("node is not the leader of {topic}-{partition} (leader {leader})")]
    NotLeader {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Known leader, `-1` if unknown.
        leader: i32,
    },
    /// A read beyond the log.
    #[error(
        "offset {offset} out of range [{log_start}, {high_watermark}] for {topic}-{partition}"
    )]
    OffsetOutOfRange {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Requested offset.
        offset: i64,
        /// Log start offset.
        log_start: i64,
        /// High watermark.
        high_watermark: i64,
    },
    /// An idempotent batch whose sequence does not follow the last one.
    #[error("out of order sequence {sequence} for producer {producer_id} (expected {expected})")]
    OutOfOrderSequence {
        /// Producer id.
        producer_id: i64,
        /// First sequence of the batch.
        sequence: i32,
        /// Expected sequence.
        expected: i32,
    },
    /// An idempotent batch from an older producer epoch.
    #[error("producer {producer_id} epoch {epoch} is fenced by epoch {current}")]
    InvalidProducerEpoch {
        /// Producer id.
        producer_id: i64,
        /// Epoch in the batch.
        epoch: i16,
        /// Current epoch.
        current: i16,
    },
    /// A producer id this backend never handed out.
    #[error("unknown producer id {producer_id}")]
    UnknownProducerId {
        /// Producer id.
        producer_id: i64,
    },
    /// Replication did not commit in time (acks=all).
    #[error("timed out waiting for replication of {topic}-{partition}")]
    Timeout {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
    },
    /// This broker does not coordinate the group (`NOT_COORDINATOR`: the
    /// client looks the coordinator up again).
    #[error("not the coordinator of group {group:?}")]
    NotCoordinator {
        /// Group id.
        group: String,
    },
    /// The coordinator is still loading the group's state
    /// (`COORDINATOR_LOAD_IN_PROGRESS`: the client retries).
    #[error("coordinator of group {group:?} is still loading")]
    CoordinatorLoading {
        /// Group id.
        group: String,
    },
    /// The backend cannot serve right now (no leader, shutting down...).
    #[error("backend unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: &'static str,
    },
    /// A batch larger than the topic's `max.message.bytes`
    /// (`MESSAGE_TOO_LARGE`).
    #[error("batch of {size} bytes exceeds max.message.bytes {limit}")]
    MessageTooLarge {
        /// Size of the batch.
        size: usize,
        /// The topic's `max.message.bytes`.
        limit: usize,
    },
    /// A batch the topic's configs cannot store (`INVALID_RECORD`).
    #[error("invalid record batch: {reason}")]
    InvalidRecord {
        /// Why.
        reason: String,
    },
}

impl BackendError {
    /// The Kafka error this maps to.
    pub fn response_error(&self) -> ResponseError {
        match self {
            Self::UnknownTopic { .. } | Self::UnknownPartition { .. } => {
                ResponseError::UnknownTopicOrPartition
            }
            Self::TopicAlreadyExists { .. } => ResponseError::TopicAlreadyExists,
            Self::InvalidPartitions { .. } | Self::PartitionLimit { .. } => {
                ResponseError::InvalidPartitions
            }
            Self::PolicyViolation { .. } => ResponseError::PolicyViolation,
            Self::InvalidTopic { .. } => ResponseError::InvalidTopicException,
            Self::InvalidTimestamp { .. } => ResponseError::InvalidTimestamp,
            Self::InvalidReplicationFactor { .. } => ResponseError::InvalidReplicationFactor,
            Self::NotLeader { .. } => ResponseError::NotLeaderOrFollower,
            Self::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            Self::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
            Self::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            Self::UnknownProducerId { .. } => ResponseError::UnknownProducerId,
            Self::Timeout { .. } => ResponseError::RequestTimedOut,
            Self::NotCoordinator { .. } => ResponseError::NotCoordinator,
            Self::CoordinatorLoading { .. } => ResponseError::CoordinatorLoadInProgress,
            Self::Unavailable { .. } => ResponseError::LeaderNotAvailable,
            Self::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
            Self::InvalidRecord { .. } => ResponseError::InvalidRecord,
        }
    }

    /// The numeric Kafka error code.
    pub fn code(&self) -> i16 {
        self.response_error().code()
    }
}
