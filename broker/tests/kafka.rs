//! Kafka clients against a Raft-replicated cluster of real broker processes
//! on loopback: replicated produce/consume, consumer groups, leader kill with
//! an idempotent producer, whole-cluster restart, membership changes.

mod support;

use chronik_testkit::kcat::kcat_leader;
use chronik_testkit::python::{check, read_line_with, run_script, spawn_script};
use std::time::Duration;
use support::{NodeSpec, TestCluster};

const SEC: Duration = Duration::from_secs(1);

async fn three_node_cluster() -> TestCluster {
    let c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_10000_records_acks_all_consumed_from_another_broker() {
    let c = three_node_cluster().await;
    let out = run_script(
        "produce_consume.py",
        &[
            "--bootstrap",
            &c.kafka(1),
            "--consume-bootstrap",
            &c.kafka(2),
            "--topic",
            "orders",
            "--count",
            "10000",
        ],
    );
    assert!(out.contains("OK produced and consumed 10000"), "{out}");
    c.wait_groups_converged(&[1, 2, 3], 3, 5 * SEC).await;
    let led: usize = {
        let mut sum = 0;
        for id in 1..=3 {
            sum += c.groups(id).await.expect("status").led;
        }
        sum
    };
    assert_eq!(led, 3, "each partition group has exactly one leader");
}

/// Partition groups in which node `id` lags, summed over the leaders'
/// `/v1/status` (`groups.lagging`), and the replicas without a leader.
async fn replication(c: &TestCluster, ids: &[u64], behind: u64) -> (usize, usize) {
    let mut lagging = 0;
    let mut leaderless = 0;
    for id in ids {
        let g = c.groups(*id).await.unwrap_or_default();
        lagging += g.lagging.get(&behind).copied().unwrap_or(0);
        leaderless += g.leaderless;
    }
    (lagging, leaderless)
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_a_replica_behind_is_reported_until_it_caught_up() {
    let mut c = three_node_cluster().await;
    // Node 3 is down while 600 one-record batches (one Raft entry each) go
    // to three partitions: the leaders see it far behind in every group.
    c.kill9(3);
    let out = run_script(
        "produce_consume.py",
        &[
            "--bootstrap",
            &c.kafka(1),
            "--topic",
            "behind",
            "--count",
            "600",
            "--batch-messages",
            "1",
        ],
    );
    assert!(out.contains("OK produced and consumed 600"), "{out}");
    let (lagging, _) = replication(&c, &[1, 2], 3).await;
    assert_eq!(
        lagging, 3,
        "node 3 behind in each of the 3 partition groups"
    );
    // Back, it catches up; idle groups must not keep reporting it.
    c.spawn(3);
    let deadline = std::time::Instant::now() + 30 * SEC;
    loop {
        let state = replication(&c, &[1, 2, 3], 3).await;
        if state == (0, 0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node 3 still reported behind (lagging groups, leaderless replicas) {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_consumer_group_splits_commits_and_resumes() {
    let c = three_node_cluster().await;
    let out = run_script(
        "consumer_group.py",
        &["--bootstrap", &c.kafka(2), "--topic", "grouped"],
    );
    assert!(out.contains("OK group split and resume"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_kill9_of_a_partition_leader_loses_no_acknowledged_record() {
    let mut c = three_node_cluster().await;
    let bootstrap = c.kafka_list(&[1, 2, 3]);
    let mut child = spawn_script(
        "durability.py",
        &[
            "failover",
            "--bootstrap",
            &bootstrap,
            "--topic",
            "failover",
            "--seconds",
            "6",
        ],
    );
    let (leader, rest) = read_line_with(&mut child, "LEADER");
    let leader: u64 = leader.parse().expect("leader id");
    tokio::time::sleep(2 * SEC).await;
    c.kill9(leader);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("script output");
    check("durability.py failover", &output);
    let out = rest.join().expect("script output");
    assert!(out.contains("read back exactly once"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_whole_cluster_restart_keeps_committed_records() {
    let mut c = three_node_cluster().await;
    durability("produce", &c.kafka(1), "kept", 5000, &[]);
    for id in 1..=3 {
        c.kill9(id);
    }
    c.start_all();
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c.wait_groups_converged(&[1, 2, 3], 3, 10 * SEC).await;
    durability("verify", &c.kafka(3), "kept", 5000, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_partition_groups_follow_metadata_membership() {
    let mut c = three_node_cluster().await;
    durability("produce", &c.kafka(1), "moved", 2000, &[]);
    c.spawn_extra(NodeSpec::loopback(4));
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let r = c.add_learner(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    // The learner joins every partition group and catches up.
    c.wait_groups_converged(&[1, 2, 3, 4], 3, 20 * SEC).await;
    let r = c.promote(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.wait_groups_converged(&[1, 2, 3, 4], 3, 20 * SEC).await;
    // Remove a member that is not the metadata leader; partition groups follow.
    let victim = (1..=3).find(|id| *id != leader).expect("a follower");
    let r = c.remove_member(leader, victim).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    let remaining: Vec<u64> = [1, 2, 3, 4]
        .into_iter()
        .filter(|id| *id != victim)
        .collect();
    c.wait_groups_converged(&remaining, 3, 20 * SEC).await;
    c.kill9(victim);
    // With the victim gone, every record is still served by the new membership.
    durability("verify", &c.kafka_list(&remaining), "moved", 2000, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_kcat_sees_every_broker_and_reads_every_partition() {
    let c = three_node_cluster().await;
    durability("produce", &c.kafka(1), "kc", 300, &[]);
    let kcat = |args: &[&str]| {
        let output = chronik_testkit::kcat::command(60)
            .args(args)
            .output()
            .expect("kcat is required: apt-get install -y kcat");
        check("kcat", &output)
    };
    let listing = kcat(&["-b", &c.kafka(3), "-L", "-J"]);
    let md: serde_json::Value = serde_json::from_str(listing.trim()).expect("kcat -J output");
    assert_eq!(md["brokers"].as_array().map(Vec::len), Some(3), "{md}");
    let topic = md["topics"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["topic"] == "kc"))
        .expect("topic kc listed");
    for p in topic["partitions"].as_array().expect("partitions") {
        let leader = p["leader"].as_i64().unwrap_or(-1);
        assert!((1..=3).contains(&leader), "partition without leader: {p}");
    }
    let consumed = kcat(&[
        "-b",
        &c.kafka(2),
        "-C",
        "-t",
        "kc",
        "-o",
        "beginning",
        "-e",
        "-q",
    ]);
    assert_eq!(consumed.lines().count(), 300, "{consumed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_a_broker_that_lost_its_disk_is_refilled_and_leads_again() {
    let mut c = three_node_cluster().await;
    durability("produce", &c.kafka(1), "refill", 3000, &[]);
    c.kill9(3);
    std::fs::remove_dir_all(c.data_dir(3)).expect("wipe node 3");
    c.spawn(3);
    c.wait_groups_converged(&[1, 2, 3], 3, 20 * SEC).await;
    // Partition 2's preferred leader is node 3: once node 3 is refilled and
    // caught up, leadership moves back to it and it serves the reads.
    let deadline = std::time::Instant::now() + 40 * SEC;
    loop {
        let leader = kcat_leader(&c, 1, "refill", 2);
        if leader == Some(3) {
            break;
        }
        if std::time::Instant::now() > deadline {
            let mut statuses = Vec::new();
            for id in 1..=3 {
                statuses.push(c.status(id).await);
            }
            panic!("node 3 did not take partition 2 back (leader {leader:?}): {statuses:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    durability("verify", &c.kafka(3), "refill", 3000, &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_acks_1_is_answered_after_the_leaders_fsync_and_replicated() {
    let c = three_node_cluster().await;
    durability("produce", &c.kafka(1), "one", 3000, &["--acks", "1"]);
    durability("verify", &c.kafka(2), "one", 3000, &[]);
}

/// Runs `durability.py <action>` (produce or verify `count` records of
/// `topic`) and asserts the script reports every record.
fn durability(action: &str, bootstrap: &str, topic: &str, count: u32, extra: &[&str]) {
    let count_arg = count.to_string();
    let mut args = vec![
        action,
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--count",
        &count_arg,
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
