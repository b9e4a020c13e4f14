//! OffsetFetch never answers with an offset older than one acknowledged by
//! OffsetCommit, also right after the leader (the coordinator) dies: the
//! new leader answers only once it applied an entry of its own term
//! (`COORDINATOR_LOAD_IN_PROGRESS` until then), other brokers answer
//! `NOT_COORDINATOR`.
//!
//! Raw requests (OffsetCommit v2, OffsetFetch v1) so the fetches start the
//! moment the leader is killed.

mod support;

use std::time::{Duration, Instant};
use support::TestCluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SEC: Duration = Duration::from_secs(1);
const GROUP: &str = "election";
const TOPIC: &str = "committed";

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

/// OffsetCommit v2 of partition 0; returns the partition's error code.
async fn commit(conn: &mut TcpStream, offset: i64) -> i16 {
    let mut b = Vec::new();
    string(&mut b, GROUP);
    b.extend_from_slice(&(-1i32).to_be_bytes()); // generation
    string(&mut b, ""); // member
    b.extend_from_slice(&(-1i64).to_be_bytes()); // retention
    b.extend_from_slice(&1i32.to_be_bytes());
    string(&mut b, TOPIC);
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes()); // metadata: null
    let r = call(conn, 8, 2, &b).await;
    // topics[1] { name, partitions[1] { partition, error } }
    let at = 4 + 2 + TOPIC.len() + 4 + 4;
    i16_at(&r, at)
}

/// OffsetFetch v1 of partition 0: (error code, offset).
async fn fetch(conn: &mut TcpStream) -> (i16, i64) {
    let mut b = Vec::new();
    string(&mut b, GROUP);
    b.extend_from_slice(&1i32.to_be_bytes());
    string(&mut b, TOPIC);
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    let r = call(conn, 9, 1, &b).await;
    // topics[1] { name, partitions[1] { partition, offset, metadata, error } }
    let at = 4 + 2 + TOPIC.len() + 4 + 4;
    let offset = i64_at(&r, at);
    let meta_len = i16_at(&r, at + 8);
    let error = i16_at(&r, at + 10 + usize::try_from(meta_len.max(0)).unwrap_or(0));
    (error, offset)
}

async fn connect(c: &TestCluster, id: u64) -> Option<TcpStream> {
    TcpStream::connect(c.kafka(id)).await.ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn offset_fetch_right_after_a_leader_change_returns_the_latest_commit() {
    let mut c = TestCluster::start(3);
    let first = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let topic = chronik_api::CreateTopicRequest {
        name: TOPIC.to_string(),
        partitions: 1,
        config: Default::default(),
    };
    let r = reqwest::Client::new()
        .post(format!("{}/v1/topics", c.specs[&first].http()))
        .json(&topic)
        .send()
        .await
        .expect("create topic");
    assert!(r.status().is_success(), "{:?}", r.text().await);
    for round in 1..=8i64 {
        let leader = c.wait_leader(&[1, 2, 3], 20 * SEC).await;
        c.put("round", "v", 20 * SEC).await.expect("write");
        let mut conn = connect(&c, leader).await.expect("connect to the leader");
        let offset = 1_000 * round;
        // Several commits back to back; the last acknowledged one counts.
        for k in 0..20 {
            assert_eq!(
                commit(&mut conn, offset + k).await,
                0,
                "commit on the leader"
            );
        }
        let committed = offset + 19;
        c.kill9(leader);
        let survivors: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
        let mut conns = Vec::new();
        for id in &survivors {
            conns.push((*id, connect(&c, *id).await.expect("connect")));
        }
        let deadline = Instant::now() + 30 * SEC;
        let mut answered = false;
        while !answered {
            assert!(
                Instant::now() < deadline,
                "no survivor answered OffsetFetch"
            );
            for (id, conn) in conns.iter_mut() {
                let (error, got) = fetch(conn).await;
                if error == 0 {
                    assert_eq!(
                        got, committed,
                        "round {round}: broker {id} answered offset {got} after {committed} was acknowledged"
                    );
                    answered = true;
                }
            }
        }
        c.spawn(leader);
    }
}
