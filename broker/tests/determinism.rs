//! Replay is deterministic: after topics are created, the membership
//! changes (a learner added and promoted, a voter removed), offsets are
//! committed and brokers restart (kill -9 and SIGTERM), every replica
//! reports the same metadata state digest at the same applied index.
//!
//! Before partitions' initial voters travelled in the command, a broker
//! restarted after a membership change replayed the topic creations with
//! its current configuration: its partition groups got other voters than
//! on the replicas that applied the entries first.

mod support;

use chronik_api::{BrokerStatus, CreateTopicRequest};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::{raw_kafka, NodeSpec, TestCluster};

const SEC: Duration = Duration::from_secs(1);

async fn create_topic(c: &TestCluster, via: u64, name: &str, partitions: u32) {
    let url = format!("{}/v1/topics", c.specs[&via].http());
    let body = CreateTopicRequest {
        name: name.to_string(),
        partitions,
        config: BTreeMap::new(),
    };
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("create topic");
    assert!(
        r.status().is_success(),
        "create {name}: {:?}",
        r.text().await
    );
}

async fn topics(c: &TestCluster, id: u64) -> String {
    let url = format!("{}/v1/topics", c.specs[&id].http());
    match reqwest::get(url).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(e) => e.to_string(),
    }
}

/// Waits until every node of `ids` reports a digest at the same applied
/// index (the cluster is idle), then returns their statuses.
async fn converged(c: &TestCluster, ids: &[u64], timeout: Duration) -> Vec<BrokerStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut statuses = Vec::new();
        for id in ids {
            if let Some(s) = c.status(*id).await {
                statuses.push(s);
            }
        }
        let indexes: Vec<Option<u64>> = statuses
            .iter()
            .map(|s| s.state_digest.as_ref().map(|d| d.applied_index))
            .collect();
        if statuses.len() == ids.len()
            && indexes[0].is_some()
            && indexes.iter().all(|i| *i == indexes[0])
        {
            return statuses;
        }
        assert!(
            Instant::now() < deadline,
            "replicas did not reach the same applied index: {indexes:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_same_digest(c: &TestCluster, ids: &[u64], when: &str) {
    let statuses = converged(c, ids, 30 * SEC).await;
    let digests: Vec<(u64, String)> = statuses
        .iter()
        .map(|s| {
            let d = s.state_digest.as_ref().expect("digest");
            (s.node_id, d.digest.clone())
        })
        .collect();
    if digests.iter().any(|(_, d)| *d != digests[0].1) {
        let mut detail = String::new();
        for id in ids {
            detail.push_str(&format!("\nnode {id} topics: {}", topics(c, *id).await));
        }
        panic!("{when}: digests differ at the same applied index: {digests:?}{detail}");
    }
}

/// Commits `offset` of `topic` partition 0 for group "replay" on the
/// leader among `ids` (again if leadership moved meanwhile).
async fn commit(c: &TestCluster, ids: &[u64], topic: &str, offset: i64) {
    let deadline = Instant::now() + 30 * SEC;
    loop {
        let leader = c.wait_leader(ids, 15 * SEC).await;
        if let Ok(mut conn) = tokio::net::TcpStream::connect(c.kafka(leader)).await {
            if raw_kafka::commit(&mut conn, "replay", topic, offset).await == 0 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "OffsetCommit of {topic} failed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_and_restarts_agree_on_the_metadata_state() {
    scenario(TestCluster::plan(3)).await;
}

/// The same with a metadata snapshot every 3 entries: the new member gets
/// a snapshot, and restarts replay from snapshots taken in between (some
/// while an earlier restart was replaying).
#[tokio::test(flavor = "multi_thread")]
async fn replicas_and_restarts_agree_with_frequent_snapshots() {
    let mut c = TestCluster::plan(3);
    c.extra_args = vec!["--snapshot-interval".into(), "3".into()];
    scenario(c).await;
}

async fn scenario(mut c: TestCluster) {
    c.start_all();
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    create_topic(&c, leader, "before", 3).await;
    commit(&c, &[1, 2, 3], "before", 7).await;

    // A learner joins and is promoted; a topic is created with 4 voters.
    c.spawn_extra(NodeSpec::loopback(4));
    let r = c.add_learner(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let index = c.put("learner", "v", 5 * SEC).await.expect("write");
    c.wait_applied(&[4], index, 15 * SEC).await;
    let r = c.promote(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    create_topic(&c, leader, "after-promote", 2).await;

    // A voter other than the leader is removed; another topic follows.
    let victim = (1..=3).find(|id| *id != leader).expect("a follower");
    let r = c.remove_member(leader, victim).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.kill9(victim);
    create_topic(&c, leader, "after-remove", 1).await;
    let members: Vec<u64> = [1, 2, 3, 4]
        .into_iter()
        .filter(|id| *id != victim)
        .collect();
    commit(&c, &members, "after-promote", 42).await;
    assert_same_digest(&c, &members, "before any restart").await;

    // Every member restarts and replays its log: the leader by kill -9,
    // the others by SIGTERM and by kill -9.
    let others: Vec<u64> = members.iter().copied().filter(|id| *id != leader).collect();
    c.kill9(leader);
    c.spawn(leader);
    c.wait_leader(&members, 15 * SEC).await;
    assert!(c.terminate(others[0], 10 * SEC).is_some());
    c.spawn(others[0]);
    let index = c.put("restarted", "v", 15 * SEC).await.expect("write");
    c.wait_applied(&[others[0]], index, 30 * SEC).await;
    c.kill9(others[1]);
    c.spawn(others[1]);
    let index = c.put("after-restarts", "v", 15 * SEC).await.expect("write");
    c.wait_applied(&members, index, 30 * SEC).await;
    commit(&c, &members, "after-remove", 9).await;
    assert_same_digest(&c, &members, "after the restarts").await;
}
