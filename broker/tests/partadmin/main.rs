//! The partition admin APIs on a 3-broker cluster of real processes:
//! OffsetForLeaderEpoch across leader changes (raw requests, and a
//! librdkafka consumer that validates its position after a leader kill),
//! DescribeProducers, DescribeLogDirs and ElectLeaders with kafka-python's
//! and confluent-kafka's admin clients.

mod admin;
mod epochs;
mod raw;

use chronik_testkit::cluster::TestCluster;
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);

/// Creates `topic` with `partitions` partitions through the HTTP API.
async fn create_topic(c: &TestCluster, via: u64, topic: &str, partitions: u32) {
    let request = chronik_api::CreateTopicRequest {
        name: topic.to_string(),
        partitions,
        config: Default::default(),
    };
    let r = reqwest::Client::new()
        .post(format!("{}/v1/topics", c.specs[&via].http()))
        .json(&request)
        .send()
        .await
        .expect("create topic");
    assert!(r.status().is_success(), "{:?}", r.text().await);
}

/// Waits until broker `via` reports a leader for the partition that
/// satisfies `ok`; returns (leader, epoch).
async fn wait_leader_where(
    c: &TestCluster,
    via: u64,
    topic: &str,
    partition: i32,
    timeout: Duration,
    ok: impl Fn(i32, i32) -> bool,
) -> (i32, i32) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some((leader, epoch)) = raw::leader(&c.kafka(via), topic, partition).await {
            if ok(leader, epoch) {
                return (leader, epoch);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no matching leader of {topic}-{partition} seen by broker {via}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The broker id of a Kafka leader id.
fn node(leader: i32) -> u64 {
    u64::try_from(leader).expect("a leader id")
}
