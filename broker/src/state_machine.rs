//! The replicated metadata store: Raft group 0's state machine.
//!
//! It holds the members' Raft URLs (so every node can reach a member added
//! later), the topic registry and a small key/value map. Later layers (Kafka
//! topics, consumer group offsets) extend the command set.

pub mod acls;
mod configs;
mod incarnations;

pub use incarnations::{Incarnations, Standing};
mod digest;
mod elections;
mod groups;
mod listeners;
mod producer_ids;
mod scram;
mod voters;

pub use configs::{set_broker_config_command, set_topic_config_command};
pub use elections::elect_preferred_command;
pub use groups::StoredGroups;
pub use listeners::{register_command, BrokerListeners};
pub use producer_ids::{ProducerIdBlock, ProducerIds};
pub use scram::{scram_command, ScramCredentials};
pub use voters::stamp_voters;

use chronik_proto::meta::{self, command::Cmd};
use prost::Message as _;
use std::collections::BTreeMap;

/// A topic as recorded in the registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: u32,
    pub config: BTreeMap<String, String>,
    pub created_index: u64,
    /// The Raft group of each partition, by partition index (`groups` in
    /// the JSON of `/v1/topics`).
    #[serde(rename = "groups")]
    pub partition_groups: Vec<PartitionGroupInfo>,
}

/// The Raft group replicating one partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionGroupInfo {
    /// Raft group id (never reused).
    pub group_id: u64,
    /// The metadata group's voters when the partition was created: the
    /// group's initial configuration on every node.
    pub voters: Vec<u64>,
}

/// A committed consumer group offset as stored in the metadata group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    /// When the commit was proposed (ms since the epoch, carried in the
    /// log); 0 when unknown.
    pub commit_timestamp_ms: i64,
}

/// Committed offsets by group, then (topic, partition).
pub type OffsetMap = BTreeMap<String, BTreeMap<(String, i32), StoredOffset>>;

/// The outcome of applying one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Applied; nothing to report.
    Done,
    /// Refused deterministically on every node (the log entry stays).
    Rejected(CommandRejection),
}

/// Why a committed command did not change the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandRejection {
    #[error("topic {0:?} already exists")]
    TopicExists(String),
    #[error("topic {0:?} does not exist")]
    UnknownTopic(String),
    #[error("a topic needs at least one partition")]
    NoPartitions,
    #[error("topic {name:?} has {current} partitions; cannot grow to {requested}")]
    PartitionCount {
        name: String,
        current: u32,
        requested: u32,
    },
    #[error("the command is empty or of an unknown kind")]
    Empty,
    /// Beyond [`crate::topic_limits::HARD_LIMITS`] (a log written before the
    /// limits existed may hold such a command).
    #[error("refused by the hard partition limits: {0}")]
    PartitionLimit(crate::topic_limits::LimitError),
    #[error("group {0:?} was stored by a later coordinator")]
    StaleGroup(String),
}

/// A log entry or snapshot that cannot be decoded: the node must stop.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("committed entry {index} does not decode as a metadata command: {source}")]
    Entry {
        index: u64,
        #[source]
        source: prost::DecodeError,
    },
    #[error("snapshot data does not decode: {0}")]
    Snapshot(#[source] prost::DecodeError),
}

/// In-memory metadata state, rebuilt from the latest snapshot plus the log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetaStateMachine {
    applied: u64,
    members: BTreeMap<u64, String>,
    topics: BTreeMap<String, TopicInfo>,
    kv: BTreeMap<String, Vec<u8>>,
    next_group_id: u64,
    brokers: BTreeMap<u64, String>,
    /// HTTP API URL of each broker that registered one.
    http_urls: BTreeMap<u64, String>,
    offsets: OffsetMap,
    /// Removed members (node id → index of the removing conf change).
    removed: BTreeMap<u64, u64>,
    /// Each member's recorded incarnation and the rejoining members.
    incarnations: Incarnations,
    /// Producer ids reserved through the log.
    producer_ids: ProducerIds,
    /// The ACLs in force.
    acls: acls::Acls,
    /// SCRAM credentials of Kafka users.
    scram: ScramCredentials,
    /// Each broker's address on each Kafka listener.
    listeners: BrokerListeners,
    /// Dynamic cluster-wide broker configs (`configs`).
    broker_config: BTreeMap<String, String>,
    /// Stored consumer group membership.
    groups: StoredGroups,
    /// The metadata group's voters as of the entry being applied, in log
    /// order (set by the applier; not part of the snapshot). Only commands
    /// from logs that predate voters in the command use it.
    voters: Vec<u64>,
    /// Preferred leader elections applied and not yet acted on (not state).
    elections: elections::ElectionRequests,
}

impl MetaStateMachine {
    /// A fresh store knowing the initial members' URLs.
    pub fn with_members(members: impl IntoIterator<Item = (u64, String)>) -> Self {
        Self {
            members: members.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Index of the last applied entry.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Records that `index` was applied without a command (empty or conf-change entry).
    pub fn advance(&mut self, index: u64) {
        self.applied = self.applied.max(index);
    }

    /// Decodes and applies a normal entry's data at `index`.
    pub fn apply(&mut self, index: u64, data: &[u8]) -> Result<ApplyOutcome, DecodeError> {
        self.advance(index);
        if data.is_empty() {
            return Ok(ApplyOutcome::Done);
        }
        let cmd =
            meta::Command::decode(data).map_err(|source| DecodeError::Entry { index, source })?;
        Ok(self.apply_command(index, cmd))
    }

    /// Sets the metadata group's voters as of the next entry, used for
    /// partitions whose command names no voters (see [`stamp_voters`]).
    pub fn set_voters(&mut self, voters: Vec<u64>) {
        self.voters = voters;
    }

    /// A stable hash of the replicated state (see `digest`): equal on
    /// every replica at the same applied index.
    pub fn digest(&self) -> u64 {
        digest::digest(self)
    }

    /// The producer id counter and each broker's latest block.
    pub fn producer_ids(&self) -> &ProducerIds {
        &self.producer_ids
    }

    /// The latest block of producer ids reserved for broker `node_id`.
    pub fn producer_id_block(&self, node_id: u64) -> Option<ProducerIdBlock> {
        self.producer_ids.blocks().get(&node_id).copied()
    }

    fn new_partition_groups(&mut self, count: u32, voters: &[u64]) -> Vec<PartitionGroupInfo> {
        let voters = if voters.is_empty() {
            self.voters.clone()
        } else {
            voters.to_vec()
        };
        (0..count)
            .map(|_| {
                self.next_group_id = self.next_group_id.max(1);
                let group_id = self.next_group_id;
                self.next_group_id += 1;
                PartitionGroupInfo {
                    group_id,
                    voters: voters.clone(),
                }
            })
            .collect()
    }

    /// Checks a topic growing from `current` to `requested` partitions
    /// against the compiled-in caps, which every replica and every replay
    /// applies alike; the refusal is logged.
    fn within_hard_limits(
        &self,
        index: u64,
        name: &str,
        current: u32,
        requested: u32,
    ) -> Result<(), CommandRejection> {
        let total = self.topics.values().map(|t| u64::from(t.partitions)).sum();
        crate::topic_limits::HARD_LIMITS
            .check_partitions(name, current, i64::from(requested), total)
            .map_err(|e| {
                tracing::warn!(index, error = %e, "committed topic command refused");
                CommandRejection::PartitionLimit(e)
            })
    }

    fn apply_command(&mut self, index: u64, cmd: meta::Command) -> ApplyOutcome {
        let rejected = |r| ApplyOutcome::Rejected(r);
        match cmd.cmd {
            None => rejected(CommandRejection::Empty),
            Some(Cmd::CreateTopic(t)) => {
                if t.partitions == 0 {
                    return rejected(CommandRejection::NoPartitions);
                }
                if self.topics.contains_key(&t.name) {
                    return rejected(CommandRejection::TopicExists(t.name));
                }
                if let Err(r) = self.within_hard_limits(index, &t.name, 0, t.partitions) {
                    return rejected(r);
                }
                let partition_groups = self.new_partition_groups(t.partitions, &t.voters);
                let info = TopicInfo {
                    name: t.name.clone(),
                    partitions: t.partitions,
                    config: t.config.into_iter().collect(),
                    created_index: index,
                    partition_groups,
                };
                self.topics.insert(t.name, info);
                ApplyOutcome::Done
            }
            Some(Cmd::CreatePartitions(c)) => {
                let Some(current) = self.topics.get(&c.name).map(|t| t.partitions) else {
                    return rejected(CommandRejection::UnknownTopic(c.name));
                };
                if c.total <= current {
                    return rejected(CommandRejection::PartitionCount {
                        name: c.name,
                        current,
                        requested: c.total,
                    });
                }
                if let Err(r) = self.within_hard_limits(index, &c.name, current, c.total) {
                    return rejected(r);
                }
                let groups = self.new_partition_groups(c.total - current, &c.voters);
                if let Some(t) = self.topics.get_mut(&c.name) {
                    t.partitions = c.total;
                    t.partition_groups.extend(groups);
                }
                ApplyOutcome::Done
            }
            Some(Cmd::RegisterBroker(b)) => {
                self.listeners.register(b.node_id, &b.listeners);
                self.brokers.insert(b.node_id, b.kafka_addr);
                // A registration from a broker that predates HTTP URLs says
                // nothing about it; it does not erase a known one.
                if !b.http_url.is_empty() {
                    self.http_urls.insert(b.node_id, b.http_url);
                }
                self.incarnations.register(b.node_id, b.incarnation);
                ApplyOutcome::Done
            }
            Some(Cmd::RecordIncarnation(r)) => {
                if r.rejoined {
                    self.incarnations.rejoined(r.node_id);
                } else {
                    self.incarnations.accept(r.node_id, r.incarnation, index);
                }
                ApplyOutcome::Done
            }
            Some(Cmd::CommitOffsets(c)) => {
                let group = self.offsets.entry(c.group).or_default();
                for o in c.offsets {
                    group.insert((o.topic.clone(), o.partition), stored_offset(&o));
                }
                ApplyOutcome::Done
            }
            Some(Cmd::ExpireOffsets(e)) => {
                crate::offset_retention::expire(&mut self.offsets, &e);
                ApplyOutcome::Done
            }
            Some(Cmd::DeleteTopic(t)) => match self.topics.remove(&t.name) {
                Some(_) => ApplyOutcome::Done,
                None => rejected(CommandRejection::UnknownTopic(t.name)),
            },
            Some(Cmd::AllocateProducerIds(a)) => {
                self.producer_ids.allocate(index, &a);
                ApplyOutcome::Done
            }
            Some(Cmd::StoreGroup(g)) => self.groups.store(g),
            Some(Cmd::DeleteGroup(d)) => self.groups.delete(&mut self.offsets, &d),
            Some(Cmd::DeleteGroupOffsets(d)) => StoredGroups::delete_offsets(&mut self.offsets, &d),
            Some(Cmd::CreateAcls(c)) => self.acls.create(index, &c),
            Some(Cmd::DeleteAcls(d)) => self.acls.delete(index, &d),
            Some(Cmd::AlterScramCredentials(a)) => {
                self.scram.apply(a);
                ApplyOutcome::Done
            }
            Some(c @ (Cmd::SetTopicConfig(_) | Cmd::SetBrokerConfig(_))) => self.apply_config(c),
            Some(Cmd::Put(p)) => {
                self.kv.insert(p.key, p.value);
                ApplyOutcome::Done
            }
            Some(Cmd::Delete(d)) => {
                self.kv.remove(&d.key);
                ApplyOutcome::Done
            }
            Some(Cmd::ElectPreferredLeaders(e)) => self.elections.request(e.group_ids),
        }
    }

    /// Records a member's URL (from a committed conf change); a member added
    /// again is no longer a removed one.
    pub fn set_member(&mut self, id: u64, url: String) {
        self.members.insert(id, url);
        self.removed.remove(&id);
    }

    /// A member added (again) without a URL: no longer a removed one.
    pub fn readmit(&mut self, id: u64) {
        self.removed.remove(&id);
    }

    /// Forgets a member removed by the conf change at `index`, remembering
    /// that it was removed so its traffic can be refused.
    pub fn remove_member(&mut self, id: u64, index: u64) {
        self.members.remove(&id);
        self.removed.insert(id, index);
        self.incarnations.forget(id);
    }

    /// Recorded incarnations and rejoining members.
    pub fn incarnations(&self) -> &Incarnations {
        &self.incarnations
    }

    /// Members removed and not added again: node id → index of the removal.
    pub fn removed(&self) -> &BTreeMap<u64, u64> {
        &self.removed
    }

    /// Known member URLs by node id.
    pub fn members(&self) -> &BTreeMap<u64, String> {
        &self.members
    }

    /// The topic registry.
    pub fn topics(&self) -> &BTreeMap<String, TopicInfo> {
        &self.topics
    }

    /// Kafka listener address ("host:port") of each registered broker.
    pub fn brokers(&self) -> &BTreeMap<u64, String> {
        &self.brokers
    }

    /// SCRAM credentials of Kafka users.
    pub fn scram(&self) -> &ScramCredentials {
        &self.scram
    }

    /// Each broker's address on each Kafka listener.
    pub fn listeners(&self) -> &BrokerListeners {
        &self.listeners
    }

    /// HTTP API URL (`http://host:port`) of each registered broker.
    pub fn http_urls(&self) -> &BTreeMap<u64, String> {
        &self.http_urls
    }

    /// The ACLs in force.
    pub fn acls(&self) -> &acls::Acls {
        &self.acls
    }

    /// Stored consumer group membership.
    pub fn stored_groups(&self) -> &StoredGroups {
        &self.groups
    }

    /// Committed consumer group offsets.
    pub fn offsets(&self) -> &OffsetMap {
        &self.offsets
    }

    /// A value of the key/value map.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.kv.get(key).map(Vec::as_slice)
    }

    /// Serialises the whole state for a Raft snapshot.
    pub fn snapshot(&self) -> Vec<u8> {
        let (next_producer_id, producer_id_blocks) = self.producer_ids.encode();
        let snap = meta::StateSnapshot {
            applied_index: self.applied,
            members: self
                .members
                .iter()
                .map(|(id, url)| meta::MemberRecord {
                    id: *id,
                    url: url.clone(),
                })
                .collect(),
            topics: self
                .topics
                .values()
                .map(|t| meta::Topic {
                    name: t.name.clone(),
                    partitions: t.partitions,
                    config: t.config.clone().into_iter().collect(),
                    created_index: t.created_index,
                    groups: t
                        .partition_groups
                        .iter()
                        .map(|g| meta::PartitionGroup {
                            group_id: g.group_id,
                            voters: g.voters.clone(),
                        })
                        .collect(),
                })
                .collect(),
            kv: self.kv.clone().into_iter().collect(),
            next_group_id: self.next_group_id,
            brokers: self.brokers.clone().into_iter().collect(),
            offsets: self
                .offsets
                .iter()
                .map(|(group, offsets)| meta::GroupOffsets {
                    group: group.clone(),
                    offsets: offsets
                        .iter()
                        .map(|((topic, partition), o)| encode_offset(topic, *partition, o))
                        .collect(),
                })
                .collect(),
            removed: self.removed.clone().into_iter().collect(),
            http_urls: self.http_urls.clone().into_iter().collect(),
            incarnations: self.incarnations.recorded().clone().into_iter().collect(),
            rejoining: self.incarnations.rejoining().clone().into_iter().collect(),
            next_producer_id,
            producer_id_blocks: producer_id_blocks.into_iter().collect(),
            acls: self.acls.encode(),
            scram_credentials: self.scram.encode(),
            listeners: self.listeners.encode(),
            broker_config: self.broker_config.clone().into_iter().collect(),
            groups: self.groups.encode(),
        };
        snap.encode_to_vec()
    }

    /// Replaces the state with a snapshot's.
    pub fn restore(data: &[u8]) -> Result<Self, DecodeError> {
        let snap = meta::StateSnapshot::decode(data).map_err(DecodeError::Snapshot)?;
        Ok(Self {
            applied: snap.applied_index,
            members: snap.members.into_iter().map(|m| (m.id, m.url)).collect(),
            topics: snap
                .topics
                .into_iter()
                .map(|t| {
                    let info = TopicInfo {
                        name: t.name.clone(),
                        partitions: t.partitions,
                        config: t.config.into_iter().collect(),
                        created_index: t.created_index,
                        partition_groups: t
                            .groups
                            .into_iter()
                            .map(|g| PartitionGroupInfo {
                                group_id: g.group_id,
                                voters: g.voters,
                            })
                            .collect(),
                    };
                    (t.name, info)
                })
                .collect(),
            kv: snap.kv.into_iter().collect(),
            next_group_id: snap.next_group_id,
            brokers: snap.brokers.into_iter().collect(),
            offsets: snap
                .offsets
                .into_iter()
                .map(|g| {
                    let offsets = g
                        .offsets
                        .iter()
                        .map(|o| ((o.topic.clone(), o.partition), stored_offset(o)))
                        .collect();
                    (g.group, offsets)
                })
                .collect(),
            removed: snap.removed.into_iter().collect(),
            http_urls: snap.http_urls.into_iter().collect(),
            incarnations: Incarnations::from_parts(
                snap.incarnations.into_iter().collect(),
                snap.rejoining.into_iter().collect(),
            ),
            producer_ids: ProducerIds::decode(snap.next_producer_id, snap.producer_id_blocks),
            acls: acls::Acls::decode(&snap.acls),
            scram: ScramCredentials::decode(snap.scram_credentials),
            listeners: BrokerListeners::decode(snap.listeners),
            broker_config: snap.broker_config.into_iter().collect(),
            groups: StoredGroups::decode(snap.groups),
            voters: Vec::new(),
            elections: Default::default(),
        })
    }
}

fn stored_offset(o: &meta::GroupOffset) -> StoredOffset {
    StoredOffset {
        offset: o.offset,
        leader_epoch: o.leader_epoch,
        metadata: o.has_metadata.then(|| o.metadata.clone()),
        commit_timestamp_ms: o.commit_timestamp_ms,
    }
}

/// Encodes one committed offset for a command or snapshot.
pub fn encode_offset(topic: &str, partition: i32, o: &StoredOffset) -> meta::GroupOffset {
    meta::GroupOffset {
        topic: topic.to_string(),
        partition,
        offset: o.offset,
        leader_epoch: o.leader_epoch,
        has_metadata: o.metadata.is_some(),
        metadata: o.metadata.clone().unwrap_or_default(),
        commit_timestamp_ms: o.commit_timestamp_ms,
    }
}

/// Builders for the commands clients propose.
pub mod commands {
    pub use super::groups::commands::*;
    use super::*;

    /// Encodes a topic creation.
    pub fn create_topic(name: &str, partitions: u32, config: BTreeMap<String, String>) -> Vec<u8> {
        encode(Cmd::CreateTopic(meta::CreateTopic {
            name: name.to_string(),
            partitions,
            config: config.into_iter().collect(),
            voters: Vec::new(),
        }))
    }

    /// Encodes a topic deletion.
    pub fn delete_topic(name: &str) -> Vec<u8> {
        encode(Cmd::DeleteTopic(meta::DeleteTopic {
            name: name.to_string(),
        }))
    }

    /// Encodes growing a topic to `total` partitions.
    pub fn create_partitions(name: &str, total: u32) -> Vec<u8> {
        encode(Cmd::CreatePartitions(meta::CreatePartitions {
            name: name.to_string(),
            total,
            voters: Vec::new(),
        }))
    }

    /// Encodes a broker's registration of its Kafka address and HTTP URL.
    pub fn register_broker(node_id: u64, kafka_addr: &str, http_url: &str) -> Vec<u8> {
        register_broker_as(node_id, kafka_addr, http_url, "")
    }

    /// Encodes a registration that also carries the broker's incarnation.
    pub fn register_broker_as(
        node_id: u64,
        kafka_addr: &str,
        http_url: &str,
        incarnation: &str,
    ) -> Vec<u8> {
        encode(Cmd::RegisterBroker(meta::RegisterBroker {
            node_id,
            kafka_addr: kafka_addr.to_string(),
            http_url: http_url.to_string(),
            incarnation: incarnation.to_string(),
            ..Default::default()
        }))
    }

    /// Encodes the acceptance of a rejoining member's new incarnation, or
    /// (`rejoined`) the end of its rejoining.
    pub fn record_incarnation(node_id: u64, incarnation: &str, rejoined: bool) -> Vec<u8> {
        encode(Cmd::RecordIncarnation(meta::RecordIncarnation {
            node_id,
            incarnation: incarnation.to_string(),
            rejoined,
        }))
    }

    /// Encodes a consumer group's offset commit.
    pub fn commit_offsets(group: &str, offsets: Vec<meta::GroupOffset>) -> Vec<u8> {
        encode(Cmd::CommitOffsets(meta::CommitOffsets {
            group: group.to_string(),
            offsets,
        }))
    }

    /// Encodes a reservation of `count` producer ids for broker `node_id`.
    pub fn allocate_producer_ids(node_id: u64, request_id: u64, count: u32) -> Vec<u8> {
        encode(Cmd::AllocateProducerIds(meta::AllocateProducerIds {
            node_id,
            request_id,
            count,
        }))
    }

    /// Encodes a key/value write.
    pub fn put(key: &str, value: Vec<u8>) -> Vec<u8> {
        encode(Cmd::Put(meta::Put {
            key: key.to_string(),
            value,
        }))
    }

    fn encode(cmd: Cmd) -> Vec<u8> {
        meta::Command { cmd: Some(cmd) }.encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_apply_and_survive_a_snapshot() {
        let mut sm = MetaStateMachine::with_members([(1, "http://a:5001".to_string())]);
        let cmd = commands::create_topic("orders", 3, BTreeMap::new());
        assert_eq!(sm.apply(5, &cmd).unwrap(), ApplyOutcome::Done);
        assert_eq!(
            sm.apply(6, &cmd).unwrap(),
            ApplyOutcome::Rejected(CommandRejection::TopicExists("orders".into()))
        );
        sm.apply(7, &commands::put("k", b"v".to_vec())).unwrap();
        let restored = MetaStateMachine::restore(&sm.snapshot()).unwrap();
        assert_eq!(restored, sm);
        assert_eq!(restored.applied(), 7);
        assert_eq!(restored.topics()["orders"].created_index, 5);
        assert_eq!(restored.get("k"), Some(&b"v"[..]));
    }

    #[test]
    fn partitions_get_fresh_groups_and_kafka_state_survives_a_snapshot() {
        let mut sm = MetaStateMachine::default();
        sm.set_voters(vec![1, 2, 3]);
        sm.apply(1, &commands::create_topic("a", 2, BTreeMap::new()))
            .unwrap();
        sm.set_voters(vec![1, 2, 3, 4]);
        sm.apply(2, &commands::create_partitions("a", 3)).unwrap();
        let groups = &sm.topics()["a"].partition_groups;
        assert_eq!(
            groups.iter().map(|g| g.group_id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(groups[2].voters, [1, 2, 3, 4]);
        assert_eq!(
            sm.apply(3, &commands::create_partitions("a", 3)).unwrap(),
            ApplyOutcome::Rejected(CommandRejection::PartitionCount {
                name: "a".into(),
                current: 3,
                requested: 3
            })
        );
        sm.apply(
            4,
            &commands::register_broker(2, "h2:9092", "http://h2:8080"),
        )
        .unwrap();
        let offset = StoredOffset {
            offset: 42,
            leader_epoch: -1,
            metadata: None,
            commit_timestamp_ms: 1_700_000_000_000,
        };
        sm.apply(
            5,
            &commands::commit_offsets("g", vec![encode_offset("a", 1, &offset)]),
        )
        .unwrap();
        sm.apply(6, &commands::delete_topic("a")).unwrap();
        sm.apply(7, &commands::create_topic("b", 1, BTreeMap::new()))
            .unwrap();
        assert_eq!(
            sm.topics()["b"].partition_groups[0].group_id,
            4,
            "ids are not reused"
        );
        let mut restored = MetaStateMachine::restore(&sm.snapshot()).unwrap();
        restored.set_voters(vec![1, 2, 3, 4]);
        assert_eq!(restored, sm);
        assert_eq!(restored.brokers()[&2], "h2:9092");
        assert_eq!(restored.http_urls()[&2], "http://h2:8080");
        assert_eq!(restored.offsets()["g"][&("a".to_string(), 1)], offset);
    }

    #[test]
    fn a_registration_without_http_url_keeps_the_known_one() {
        let mut sm = MetaStateMachine::default();
        sm.apply(
            1,
            &commands::register_broker(2, "h2:9092", "http://h2:8080"),
        )
        .unwrap();
        // What a broker that predates HTTP URLs proposes.
        sm.apply(2, &commands::register_broker(2, "h2:9093", ""))
            .unwrap();
        assert_eq!(sm.brokers()[&2], "h2:9093");
        assert_eq!(sm.http_urls()[&2], "http://h2:8080");
    }

    #[test]
    fn garbage_entry_is_a_decode_error_not_a_panic() {
        let mut sm = MetaStateMachine::default();
        assert!(matches!(
            sm.apply(1, &[0xff, 0xff, 0xff]),
            Err(DecodeError::Entry { index: 1, .. })
        ));
    }

    #[test]
    fn zero_partitions_and_unknown_topics_are_rejected() {
        let mut sm = MetaStateMachine::default();
        let out = sm
            .apply(1, &commands::create_topic("t", 0, BTreeMap::new()))
            .unwrap();
        assert_eq!(out, ApplyOutcome::Rejected(CommandRejection::NoPartitions));
        let out = sm.apply(2, &commands::delete_topic("nope")).unwrap();
        assert_eq!(
            out,
            ApplyOutcome::Rejected(CommandRejection::UnknownTopic("nope".into()))
        );
    }
}
