//! The HTTP API between real broker processes: a follower's 421 names the
//! leader's HTTP API, and the request succeeds there.

mod support;

use chronik_api::NotLeaderBody;
use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);

/// PUTs `value` at `key` on the HTTP API at `base`.
async fn put(c: &TestCluster, base: &str, key: &str, value: &str) -> reqwest::Response {
    c.client
        .put(format!("{base}/v1/kv/{key}"))
        .body(value.to_string())
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_sends_writes_to_the_leaders_http_url() {
    let c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let leader_http = c.specs[&leader].http();

    // Brokers register their HTTP URL through the metadata log shortly after
    // a leader is known; until that applied on the follower the URL is empty.
    let deadline = Instant::now() + 10 * SEC;
    let body = loop {
        let r = put(&c, &c.specs[&follower].http(), "k", "v").await;
        assert_eq!(r.status(), 421, "a follower refuses writes");
        let body: NotLeaderBody = r.json().await.expect("a NotLeaderBody");
        if !body.leader_url.is_empty() {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the 421 never named the leader's HTTP URL: {body:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(body.leader(), Some(leader));
    assert_eq!(body.leader_url, leader_http);
    assert_eq!(body.leader_raft_url, c.specs[&leader].raft_url());

    let r = put(&c, &body.leader_url, "k", "v").await;
    assert!(
        r.status().is_success(),
        "retry at the leader: {}",
        r.status()
    );
    let index = r.json::<serde_json::Value>().await.expect("json")["index"]
        .as_u64()
        .expect("an index");
    c.wait_applied(&[follower], index, 5 * SEC).await;
    assert_eq!(c.get(follower, "k").await.as_deref(), Some("v"));
}
