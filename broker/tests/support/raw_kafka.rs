//! Raw Kafka requests for tests that must control exactly when a request
//! is sent (no client-side retries or metadata refreshes in between):
//! OffsetCommit v2 and OffsetFetch v1 of one partition, and Metadata v1 for
//! the brokers only.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn string(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as i16).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Sends one request and returns the response body after the correlation id.
async fn call(conn: &mut TcpStream, key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    let mut req = Vec::new();
    req.extend_from_slice(&key.to_be_bytes());
    req.extend_from_slice(&version.to_be_bytes());
    req.extend_from_slice(&7i32.to_be_bytes());
    string(&mut req, "chronik-test");
    req.extend_from_slice(body);
    let mut frame = (req.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&req);
    conn.write_all(&frame).await.expect("send");
    let len = conn.read_i32().await.expect("size");
    let mut resp = vec![0u8; usize::try_from(len).expect("size")];
    conn.read_exact(&mut resp).await.expect("response");
    resp.split_off(4)
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().expect("i16"))
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("i64"))
}

/// OffsetCommit v2 of `topic` partition 0 (no generation); returns the partition's error code.
pub async fn commit(conn: &mut TcpStream, group: &str, topic: &str, offset: i64) -> i16 {
    let mut b = Vec::new();
    string(&mut b, group);
    b.extend_from_slice(&(-1i32).to_be_bytes()); // generation
    string(&mut b, ""); // member
    b.extend_from_slice(&(-1i64).to_be_bytes()); // retention
    b.extend_from_slice(&1i32.to_be_bytes());
    string(&mut b, topic);
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes()); // metadata: null
    let r = call(conn, 8, 2, &b).await;
    // topics[1] { name, partitions[1] { partition, error } }
    let at = 4 + 2 + topic.len() + 4 + 4;
    i16_at(&r, at)
}

/// OffsetFetch v1 of `topic` partition 0: (error code, offset).
pub async fn fetch(conn: &mut TcpStream, group: &str, topic: &str) -> (i16, i64) {
    let mut b = Vec::new();
    string(&mut b, group);
    b.extend_from_slice(&1i32.to_be_bytes());
    string(&mut b, topic);
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    let r = call(conn, 9, 1, &b).await;
    // topics[1] { name, partitions[1] { partition, offset, metadata, error } }
    let at = 4 + 2 + topic.len() + 4 + 4;
    let offset = i64_at(&r, at);
    let meta_len = i16_at(&r, at + 8);
    let error = i16_at(&r, at + 10 + usize::try_from(meta_len.max(0)).unwrap_or(0));
    (error, offset)
}

/// What a Metadata answer for no topics says about the cluster.
#[derive(Debug)]
pub struct BrokersOnly {
    pub brokers: Vec<i32>,
    pub controller: i32,
}

/// Metadata v1 with an empty topic list ("brokers only", as librdkafka's
/// admin client opens).
pub async fn metadata_brokers_only(conn: &mut TcpStream) -> BrokersOnly {
    let r = call(conn, 3, 1, &0i32.to_be_bytes()).await;
    let count = i32::from_be_bytes(r[0..4].try_into().expect("count"));
    let mut at = 4;
    let mut brokers = Vec::new();
    for _ in 0..count {
        brokers.push(i32::from_be_bytes(r[at..at + 4].try_into().expect("id")));
        let host = usize::try_from(i16_at(&r, at + 4)).expect("host");
        at += 4 + 2 + host + 4;
        // rack: nullable string
        let rack = i16_at(&r, at);
        at += 2 + usize::try_from(rack.max(0)).unwrap_or(0);
    }
    let controller = i32::from_be_bytes(r[at..at + 4].try_into().expect("controller"));
    BrokersOnly {
        brokers,
        controller,
    }
}
