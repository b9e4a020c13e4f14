//! Data-directory identity: a wiped disk rejoins under a new incarnation that
//! the leader reports.

mod support;

use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);

async fn incarnation_seen_by(c: &TestCluster, observer: u64, member: u64) -> Option<String> {
    let s = c.status(observer).await?;
    s["members"]
        .as_array()?
        .iter()
        .find(|m| m["id"] == member)
        .and_then(|m| m["incarnation"].as_str())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wiped_follower_rejoins_with_a_new_visible_incarnation() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let mut last = 0;
    for i in 0..20 {
        last = c.put(&format!("w{i}"), "v", 5 * SEC).await.expect("write");
    }
    c.wait_applied(&[follower], last, 5 * SEC).await;
    let before = c.status(follower).await.expect("status")["incarnation"]
        .as_str()
        .expect("incarnation")
        .to_string();

    c.kill9(follower);
    std::fs::remove_dir_all(c.data_dir(follower)).expect("wipe the follower's disk");
    c.spawn(follower);
    c.wait_applied(&[follower], last, 10 * SEC).await;
    assert_eq!(
        c.get(follower, "w0").await.as_deref(),
        Some("v"),
        "refilled from the leader"
    );

    let after = c.status(follower).await.expect("status")["incarnation"]
        .as_str()
        .expect("incarnation")
        .to_string();
    assert_ne!(before, after, "a wiped disk must get a new incarnation");
    let deadline = Instant::now() + 5 * SEC;
    loop {
        if incarnation_seen_by(&c, leader, follower).await.as_deref() == Some(after.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the leader never reported the new incarnation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
