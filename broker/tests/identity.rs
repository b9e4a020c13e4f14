//! Data-directory identity: a wiped disk rejoins under a new incarnation that
//! the leader reports.

mod support;

use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);

async fn incarnation_seen_by(c: &TestCluster, observer: u64, member: u64) -> Option<String> {
    let s = c.status(observer).await?;
    s.member(member).map(|m| m.incarnation.clone())
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
    let before = c.status(follower).await.expect("status").incarnation;
    assert!(!before.is_empty(), "the follower reports its incarnation");

    c.kill9(follower);
    std::fs::remove_dir_all(c.data_dir(follower)).expect("wipe the follower's disk");
    c.spawn(follower);
    c.wait_applied(&[follower], last, 10 * SEC).await;
    assert_eq!(
        c.get(follower, "w0").await.as_deref(),
        Some("v"),
        "refilled from the leader"
    );

    let after = c.status(follower).await.expect("status").incarnation;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_member_with_its_old_disk_is_refused_until_added_again() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let gone = (1..=3).find(|id| *id != leader).expect("a follower");
    c.put("before", "v", 5 * SEC).await.expect("write");

    // The member is down while it is removed, so its disk still says voter.
    c.kill9(gone);
    let r = c.remove_member(leader, gone).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    // The status is republished on the next loop turn.
    let deadline = Instant::now() + 5 * SEC;
    loop {
        let status = c.status(leader).await.expect("leader status");
        if status.removed.contains_key(&gone) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the leader must list the removed member: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    c.spawn(gone);
    let deadline = Instant::now() + 15 * SEC;
    let reason = loop {
        let (code, body) = c.readyz(gone).await;
        if code == 503 && body.contains("removed from the cluster") {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the stale member never showed why it is refused: {code} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(reason.contains("add it again"), "{reason}");
    let status = c.status(gone).await.expect("status of the stale member");
    assert!(status.refused.is_some(), "{status:?}");
    // Its pre-votes were refused: the cluster kept its leader and quorum.
    let last = c.put("while-refused", "v", 5 * SEC).await.expect("write");
    assert_eq!(c.leader(&[leader]).await, Some(leader), "leadership moved");

    let r = c.add_learner(leader, gone).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.wait_applied(&[gone], last, 10 * SEC).await;
    assert_eq!(c.get(gone, "while-refused").await.as_deref(), Some("v"));
    let deadline = Instant::now() + 20 * SEC;
    loop {
        let (code, body) = c.readyz(gone).await;
        if code == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the re-added member never became ready: {code} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = c.status(leader).await.expect("leader status");
    assert!(
        !status.removed.contains_key(&gone),
        "a re-added member is no longer removed: {status:?}"
    );
}
