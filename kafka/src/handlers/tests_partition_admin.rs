//! The partition admin handlers over the in-memory backend: Kafka's
//! authorization of each API (and its codes), and the answers of a single
//! node leading everything at leader epoch 0.

use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::test_harness::{call, grant, handlers, simple_authorizer, ADMIN};
use super::*;
use crate::backend::MemoryBackend;
use crate::test_support::{batch, produce, sample, Producer};
use chronik_api::security::{AclOperation, ResourceType};

const NOBODY: &str = "User:nobody";

async fn secured() -> Handlers<MemoryBackend> {
    handlers(simple_authorizer(&[ADMIN]), &[("t", 2)]).await
}

/// (error, leader epoch, end offset) of the sample's partitions.
async fn epochs(h: &Handlers<MemoryBackend>, who: &str) -> Vec<(i16, i32, i64)> {
    let body = sample(ApiKey::OffsetForLeaderEpoch, 4);
    match call(h, who, ApiKey::OffsetForLeaderEpoch, 4, body).await {
        ResponseBody::OffsetForLeaderEpoch(r) => r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.leader_epoch, p.end_offset))
            .collect(),
        other => panic!("{other:?}"),
    }
}

async fn producer_codes(h: &Handlers<MemoryBackend>, who: &str) -> Vec<(i16, usize)> {
    let body = sample(ApiKey::DescribeProducers, 0);
    match call(h, who, ApiKey::DescribeProducers, 0, body).await {
        ResponseBody::DescribeProducers(r) => r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.active_producers.len()))
            .collect(),
        other => panic!("{other:?}"),
    }
}

async fn log_dirs(h: &Handlers<MemoryBackend>, who: &str, version: i16) -> DescribeLogDirsResponse {
    let body = sample(ApiKey::DescribeLogDirs, version);
    match call(h, who, ApiKey::DescribeLogDirs, version, body).await {
        ResponseBody::DescribeLogDirs(r) => r,
        other => panic!("{other:?}"),
    }
}

async fn elect(
    h: &Handlers<MemoryBackend>,
    who: &str,
    request: ElectLeadersRequest,
) -> ElectLeadersResponse {
    match call(
        h,
        who,
        ApiKey::ElectLeaders,
        2,
        RequestBody::ElectLeaders(request),
    )
    .await
    {
        ResponseBody::ElectLeaders(r) => r,
        other => panic!("{other:?}"),
    }
}

fn election(kind: i8, topics: Option<Vec<i32>>) -> ElectLeadersRequest {
    ElectLeadersRequest::default()
        .with_election_type(kind)
        .with_timeout_ms(100)
        .with_topic_partitions(topics.map(|ps| {
            vec![elect_leaders_request::TopicPartitions::default()
                .with_topic(topic_name("t"))
                .with_partitions(ps)]
        }))
}

fn codes(r: &ElectLeadersResponse) -> Vec<i16> {
    r.replica_election_results
        .iter()
        .flat_map(|t| t.partition_result.iter().map(|p| p.error_code))
        .collect()
}

const TOPIC_DENIED: i16 = 29;
const CLUSTER_DENIED: i16 = 31;

#[tokio::test]
async fn each_api_checks_kafkas_operation_and_answers_its_code() {
    let h = secured().await;
    assert!(epochs(&h, NOBODY).await.iter().all(|e| e.0 == TOPIC_DENIED));
    assert!(producer_codes(&h, NOBODY)
        .await
        .iter()
        .all(|p| p.0 == TOPIC_DENIED));
    let denied = log_dirs(&h, NOBODY, 4).await;
    assert_eq!(
        (denied.error_code, denied.results.len()),
        (CLUSTER_DENIED, 0)
    );
    let denied = log_dirs(&h, NOBODY, 1).await;
    assert_eq!((denied.error_code, denied.results.len()), (0, 0));
    let denied = elect(&h, NOBODY, election(0, None)).await;
    assert_eq!(denied.error_code, CLUSTER_DENIED);
    assert!(
        denied.replica_election_results.is_empty(),
        "no topic is revealed"
    );
    let denied = elect(&h, NOBODY, election(0, Some(vec![0]))).await;
    assert_eq!(codes(&denied), vec![CLUSTER_DENIED]);

    // Describe on the topic or ClusterAction on the cluster open
    // OffsetForLeaderEpoch; Read opens DescribeProducers; Describe and Alter
    // on the cluster open DescribeLogDirs and ElectLeaders.
    grant(
        &h,
        ResourceType::Topic,
        "t",
        "User:consumer",
        AclOperation::Describe,
    )
    .await;
    assert_eq!(epochs(&h, "User:consumer").await[0].0, 0);
    grant(
        &h,
        ResourceType::Cluster,
        "kafka-cluster",
        "User:replica",
        AclOperation::ClusterAction,
    )
    .await;
    assert_eq!(epochs(&h, "User:replica").await[0].0, 0);
    assert!(producer_codes(&h, "User:consumer")
        .await
        .iter()
        .all(|p| p.0 == TOPIC_DENIED));
    grant(
        &h,
        ResourceType::Topic,
        "t",
        "User:reader",
        AclOperation::Read,
    )
    .await;
    assert_eq!(producer_codes(&h, "User:reader").await[0].0, 0);
    grant(
        &h,
        ResourceType::Cluster,
        "kafka-cluster",
        "User:ops",
        AclOperation::Describe,
    )
    .await;
    assert_eq!(log_dirs(&h, "User:ops", 4).await.results.len(), 1);
    grant(
        &h,
        ResourceType::Cluster,
        "kafka-cluster",
        "User:ops",
        AclOperation::Alter,
    )
    .await;
    let r = elect(&h, "User:ops", election(0, None)).await;
    assert_eq!((r.error_code, codes(&r)), (0, vec![84, 84]));
}

#[tokio::test]
async fn a_single_node_answers_epoch_zero_its_producers_and_no_election() {
    let h = secured().await;
    let idempotent = Producer {
        id: 7,
        epoch: 2,
        first_sequence: 0,
    };
    let req = produce(vec![(0, Some(batch(3, idempotent, 1_000)))], -1);
    match call(&h, ADMIN, ApiKey::Produce, 9, RequestBody::Produce(req)).await {
        ResponseBody::Produce(r) => assert_eq!(r.responses[0].partition_responses[0].error_code, 0),
        other => panic!("{other:?}"),
    }
    // Partition 0: epoch 0 ends at the log end; a newer current epoch is
    // unknown; partition 9 does not exist.
    let answers = epochs(&h, ADMIN).await;
    assert_eq!(answers[0], (0, 0, 3));
    assert_eq!(answers[1].0, ResponseError::UnknownLeaderEpoch.code());
    assert_eq!(answers[2].0, ResponseError::UnknownTopicOrPartition.code());
    let body = sample(ApiKey::DescribeProducers, 0);
    let ResponseBody::DescribeProducers(r) =
        call(&h, ADMIN, ApiKey::DescribeProducers, 0, body).await
    else {
        panic!("not a DescribeProducers answer");
    };
    let p = &r.topics[0].partitions[0].active_producers;
    assert_eq!(p.len(), 1);
    assert_eq!(
        (
            p[0].producer_id.0,
            p[0].producer_epoch,
            p[0].last_sequence,
            p[0].last_timestamp
        ),
        (7, 2, 2, 1_002),
        "the largest timestamp of the batch"
    );
    let dir = &log_dirs(&h, ADMIN, 4).await.results[0];
    assert_eq!(dir.log_dir.as_str(), "memory");
    assert_eq!(
        dir.topics[0].partitions.len(),
        2,
        "the sample asks for partitions 0 and 1"
    );
    assert!(dir.topics[0].partitions[0].partition_size > 0);
    let r = elect(&h, ADMIN, election(1, Some(vec![0, 5]))).await;
    assert_eq!(
        codes(&r),
        vec![84, ResponseError::UnknownTopicOrPartition.code()]
    );
    let r = elect(&h, ADMIN, election(2, Some(vec![0]))).await;
    assert_eq!(codes(&r), vec![ResponseError::InvalidRequest.code()]);
}
