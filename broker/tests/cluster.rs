//! Real broker processes on loopback: election, failover, quorum loss,
//! restart recovery, membership changes and graceful shutdown.

mod support;

use chronik_api::{AddMemberRequest, MemberRole, NotLeaderBody, RaftRole};
use std::time::{Duration, Instant};
use support::{NodeSpec, TestCluster};

const SEC: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread")]
async fn three_nodes_elect_one_leader_fail_over_and_catch_up() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    // Exactly one leader, and every node agrees on it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut leaders = 0;
    for id in 1..=3 {
        let s = c.status(id).await.expect("status");
        assert_eq!(s.leader_id, leader, "node {id} sees another leader: {s:?}");
        leaders += usize::from(s.role == RaftRole::Leader);
    }
    assert_eq!(leaders, 1);
    for i in 0..20 {
        c.put(&format!("before-{i}"), "v", 5 * SEC)
            .await
            .expect("write before kill");
    }

    c.kill9(leader);
    let killed_at = Instant::now();
    let survivors: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    let index = c
        .put("after-kill", "v", 10 * SEC)
        .await
        .expect("write after kill");
    let failover = killed_at.elapsed();
    assert!(
        failover < 2 * SEC,
        "a new leader committed only after {failover:?}"
    );
    let new_leader = c.wait_leader(&survivors, SEC).await;
    assert_ne!(new_leader, leader);

    // The killed node restarts with its data and catches up.
    c.spawn(leader);
    c.wait_applied(&[leader], index, 10 * SEC).await;
    for i in 0..20 {
        assert_eq!(
            c.get(leader, &format!("before-{i}")).await.as_deref(),
            Some("v")
        );
    }
    assert_eq!(c.get(leader, "after-kill").await.as_deref(), Some("v"));
    let s = c.status(leader).await.expect("status");
    assert_eq!(s.role, RaftRole::Follower);
}

#[tokio::test(flavor = "multi_thread")]
async fn five_nodes_commit_with_two_down_and_stop_with_three_down() {
    let mut c = TestCluster::start(5);
    let leader = c.wait_leader(&[1, 2, 3, 4, 5], 10 * SEC).await;
    c.put("k0", "v", 5 * SEC).await.expect("healthy write");
    // Two of five down (a follower and the leader): the other three elect and commit.
    let followers: Vec<u64> = (1..=5).filter(|id| *id != leader).collect();
    c.kill9(followers[0]);
    c.put("k1", "v", 5 * SEC).await.expect("4 of 5 commit");
    c.kill9(leader);
    c.put("k2", "v", 5 * SEC)
        .await
        .expect("a new leader among the remaining 3 commits");
    // A third failure leaves 2 of 5: nothing may commit.
    let alive = c.running();
    let next_leader = c.wait_leader(&alive, 5 * SEC).await;
    c.kill9(next_leader);
    let alive = c.running();
    assert_eq!(alive.len(), 2);
    let r = c.put("k3", "v", 3 * SEC).await;
    assert!(r.is_err(), "a minority committed a write: {r:?}");
    // Wait out an election timeout: nobody may claim to be a ready leader.
    tokio::time::sleep(2 * SEC).await;
    for id in &alive {
        let s = c.status(*id).await.expect("status");
        assert_ne!(
            s.role,
            RaftRole::Leader,
            "node {id} claims leadership without quorum: {s:?}"
        );
    }
    for id in &alive {
        assert_eq!(
            c.get(*id, "k3").await,
            None,
            "node {id} applied an uncommitted write"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_of_the_whole_cluster_keeps_every_committed_write() {
    let mut c = TestCluster::plan(3);
    // Small snapshot interval: restart recovers from snapshot + log tail.
    c.extra_args = vec!["--snapshot-interval".into(), "25".into()];
    c.start_all();
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let mut last = 0;
    for i in 0..120 {
        last = c
            .put(&format!("k{i}"), &format!("v{i}"), 5 * SEC)
            .await
            .expect("write");
    }
    c.wait_applied(&[1, 2, 3], last, 10 * SEC).await;
    for id in 1..=3 {
        c.kill9(id);
    }
    c.start_all();
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c.wait_applied(&[1, 2, 3], last, 10 * SEC).await;
    for id in 1..=3 {
        for i in [0, 57, 119] {
            assert_eq!(
                c.get(id, &format!("k{i}")).await,
                Some(format!("v{i}")),
                "node {id} key k{i}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_behind_a_compacted_log_catches_up_by_snapshot() {
    let mut c = TestCluster::plan(3);
    c.extra_args = vec!["--snapshot-interval".into(), "10".into()];
    c.start_all();
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let lagging = (1..=3).find(|id| *id != leader).expect("a follower");
    c.kill9(lagging);
    let mut last = 0;
    for i in 0..80 {
        last = c.put(&format!("s{i}"), "x", 5 * SEC).await.expect("write");
    }
    c.spawn(lagging);
    c.wait_applied(&[lagging], last, 15 * SEC).await;
    assert_eq!(c.get(lagging, "s0").await.as_deref(), Some("x"));
    assert_eq!(c.get(lagging, "s79").await.as_deref(), Some("x"));
}

#[tokio::test(flavor = "multi_thread")]
async fn add_a_learner_promote_it_and_remove_another_member() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    for i in 0..30 {
        c.put(&format!("m{i}"), "v", 5 * SEC).await.expect("write");
    }
    c.spawn_extra(NodeSpec::loopback(4));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !c.ready(4).await,
        "a node that is not a member must not be ready"
    );
    let s4 = c.status(4).await.expect("status of node 4");
    assert_ne!(s4.role, RaftRole::Leader);
    assert_eq!(s4.term, 0, "node 4 must not campaign: {s4:?}");

    // Promotion before the node is a learner is refused.
    let r = c.promote(leader, 4).await;
    assert_eq!(r.status(), 400, "{:?}", r.text().await);
    let r = c.add_learner(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let last = c.put("after-learner", "v", 5 * SEC).await.expect("write");
    c.wait_applied(&[4], last, 10 * SEC).await;
    assert_eq!(c.get(4, "m0").await.as_deref(), Some("v"));
    assert!(c.members(leader).await.contains(&(4, MemberRole::Learner)));

    let r = c.promote(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let victim = (1..=3).find(|id| *id != leader).expect("a follower");
    let r = c.remove_member(leader, victim).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.kill9(victim);

    let last = c
        .put("after-remove", "v", 5 * SEC)
        .await
        .expect("write with new membership");
    let remaining: Vec<u64> = [1, 2, 3, 4]
        .into_iter()
        .filter(|id| *id != victim)
        .collect();
    c.wait_applied(&remaining, last, 10 * SEC).await;
    let expected: Vec<(u64, MemberRole)> = remaining
        .iter()
        .map(|id| (*id, MemberRole::Voter))
        .collect();
    for id in &remaining {
        assert_eq!(
            c.members(*id).await,
            expected,
            "node {id} disagrees on membership"
        );
    }
    // Ready once it has registered its address and applied what it knows.
    c.wait_ready(&[4], Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_on_the_leader_hands_off_leadership_and_exits_zero() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c.put("x", "y", 5 * SEC).await.expect("write");
    let status = c
        .terminate(leader, 5 * SEC)
        .expect("leader exits within 5 s");
    assert!(status.success(), "exit status {status}");
    let survivors: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    let t = Instant::now();
    c.wait_leader(&survivors, 5 * SEC).await;
    c.put("after", "v", 5 * SEC)
        .await
        .expect("write after hand-off");
    assert!(
        t.elapsed() < 2 * SEC,
        "hand-off should be immediate, took {:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn membership_errors_are_clear() {
    let c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let http = c.specs[&follower].http();
    let r = c
        .client
        .post(format!("{http}/v1/members"))
        .json(&AddMemberRequest {
            id: 9,
            url: "http://127.0.0.1:1".into(),
        })
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 421);
    let body: NotLeaderBody = r.json().await.expect("a 421 body");
    assert_eq!(body.leader(), Some(leader));
    let http = c.specs[&leader].http();
    let r = c
        .client
        .post(format!("{http}/v1/members"))
        .body("{oops")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    let r = c
        .client
        .post(format!("{http}/v1/members"))
        .json(&AddMemberRequest {
            id: 9,
            url: "not a url".into(),
        })
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("not a valid Raft URL"));
    let r = c.remove_member(leader, leader).await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("transfer leadership"));
}
