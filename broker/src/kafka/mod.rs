//! The Kafka front end's [`Backend`] over Chronik's Raft groups: partitions
//! are partition groups (produce = propose, offsets assigned at apply, fetch
//! reads committed entries from raft-engine), while topics, broker addresses
//! and consumer group offsets live in the metadata group.

mod acls;
mod authorizer;
mod configs;
mod delete_records;
mod error;
mod groups;
mod limits;
mod offsets;
mod partition_admin;
mod produce;
mod producer_ids;
mod read;
mod scram;
mod topics;

pub use authorizer::{AuthorizerFlag, AuthzArgs, SuperUsers};

use crate::node::NodeHandle;
use crate::partition::{PartitionRegistry, PartitionShared};
use crate::state_machine::{commands, encode_offset, StoredOffset};
use crate::topic_limits::TopicLimits;
use chronik_api::security::AclBinding;
use chronik_kafka::backend::{
    Acks, AppendOutcome, AppendRequest, BackendResult, ClusterView, CommittedOffset, GroupOffset,
    OffsetSpec, ProducerIdentity, ReadRequest, ReadResult, TimestampOffset, TopicInfo,
    TopicPartition, TopicSpec,
};
use chronik_kafka::batch::policy;
use chronik_kafka::{Backend, BackendError};
use error::{append_error, leader_i32, meta_error, unavailable};
use limits::AdapterLimits;
use producer_ids::ProducerIdPool;
use std::sync::Arc;
use tokio::sync::watch;

/// How long Metadata waits for this broker and the controller to register.
const REGISTRATION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// [`Backend`] over this broker's Raft groups.
pub struct RaftBackend {
    node: NodeHandle,
    registry: Arc<PartitionRegistry>,
    cluster_id: String,
    producer_ids: ProducerIdPool,
    limits: AdapterLimits,
    /// This broker's `--config` values (under dynamic broker defaults).
    static_config: crate::broker_config::StaticConfig,
    produce_policies: produce::ProducePolicies,
    topic_ids: produce::TopicIdCache,
    /// The data directory, reported by DescribeLogDirs.
    log_dir: std::path::PathBuf,
}

impl RaftBackend {
    /// A backend talking to the node task through `node`.
    pub fn new(node: NodeHandle, registry: Arc<PartitionRegistry>, cluster_id: String) -> Self {
        let producer_ids = ProducerIdPool::new(node.clone(), registry.node_id());
        Self {
            node,
            registry,
            cluster_id,
            producer_ids,
            limits: AdapterLimits::new(TopicLimits::default(), Default::default()),
            static_config: Default::default(),
            produce_policies: produce::ProducePolicies::default(),
            topic_ids: produce::TopicIdCache::default(),
            log_dir: std::path::PathBuf::new(),
        }
    }

    /// The same backend enforcing `topics` on creations and, on produce,
    /// each topic's effective timestamp bounds over `static_config`.
    pub fn with_limits(
        mut self,
        topics: TopicLimits,
        static_config: crate::broker_config::StaticConfig,
    ) -> Self {
        self.limits = AdapterLimits::new(topics, static_config.clone());
        self.static_config = static_config;
        self
    }

    /// The effective value of topic key `key` for `topic` (override, dynamic
    /// broker default, static `--config`, table default), read now.
    pub async fn topic_config(
        &self,
        topic: &str,
        key: &str,
    ) -> BackendResult<Option<chronik_api::config::ResolvedValue>> {
        configs::topic_value(&self.node, &self.static_config, topic, key).await
    }

    fn led_partition(&self, tp: &TopicPartition) -> BackendResult<Arc<PartitionShared>> {
        let shared = self.registry.get(&tp.topic, tp.partition).ok_or_else(|| {
            BackendError::UnknownTopic {
                topic: tp.topic.clone(),
            }
        })?;
        if shared.leader() != self.registry.node_id() {
            return Err(BackendError::NotLeader {
                topic: tp.topic.clone(),
                partition: tp.partition,
                leader: leader_i32(shared.leader()),
            });
        }
        Ok(shared)
    }
}

impl Backend for RaftBackend {
    fn node_id(&self) -> i32 {
        i32::try_from(self.registry.node_id()).unwrap_or(-1)
    }

    async fn listener_addresses(&self) -> BackendResult<chronik_kafka::backend::ListenerAddresses> {
        scram::listener_addresses(&self.node).await
    }

    async fn scram_credentials(
        &self,
        user: &str,
    ) -> BackendResult<
        Vec<(
            chronik_api::security::ScramMechanism,
            chronik_kafka::sasl::ScramCredential,
        )>,
    > {
        scram::credentials(&self.node, user).await
    }

    async fn scram_users(&self) -> BackendResult<Vec<chronik_api::security::UserCredentials>> {
        scram::users(&self.node).await
    }

    async fn alter_scram_credentials(
        &self,
        alterations: Vec<chronik_kafka::backend::ScramAlteration>,
    ) -> BackendResult<()> {
        scram::alter(&self.node, alterations).await
    }

    /// Waits (at most [`REGISTRATION_WAIT`]) until this broker and the
    /// controller have registered their addresses, so that the answer names
    /// both: librdkafka's admin client asks once for the brokers and the
    /// controller and does not ask again soon when either is missing.
    async fn cluster(&self) -> BackendResult<ClusterView> {
        let mut status = self.node.watch_status();
        let registered = status.wait_for(|s| s.registered());
        if tokio::time::timeout(REGISTRATION_WAIT, registered)
            .await
            .is_err()
        {
            tracing::debug!("answering Metadata before this broker and the controller registered");
        }
        let brokers = self
            .node
            .query(|sm| sm.brokers().clone())
            .await
            .map_err(unavailable)?;
        Ok(topics::cluster_view(
            &self.cluster_id,
            self.node.status().leader_id,
            &brokers,
        ))
    }

    async fn list_topics(&self) -> BackendResult<Vec<TopicInfo>> {
        let topics = self.node.topics().await.map_err(unavailable)?;
        Ok(topics
            .values()
            .map(|t| topics::topic_info(t, &self.registry))
            .collect())
    }

    async fn validate_topic(&self, spec: &TopicSpec) -> BackendResult<()> {
        self.limits
            .check_create(&self.node, &spec.name, spec.partitions)
            .await
    }

    async fn create_topic(&self, spec: TopicSpec) -> BackendResult<TopicInfo> {
        self.validate_topic(&spec).await?;
        let partitions =
            u32::try_from(spec.partitions).map_err(|_| BackendError::InvalidPartitions {
                topic: spec.name.clone(),
                current: 0,
                requested: spec.partitions,
            })?;
        let cmd = commands::create_topic(&spec.name, partitions, spec.configs.clone());
        self.node.propose(cmd).await.map_err(meta_error)?;
        let topics = self.node.topics().await.map_err(unavailable)?;
        topics
            .get(&spec.name)
            .map(|t| topics::topic_info(t, &self.registry))
            .ok_or(BackendError::UnknownTopic { topic: spec.name })
    }

    async fn delete_topic(&self, name: &str) -> BackendResult<()> {
        self.node
            .propose(commands::delete_topic(name))
            .await
            .map(|_| ())
            .map_err(meta_error)
    }

    async fn validate_partitions(&self, name: &str, total_count: i32) -> BackendResult<()> {
        self.limits.check_grow(&self.node, name, total_count).await
    }

    async fn create_partitions(&self, name: &str, total_count: i32) -> BackendResult<()> {
        self.validate_partitions(name, total_count).await?;
        let total = u32::try_from(total_count).map_err(|_| BackendError::InvalidPartitions {
            topic: name.to_string(),
            current: 0,
            requested: total_count,
        })?;
        self.node
            .propose(commands::create_partitions(name, total))
            .await
            .map(|_| ())
            .map_err(meta_error)
    }

    async fn append(&self, request: AppendRequest) -> BackendResult<AppendOutcome> {
        let shared = self.led_partition(&request.partition)?;
        let policy = self
            .produce_policies
            .policy(&self.node, &self.static_config, &shared)
            .await?;
        if !policy.log_append_time {
            self.limits
                .check_timestamps(&self.node, &shared, &request.batches)
                .await?;
        }
        // The leader stamps and recompresses before proposing: replicas
        // store the bytes it chose.
        let now = i64::try_from(crate::node::now_ms()).unwrap_or(i64::MAX);
        let prepared = policy::prepare(request.records, request.batches, &policy, now)?;
        // acks=all and acks=1 are answered once the entry applied (its offsets
        // are assigned then); acks=0 is never answered (see docs/kafka-raft.md).
        let local_ack = request.acks == Acks::None;
        let base_offset = self
            .node
            .append(shared.raft_group_id, prepared.records.to_vec(), local_ack)
            .await
            .map_err(|e| append_error(&request.partition, e))?;
        let log_start_offset = shared.index().log_start_offset();
        Ok(AppendOutcome {
            base_offset,
            log_start_offset,
            log_append_time_ms: prepared.log_append_time_ms.unwrap_or(-1),
        })
    }

    async fn read(&self, request: ReadRequest) -> BackendResult<ReadResult> {
        let shared = self.led_partition(&request.partition)?;
        read::read(&self.registry, &shared, &request)
    }

    fn data_changes(&self) -> watch::Receiver<u64> {
        self.registry.subscribe()
    }

    async fn list_offset(
        &self,
        partition: TopicPartition,
        spec: OffsetSpec,
    ) -> BackendResult<TimestampOffset> {
        let shared = self.led_partition(&partition)?;
        Ok(match spec {
            OffsetSpec::Timestamp(ts) => produce::offset_for_timestamp(&self.registry, &shared, ts),
            OffsetSpec::MaxTimestamp => produce::max_timestamp_offset(&self.registry, &shared),
            _ => read::list_offset(&shared, spec),
        })
    }

    /// New producer ids come from blocks reserved through the metadata log
    /// (see `producer_ids`), so they are unique across brokers and restarts.
    async fn init_producer_id(
        &self,
        existing: Option<ProducerIdentity>,
    ) -> BackendResult<ProducerIdentity> {
        if let Some(id) = existing {
            return Ok(ProducerIdentity {
                producer_id: id.producer_id,
                producer_epoch: id.producer_epoch.saturating_add(1),
            });
        }
        Ok(ProducerIdentity {
            producer_id: self.producer_ids.next_id().await?,
            producer_epoch: 0,
        })
    }

    /// Every group is coordinated by the metadata leader, which commits offsets.
    async fn group_coordinator(&self, _group: &str) -> BackendResult<i32> {
        let leader = self.node.status().leader_id;
        if leader == 0 {
            return Err(BackendError::Unavailable {
                reason: "no metadata leader",
            });
        }
        Ok(leader_i32(leader))
    }

    async fn commit_offsets(&self, group: &str, offsets: Vec<GroupOffset>) -> BackendResult<()> {
        // The coordinator's clock travels in the log: offset retention is
        // decided from it on every replica (see `offset_retention`).
        let commit_timestamp_ms = i64::try_from(crate::node::now_ms()).unwrap_or(i64::MAX);
        let encoded = offsets
            .iter()
            .map(|o| {
                encode_offset(
                    &o.partition.topic,
                    o.partition.partition,
                    &StoredOffset {
                        offset: o.committed.offset,
                        leader_epoch: o.committed.leader_epoch,
                        metadata: o.committed.metadata.clone(),
                        commit_timestamp_ms,
                    },
                )
            })
            .collect();
        groups::propose_within(&self.node, commands::commit_offsets(group, encoded), group).await
    }

    async fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> BackendResult<Vec<GroupOffset>> {
        let committed = offsets::committed(&self.node, group).await?;
        let to_offset = |(topic, partition): &(String, i32), o: &StoredOffset| GroupOffset {
            partition: TopicPartition::new(topic.clone(), *partition),
            committed: CommittedOffset {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata: o.metadata.clone(),
            },
        };
        Ok(match partitions {
            None => committed.iter().map(|(k, o)| to_offset(k, o)).collect(),
            Some(wanted) => wanted
                .into_iter()
                .filter_map(|tp| {
                    let key = (tp.topic, tp.partition);
                    committed.get(&key).map(|o| to_offset(&key, o))
                })
                .collect(),
        })
    }

    async fn topic_ids(&self) -> BackendResult<std::collections::HashMap<uuid::Uuid, String>> {
        self.topic_ids.ids(&self.node, &self.registry).await
    }

    async fn acls(&self) -> BackendResult<Vec<AclBinding>> {
        acls::applied(&self.node).await
    }

    async fn create_acls(&self, list: Vec<AclBinding>) -> BackendResult<()> {
        acls::create(&self.node, list).await
    }

    async fn delete_acls(&self, list: Vec<AclBinding>) -> BackendResult<()> {
        acls::delete(&self.node, list).await
    }

    async fn config_layers(&self) -> BackendResult<chronik_api::config::ConfigLayers> {
        configs::layers(&self.node, &self.static_config).await
    }

    async fn set_topic_config(
        &self,
        name: &str,
        config: std::collections::BTreeMap<String, String>,
    ) -> BackendResult<()> {
        configs::set_topic(&self.node, name, config).await
    }

    async fn set_broker_config(
        &self,
        config: std::collections::BTreeMap<String, String>,
    ) -> BackendResult<()> {
        configs::set_brokers(&self.node, config).await
    }

    // Piece "compact": DeleteRecords.

    async fn delete_records(&self, partition: TopicPartition, offset: i64) -> BackendResult<i64> {
        let shared = self.led_partition(&partition)?;
        delete_records::delete_records(&self.node, &shared, &partition, offset).await
    }

    async fn auto_create_topic(&self, spec: TopicSpec) -> BackendResult<()> {
        self.validate_topic(&spec).await?;
        groups::auto_create(&self.node, self.registry.node_id(), &spec).await
    }

    fn coordinator_epoch(&self) -> Option<u64> {
        groups::coordinator_epoch(&self.node, self.registry.node_id())
    }

    async fn load_groups(&self) -> BackendResult<chronik_kafka::backend::LoadedGroups> {
        groups::load(&self.node, self.registry.node_id()).await
    }

    async fn store_group(
        &self,
        epoch: u64,
        group: chronik_kafka::backend::StoredGroup,
    ) -> BackendResult<()> {
        groups::store(&self.node, self.registry.node_id(), epoch, group).await
    }

    async fn delete_group(&self, group: &str) -> BackendResult<()> {
        groups::delete(&self.node, group).await
    }

    async fn delete_offsets(
        &self,
        group: &str,
        partitions: Vec<TopicPartition>,
    ) -> BackendResult<()> {
        groups::delete_offsets(&self.node, group, partitions).await
    }

    async fn offset_for_leader_epoch(
        &self,
        partition: TopicPartition,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> BackendResult<chronik_kafka::backend::EpochLookup> {
        self.epoch_end_offset(&partition, current_leader_epoch, leader_epoch)
    }

    async fn describe_producers(
        &self,
        partition: TopicPartition,
    ) -> BackendResult<Vec<chronik_kafka::idempotence::ActiveProducer>> {
        self.partition_producers(&partition).await
    }

    async fn describe_log_dir(&self) -> BackendResult<chronik_kafka::backend::LogDirDescription> {
        self.log_dir().await
    }

    async fn elect_leader(
        &self,
        partition: TopicPartition,
        election: chronik_kafka::backend::ElectionType,
        timeout: std::time::Duration,
    ) -> BackendResult<chronik_kafka::backend::ElectionOutcome> {
        self.election(&partition, election, timeout).await
    }
}
