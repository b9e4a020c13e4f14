//! The storage boundary between the Kafka front end and whatever keeps the data.
//!
//! The front end (codec, connections, handlers, group membership) never touches
//! storage directly: everything durable goes through [`Backend`]. A Raft-replicated
//! implementation lives in the broker crate; [`MemoryBackend`] is the in-memory
//! implementation used by tests and by the `chronik-kafka-dev` binary.

mod error;
mod memory;
mod partition_admin;
mod stored_group;
mod types;

pub use error::BackendError;
pub use memory::{MemoryBackend, MemoryBackendConfig};
pub use partition_admin::{
    ElectionOutcome, ElectionType, EpochLookup, LogDirDescription, ReplicaLog,
};
pub use stored_group::{LoadedGroups, StoredGroup, StoredMember};
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

    // Piece "config": topic config overrides and dynamic broker configs.

    /// The broker layers under every topic's overrides: the dynamic
    /// cluster-wide broker configs and this broker's static ones. With a
    /// topic's overrides they give its effective values
    /// ([`chronik_api::config::ConfigLayers::topic_value`]).
    fn config_layers(
        &self,
    ) -> impl Future<Output = BackendResult<chronik_api::config::ConfigLayers>> + Send {
        std::future::ready(Ok(chronik_api::config::ConfigLayers::default()))
    }

    /// Replaces topic `name`'s config overrides with `config` (validated by
    /// the caller); answered once the change is in force on this broker.
    fn set_topic_config(
        &self,
        name: &str,
        config: std::collections::BTreeMap<String, String>,
    ) -> impl Future<Output = BackendResult<()>> + Send {
        let _ = (name, config);
        std::future::ready(Err(BackendError::PolicyViolation {
            message: "this backend cannot change topic configs".to_string(),
        }))
    }

    /// Replaces the dynamic cluster-wide broker configs with `config`
    /// (validated by the caller: dynamic keys only).
    fn set_broker_config(
        &self,
        config: std::collections::BTreeMap<String, String>,
    ) -> impl Future<Output = BackendResult<()>> + Send {
        let _ = config;
        std::future::ready(Err(BackendError::PolicyViolation {
            message: "this backend cannot change broker configs".to_string(),
        }))
    }

    // Piece "compact": DeleteRecords.

    /// Moves the log start offset of `partition` to `offset` (`-1`: the
    /// high watermark), as DeleteRecords does; answers the new log start
    /// (`low_watermark`). An offset beyond the high watermark is
    /// [`BackendError::OffsetOutOfRange`].
    fn delete_records(
        &self,
        partition: TopicPartition,
        offset: i64,
    ) -> impl Future<Output = BackendResult<i64>> + Send {
        let _ = (partition, offset);
        std::future::ready(Err(BackendError::Unavailable {
            reason: "DeleteRecords is not supported by this backend",
        }))
    }

    // Piece "produce": topics by id (Produce v13, Fetch v13+).

    /// Every topic's id and name. Asked on every Fetch from v13 (librdkafka
    /// 2.16 fetches at v16), so an implementation should answer it without a
    /// round trip to its metadata store when nothing changed; the default
    /// lists every topic.
    fn topic_ids(
        &self,
    ) -> impl Future<Output = BackendResult<std::collections::HashMap<uuid::Uuid, String>>> + Send
    {
        async move {
            Ok(self
                .list_topics()
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect())
        }
    }

    // ---- Piece "groups": auto-created topics, group deletion, persisted
    // group membership.

    /// Creates a topic Metadata asked for (`auto.create.topics.enable`).
    /// May return before the topic exists (the Raft backend forwards the
    /// creation to the controller); the caller answers
    /// `LEADER_NOT_AVAILABLE` and the client asks again.
    fn auto_create_topic(&self, spec: TopicSpec) -> impl Future<Output = BackendResult<()>> + Send {
        async move { self.create_topic(spec).await.map(|_| ()) }
    }

    /// The coordinator epoch this node would coordinate groups at now
    /// (`None`: it coordinates none). A change means the groups must be
    /// loaded again ([`Backend::load_groups`]).
    fn coordinator_epoch(&self) -> Option<u64> {
        Some(0)
    }

    /// Every stored group (and every group with committed offsets only),
    /// read once this node's view includes everything earlier coordinators
    /// stored (`COORDINATOR_LOAD_IN_PROGRESS` until then).
    fn load_groups(&self) -> impl Future<Output = BackendResult<LoadedGroups>> + Send {
        std::future::ready(Ok(LoadedGroups::default()))
    }

    /// Persists a group's membership, written by the coordinator of
    /// `epoch`; refused (`NOT_COORDINATOR`) when this node no longer
    /// coordinates at that epoch.
    fn store_group(
        &self,
        epoch: u64,
        group: StoredGroup,
    ) -> impl Future<Output = BackendResult<()>> + Send {
        let _ = (epoch, group);
        std::future::ready(Ok(()))
    }

    /// Removes a group: its stored membership and its committed offsets
    /// (DeleteGroups; the coordinator checked it is empty).
    fn delete_group(&self, group: &str) -> impl Future<Output = BackendResult<()>> + Send {
        let _ = group;
        std::future::ready(Err(BackendError::Unavailable {
            reason: "deleting groups is not supported by this backend",
        }))
    }

    /// Removes the committed offsets of `partitions` of `group`
    /// (OffsetDelete).
    fn delete_offsets(
        &self,
        group: &str,
        partitions: Vec<TopicPartition>,
    ) -> impl Future<Output = BackendResult<()>> + Send {
        let _ = (group, partitions);
        std::future::ready(Err(BackendError::Unavailable {
            reason: "deleting offsets is not supported by this backend",
        }))
    }

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
