//! Helpers shared by unit tests: record batches built with kafka-protocol's encoder.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// Producer fields of a test batch.
#[derive(Debug, Clone, Copy)]
pub struct Producer {
    pub id: i64,
    pub epoch: i16,
    pub first_sequence: i32,
}

impl Producer {
    pub const NONE: Producer = Producer {
        id: -1,
        epoch: -1,
        first_sequence: -1,
    };
}

/// One v2 batch of `count` records with keys `k{i}`, values `v{i}` and a header.
pub fn batch(count: i32, producer: Producer, timestamp: i64) -> Bytes {
    let records: Vec<Record> = (0..count)
        .map(|i| {
            let mut headers = IndexMap::new();
            headers.insert(
                StrBytes::from_static_str("h"),
                Some(Bytes::from_static(b"x")),
            );
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: producer.id,
                producer_epoch: producer.epoch,
                timestamp_type: TimestampType::Creation,
                offset: i64::from(i),
                // The encoder starts a new batch whenever offset - sequence changes.
                sequence: if producer.first_sequence < 0 {
                    i - 1
                } else {
                    producer.first_sequence + i
                },
                timestamp: timestamp + i64::from(i),
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("v{i}"))),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    if let Err(e) = RecordBatchEncoder::encode(&mut buf, &records, &options) {
        panic!("test batch encoding failed: {e}");
    }
    buf.freeze()
}

/// Request samples for every implemented API, used by handler and codec tests.
mod samples {
    use bytes::Bytes;
    use kafka_protocol::messages::create_partitions_request::{
        CreatePartitionsAssignment, CreatePartitionsTopic,
    };
    use kafka_protocol::messages::create_topics_request::{
        CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
    };
    use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
    use kafka_protocol::messages::*;

    use super::{batch, Producer};
    use crate::codec::RequestBody;
    use crate::handlers::{group_id, sb, topic_name};

    pub fn produce(partitions: Vec<(i32, Option<Bytes>)>, acks: i16) -> ProduceRequest {
        ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(1000)
            .with_transactional_id(None)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(topic_name("t"))
                .with_partition_data(
                    partitions
                        .into_iter()
                        .map(|(i, r)| {
                            PartitionProduceData::default()
                                .with_index(i)
                                .with_records(r)
                        })
                        .collect(),
                )])
    }

    pub fn fetch(partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
        FetchRequest::default()
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic_name("t"))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(partition)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(1 << 20),
                    FetchPartition::default()
                        .with_partition(9)
                        .with_partition_max_bytes(1 << 20),
                ])])
            .with_forgotten_topics_data(vec![ForgottenTopic::default()
                .with_topic(topic_name("gone"))
                .with_partitions(vec![1, 2])])
    }

    /// A representative request of `key` at `version`, touching success and error paths.
    pub fn sample(key: ApiKey, version: i16) -> RequestBody {
        let g = || group_id("g");
        match key {
            ApiKey::Produce => RequestBody::Produce(produce(
                vec![
                    (0, Some(batch(3, Producer::NONE, 1000))),
                    (1, Some(Bytes::from_static(b"garbage"))),
                    (9, Some(batch(1, Producer::NONE, 1000))),
                ],
                -1,
            )),
            ApiKey::Fetch => {
                let mut request = fetch(0, 0, 0);
                if version < 7 {
                    request.forgotten_topics_data.clear();
                }
                RequestBody::Fetch(request)
            }
            ApiKey::ListOffsets => RequestBody::ListOffsets(
                ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
                    .with_name(topic_name("t"))
                    .with_partitions(
                        [(0, -1), (0, -2), (0, 0), (9, -1)]
                            .into_iter()
                            .map(|(p, ts)| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_timestamp(ts)
                            })
                            .collect(),
                    )]),
            ),
            ApiKey::Metadata => RequestBody::Metadata(
                MetadataRequest::default().with_topics(Some(
                    ["t", "missing"]
                        .into_iter()
                        .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
                        .collect(),
                )),
            ),
            ApiKey::OffsetCommit => RequestBody::OffsetCommit(
                OffsetCommitRequest::default()
                    .with_group_id(g())
                    .with_generation_id_or_member_epoch(-1)
                    .with_topics(
                        ["t", "missing"]
                            .into_iter()
                            .map(|n| {
                                OffsetCommitRequestTopic::default()
                                    .with_name(topic_name(n))
                                    .with_partitions(vec![OffsetCommitRequestPartition::default()
                                        .with_partition_index(0)
                                        .with_committed_offset(5)])
                            })
                            .collect(),
                    ),
            ),
            ApiKey::OffsetFetch => RequestBody::OffsetFetch(
                OffsetFetchRequest::default()
                    .with_group_id(g())
                    .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                        .with_name(topic_name("t"))
                        .with_partition_indexes(vec![0, 1])])),
            ),
            ApiKey::FindCoordinator => RequestBody::FindCoordinator(if version >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![sb("g")])
            } else {
                FindCoordinatorRequest::default().with_key(sb("g"))
            }),
            ApiKey::JoinGroup => RequestBody::JoinGroup(
                JoinGroupRequest::default()
                    .with_group_id(group_id(&format!("join-{version}")))
                    .with_session_timeout_ms(10_000)
                    .with_rebalance_timeout_ms(if version >= 1 { 10_000 } else { -1 })
                    .with_protocol_type(sb("consumer"))
                    .with_protocols(vec![JoinGroupRequestProtocol::default()
                        .with_name(sb("range"))
                        .with_metadata(Bytes::from_static(b"meta"))]),
            ),
            ApiKey::Heartbeat => RequestBody::Heartbeat(
                HeartbeatRequest::default()
                    .with_group_id(g())
                    .with_member_id(sb("nobody")),
            ),
            ApiKey::LeaveGroup => RequestBody::LeaveGroup(if version >= 3 {
                LeaveGroupRequest::default()
                    .with_group_id(g())
                    .with_members(vec![
                        leave_group_request::MemberIdentity::default().with_member_id(sb("nobody"))
                    ])
            } else {
                LeaveGroupRequest::default()
                    .with_group_id(g())
                    .with_member_id(sb("nobody"))
            }),
            ApiKey::SyncGroup => RequestBody::SyncGroup(
                SyncGroupRequest::default()
                    .with_group_id(g())
                    .with_member_id(sb("nobody"))
                    .with_assignments(vec![SyncGroupRequestAssignment::default()
                        .with_member_id(sb("nobody"))
                        .with_assignment(Bytes::from_static(b"a"))]),
            ),
            ApiKey::DescribeGroups => RequestBody::DescribeGroups(
                DescribeGroupsRequest::default().with_groups(vec![g(), group_id("join-3")]),
            ),
            ApiKey::ListGroups => RequestBody::ListGroups(if version >= 4 {
                ListGroupsRequest::default().with_states_filter(vec![sb("Stable"), sb("Empty")])
            } else {
                ListGroupsRequest::default()
            }),
            ApiKey::ApiVersions => RequestBody::ApiVersions(ApiVersionsRequest::default()),
            ApiKey::CreateTopics => RequestBody::CreateTopics(
                CreateTopicsRequest::default().with_topics(
                    [
                        format!("new-{version}"),
                        "bad name".to_owned(),
                        "t".to_owned(),
                        "manual".to_owned(),
                    ]
                    .iter()
                    .map(|n| {
                        let topic = CreatableTopic::default()
                            .with_name(topic_name(n))
                            .with_num_partitions(2)
                            .with_replication_factor(1)
                            .with_configs(vec![CreatableTopicConfig::default()
                                .with_name(sb("retention.ms"))
                                .with_value(Some(sb("1000")))]);
                        if n == "manual" {
                            topic.with_assignments(vec![CreatableReplicaAssignment::default()
                                .with_partition_index(0)
                                .with_broker_ids(vec![BrokerId(1)])])
                        } else {
                            topic
                        }
                    })
                    .collect(),
                ),
            ),
            ApiKey::DeleteTopics => {
                let names = [format!("new-{}", version + 1), "missing".to_owned()];
                RequestBody::DeleteTopics(if version >= 6 {
                    DeleteTopicsRequest::default().with_topics(
                        names
                            .iter()
                            .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                            .collect(),
                    )
                } else {
                    DeleteTopicsRequest::default()
                        .with_topic_names(names.iter().map(|n| topic_name(n)).collect())
                })
            }
            ApiKey::InitProducerId => RequestBody::InitProducerId(
                InitProducerIdRequest::default().with_transactional_id(None),
            ),
            ApiKey::DescribeConfigs => RequestBody::DescribeConfigs(
                DescribeConfigsRequest::default().with_resources(
                    [(2, "t"), (2, "missing"), (4, "1")]
                        .into_iter()
                        .map(|(ty, n)| {
                            DescribeConfigsResource::default()
                                .with_resource_type(ty)
                                .with_resource_name(sb(n))
                                .with_configuration_keys(if n == "t" {
                                    Some(vec![sb("retention.ms"), sb("cleanup.policy")])
                                } else {
                                    None
                                })
                        })
                        .collect(),
                ),
            ),
            ApiKey::CreatePartitions => RequestBody::CreatePartitions(
                CreatePartitionsRequest::default().with_topics(
                    [("t", 4 + i32::from(version)), ("missing", 2), ("manual", 3)]
                        .into_iter()
                        .map(|(n, c)| {
                            CreatePartitionsTopic::default()
                                .with_name(topic_name(n))
                                .with_count(c)
                                .with_assignments((n == "manual").then(|| {
                                    vec![CreatePartitionsAssignment::default()
                                        .with_broker_ids(vec![BrokerId(1), BrokerId(2)])]
                                }))
                        })
                        .collect(),
                ),
            ),
            ApiKey::CreateAcls => {
                RequestBody::CreateAcls(CreateAclsRequest::default().with_creations(vec![
                    create_acls_request::AclCreation::default()
                        .with_resource_type(2)
                        .with_resource_name(sb("t"))
                        .with_resource_pattern_type(3)
                        .with_principal(sb("User:alice"))
                        .with_host(sb("*"))
                        .with_operation(4)
                        .with_permission_type(3),
                    // Invalid: no principal type.
                    create_acls_request::AclCreation::default()
                        .with_resource_type(2)
                        .with_resource_name(sb("t"))
                        .with_resource_pattern_type(3)
                        .with_principal(sb("alice"))
                        .with_host(sb("*"))
                        .with_operation(4)
                        .with_permission_type(3),
                ]))
            }
            ApiKey::DescribeAcls => RequestBody::DescribeAcls(
                DescribeAclsRequest::default()
                    .with_resource_type_filter(1)
                    .with_pattern_type_filter(1)
                    .with_operation(1)
                    .with_permission_type(1),
            ),
            ApiKey::DeleteAcls => {
                RequestBody::DeleteAcls(DeleteAclsRequest::default().with_filters(vec![
                    delete_acls_request::DeleteAclsFilter::default()
                        .with_resource_type_filter(2)
                        .with_resource_name_filter(Some(sb("t")))
                        .with_pattern_type_filter(2)
                        .with_operation(1)
                        .with_permission_type(1),
                    delete_acls_request::DeleteAclsFilter::default(),
                ]))
            }
            ApiKey::SaslHandshake => RequestBody::SaslHandshake(
                SaslHandshakeRequest::default().with_mechanism(sb("PLAIN")),
            ),
            ApiKey::SaslAuthenticate => RequestBody::SaslAuthenticate(
                SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\0u\0p")),
            ),
            ApiKey::DescribeUserScramCredentials => RequestBody::DescribeUserScramCredentials(
                DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
                    describe_user_scram_credentials_request::UserName::default()
                        .with_name(sb("alice")),
                ])),
            ),
            ApiKey::AlterUserScramCredentials => RequestBody::AlterUserScramCredentials(
                AlterUserScramCredentialsRequest::default()
                    .with_deletions(vec![
                        alter_user_scram_credentials_request::ScramCredentialDeletion::default()
                            .with_name(sb("bob"))
                            .with_mechanism(1),
                    ])
                    .with_upsertions(vec![
                        alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
                            .with_name(sb("alice"))
                            .with_mechanism(2)
                            .with_iterations(4096)
                            .with_salt(Bytes::from_static(b"salt"))
                            .with_salted_password(Bytes::from_static(b"salted")),
                    ]),
            ),
            ApiKey::AlterConfigs => {
                RequestBody::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
                    alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(sb("t"))
                        .with_configs(vec![alter_configs_request::AlterableConfig::default()
                            .with_name(sb("retention.ms"))
                            .with_value(Some(sb("1000")))]),
                ]))
            }
            ApiKey::IncrementalAlterConfigs => RequestBody::IncrementalAlterConfigs(
                IncrementalAlterConfigsRequest::default().with_resources(vec![
                    incremental_alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(sb("t"))
                        .with_configs(vec![
                            incremental_alter_configs_request::AlterableConfig::default()
                                .with_name(sb("cleanup.policy"))
                                .with_config_operation(2)
                                .with_value(Some(sb("compact"))),
                        ]),
                ]),
            ),

            ApiKey::DeleteRecords => RequestBody::DeleteRecords(
                DeleteRecordsRequest::default()
                    .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                        .with_name(topic_name("t"))
                        .with_partitions(vec![
                            delete_records_request::DeleteRecordsPartition::default()
                                .with_partition_index(0)
                                .with_offset(0),
                        ])])
                    .with_timeout_ms(1000),
            ),

            ApiKey::DeleteGroups => RequestBody::DeleteGroups(
                DeleteGroupsRequest::default().with_groups_names(vec![g(), group_id("none")]),
            ),
            ApiKey::OffsetDelete => RequestBody::OffsetDelete(
                OffsetDeleteRequest::default()
                    .with_group_id(g())
                    .with_topics(
                        ["t", "missing"]
                            .into_iter()
                            .map(|n| {
                                offset_delete_request::OffsetDeleteRequestTopic::default()
                                    .with_name(topic_name(n))
                                    .with_partitions(vec![
                                    offset_delete_request::OffsetDeleteRequestPartition::default(),
                                ])
                            })
                            .collect(),
                    ),
            ),
            ApiKey::DescribeCluster => RequestBody::DescribeCluster(
                DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
            ),

            ApiKey::OffsetForLeaderEpoch => RequestBody::OffsetForLeaderEpoch(
                OffsetForLeaderEpochRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_topics(vec![offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                        .with_topic(topic_name("t"))
                        .with_partitions(
                            [(0, -1, 0), (0, 5, 0), (9, -1, 0)]
                                .into_iter()
                                .map(|(p, current, epoch)| {
                                    offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                                        .with_partition(p)
                                        .with_current_leader_epoch(current)
                                        .with_leader_epoch(epoch)
                                })
                                .collect(),
                        )]),
            ),
            ApiKey::DescribeProducers => RequestBody::DescribeProducers(
                DescribeProducersRequest::default().with_topics(vec![
                    describe_producers_request::TopicRequest::default()
                        .with_name(topic_name("t"))
                        .with_partition_indexes(vec![0, 9]),
                ]),
            ),
            ApiKey::DescribeLogDirs => RequestBody::DescribeLogDirs(
                DescribeLogDirsRequest::default().with_topics(Some(vec![
                    describe_log_dirs_request::DescribableLogDirTopic::default()
                        .with_topic(topic_name("t"))
                        .with_partitions(vec![0, 1]),
                ])),
            ),
            ApiKey::ElectLeaders => RequestBody::ElectLeaders(
                ElectLeadersRequest::default()
                    .with_election_type(i8::from(version >= 1))
                    .with_timeout_ms(100)
                    .with_topic_partitions(Some(vec![
                        elect_leaders_request::TopicPartitions::default()
                            .with_topic(topic_name("t"))
                            .with_partitions(vec![0, 9]),
                    ])),
            ),
            other => panic!("no sample for {other:?}"),
        }
    }
}

pub use samples::{fetch, produce, sample};
