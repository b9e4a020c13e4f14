//! The storage boundary between the Kafka front end and whatever keeps the data.
//!
//! The front end (codec, connections, handlers, group membership) never touches
//! storage directly: everything durable goes through [`Backend`]. A Raft-replicated
//! implementation lives in the broker crate; [`MemoryBackend`] is the in-memory
//! implementation used by tests and by the `chronik-kafka-dev` binary.

mod error;
mod memory;
mod partition_admin;
mod types;

pub use error::BackendError;
pub use memory::{MemoryBackend, MemoryBackendConfig};
pub use partition_admin::{
    ElectionOutcome, ElectionType, EpochLookup, LogDirDescription, ReplicaLog,
};
pub use types::{
    Acks, AppendOutcome, AppendRequest, BrokerInfo, ClusterView, CommittedOffset, GroupOffset,
    ListenerAddresses, OffsetSpec, PartitionInfo, ProducerIdentity, ReadRequest, ReadResult,
    ScramAlteration, TimestampOffset, TopicInfo, TopicPartition, TopicSpec,
};

use std::future::Future;

use chronik_api::security::AclBinding;

use tokio::sync::watch;

/// Result type of every [`Backend`] operation.
pub type BackendResult<T> = Result<T, BackendError>;

/// What the Kafka front end needs from the replicated (or in-memory) log and metadata store.
///
/// Methods return `Send` futures so handlers can run on a multi-threaded runtime. The
/// trait is used generically (`B: Backend`), not as a trait object.
///
/// Contract highlights:
/// - Offsets are assigned by the implementation in [`Backend::append`]; the returned
///   base offset is the offset of the first record of the batch(es).
/// - [`Backend::read`] only returns committed data (below the high watermark).
/// - A partition this node does not lead answers [`BackendError::NotLeader`].
/// - Producer sequence checking belongs to the implementation (it must survive leader
///   changes); [`crate::idempotence::ProducerStateTable`] implements the rules.
pub trait Backend: Send + Sync + 'static {
    /// The node id of this broker.
    fn node_id(&self) -> i32;

    /// Brokers, their advertised addresses and the current controller.
    fn cluster(&self) -> impl Future<Output = BackendResult<ClusterView>> + Send;

    /// All topics with their partitions and leaders.
    fn list_topics(&self) -> impl Future<Output = BackendResult<Vec<TopicInfo>>> + Send;

    /// Creates a topic; fails with [`BackendError::TopicAlreadyExists`] if it exists.
    fn create_topic(
        &self,
        spec: TopicSpec,
    ) -> impl Future<Output = BackendResult<TopicInfo>> + Send;

    /// Checks what [`Backend::create_topic`] would check (limits, policy)
    /// without creating anything: CreateTopics with `validate_only`. The
    /// front end has already checked the name and the counts' signs.
    fn validate_topic(&self, spec: &TopicSpec) -> impl Future<Output = BackendResult<()>> + Send {
        let _ = spec;
        std::future::ready(Ok(()))
    }

    /// Checks what [`Backend::create_partitions`] would check (limits)
    /// without growing anything: CreatePartitions with `validate_only`, after
    /// the front end found the topic and a larger count.
    fn validate_partitions(
        &self,
        name: &str,
        total_count: i32,
    ) -> impl Future<Output = BackendResult<()>> + Send {
        let _ = (name, total_count);
        std::future::ready(Ok(()))
    }

    /// Deletes a topic with its data.
    fn delete_topic(&self, name: &str) -> impl Future<Output = BackendResult<()>> + Send;

    /// Grows a topic to `total_count` partitions.
    fn create_partitions(
        &self,
        name: &str,
        total_count: i32,
    ) -> impl Future<Output = BackendResult<()>> + Send;

    /// Appends validated record batches (CRC already checked by the front end).
    /// With [`Acks::All`] the future resolves once the data is committed. The
    /// front end drops the future when the request's timeout expires, so the
    /// implementation must tolerate cancellation (the append may still commit).
    fn append(
        &self,
        request: AppendRequest,
    ) -> impl Future<Output = BackendResult<AppendOutcome>> + Send;

    /// Reads committed record batches starting at the batch containing `offset`.
    fn read(&self, request: ReadRequest) -> impl Future<Output = BackendResult<ReadResult>> + Send;

    /// A receiver whose value changes whenever committed data grows anywhere; used by
    /// Fetch long polling (`max_wait_ms` / `min_bytes`).
    fn data_changes(&self) -> watch::Receiver<u64>;

    /// Resolves an offset by spec (earliest, latest, max timestamp, timestamp).
    fn list_offset(
        &self,
        partition: TopicPartition,
        spec: OffsetSpec,
    ) -> impl Future<Output = BackendResult<TimestampOffset>> + Send;

    /// Allocates a producer id, or bumps the epoch of `existing`.
    fn init_producer_id(
        &self,
        existing: Option<ProducerIdentity>,
    ) -> impl Future<Output = BackendResult<ProducerIdentity>> + Send;

    /// The node id coordinating `group`.
    fn group_coordinator(&self, group: &str) -> impl Future<Output = BackendResult<i32>> + Send;

    /// Stores committed consumer group offsets.
    fn commit_offsets(
        &self,
        group: &str,
        offsets: Vec<GroupOffset>,
    ) -> impl Future<Output = BackendResult<()>> + Send;

    /// Committed offsets of `group`; `None` means every partition with a commit.
    fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> impl Future<Output = BackendResult<Vec<GroupOffset>>> + Send;

    /// Every ACL in force (as this broker applied them), in a stable order.
    fn acls(&self) -> impl Future<Output = BackendResult<Vec<AclBinding>>> + Send;

    /// Adds ACLs (already validated); adding an existing one changes nothing.
    fn create_acls(&self, acls: Vec<AclBinding>) -> impl Future<Output = BackendResult<()>> + Send;

    /// Removes exactly these ACLs; absent ones are ignored.
    fn delete_acls(&self, acls: Vec<AclBinding>) -> impl Future<Output = BackendResult<()>> + Send;
    /// Each broker's address on each named listener, for Metadata and
    /// FindCoordinator answers on that listener. A broker missing from a
    /// listener's map is advertised at its [`Backend::cluster`] address.
    fn listener_addresses(&self) -> impl Future<Output = BackendResult<ListenerAddresses>> + Send {
        std::future::ready(Ok(ListenerAddresses::new()))
    }

    /// `user`'s SCRAM credentials (empty for an unknown user).
    fn scram_credentials(
        &self,
        user: &str,
    ) -> impl Future<
        Output = BackendResult<Vec<(crate::sasl::ScramMechanism, crate::sasl::ScramCredential)>>,
    > + Send;

    /// Every user with SCRAM credentials, by name, with mechanism and
    /// iterations of each credential.
    fn scram_users(
        &self,
    ) -> impl Future<Output = BackendResult<Vec<chronik_api::security::UserCredentials>>> + Send;

    /// Applies `alterations` together (validated by the caller: one entry
    /// per user, iterations in Kafka's range).
    fn alter_scram_credentials(
        &self,
        alterations: Vec<ScramAlteration>,
    ) -> impl Future<Output = BackendResult<()>> + Send;

    // Piece "partadmin": OffsetForLeaderEpoch, DescribeProducers,
    // DescribeLogDirs, ElectLeaders. Defaults answer that the backend does
    // not support them.

    /// The end offset of `leader_epoch` in a partition this node leads,
    /// after checking the client's `current_leader_epoch` (`-1`: no check)
    /// against the partition's leader epoch.
    fn offset_for_leader_epoch(
        &self,
        partition: TopicPartition,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> impl Future<Output = BackendResult<EpochLookup>> + Send {
        let _ = (partition, current_leader_epoch, leader_epoch);
        std::future::ready(Err(unsupported()))
    }

    /// The live idempotent producers of a partition this node leads.
    fn describe_producers(
        &self,
        partition: TopicPartition,
    ) -> impl Future<Output = BackendResult<Vec<crate::idempotence::ActiveProducer>>> + Send {
        let _ = partition;
        std::future::ready(Err(unsupported()))
    }

    /// This broker's log directory and the replicas it holds.
    fn describe_log_dir(&self) -> impl Future<Output = BackendResult<LogDirDescription>> + Send {
        std::future::ready(Err(unsupported()))
    }

    /// Runs an election of one partition, waiting at most `timeout` for
    /// leadership to move.
    fn elect_leader(
        &self,
        partition: TopicPartition,
        election: ElectionType,
        timeout: std::time::Duration,
    ) -> impl Future<Output = BackendResult<ElectionOutcome>> + Send {
        let _ = (partition, election, timeout);
        std::future::ready(Err(unsupported()))
    }
}

/// What the partition admin defaults answer.
fn unsupported() -> BackendError {
    BackendError::Unavailable {
        reason: "not supported by this backend",
    }
}
