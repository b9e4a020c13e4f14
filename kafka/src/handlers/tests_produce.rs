//! Produce and Fetch handler behaviour of the produce piece: topics by id
//! (v13), KIP-951 leader hints, the topic's produce configs as the Produce
//! response shows them.

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::test_harness::{self, create_topic, reply};
use super::*;
use crate::backend::{MemoryBackend, TopicPartition};
use crate::test_support::{batch, Producer};

async fn handlers(configs: &[(&str, &str)]) -> (Handlers<MemoryBackend>, Uuid) {
    let h = test_harness::handlers(FrontendConfig::default(), &[]).await;
    let id = create_topic(&h, "t", 2, configs).await;
    (h, id)
}

/// The response to `body` as request `key` at `version`, checked to encode.
async fn call(
    handlers: &Handlers<MemoryBackend>,
    key: ApiKey,
    version: i16,
    body: RequestBody,
) -> ResponseBody {
    let session = Session::anonymous("127.0.0.1", "plain");
    let reply = reply(handlers, &session, key, version, body).await;
    if let Err(e) = codec::encode_response(7, reply.version, &reply.body) {
        panic!("{key:?} v{version}: {e}");
    }
    reply.body
}

fn produce(topic: TopicProduceData, partition: i32, records: bytes::Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![topic.with_partition_data(vec![
            PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records)),
        ])])
}

async fn produce_response(
    handlers: &Handlers<MemoryBackend>,
    version: i16,
    request: ProduceRequest,
) -> ProduceResponse {
    match call(
        handlers,
        ApiKey::Produce,
        version,
        RequestBody::Produce(request),
    )
    .await
    {
        ResponseBody::Produce(r) => r,
        _ => panic!("not a produce response"),
    }
}

async fn fetch_response(
    handlers: &Handlers<MemoryBackend>,
    version: i16,
    topic: FetchTopic,
) -> FetchResponse {
    let request = FetchRequest::default()
        .with_max_bytes(1 << 20)
        .with_min_bytes(1)
        .with_topics(vec![topic.with_partitions(vec![FetchPartition::default()
            .with_partition(1)
            .with_partition_max_bytes(1 << 20)])]);
    match call(
        handlers,
        ApiKey::Fetch,
        version,
        RequestBody::Fetch(request),
    )
    .await
    {
        ResponseBody::Fetch(r) => r,
        _ => panic!("not a fetch response"),
    }
}

#[tokio::test]
async fn produce_and_fetch_by_topic_id() {
    let (handlers, id) = handlers(&[]).await;
    let by_id = TopicProduceData::default().with_topic_id(id);
    let r = produce_response(
        &handlers,
        13,
        produce(by_id, 1, batch(3, Producer::NONE, 1)),
    )
    .await;
    assert_eq!(r.responses[0].topic_id, id);
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let unknown = TopicProduceData::default().with_topic_id(Uuid::from_u128(42));
    let r = produce_response(
        &handlers,
        13,
        produce(unknown, 1, batch(1, Producer::NONE, 1)),
    )
    .await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::UnknownTopicId.code()
    );
    let f = fetch_response(&handlers, 18, FetchTopic::default().with_topic_id(id)).await;
    assert_eq!(f.responses[0].topic_id, id);
    assert_eq!(f.responses[0].partitions[0].high_watermark, 3);
    let f = fetch_response(
        &handlers,
        13,
        FetchTopic::default().with_topic_id(Uuid::from_u128(42)),
    )
    .await;
    assert_eq!(
        f.responses[0].partitions[0].error_code,
        ResponseError::UnknownTopicId.code()
    );
}

#[tokio::test]
async fn not_leader_answers_carry_the_leader_hint() {
    let (handlers, id) = handlers(&[]).await;
    handlers
        .backend()
        .set_foreign_leader(&TopicPartition::new("t", 1), Some(2));
    let by_name = TopicProduceData::default().with_name(topic_name("t"));
    let r = produce_response(
        &handlers,
        10,
        produce(by_name, 1, batch(1, Producer::NONE, 1)),
    )
    .await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, ResponseError::NotLeaderOrFollower.code());
    assert_eq!(p.current_leader.leader_id, BrokerId(2));
    // Before v10 the field does not exist: the answer stays encodable.
    let by_name = TopicProduceData::default().with_name(topic_name("t"));
    let r = produce_response(
        &handlers,
        9,
        produce(by_name, 1, batch(1, Producer::NONE, 1)),
    )
    .await;
    assert_eq!(
        r.responses[0].partition_responses[0]
            .current_leader
            .leader_id,
        BrokerId(-1)
    );
    let f = fetch_response(&handlers, 16, FetchTopic::default().with_topic_id(id)).await;
    let p = &f.responses[0].partitions[0];
    assert_eq!(p.error_code, ResponseError::NotLeaderOrFollower.code());
    assert_eq!(p.current_leader.leader_id, BrokerId(2));
}

#[tokio::test]
async fn topic_produce_configs_show_in_the_answer() {
    let (handlers, _) = handlers(&[
        ("message.timestamp.type", "LogAppendTime"),
        ("max.message.bytes", "300"),
    ])
    .await;
    let by_name = || TopicProduceData::default().with_name(topic_name("t"));
    let r = produce_response(
        &handlers,
        9,
        produce(by_name(), 1, batch(1, Producer::NONE, 1)),
    )
    .await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0);
    assert!(p.log_append_time_ms > 1_600_000_000_000, "{p:?}");
    let r = produce_response(
        &handlers,
        9,
        produce(by_name(), 1, batch(50, Producer::NONE, 1)),
    )
    .await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ResponseError::MessageTooLarge.code()
    );
}
