//! `--initial-cluster-state`: a cluster is bootstrapped once. Under
//! `existing` an empty data directory never bootstraps, so initial voters
//! whose disks were wiped wait for the cluster instead of forming a second
//! one under the same cluster id; under `new` (the default, and the only
//! behaviour before the flag existed) they fork it.

mod support;

use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);
/// Several election timeouts (0.5–1 s each at the default tick): long enough
/// for any node allowed to campaign to have won an election.
const QUIET: Duration = Duration::from_secs(4);

/// Starts (or restarts) `ids` with `--initial-cluster-state <state>`.
fn spawn_with_state(c: &mut TestCluster, ids: &[u64], state: &str) {
    let before = std::mem::replace(
        &mut c.extra_args,
        vec!["--initial-cluster-state".to_string(), state.to_string()],
    );
    for id in ids {
        c.spawn(*id);
    }
    c.extra_args = before;
}

/// Waits until every node of `ids` answers `/v1/status`.
async fn wait_answering(c: &TestCluster, ids: &[u64], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for id in ids {
        while c.status(*id).await.is_none() {
            assert!(
                Instant::now() < deadline,
                "node {id} never answered /v1/status within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// For `QUIET`, every node of `ids` answers, is in no configuration, knows
/// no leader, never leaves term 0 (it never campaigned) and is not ready
/// because it is not a member.
async fn assert_waiting(c: &TestCluster, ids: &[u64]) {
    let until = Instant::now() + QUIET;
    let mut running = std::collections::BTreeSet::new();
    while Instant::now() < until {
        for id in ids {
            let s = c
                .status(*id)
                .await
                .unwrap_or_else(|| panic!("node {id} stopped answering while waiting"));
            assert_eq!(s.cluster_id, c.cluster_id, "node {id}: cluster id");
            assert!(
                s.members.is_empty() && s.leader().is_none() && s.term == 0 && !s.is_leader(),
                "node {id} bootstrapped or campaigned on an empty data directory: {s:?}"
            );
            if s.recovery.is_some() {
                // Still starting (HTTP answers before storage is recovered);
                // the reason it waits is only given once its Raft loop runs.
                continue;
            }
            running.insert(*id);
            let (code, reason) = c.readyz(*id).await;
            assert_eq!(code, 503, "node {id} /readyz: {reason}");
            assert!(
                reason.contains("not a member"),
                "node {id} /readyz says why it waits: {reason}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in ids {
        assert!(
            running.contains(id),
            "node {id} never finished starting within {QUIET:?}"
        );
    }
}

/// A three-voter cluster that committed `k=v` on every member, then stopped
/// entirely, with the disks of nodes 1 and 2 wiped.
async fn cluster_with_two_wiped_voters() -> TestCluster {
    let mut c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let index = c.put("k", "v", 5 * SEC).await.expect("write k");
    c.wait_applied(&[1, 2, 3], index, 10 * SEC).await;
    for id in 1..=3 {
        c.kill9(id);
    }
    for id in [1, 2] {
        std::fs::remove_dir_all(c.data_dir(id)).expect("wipe a voter's disk");
    }
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn initial_voters_with_empty_disks_under_existing_never_bootstrap() {
    let mut c = TestCluster::plan(3);
    spawn_with_state(&mut c, &[1, 2, 3], "existing");
    wait_answering(&c, &[1, 2, 3], 10 * SEC).await;
    assert_waiting(&c, &[1, 2, 3]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn initial_voters_with_empty_disks_under_new_bootstrap() {
    let mut c = TestCluster::plan(3);
    spawn_with_state(&mut c, &[1, 2, 3], "new");
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c.put("k", "v", 5 * SEC).await.expect("write");
    let s = c.status(leader).await.expect("leader status");
    assert_eq!(s.members.len(), 3, "the initial voters: {s:?}");
}

/// The hazard `existing` removes: two wiped initial voters under `new`
/// bootstrap again and elect a leader of a second cluster with the same
/// cluster id, without the committed `k`.
#[tokio::test(flavor = "multi_thread")]
async fn two_wiped_initial_voters_under_new_form_a_second_cluster() {
    let mut c = cluster_with_two_wiped_voters().await;
    spawn_with_state(&mut c, &[1, 2], "new");
    let leader = c.wait_leader(&[1, 2], 10 * SEC).await;
    let s = c.status(leader).await.expect("leader status");
    assert_eq!(s.cluster_id, c.cluster_id, "the fork keeps the cluster id");
    assert_eq!(
        c.get(leader, "k").await,
        None,
        "the forked cluster lacks the committed write"
    );
}

/// Under `existing` the same two wiped voters wait while the voter with data
/// is down, then rejoin the cluster it leads and are refilled from it.
#[tokio::test(flavor = "multi_thread")]
async fn two_wiped_initial_voters_under_existing_wait_then_rejoin() {
    let mut c = cluster_with_two_wiped_voters().await;
    spawn_with_state(&mut c, &[1, 2], "existing");
    wait_answering(&c, &[1, 2], 10 * SEC).await;
    assert_waiting(&c, &[1, 2]).await;

    spawn_with_state(&mut c, &[3], "existing");
    let leader = c.wait_leader(&[1, 2, 3], 15 * SEC).await;
    assert_eq!(leader, 3, "only the voter with data holds a configuration");
    let deadline = Instant::now() + 15 * SEC;
    for id in [1, 2] {
        loop {
            let s = c.status(id).await;
            let joined = s
                .as_ref()
                .is_some_and(|s| s.is_member() && s.leader() == Some(3));
            if joined && c.get(id, "k").await.as_deref() == Some("v") {
                assert_eq!(s.map(|s| s.cluster_id), Some(c.cluster_id.clone()));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {id} did not rejoin and catch up: {s:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    c.put("after", "w", 5 * SEC)
        .await
        .expect("the rejoined cluster commits");
}
