//! An in-memory [`Backend`]: one node that leads every partition. Data is committed as
//! soon as it is appended, so `acks=1` and `acks=all` behave the same.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chronik_api::security::AclBinding;
use std::sync::{Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    AppendOutcome, AppendRequest, Backend, BackendError, BackendResult, BrokerInfo, ClusterView,
    GroupOffset, OffsetSpec, PartitionInfo, ProducerIdentity, ReadRequest, ReadResult,
    TimestampOffset, TopicInfo, TopicPartition, TopicSpec,
};
use crate::batch;

mod configs;
use crate::idempotence::{ProducerStateTable, SequenceCheck};

/// Configuration of a [`MemoryBackend`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryBackendConfig {
    /// This node's id.
    pub node_id: i32,
    /// Host advertised in Metadata.
    pub advertised_host: String,
    /// Kafka port advertised in Metadata.
    pub advertised_port: i32,
    /// Cluster id advertised in Metadata.
    pub cluster_id: String,
}

#[derive(Debug)]
struct StoredBatch {
    base_offset: i64,
    next_offset: i64,
    max_timestamp: i64,
    bytes: Bytes,
}

#[derive(Debug, Default)]
struct PartitionLog {
    batches: Vec<StoredBatch>,
    next_offset: i64,
    /// The log start offset (moved by DeleteRecords).
    log_start: i64,
    producers: ProducerStateTable,
    /// Leader override for tests (`None`: this node leads).
    foreign_leader: Option<i32>,
}

#[derive(Debug)]
struct Topic {
    id: Uuid,
    replication_factor: i16,
    configs: BTreeMap<String, String>,
    partitions: Vec<PartitionLog>,
}

#[derive(Debug, Default)]
struct State {
    topics: BTreeMap<String, Topic>,
    next_producer_id: i64,
    offsets: HashMap<String, BTreeMap<TopicPartition, super::CommittedOffset>>,
    acls: BTreeSet<AclBinding>,
    /// Dynamic broker configs (`configs`).
    broker_config: BTreeMap<String, String>,
    groups: BTreeMap<String, super::StoredGroup>,
}

/// In-memory implementation of [`Backend`].
#[derive(Debug)]
pub struct MemoryBackend {
    config: MemoryBackendConfig,
    state: Mutex<State>,
    changes: watch::Sender<u64>,
    scram: crate::sasl::store::ScramStore,
}

impl MemoryBackend {
    /// Creates an empty backend.
    pub fn new(config: MemoryBackendConfig) -> Self {
        let (changes, _) = watch::channel(0);
        Self {
            config,
            state: Mutex::new(State {
                next_producer_id: 1000,
                ..State::default()
            }),
            changes,
            scram: Default::default(),
        }
    }

    /// Makes another node the leader of a partition (tests of `NOT_LEADER_OR_FOLLOWER`).
    pub fn set_foreign_leader(&self, partition: &TopicPartition, leader: Option<i32>) -> bool {
        let mut state = self.lock();
        match log_mut(&mut state, partition) {
            Ok(log) => {
                log.foreign_leader = leader;
                true
            }
            Err(_) => false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-update; the maps
        // stay structurally valid, so keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn topic_info(&self, name: &str, topic: &Topic) -> TopicInfo {
        let node = self.config.node_id;
        TopicInfo {
            name: name.to_owned(),
            id: topic.id,
            replication_factor: topic.replication_factor,
            configs: topic.configs.clone(),
            partitions: topic
                .partitions
                .iter()
                .enumerate()
                .map(|(i, log)| PartitionInfo {
                    partition: i32::try_from(i).unwrap_or(i32::MAX),
                    leader: log.foreign_leader.unwrap_or(node),
                    leader_epoch: 0,
                    replicas: vec![node],
                    isr: vec![node],
                })
                .collect(),
        }
    }
}

fn log_mut<'a>(state: &'a mut State, tp: &TopicPartition) -> BackendResult<&'a mut PartitionLog> {
    let topic = state
        .topics
        .get_mut(&tp.topic)
        .ok_or_else(|| BackendError::UnknownTopic {
            topic: tp.topic.clone(),
        })?;
    usize::try_from(tp.partition)
        .ok()
        .and_then(|i| topic.partitions.get_mut(i))
        .ok_or_else(|| BackendError::UnknownPartition {
            topic: tp.topic.clone(),
            partition: tp.partition,
        })
}

fn led_log_mut<'a>(
    state: &'a mut State,
    tp: &TopicPartition,
) -> BackendResult<&'a mut PartitionLog> {
    let log = log_mut(state, tp)?;
    if let Some(leader) = log.foreign_leader {
        return Err(BackendError::NotLeader {
            topic: tp.topic.clone(),
            partition: tp.partition,
            leader,
        });
    }
    Ok(log)
}

/// The produce configs of `topic` as they are now (defaults for an unknown
/// topic: the append then fails on the partition lookup).
fn produce_policy(state: &State, topic: &str) -> batch::policy::ProducePolicy {
    let configs = state.topics.get(topic).map(|t| &t.configs);
    batch::policy::ProducePolicy::from_config(|key| {
        configs
            .and_then(|c| c.get(key).cloned())
            .or_else(|| chronik_api::config::topic_key(key).map(|k| k.default.to_string()))
            .unwrap_or_default()
    })
}

fn new_partitions(count: i32) -> Vec<PartitionLog> {
    (0..count).map(|_| PartitionLog::default()).collect()
}

impl Backend for MemoryBackend {
    fn node_id(&self) -> i32 {
        self.config.node_id
    }

    async fn cluster(&self) -> BackendResult<ClusterView> {
        Ok(ClusterView {
            cluster_id: self.config.cluster_id.clone(),
            controller_id: self.config.node_id,
            brokers: vec![BrokerInfo {
                node_id: self.config.node_id,
                host: self.config.advertised_host.clone(),
                port: self.config.advertised_port,
            }],
        })
    }

    async fn list_topics(&self) -> BackendResult<Vec<TopicInfo>> {
        let state = self.lock();
        Ok(state
            .topics
            .iter()
            .map(|(name, topic)| self.topic_info(name, topic))
            .collect())
    }

    async fn create_topic(&self, spec: TopicSpec) -> BackendResult<TopicInfo> {
        if spec.replication_factor != 1 {
            return Err(BackendError::InvalidReplicationFactor {
                requested: spec.replication_factor,
                available: 1,
            });
        }
        if spec.partitions < 1 {
            return Err(BackendError::InvalidPartitions {
                topic: spec.name,
                current: 0,
                requested: spec.partitions,
            });
        }
        let mut state = self.lock();
        if state.topics.contains_key(&spec.name) {
            return Err(BackendError::TopicAlreadyExists { topic: spec.name });
        }
        let topic = Topic {
            id: Uuid::new_v4(),
            replication_factor: spec.replication_factor,
            configs: spec.configs,
            partitions: new_partitions(spec.partitions),
        };
        let info = self.topic_info(&spec.name, &topic);
        state.topics.insert(spec.name, topic);
        Ok(info)
    }

    async fn delete_topic(&self, name: &str) -> BackendResult<()> {
        let mut state = self.lock();
        state
            .topics
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| BackendError::UnknownTopic {
                topic: name.to_owned(),
            })
    }

    async fn create_partitions(&self, name: &str, total_count: i32) -> BackendResult<()> {
        let mut state = self.lock();
        let topic = state
            .topics
            .get_mut(name)
            .ok_or_else(|| BackendError::UnknownTopic {
                topic: name.to_owned(),
            })?;
        let current = i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX);
        if total_count <= current {
            return Err(BackendError::InvalidPartitions {
                topic: name.to_owned(),
                current,
                requested: total_count,
            });
        }
        topic
            .partitions
            .extend(new_partitions(total_count - current));
        Ok(())
    }

    async fn append(&self, request: AppendRequest) -> BackendResult<AppendOutcome> {
        let outcome = {
            let mut state = self.lock();
            let policy = produce_policy(&state, &request.partition.topic);
            let log = led_log_mut(&mut state, &request.partition)?;
            let now = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis()),
            )
            .unwrap_or(i64::MAX);
            let prepared = batch::policy::prepare(request.records, request.batches, &policy, now)?;
            let log_append_time_ms = prepared.log_append_time_ms.unwrap_or(-1);
            match log.producers.check(&prepared.batches)? {
                SequenceCheck::Duplicate { base_offset } => {
                    return Ok(AppendOutcome {
                        base_offset,
                        log_start_offset: 0,
                        log_append_time_ms,
                    })
                }
                SequenceCheck::Append => {}
            }
            let base = log.next_offset;
            let (bytes, next) = batch::assign_offsets(&prepared.records, &prepared.batches, base);
            for summary in &prepared.batches {
                let start = summary.position;
                let batch_base = log.next_offset;
                log.next_offset += summary.offset_count();
                log.batches.push(StoredBatch {
                    base_offset: batch_base,
                    next_offset: log.next_offset,
                    max_timestamp: summary.max_timestamp,
                    bytes: bytes.slice(start..start + summary.size),
                });
            }
            debug_assert_eq!(next, log.next_offset);
            log.producers.record(&prepared.batches, base);
            AppendOutcome {
                base_offset: base,
                log_start_offset: 0,
                log_append_time_ms,
            }
        };
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
        Ok(outcome)
    }

    async fn read(&self, request: ReadRequest) -> BackendResult<ReadResult> {
        let mut state = self.lock();
        let log = led_log_mut(&mut state, &request.partition)?;
        let high_watermark = log.next_offset;
        if request.offset < log.log_start || request.offset > high_watermark {
            return Err(BackendError::OffsetOutOfRange {
                topic: request.partition.topic,
                partition: request.partition.partition,
                offset: request.offset,
                log_start: log.log_start,
                high_watermark,
            });
        }
        let start = log
            .batches
            .partition_point(|b| b.next_offset <= request.offset);
        let mut out = BytesMut::new();
        let batches = if request.max_bytes == 0 {
            &[][..]
        } else {
            &log.batches[start..]
        };
        for stored in batches {
            if !out.is_empty() && out.len() + stored.bytes.len() > request.max_bytes {
                break;
            }
            out.extend_from_slice(&stored.bytes);
        }
        Ok(ReadResult {
            records: out.freeze(),
            high_watermark,
            log_start_offset: log.log_start,
        })
    }

    fn data_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    async fn list_offset(
        &self,
        partition: TopicPartition,
        spec: OffsetSpec,
    ) -> BackendResult<TimestampOffset> {
        let mut state = self.lock();
        let log = led_log_mut(&mut state, &partition)?;
        let none = TimestampOffset {
            offset: -1,
            timestamp: -1,
        };
        let to_offset = |f: batch::lookup::Found| TimestampOffset {
            offset: f.offset,
            timestamp: f.timestamp,
        };
        let found = match spec {
            OffsetSpec::Earliest => TimestampOffset {
                offset: log.log_start,
                timestamp: -1,
            },
            OffsetSpec::Latest => TimestampOffset {
                offset: log.next_offset,
                timestamp: -1,
            },
            OffsetSpec::MaxTimestamp => {
                let best = log.batches.iter().map(|b| b.max_timestamp).max();
                log.batches
                    .iter()
                    .filter(|b| Some(b.max_timestamp) == best)
                    .find_map(|b| batch::lookup::max_timestamp(&b.bytes))
                    .map_or(none, to_offset)
            }
            // Record granularity: the first record of the first batch whose
            // max timestamp reaches the target.
            OffsetSpec::Timestamp(ts) => log
                .batches
                .iter()
                .filter(|b| b.max_timestamp >= ts)
                .find_map(|b| batch::lookup::first_at_or_after(&b.bytes, b.base_offset, ts))
                .map_or(none, to_offset),
        };
        Ok(found)
    }

    async fn init_producer_id(
        &self,
        existing: Option<ProducerIdentity>,
    ) -> BackendResult<ProducerIdentity> {
        let mut state = self.lock();
        if let Some(id) = existing {
            if id.producer_id >= 1000 && id.producer_id < state.next_producer_id {
                return Ok(ProducerIdentity {
                    producer_id: id.producer_id,
                    producer_epoch: id.producer_epoch.saturating_add(1),
                });
            }
        }
        let producer_id = state.next_producer_id;
        state.next_producer_id += 1;
        Ok(ProducerIdentity {
            producer_id,
            producer_epoch: 0,
        })
    }

    async fn group_coordinator(&self, _group: &str) -> BackendResult<i32> {
        Ok(self.config.node_id)
    }

    async fn commit_offsets(&self, group: &str, offsets: Vec<GroupOffset>) -> BackendResult<()> {
        let mut state = self.lock();
        let committed = state.offsets.entry(group.to_owned()).or_default();
        for o in offsets {
            committed.insert(o.partition, o.committed);
        }
        Ok(())
    }

    async fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> BackendResult<Vec<GroupOffset>> {
        let state = self.lock();
        let Some(committed) = state.offsets.get(group) else {
            return Ok(Vec::new());
        };
        let found = match partitions {
            None => committed
                .iter()
                .map(|(tp, c)| GroupOffset {
                    partition: tp.clone(),
                    committed: c.clone(),
                })
                .collect(),
            Some(wanted) => wanted
                .into_iter()
                .filter_map(|tp| {
                    committed.get(&tp).map(|c| GroupOffset {
                        committed: c.clone(),
                        partition: tp,
                    })
                })
                .collect(),
        };
        Ok(found)
    }

    async fn acls(&self) -> BackendResult<Vec<AclBinding>> {
        Ok(self.lock().acls.iter().cloned().collect())
    }

    async fn create_acls(&self, acls: Vec<AclBinding>) -> BackendResult<()> {
        self.lock().acls.extend(acls);
        Ok(())
    }

    async fn delete_acls(&self, acls: Vec<AclBinding>) -> BackendResult<()> {
        let mut state = self.lock();
        for acl in &acls {
            state.acls.remove(acl);
        }
        Ok(())
    }

    async fn scram_credentials(
        &self,
        user: &str,
    ) -> BackendResult<Vec<(crate::sasl::ScramMechanism, crate::sasl::ScramCredential)>> {
        Ok(self.scram.get(user))
    }

    async fn scram_users(&self) -> BackendResult<Vec<chronik_api::security::UserCredentials>> {
        Ok(self.scram.users())
    }

    async fn load_groups(&self) -> BackendResult<super::LoadedGroups> {
        Ok(groups::load(&self.lock()))
    }

    async fn store_group(&self, _epoch: u64, group: super::StoredGroup) -> BackendResult<()> {
        groups::store(&mut self.lock(), group);
        Ok(())
    }

    async fn delete_group(&self, group: &str) -> BackendResult<()> {
        groups::delete(&mut self.lock(), group);
        Ok(())
    }

    async fn delete_offsets(
        &self,
        group: &str,
        partitions: Vec<TopicPartition>,
    ) -> BackendResult<()> {
        groups::delete_offsets(&mut self.lock(), group, &partitions);
        Ok(())
    }

    async fn alter_scram_credentials(
        &self,
        alterations: Vec<super::ScramAlteration>,
    ) -> BackendResult<()> {
        self.scram.apply(alterations);
        Ok(())
    }

    async fn config_layers(&self) -> BackendResult<chronik_api::config::ConfigLayers> {
        Ok(configs::layers(&self.lock()))
    }

    async fn set_topic_config(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> BackendResult<()> {
        configs::set_topic(&mut self.lock(), name, config)
    }

    async fn set_broker_config(&self, config: BTreeMap<String, String>) -> BackendResult<()> {
        self.lock().broker_config = config;
        Ok(())
    }

    // Piece "compact": DeleteRecords.

    async fn delete_records(&self, partition: TopicPartition, offset: i64) -> BackendResult<i64> {
        let mut state = self.lock();
        let log = led_log_mut(&mut state, &partition)?;
        let target = if offset == -1 {
            log.next_offset
        } else {
            offset
        };
        if target > log.next_offset {
            return Err(BackendError::OffsetOutOfRange {
                topic: partition.topic,
                partition: partition.partition,
                offset,
                log_start: log.log_start,
                high_watermark: log.next_offset,
            });
        }
        log.log_start = log.log_start.max(target);
        let start = log.log_start;
        log.batches.retain(|b| b.next_offset > start);
        Ok(start)
    }

    async fn offset_for_leader_epoch(
        &self,
        partition: TopicPartition,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> BackendResult<super::EpochLookup> {
        self.epoch_end_offset(&partition, current_leader_epoch, leader_epoch)
    }

    async fn describe_producers(
        &self,
        partition: TopicPartition,
    ) -> BackendResult<Vec<crate::idempotence::ActiveProducer>> {
        Ok(led_log_mut(&mut self.lock(), &partition)?
            .producers
            .active())
    }

    async fn describe_log_dir(&self) -> BackendResult<super::LogDirDescription> {
        Ok(self.log_dir())
    }

    async fn elect_leader(
        &self,
        partition: TopicPartition,
        election: super::ElectionType,
        _timeout: std::time::Duration,
    ) -> BackendResult<super::ElectionOutcome> {
        self.election(&partition, election)
    }
}

mod groups;
mod partition_admin;

#[cfg(test)]
mod tests;
