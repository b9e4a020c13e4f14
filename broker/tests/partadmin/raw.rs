//! Raw Kafka requests encoded with `kafka-protocol`, sent on one connection
//! with no client logic in between (no retries, no metadata refresh), and
//! the few facts the tests read from the answers.

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    BrokerId, FetchRequest, MetadataRequest, OffsetForLeaderEpochRequest, ProduceRequest,
    RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// Sends `request` at `version` and decodes the answer; `None` when the
/// connection fails (a killed broker).
pub async fn call<R: Request>(addr: &str, version: i16, request: &R) -> Option<R::Response> {
    let mut conn = TcpStream::connect(addr).await.ok()?;
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("partadmin-test")));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, R::header_version(version))
        .expect("header");
    request.encode(&mut buf, version).expect("body");
    let mut frame = (buf.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&buf);
    conn.write_all(&frame).await.ok()?;
    let len = conn.read_i32().await.ok()?;
    let mut resp = vec![0u8; usize::try_from(len).ok()?];
    conn.read_exact(&mut resp).await.ok()?;
    let mut body = bytes::Bytes::from(resp);
    ResponseHeader::decode(&mut body, R::Response::header_version(version)).expect("header");
    Some(R::Response::decode(&mut body, version).expect("response"))
}

/// (leader, leader epoch) of `topic`'s `partition` as broker `addr` sees it.
pub async fn leader(addr: &str, topic: &str, partition: i32) -> Option<(i32, i32)> {
    let request = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name(topic))),
    ]));
    let response = call(addr, 12, &request).await?;
    let p = response
        .topics
        .first()?
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)?;
    (p.leader_id.0 >= 0).then_some((p.leader_id.0, p.leader_epoch))
}

/// Produces `count` records (values `prefix-i`) in one batch with
/// `acks=all`; returns the partition's error code and base offset.
pub async fn produce(
    addr: &str,
    topic: &str,
    partition: i32,
    prefix: &str,
    count: usize,
) -> Option<(i16, i64)> {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(format!("{prefix}-{i}").into_bytes().into()),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut batch = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut batch, &records, &options).expect("batch");
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(batch.freeze()))])]);
    let response = call(addr, 9, &request).await?;
    let p = response
        .responses
        .first()?
        .partition_responses
        .first()?
        .clone();
    Some((p.error_code, p.base_offset))
}

/// One OffsetForLeaderEpoch answer: (error code, leader epoch, end offset).
pub async fn epoch_end(
    addr: &str,
    topic: &str,
    partition: i32,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> Option<(i16, i32, i64)> {
    let request = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(current_leader_epoch)
                .with_leader_epoch(leader_epoch)])]);
    let response = call(addr, 4, &request).await?;
    let p = response.topics.first()?.partitions.first()?.clone();
    Some((p.error_code, p.leader_epoch, p.end_offset))
}

/// Fetches `partition` from offset 0; returns each batch's (base offset,
/// partitionLeaderEpoch).
pub async fn batch_epochs(addr: &str, topic: &str, partition: i32) -> Vec<(i64, i32)> {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let response = call(addr, 12, &request).await.expect("fetch");
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 0, "fetch error");
    let mut records = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    while records.remaining() >= 17 {
        let base = records.get_i64();
        let len = usize::try_from(records.get_i32()).expect("batch length");
        let epoch = records.get_i32();
        out.push((base, epoch));
        records.advance(len - 4);
    }
    out
}

/// A preferred ElectLeaders (v2) of one partition; its error code.
pub async fn elect_preferred(
    addr: &str,
    topic: &str,
    partition: i32,
    timeout_ms: i32,
) -> Option<i16> {
    use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
    use kafka_protocol::messages::ElectLeadersRequest;
    let request = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_timeout_ms(timeout_ms)
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic(name(topic))
            .with_partitions(vec![partition])]));
    let response = call(addr, 2, &request).await?;
    let result = response
        .replica_election_results
        .first()?
        .partition_result
        .first()?;
    Some(result.error_code)
}
