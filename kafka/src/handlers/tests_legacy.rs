//! Produce v2, Fetch v2–v3 and CreateTopics v0 as whole frames, the way
//! kafka-go 0.2.1 writes them: message sets up-converted on produce,
//! down-converted on fetch, responses in the legacy layouts.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::*;
use crate::backend::{MemoryBackend, MemoryBackendConfig, TopicSpec};

async fn handlers() -> Handlers<MemoryBackend> {
    let backend = Arc::new(MemoryBackend::new(MemoryBackendConfig {
        node_id: 1,
        advertised_host: "127.0.0.1".to_owned(),
        advertised_port: 9092,
        cluster_id: "test".to_owned(),
    }));
    let spec = TopicSpec {
        name: "t".to_owned(),
        partitions: 1,
        replication_factor: 1,
        configs: Default::default(),
    };
    if let Err(e) = backend.create_topic(spec).await {
        panic!("create topic: {e}");
    }
    Handlers::new(backend, FrontendConfig::default())
}

fn header(key: i16, version: i16) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i16(key);
    b.put_i16(version);
    b.put_i32(9);
    b.put_i16(3);
    b.put_slice(b"kgo");
    b
}

fn string(b: &mut BytesMut, s: &str) {
    b.put_i16(s.len() as i16);
    b.put_slice(s.as_bytes());
}

/// A magic-1 message set of `values`, as kafka-go writes it.
fn message_set(values: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut body = vec![1u8, 0];
        body.extend_from_slice(&(1_000 + i as i64).to_be_bytes());
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&(v.len() as i32).to_be_bytes());
        body.extend_from_slice(v.as_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&body);
        out.extend_from_slice(&(i as i64).to_be_bytes());
        out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        out.extend_from_slice(&crc.sum().to_be_bytes());
        out.extend_from_slice(&body);
    }
    out
}

fn produce_v2(set: &[u8]) -> Bytes {
    let mut b = header(0, 2);
    b.put_i16(-1);
    b.put_i32(1000);
    b.put_i32(1);
    string(&mut b, "t");
    b.put_i32(1);
    b.put_i32(0);
    b.put_i32(set.len() as i32);
    b.put_slice(set);
    b.freeze()
}

fn fetch(version: i16, offset: i64, partition_max: i32) -> Bytes {
    let mut b = header(1, version);
    b.put_i32(-1);
    b.put_i32(10);
    b.put_i32(1);
    if version == 3 {
        b.put_i32(1 << 20);
    }
    b.put_i32(1);
    string(&mut b, "t");
    b.put_i32(1);
    b.put_i32(0);
    b.put_i64(offset);
    b.put_i32(partition_max);
    b.freeze()
}

async fn roundtrip(h: &Handlers<MemoryBackend>, frame: Bytes) -> Bytes {
    let session = Session::anonymous("127.0.0.1", "plain");
    match h.handle_frame(frame, &session).await {
        Ok(Some(mut r)) => {
            let len = r.get_i32() as usize;
            assert_eq!(len, r.len());
            assert_eq!(r.get_i32(), 9, "correlation id");
            r
        }
        other => panic!("no response: {other:?}"),
    }
}

fn skip_string(r: &mut Bytes) {
    let n = r.get_i16() as usize;
    r.advance(n);
}

/// Produce v2 response: (error, base offset) of the single partition.
fn produce_result(mut r: Bytes) -> (i16, i64) {
    assert_eq!(r.get_i32(), 1);
    skip_string(&mut r);
    assert_eq!(r.get_i32(), 1);
    assert_eq!(r.get_i32(), 0);
    (r.get_i16(), r.get_i64())
}

/// Fetch v2–v3 response: (error, high watermark, values with offsets).
fn fetch_result(mut r: Bytes) -> (i16, i64, Vec<(i64, String)>) {
    r.get_i32(); // throttle
    assert_eq!(r.get_i32(), 1);
    skip_string(&mut r);
    assert_eq!(r.get_i32(), 1);
    assert_eq!(r.get_i32(), 0);
    let error = r.get_i16();
    let hw = r.get_i64();
    let n = r.get_i32() as usize;
    let mut set = r.split_to(n);
    assert!(r.is_empty());
    let mut values = Vec::new();
    while set.has_remaining() {
        let offset = set.get_i64();
        let size = set.get_i32() as usize;
        let mut m = set.split_to(size);
        m.advance(4); // crc
        assert_eq!(m.get_i8(), 1, "magic");
        m.advance(1 + 8);
        assert_eq!(m.get_i32(), -1, "null key");
        let n = m.get_i32() as usize;
        values.push((offset, String::from_utf8_lossy(&m[..n]).into_owned()));
    }
    (error, hw, values)
}

#[tokio::test]
async fn produce_v2_message_sets_are_stored_and_fetch_v2_v3_read_them_back() {
    let h = handlers().await;
    let r = roundtrip(&h, produce_v2(&message_set(&["a", "b", "c"]))).await;
    assert_eq!(produce_result(r), (0, 0));
    let r = roundtrip(&h, produce_v2(&message_set(&["d", "e"]))).await;
    assert_eq!(produce_result(r), (0, 3));
    for version in [2, 3] {
        let (error, hw, values) = fetch_result(roundtrip(&h, fetch(version, 1, 1 << 20)).await);
        assert_eq!((error, hw), (0, 5));
        let expected: Vec<(i64, String)> = ["b", "c", "d", "e"]
            .iter()
            .enumerate()
            .map(|(i, v)| (i as i64 + 1, (*v).to_owned()))
            .collect();
        assert_eq!(values, expected, "v{version}");
    }
    // The partition limit is kept in whole messages, but one always comes.
    let (_, _, values) = fetch_result(roundtrip(&h, fetch(2, 0, 1)).await);
    assert_eq!(values.len(), 1);
}

#[tokio::test]
async fn corrupt_message_sets_are_refused_and_nothing_is_stored() {
    let h = handlers().await;
    let mut set = message_set(&["a"]);
    let last = set.len() - 1;
    set[last] ^= 1;
    let (error, _) = produce_result(roundtrip(&h, produce_v2(&set)).await);
    assert_eq!(error, kafka_protocol::ResponseError::CorruptMessage.code());
    let (error, _) = produce_result(roundtrip(&h, produce_v2(&set[..10])).await);
    assert_eq!(error, kafka_protocol::ResponseError::CorruptMessage.code());
    let (_, hw, values) = fetch_result(roundtrip(&h, fetch(2, 0, 1 << 20)).await);
    assert_eq!((hw, values.len()), (0, 0));
}

#[tokio::test]
async fn create_topics_v0_answers_in_the_v0_layout() {
    let h = handlers().await;
    let mut b = header(19, 0);
    b.put_i32(1);
    string(&mut b, "fresh");
    b.put_i32(2);
    b.put_i16(1);
    b.put_i32(0);
    b.put_i32(0);
    b.put_i32(5000);
    let mut r = roundtrip(&h, b.freeze()).await;
    assert_eq!(r.get_i32(), 1);
    skip_string(&mut r);
    assert_eq!(r.get_i16(), 0);
    assert!(r.is_empty());
}
