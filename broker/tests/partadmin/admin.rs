//! DescribeProducers, DescribeLogDirs and ElectLeaders through kafka-python's
//! and confluent-kafka's admin clients (`partadmin_admin.py`).

use super::{create_topic, node, raw, wait_leader_where, SEC};
use chronik_testkit::cluster::TestCluster;
use chronik_testkit::python::run_script;
use std::time::{Duration, Instant};

const NONE: i16 = 0;
const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
const ELECTION_NOT_NEEDED: i16 = 84;

fn admin(action: &str, bootstrap: &str, extra: &[&str]) -> String {
    let mut args = vec![action, "--bootstrap", bootstrap, "--topic", "admin"];
    args.extend_from_slice(extra);
    run_script("partadmin_admin.py", &args)
}

/// One election of partition `partition`; its error code.
fn elect(bootstrap: &str, client: &str, kind: &str, partition: i32, timeout_ms: u32) -> i16 {
    let (p, t) = (partition.to_string(), timeout_ms.to_string());
    let extra = [
        "--client",
        client,
        "--type",
        kind,
        "--partition",
        &p,
        "--timeout-ms",
        &t,
    ];
    let out = admin("elect", bootstrap, &extra);
    out.lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or_else(|| panic!("no result in {out}"))
}

/// Waits until every partition of `admin` is led by its preferred replica
/// (partition p by broker p + 1 among voters 1-3, see `node::balance`).
async fn wait_preferred_leaders(c: &TestCluster) {
    for p in 0..3 {
        wait_leader_where(c, 2, "admin", p, 60 * SEC, |l, _| l == p + 1).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn producers_log_dirs_and_elections_through_the_admin_clients() {
    let mut c = TestCluster::start(3);
    let meta = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    create_topic(&c, meta, "admin", 3).await;
    wait_preferred_leaders(&c).await;
    let all = c.kafka_list(&[1, 2, 3]);
    let out = admin("producers", &all, &["--follower", "2"]);
    assert!(out.contains("OK producers"), "{out}");
    let dirs: Vec<String> = (1..=3)
        .map(|id| {
            format!(
                "{id}={}",
                std::path::absolute(c.data_dir(id)).expect("path").display()
            )
        })
        .collect();
    let mut extra = Vec::new();
    for d in &dirs {
        extra.extend(["--dir", d.as_str()]);
    }
    let out = admin("logdirs", &all, &extra);
    assert!(out.contains("OK log dirs of brokers [1, 2, 3]"), "{out}");

    // Every preferred replica leads: nothing to elect, clean or unclean.
    for client in ["kafka-python", "confluent"] {
        for p in 0..3 {
            assert_eq!(
                elect(&all, client, "preferred", p, 5_000),
                ELECTION_NOT_NEEDED
            );
            assert_eq!(
                elect(&all, client, "unclean", p, 5_000),
                ELECTION_NOT_NEEDED
            );
        }
    }
    // The preferred leader of partition 0 is down: it cannot be elected.
    c.kill9(1);
    let (moved, _) = wait_leader_where(&c, 2, "admin", 0, 30 * SEC, |l, _| l != 1).await;
    c.wait_leader(&[2, 3], 20 * SEC).await;
    let survivors = c.kafka_list(&[2, 3]);
    assert_eq!(
        elect(&survivors, "kafka-python", "preferred", 0, 2_000),
        PREFERRED_LEADER_NOT_AVAILABLE
    );
    // Back, it catches up and an election asked of the broker that neither
    // leads partition 0 nor is its preferred leader moves leadership to it
    // (through the metadata log; unless the leader's own balancing pass did
    // so first).
    c.spawn(1);
    let bystander = if moved == 2 { 3 } else { 2 };
    let deadline = Instant::now() + 60 * SEC;
    let mut results = Vec::new();
    loop {
        let code = raw::elect_preferred(&c.kafka(bystander), "admin", 0, 5_000).await;
        let code = code.unwrap_or(-1);
        results.push(code);
        if code == NONE || code == ELECTION_NOT_NEEDED {
            break;
        }
        assert_eq!(code, PREFERRED_LEADER_NOT_AVAILABLE, "{results:?}");
        assert!(Instant::now() < deadline, "never elected: {results:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (leader, _) = raw::leader(&c.kafka(2), "admin", 0)
        .await
        .expect("metadata");
    assert_eq!(
        leader,
        1,
        "after {results:?}, previously led by {}",
        node(moved)
    );
    assert_eq!(
        elect(&all, "confluent", "preferred", 0, 0),
        ELECTION_NOT_NEEDED
    );
}
