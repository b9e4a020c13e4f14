//! Handler tests: every advertised API and version answers with an encodable
//! response, plus behaviour checks that need no sockets.

use std::sync::Arc;

use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::*;
use crate::backend::{MemoryBackend, MemoryBackendConfig, TopicPartition, TopicSpec};
use crate::test_support::{batch, fetch, produce, sample, Producer};
use crate::versions::SUPPORTED_APIS;

async fn handlers() -> Handlers<MemoryBackend> {
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
    Handlers::new(backend, FrontendConfig::default())
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
    let handlers = handlers().await;
    for api in SUPPORTED_APIS {
        for version in api.min..=api.max {
            let request = decoded(api.key, version, sample(api.key, version));
            let Some(reply) = handlers
                .handle(request, &Session::anonymous("127.0.0.1", "plain"))
                .await
            else {
                panic!("{:?} v{version}: no reply", api.key);
            };
            if let Err(e) = codec::encode_response(7, reply.version, &reply.body) {
                panic!("{:?} v{version}: {e}", api.key);
            }
        }
    }
}

async fn call(
    handlers: &Handlers<MemoryBackend>,
    key: ApiKey,
    version: i16,
    body: RequestBody,
) -> ResponseBody {
    match handlers
        .handle(
            decoded(key, version, body),
            &Session::anonymous("127.0.0.1", "plain"),
        )
        .await
    {
        Some(reply) => reply.body,
        None => panic!("{key:?}: no reply"),
    }
}

#[tokio::test]
async fn produce_then_fetch_returns_committed_batches_with_offsets() {
    let handlers = handlers().await;
    for _ in 0..2 {
        let body = call(
            &handlers,
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
        &handlers,
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
    let handlers = handlers().await;
    let request = decoded(
        ApiKey::Produce,
        7,
        RequestBody::Produce(produce(vec![(0, Some(batch(1, Producer::NONE, 1)))], 0)),
    );
    assert!(handlers
        .handle(request, &Session::anonymous("h", "plain"))
        .await
        .is_none());
}

#[tokio::test]
async fn fetch_long_poll_wakes_on_new_data() {
    let handlers = Arc::new(handlers().await);
    let waiter = {
        let handlers = handlers.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut request = fetch(2, 0, 5_000);
            request.topics[0].partitions.truncate(1);
            let body = call(&handlers, ApiKey::Fetch, 11, RequestBody::Fetch(request)).await;
            (started.elapsed(), body)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    call(
        &handlers,
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
    let handlers = handlers().await;
    handlers
        .backend()
        .set_foreign_leader(&TopicPartition::new("t", 1), Some(2));
    let ResponseBody::Produce(r) = call(
        &handlers,
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
        &handlers,
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
    let handlers = handlers().await;
    let ResponseBody::InitProducerId(id) = call(
        &handlers,
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
            &handlers,
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
        &handlers,
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

#[tokio::test]
async fn bad_crc_and_unknown_topics_get_error_codes() {
    let handlers = handlers().await;
    let mut corrupt = bytes::BytesMut::from(&batch(2, Producer::NONE, 1)[..]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    let mut request = produce(vec![(0, Some(corrupt.freeze())), (1, None)], -1);
    request.topic_data.push(
        kafka_protocol::messages::produce_request::TopicProduceData::default()
            .with_name(topic_name("nope"))
            .with_partition_data(vec![
                kafka_protocol::messages::produce_request::PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch(1, Producer::NONE, 1))),
            ]),
    );
    let ResponseBody::Produce(r) =
        call(&handlers, ApiKey::Produce, 8, RequestBody::Produce(request)).await
    else {
        panic!("not a produce response")
    };
    let codes: Vec<i16> = r
        .responses
        .iter()
        .flat_map(|t| t.partition_responses.iter().map(|p| p.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ResponseError::CorruptMessage.code(),
            ResponseError::InvalidRecord.code(),
            ResponseError::UnknownTopicOrPartition.code(),
        ]
    );
    // Nothing was stored.
    let ResponseBody::Fetch(f) = call(
        &handlers,
        ApiKey::Fetch,
        12,
        RequestBody::Fetch(fetch(0, 0, 0)),
    )
    .await
    else {
        panic!("not a fetch response")
    };
    assert_eq!(f.responses[0].partitions[0].high_watermark, 0);
}

#[tokio::test]
async fn create_topics_refuses_retention_that_is_not_a_number() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
    let handlers = handlers().await;
    let topic = |name: &str, key: &str, value: &str| {
        CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![CreatableTopicConfig::default()
                .with_name(sb(key))
                .with_value(Some(sb(value)))])
    };
    let request = CreateTopicsRequest::default().with_topics(vec![
        topic("bad-ms", "retention.ms", "a week"),
        topic("bad-bytes", "retention.bytes", "-5"),
        topic("good", "retention.bytes", "-1"),
    ]);
    let ResponseBody::CreateTopics(r) = call(
        &handlers,
        ApiKey::CreateTopics,
        7,
        RequestBody::CreateTopics(request),
    )
    .await
    else {
        panic!("not a CreateTopics response");
    };
    let codes: Vec<(String, i16)> = r
        .topics
        .iter()
        .map(|t| (t.name.to_string(), t.error_code))
        .collect();
    let invalid = ResponseError::InvalidConfig.code();
    assert_eq!(
        codes,
        vec![
            ("bad-ms".to_owned(), invalid),
            ("bad-bytes".to_owned(), invalid),
            ("good".to_owned(), 0)
        ]
    );
}

/// Record bytes of partitions 0 and 1 fetched from offset 0 with the
/// largest `max_bytes` a client can ask.
async fn fetch_all(handlers: &Handlers<MemoryBackend>) -> usize {
    let mut request = fetch(0, 0, 0).with_max_bytes(i32::MAX);
    let first = request.topics[0].partitions[0]
        .clone()
        .with_partition_max_bytes(i32::MAX);
    let second = first.clone().with_partition(1);
    request.topics[0].partitions = vec![first, second];
    let ResponseBody::Fetch(r) =
        call(handlers, ApiKey::Fetch, 12, RequestBody::Fetch(request)).await
    else {
        panic!("not a fetch response")
    };
    r.responses[0]
        .partitions
        .iter()
        .map(|p| p.records.as_ref().map_or(0, |r| r.len()))
        .sum()
}

/// `fetch.max.bytes` caps a client's huge `max_bytes` over all partitions;
/// a first batch larger than the cap is still returned whole, so a consumer
/// is never stuck (Kafka's rule), but no later partition goes over it.
#[tokio::test]
async fn fetch_max_bytes_caps_the_response_but_returns_one_batch() {
    let mut handlers = handlers().await;
    let one_batch = batch(10, Producer::NONE, 1).len();
    handlers.config.fetch_max_bytes = one_batch * 2 + one_batch / 2;
    for partition in [0, 1] {
        for _ in 0..4 {
            call(
                &handlers,
                ApiKey::Produce,
                9,
                RequestBody::Produce(produce(
                    vec![(partition, Some(batch(10, Producer::NONE, 1)))],
                    1,
                )),
            )
            .await;
        }
    }
    assert_eq!(
        fetch_all(&handlers).await,
        2 * one_batch,
        "whole batches within the limit"
    );
    handlers.config.fetch_max_bytes = 1;
    assert_eq!(
        fetch_all(&handlers).await,
        one_batch,
        "one batch, however small the cap"
    );
}
