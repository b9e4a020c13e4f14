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
use support::raw_kafka::{commit, fetch};
use support::TestCluster;
use tokio::net::TcpStream;

const SEC: Duration = Duration::from_secs(1);
const GROUP: &str = "election";
const TOPIC: &str = "committed";

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
                commit(&mut conn, GROUP, TOPIC, offset + k).await,
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
                let (error, got) = fetch(conn, GROUP, TOPIC).await;
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
