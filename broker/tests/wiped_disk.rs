//! A wiped disk never votes: a voter that comes back with an empty data
//! directory (a new incarnation) must not help a lagging member win an
//! election that would lose acknowledged records, and the cluster restores it
//! as a voter once it holds the log again.

mod support;

use chronik_api::{MemberRole, RejoinState};
use chronik_testkit::kcat::kcat_leader;
use chronik_testkit::python::run_script;
use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);
const TOPIC: &str = "acked";
const RECORDS: u32 = 3_000;

fn durability(action: &str, bootstrap: &str, count: u32, extra: &[&str]) {
    let count_arg = count.to_string();
    let mut args = vec![
        action,
        "--bootstrap",
        bootstrap,
        "--topic",
        TOPIC,
        "--count",
        &count_arg,
        "--partitions",
        "1",
    ];
    args.extend_from_slice(extra);
    let out = run_script("durability.py", &args);
    let done = if action == "produce" {
        "produced"
    } else {
        "verified"
    };
    assert!(out.contains(&format!("OK {done} {count}")), "{out}");
}

/// Whether node `id` leads the metadata group or any partition group.
async fn leads_anything(c: &TestCluster, id: u64) -> bool {
    c.status(id)
        .await
        .is_some_and(|s| s.is_leader() || s.groups.led > 0)
}

/// Waits until `member` is a voter again and no longer rejoining, as the
/// metadata leader among `ids` and the member itself report it, and every
/// partition group follows.
async fn wait_healed(c: &TestCluster, ids: &[u64], member: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let mut healed = false;
        if let Some(leader) = c.leader(ids).await {
            if let Some(s) = c.status(leader).await {
                healed = s
                    .member(member)
                    .is_some_and(|m| m.role == MemberRole::Voter && m.rejoining.is_none())
                    && s.groups.unconverged == 0;
            }
        }
        healed &= c
            .status(member)
            .await
            .is_some_and(|s| s.rejoining.is_none());
        if healed {
            break;
        }
        if Instant::now() > deadline {
            let mut statuses = Vec::new();
            for id in ids {
                statuses.push(c.status(*id).await);
            }
            panic!("node {member} was not restored as a voter: {statuses:#?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    c.wait_groups_converged(ids, 1, timeout).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wiped_voter_and_a_lagging_one_elect_no_leader_and_lose_nothing() {
    let mut c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    // A one-partition topic, replicated on all three brokers.
    durability("produce", &c.kafka_list(&[1, 2, 3]), 0, &[]);
    c.wait_groups_converged(&[1, 2, 3], 1, 20 * SEC).await;
    let deadline = Instant::now() + 30 * SEC;
    let a = loop {
        if let Some(l) = kcat_leader(&c, 1, TOPIC, 0).and_then(|l| u64::try_from(l).ok()) {
            if (1..=3).contains(&l) {
                break l;
            }
        }
        assert!(Instant::now() < deadline, "the partition has no leader");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let others: Vec<u64> = (1..=3).filter(|id| *id != a).collect();
    let (b, cc) = (others[0], others[1]);

    // B is down while 3,000 records are acknowledged by A and C.
    c.kill9(b);
    durability(
        "produce",
        &c.kafka_list(&[a, cc]),
        RECORDS,
        &["--existing-topic"],
    );

    // A freezes; C loses its disk and comes back; B comes back lagging.
    c.pause(a);
    c.kill9(cc);
    std::fs::remove_dir_all(c.data_dir(cc)).expect("wipe C's data directory");
    c.spawn(cc);
    c.spawn(b);

    // B and C together are a majority, but C's vote must not count: nobody
    // may lead while A is frozen.
    let watch_until = Instant::now() + 8 * SEC;
    let mut b_saw_c_rejoining = false;
    while Instant::now() < watch_until {
        for id in [b, cc] {
            assert!(
                !leads_anything(&c, id).await,
                "node {id} took leadership without A: {:#?}",
                c.status(id).await
            );
        }
        if let Some(s) = c.status(b).await {
            b_saw_c_rejoining |= s
                .member(cc)
                .is_some_and(|m| m.rejoining == Some(RejoinState::NewIncarnation));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        b_saw_c_rejoining,
        "B's /v1/status should show C's new incarnation as rejoining"
    );

    // A comes back: every acknowledged record is there, and C is restored
    // as a voter without help.
    c.resume(a);
    wait_healed(&c, &[1, 2, 3], cc, 90 * SEC).await;
    durability("verify", &c.kafka_list(&[1, 2, 3]), RECORDS, &[]);
}
