//! Hostile input over real sockets: the server closes the offending connection,
//! answers where the protocol allows, never dies, and other connections keep working.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, RequestHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use chronik_testkit::dev_broker::DevBroker;
use chronik_testkit::kcat::require_kcat;
use chronik_testkit::python::check;
use support::dev_broker;

fn connect(broker: &DevBroker) -> TcpStream {
    let stream = TcpStream::connect(&broker.bootstrap).unwrap_or_else(|e| panic!("connect: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    stream
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn request<R: Encodable>(key: ApiKey, version: i16, correlation_id: i32, body: &R) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("bad-input-test")))
        .encode(&mut buf, key.request_header_version(version))
        .unwrap_or_else(|e| panic!("header: {e}"));
    body.encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("body: {e}"));
    frame(&buf)
}

fn read_response(stream: &mut TcpStream) -> Bytes {
    let mut len = [0u8; 4];
    stream
        .read_exact(&mut len)
        .unwrap_or_else(|e| panic!("response length: {e}"));
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    stream
        .read_exact(&mut body)
        .unwrap_or_else(|e| panic!("response body: {e}"));
    Bytes::from(body)
}

/// ApiVersions round trip on `stream`; returns the decoded response.
fn api_versions(stream: &mut TcpStream, version: i16, correlation_id: i32) -> ApiVersionsResponse {
    let bytes = if version <= 4 {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("test"))
            .with_client_software_version(StrBytes::from_static_str("1"));
        request(ApiKey::ApiVersions, version, correlation_id, &req)
    } else {
        // A future version: header v2 layout, body the server cannot know.
        let mut b = BytesMut::new();
        b.put_i16(ApiKey::ApiVersions as i16);
        b.put_i16(version);
        b.put_i32(correlation_id);
        b.put_i16(-1);
        b.put_u8(0);
        b.put_slice(&[1, 2, 3, 4, 5]);
        frame(&b)
    };
    stream
        .write_all(&bytes)
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut resp = read_response(stream);
    assert_eq!(resp.get_i32(), correlation_id);
    // ApiVersions responses always use header v0; v0 body if the version is unsupported.
    let body_version = if version <= 4 { version } else { 0 };
    ApiVersionsResponse::decode(&mut resp, body_version).unwrap_or_else(|e| panic!("decode: {e}"))
}

/// Sends `bytes` and asserts that the server closes the connection.
fn assert_closed_after(broker: &DevBroker, bytes: &[u8], what: &str) {
    let mut stream = connect(broker);
    stream
        .write_all(bytes)
        .unwrap_or_else(|e| panic!("{what}: write: {e}"));
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("{what}: expected close, got {n} bytes"),
        Err(e) => panic!("{what}: expected close, got {e}"),
    }
}

#[test]
fn bad_frames_close_only_their_connection() {
    let mut broker = dev_broker(&["--max-request-bytes", "1048576"]);
    let mut keeper = connect(&broker);
    assert_eq!(api_versions(&mut keeper, 3, 1).error_code, 0);

    assert_closed_after(&broker, &frame(&[0xff; 12]), "garbage frame");
    assert_closed_after(&broker, &0x7fff_ffffi32.to_be_bytes(), "oversize length");
    assert_closed_after(
        &broker,
        &(2 * 1024 * 1024i32).to_be_bytes(),
        "length over the limit",
    );
    assert_closed_after(&broker, &(-5i32).to_be_bytes(), "negative length");
    let mut unknown = BytesMut::new();
    unknown.put_i16(999);
    unknown.put_i16(0);
    unknown.put_i32(42);
    unknown.put_i16(-1);
    assert_closed_after(&broker, &frame(&unknown), "unknown api key");
    let mut truncated = request(ApiKey::Metadata, 4, 5, &MetadataRequest::default());
    truncated.truncate(truncated.len() - 1);
    let len = (truncated.len() - 4) as i32;
    truncated[..4].copy_from_slice(&len.to_be_bytes());
    assert_closed_after(&broker, &truncated, "truncated body");
    assert_closed_after(&broker, &frame(&[0, 3]), "frame shorter than a header");
    // A tiny frame announcing 2^31-1 topics: must not make the decoder allocate.
    let mut huge = BytesMut::new();
    huge.put_i16(ApiKey::Metadata as i16);
    huge.put_i16(1);
    huge.put_i32(8);
    huge.put_i16(-1);
    huge.put_i32(i32::MAX);
    assert_closed_after(&broker, &frame(&huge), "huge array count");
    let produce_v1 = {
        let mut b = BytesMut::new();
        b.put_i16(0);
        b.put_i16(1);
        b.put_i32(9);
        b.put_i16(-1);
        frame(&b)
    };
    assert_closed_after(&broker, &produce_v1, "unsupported produce version");

    // ApiVersions of an unknown (newer) version is answered with UNSUPPORTED_VERSION.
    let mut newer = connect(&broker);
    let resp = api_versions(&mut newer, 9, 77);
    assert_eq!(resp.error_code, 35);
    assert!(!resp.api_keys.is_empty());

    // The connection opened before all this still works, and the server is alive.
    assert_eq!(api_versions(&mut keeper, 0, 2).error_code, 0);
    assert!(broker.is_running());
    let mut fresh = connect(&broker);
    let resp = api_versions(&mut fresh, 4, 3);
    assert!(resp
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Fetch as i16));
}

#[test]
fn kcat_still_works_after_garbage() {
    require_kcat();
    let broker = dev_broker(&[]);
    for _ in 0..20 {
        assert_closed_after(&broker, &frame(&[0xab; 40]), "garbage");
    }
    let output = chronik_testkit::kcat::command(30)
        .args(["-b", &broker.bootstrap, "-L"])
        .output()
        .unwrap_or_else(|e| panic!("kcat: {e}"));
    let listing = check("kcat -L", &output);
    assert!(listing.contains("1 brokers"), "{listing}");
}

fn valid_batch() -> Bytes {
    batch_at_offsets(&[0])
}

/// A v2 batch with a correct CRC holding one record at each of `offsets`:
/// its `last_offset_delta` is the last offset minus the first, whatever the
/// record count.
fn batch_at_offsets(offsets: &[i64]) -> Bytes {
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let record = |offset: i64| Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        // The encoder starts a new batch where offset - sequence changes;
        // base sequence stays -1 (no producer id).
        sequence: offset as i32 - 1,
        timestamp: 1,
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::from_static(b"v")),
        headers: IndexMap::new(),
    };
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    let records: Vec<Record> = offsets.iter().map(|o| record(*o)).collect();
    RecordBatchEncoder::encode(&mut buf, &records, &options)
        .unwrap_or_else(|e| panic!("encode batch: {e}"));
    buf.freeze()
}

#[test]
fn corrupt_batches_get_an_error_and_the_connection_stays_usable() {
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{
        CreateTopicsRequest, CreateTopicsResponse, ProduceRequest, ProduceResponse, TopicName,
    };

    let broker = dev_broker(&[]);
    let mut stream = connect(&broker);
    let name = TopicName(StrBytes::from_static_str("crc"));
    let create = CreateTopicsRequest::default()
        .with_timeout_ms(1000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name.clone())
            .with_num_partitions(1)
            .with_replication_factor(1)]);
    stream
        .write_all(&request(ApiKey::CreateTopics, 4, 1, &create))
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut resp = read_response(&mut stream);
    assert_eq!(resp.get_i32(), 1);
    let created = CreateTopicsResponse::decode(&mut resp, 4).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.topics[0].error_code, 0);

    let mut corrupt = BytesMut::from(&valid_batch()[..]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let produce = |records: Bytes| {
        ProduceRequest::default()
            .with_transactional_id(None)
            .with_acks(-1)
            .with_timeout_ms(1000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name.clone())
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(records))])])
    };
    let mut codes = Vec::new();
    // Two records claiming 1000 offsets (last_offset_delta 999): the CRC is
    // right, the offsets are not.
    let gap = batch_at_offsets(&[0, 999]);
    for (correlation_id, records) in [(2, corrupt.freeze()), (3, gap), (4, valid_batch())] {
        stream
            .write_all(&request(
                ApiKey::Produce,
                7,
                correlation_id,
                &produce(records),
            ))
            .unwrap_or_else(|e| panic!("write: {e}"));
        let mut resp = read_response(&mut stream);
        assert_eq!(resp.get_i32(), correlation_id);
        let r = ProduceResponse::decode(&mut resp, 7).unwrap_or_else(|e| panic!("{e}"));
        codes.push(r.responses[0].partition_responses[0].error_code);
    }
    assert_eq!(
        codes,
        vec![2, 87, 0],
        "CORRUPT_MESSAGE, INVALID_RECORD, then success"
    );
}
