//! Handler tests: every advertised API and version answers with an encodable
//! response, plus behaviour checks that need no sockets.

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::*;
use crate::backend::{MemoryBackend, MemoryBackendConfig, TopicPartition, TopicSpec};
use crate::test_support::{batch, Producer};
use crate::versions::SUPPORTED_APIS;

async fn broker() -> Broker<MemoryBackend> {
    let backend = Arc::new(MemoryBackend::new(MemoryBackendConfig {
        node_id: 1,
        advertised_host: "127.0.0.1".to_owned(),
        advertised_port: 9092,
        cluster_id: "test".to_owned(),
    }));
    let spec = TopicSpec {
        name: "t".to_owned(),
        partitions: 3,
        replication_factor: 1,
        configs: [("retention.ms".to_owned(), "1000".to_owned())].into(),
    };
    if let Err(e) = backend.create_topic(spec).await {
        panic!("create topic: {e}");
    }
    Broker::new(backend, FrontendConfig::default())
}

fn produce(partitions: Vec<(i32, Option<Bytes>)>, acks: i16) -> ProduceRequest {
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

fn fetch(partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
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
}

/// A representative request of `key` at `version`, touching success and error paths.
fn sample(key: ApiKey, version: i16) -> RequestBody {
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
        ApiKey::Fetch => RequestBody::Fetch(fetch(0, 0, 0)),
        ApiKey::ListOffsets => RequestBody::ListOffsets(ListOffsetsRequest::default().with_topics(
            vec![ListOffsetsTopic::default()
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
                )],
        )),
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
                .with_member_id(sb("nobody")),
        ),
        ApiKey::DescribeGroups => RequestBody::DescribeGroups(
            DescribeGroupsRequest::default().with_groups(vec![g(), group_id("join-3")]),
        ),
        ApiKey::ListGroups => RequestBody::ListGroups(ListGroupsRequest::default()),
        ApiKey::ApiVersions => RequestBody::ApiVersions(ApiVersionsRequest::default()),
        ApiKey::CreateTopics => RequestBody::CreateTopics(
            CreateTopicsRequest::default().with_topics(
                [
                    format!("new-{version}"),
                    "bad name".to_owned(),
                    "t".to_owned(),
                ]
                .iter()
                .map(|n| {
                    CreatableTopic::default()
                        .with_name(topic_name(n))
                        .with_num_partitions(2)
                        .with_replication_factor(1)
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
                            .with_configuration_keys(None)
                    })
                    .collect(),
            ),
        ),
        ApiKey::CreatePartitions => RequestBody::CreatePartitions(
            CreatePartitionsRequest::default().with_topics(
                [("t", 4 + i32::from(version)), ("missing", 2)]
                    .into_iter()
                    .map(|(n, c)| {
                        CreatePartitionsTopic::default()
                            .with_name(topic_name(n))
                            .with_count(c)
                            .with_assignments(None)
                    })
                    .collect(),
            ),
        ),
        other => panic!("no sample for {other:?}"),
    }
}

fn decoded(key: ApiKey, version: i16, body: RequestBody) -> DecodedRequest {
    DecodedRequest {
        api_key: key,
        header: RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .with_client_id(Some(sb("test"))),
        body: Decoded::Body(Box::new(body)),
    }
}

#[tokio::test]
async fn every_advertised_version_answers_encodably() {
    let broker = broker().await;
    for api in SUPPORTED_APIS {
        for version in api.min..=api.max {
            let request = decoded(api.key, version, sample(api.key, version));
            let Some(reply) = broker.handle(request, "127.0.0.1").await else {
                panic!("{:?} v{version}: no reply", api.key);
            };
            if let Err(e) = codec::encode_response(7, reply.version, &reply.body) {
                panic!("{:?} v{version}: {e}", api.key);
            }
        }
    }
}

async fn call(
    broker: &Broker<MemoryBackend>,
    key: ApiKey,
    version: i16,
    body: RequestBody,
) -> ResponseBody {
    match broker
        .handle(decoded(key, version, body), "127.0.0.1")
        .await
    {
        Some(reply) => reply.body,
        None => panic!("{key:?}: no reply"),
    }
}

#[tokio::test]
async fn produce_then_fetch_returns_committed_batches_with_offsets() {
    let broker = broker().await;
    for _ in 0..2 {
        let body = call(
            &broker,
            ApiKey::Produce,
            9,
            RequestBody::Produce(produce(vec![(0, Some(batch(4, Producer::NONE, 10)))], -1)),
        )
        .await;
        let ResponseBody::Produce(r) = body else {
            panic!("not a produce response")
        };
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    let ResponseBody::Fetch(r) = call(
        &broker,
        ApiKey::Fetch,
        12,
        RequestBody::Fetch(fetch(0, 4, 0)),
    )
    .await
    else {
        panic!("not a fetch response")
    };
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.high_watermark, 8);
    let mut records = p.records.clone().unwrap_or_default();
    let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records)
        .unwrap_or_else(|e| panic!("decode: {e}"));
    let offsets: Vec<i64> = sets
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.offset))
        .collect();
    assert_eq!(offsets, vec![4, 5, 6, 7]);
    assert_eq!(
        r.responses[0].partitions[1].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
}

#[tokio::test]
async fn acks_zero_sends_no_response() {
    let broker = broker().await;
    let request = decoded(
        ApiKey::Produce,
        7,
        RequestBody::Produce(produce(vec![(0, Some(batch(1, Producer::NONE, 1)))], 0)),
    );
    assert!(broker.handle(request, "h").await.is_none());
}

#[tokio::test]
async fn fetch_long_poll_wakes_on_new_data() {
    let broker = Arc::new(broker().await);
    let waiter = {
        let broker = broker.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut request = fetch(2, 0, 5_000);
            request.topics[0].partitions.truncate(1);
            let body = call(&broker, ApiKey::Fetch, 11, RequestBody::Fetch(request)).await;
            (started.elapsed(), body)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    call(
        &broker,
        ApiKey::Produce,
        9,
        RequestBody::Produce(produce(vec![(2, Some(batch(1, Producer::NONE, 1)))], 1)),
    )
    .await;
    let (elapsed, body) = waiter.await.unwrap_or_else(|e| panic!("join: {e}"));
    assert!(elapsed < std::time::Duration::from_secs(4), "{elapsed:?}");
    let ResponseBody::Fetch(r) = body else {
        panic!("not a fetch response")
    };
    assert_eq!(r.responses[0].partitions[0].high_watermark, 1);
}

#[tokio::test]
async fn partition_led_elsewhere_answers_not_leader() {
    let broker = broker().await;
    broker
        .backend()
        .set_foreign_leader(&TopicPartition::new("t", 1), Some(2));
    let ResponseBody::Produce(r) = call(
        &broker,
        ApiKey::Produce,
        9,
        RequestBody::Produce(produce(vec![(1, Some(batch(1, Producer::NONE, 1)))], -1)),
    )
    .await
    else {
        panic!("not a produce response")
    };
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::NotLeaderOrFollower.code()
    );
    let ResponseBody::Fetch(r) = call(
        &broker,
        ApiKey::Fetch,
        12,
        RequestBody::Fetch(fetch(1, 0, 0)),
    )
    .await
    else {
        panic!("not a fetch response")
    };
    assert_eq!(
        r.responses[0].partitions[0].error_code,
        ResponseError::NotLeaderOrFollower.code()
    );
}

#[tokio::test]
async fn idempotent_retry_is_not_appended_twice() {
    let broker = broker().await;
    let ResponseBody::InitProducerId(id) = call(
        &broker,
        ApiKey::InitProducerId,
        4,
        RequestBody::InitProducerId(InitProducerIdRequest::default().with_transactional_id(None)),
    )
    .await
    else {
        panic!("not an InitProducerId response")
    };
    let producer = Producer {
        id: id.producer_id.0,
        epoch: id.producer_epoch,
        first_sequence: 0,
    };
    let records = batch(2, producer, 1);
    let mut offsets = Vec::new();
    for _ in 0..2 {
        let ResponseBody::Produce(r) = call(
            &broker,
            ApiKey::Produce,
            9,
            RequestBody::Produce(produce(vec![(0, Some(records.clone()))], -1)),
        )
        .await
        else {
            panic!("not a produce response")
        };
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(p.error_code, 0);
        offsets.push(p.base_offset);
    }
    assert_eq!(offsets, vec![0, 0]);
    let gap = batch(
        1,
        Producer {
            first_sequence: 5,
            ..producer
        },
        1,
    );
    let ResponseBody::Produce(r) = call(
        &broker,
        ApiKey::Produce,
        9,
        RequestBody::Produce(produce(vec![(0, Some(gap))], -1)),
    )
    .await
    else {
        panic!("not a produce response")
    };
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::OutOfOrderSequenceNumber.code()
    );
}
