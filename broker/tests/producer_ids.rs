//! Producer ids come from blocks reserved through the metadata log: many
//! InitProducerId calls through every broker, before and after restarts
//! (kill -9) and a leader change, never return the same id twice.
//!
//! Before, each broker derived ids from its start-up clock: a broker that
//! handed out more ids than milliseconds passed before its restart handed
//! the same ids out again.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;
use support::TestCluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SEC: Duration = Duration::from_secs(1);
/// InitProducerId calls per broker per round (more than a restart takes
/// in milliseconds).
const CALLS: usize = 3_000;

/// InitProducerId v0 without a transactional id; returns (error code, id).
async fn init_producer_id(conn: &mut TcpStream, correlation: i32) -> (i16, i64) {
    let client = b"chronik-test";
    let mut body = Vec::new();
    body.extend_from_slice(&22i16.to_be_bytes()); // api key
    body.extend_from_slice(&0i16.to_be_bytes()); // version
    body.extend_from_slice(&correlation.to_be_bytes());
    body.extend_from_slice(&(client.len() as i16).to_be_bytes());
    body.extend_from_slice(client);
    body.extend_from_slice(&(-1i16).to_be_bytes()); // transactional id: null
    body.extend_from_slice(&60_000i32.to_be_bytes()); // transaction timeout
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    conn.write_all(&frame).await.expect("send InitProducerId");
    let len = conn.read_i32().await.expect("response size");
    let mut resp = vec![0u8; usize::try_from(len).expect("size")];
    conn.read_exact(&mut resp).await.expect("response");
    assert_eq!(
        i32::from_be_bytes(resp[0..4].try_into().unwrap()),
        correlation
    );
    // throttle_time_ms (4), error_code (2), producer_id (8), epoch (2)
    let error = i16::from_be_bytes(resp[8..10].try_into().unwrap());
    let id = i64::from_be_bytes(resp[10..18].try_into().unwrap());
    (error, id)
}

/// `CALLS` new producer ids from broker `id` (retrying retriable errors).
async fn ids_from(c: &TestCluster, id: u64) -> Vec<i64> {
    let mut conn = TcpStream::connect(c.kafka(id)).await.expect("connect");
    let mut ids = Vec::with_capacity(CALLS);
    let mut correlation = 0;
    let deadline = std::time::Instant::now() + 60 * SEC;
    while ids.len() < CALLS {
        correlation += 1;
        let (error, pid) = init_producer_id(&mut conn, correlation).await;
        if error == 0 {
            ids.push(pid);
        } else {
            assert!(
                std::time::Instant::now() < deadline,
                "broker {id}: error {error}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    ids
}

fn record(seen: &mut BTreeMap<i64, String>, ids: Vec<i64>, source: &str) {
    for id in ids {
        if let Some(first) = seen.insert(id, source.to_string()) {
            panic!("producer id {id} handed out by {first} and again by {source}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn producer_ids_never_repeat_across_brokers_restarts_and_leaders() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c.put("up", "v", 10 * SEC).await.expect("write");
    let mut seen = BTreeMap::new();
    for id in 1..=3 {
        record(&mut seen, ids_from(&c, id).await, &format!("broker {id}"));
    }
    // Every broker restarts at once after handing out ids (kill -9): the
    // leader changes, and no broker keeps anything in memory.
    for round in 1..=2 {
        for id in 1..=3 {
            c.kill9(id);
        }
        for id in 1..=3 {
            c.spawn(id);
        }
        let now = c.wait_leader(&[1, 2, 3], 20 * SEC).await;
        c.put("restarted", "v", 20 * SEC).await.expect("write");
        for id in 1..=3 {
            let source =
                format!("broker {id} after restart {round} (leader was {leader}, now {now})");
            record(&mut seen, ids_from(&c, id).await, &source);
        }
    }
    assert_eq!(seen.len(), 9 * CALLS);
}
