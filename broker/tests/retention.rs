//! Retention by size and time on a Raft-replicated cluster of real broker
//! processes, checked with confluent-kafka: the log start moves forward, the
//! newest records stay readable, a follower that was down while retention
//! compacted catches up from the snapshot (with the idempotent-producer state:
//! the same producer continues through it), and restarted brokers serve the
//! same data.

mod support;

use chronik_testkit::kcat::wait_kcat_leader;
use chronik_testkit::python::{self, read_line_with, run_script, spawn_script};
use std::time::Duration;
use support::{NodeSpec, TestCluster};

const SEC: Duration = Duration::from_secs(1);
/// Partition 0's preferred leader among voters 1-3 (see `node::balance`):
/// once caught up, leadership returns to it.
const PREFERRED: u64 = 1;

fn retention(action: &str, bootstrap: &str, topic: &str, extra: &[&str]) -> String {
    let mut args = vec![action, "--bootstrap", bootstrap, "--topic", topic];
    args.extend_from_slice(extra);
    run_script("retention.py", &args)
}

/// The `earliest=N` figure `retention.py check` prints.
fn earliest(out: &str) -> u64 {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("earliest="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no earliest offset in {out}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_bytes_moves_the_log_start_and_survives_snapshot_catch_up_and_restarts() {
    let mut c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let out = retention(
        "create",
        &c.kafka(2),
        "sized",
        &[
            "--config",
            "retention.bytes=16384",
            "--config",
            "retention.ms=-1",
        ],
    );
    assert!(out.contains("OK created sized"), "{out}");
    // The preferred leader is down while the partition grows and compacts.
    c.kill9(PREFERRED);
    let others = c.kafka_list(&[2, 3]);
    // 200 records of 1000 bytes in produce requests of 5: 40 stored entries,
    // from an idempotent producer that pauses, then writes 20 more.
    let pause_file = c.data_dir(2).with_file_name("resume-producer");
    let pause = pause_file.to_string_lossy().into_owned();
    let mut producer = spawn_script(
        "retention.py",
        &[
            "produce",
            "--bootstrap",
            &others,
            "--topic",
            "sized",
            "--count",
            "200",
            "--idempotent",
            "--pause-file",
            &pause,
            "--more",
            "20",
        ],
    );
    let (_, producer_output) = read_line_with(&mut producer, "PAUSED");
    // At least 16384 bytes stay: 4 entries of ~5 KB, so the log starts at 180.
    let check = ["--count", "200", "--min-earliest", "180"];
    let out = retention("check", &others, "sized", &check);
    assert!(out.contains("read=20"), "{out}");
    // Node 1's log ends before the retention point: it installs the snapshot,
    // catches up and leads partition 0 again.
    c.spawn(PREFERRED);
    wait_kcat_leader(&c, 2, "sized", 0, PREFERRED as i64, 30 * SEC).await;
    let out = retention("check", &c.kafka(PREFERRED), "sized", &check);
    assert_eq!(earliest(&out), 180, "{out}");
    // The producer's sequences continue on node 1, which knows them from the
    // snapshot's producer state plus the entries after the cut.
    std::fs::write(&pause_file, b"go").expect("resume the producer");
    let output = tokio::task::spawn_blocking(move || producer.wait_with_output())
        .await
        .expect("join")
        .expect("producer output");
    python::check("retention.py produce", &output);
    let out = producer_output.join().expect("producer output");
    assert!(out.contains("OK produced 220"), "{out}");
    let check = ["--count", "220", "--min-earliest", "200"];
    let out = retention("check", &c.kafka(PREFERRED), "sized", &check);
    assert!(out.contains("earliest=200 latest=220 read=20"), "{out}");
    // Every broker restarts from its compacted log: snapshot plus entries.
    for id in 1..=3 {
        c.kill9(id);
    }
    c.start_all();
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    wait_kcat_leader(&c, 2, "sized", 0, PREFERRED as i64, 30 * SEC).await;
    let out = retention("check", &c.kafka(PREFERRED), "sized", &check);
    assert!(out.contains("earliest=200 latest=220 read=20"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_ms_deletes_expired_batches_but_keeps_the_newest() {
    let c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let out = retention(
        "create",
        &c.kafka(1),
        "aged",
        &["--config", "retention.ms=1500"],
    );
    assert!(out.contains("OK created aged"), "{out}");
    let out = retention("produce", &c.kafka(1), "aged", &["--count", "50"]);
    assert!(out.contains("OK produced 50"), "{out}");
    // Every entry expires except the newest (the active tail): offsets 45-49.
    let out = retention(
        "check",
        &c.kafka(2),
        "aged",
        &["--count", "50", "--min-earliest", "45"],
    );
    assert!(out.contains("earliest=45 latest=50 read=5"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_a_member_added_after_compaction_starts_from_the_snapshot() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    // Partition 3's preferred leader is node 1 among voters 1-3 and node 4
    // among voters 1-4.
    let out = retention(
        "create",
        &c.kafka(1),
        "joined",
        &["--partitions", "4", "--config", "retention.bytes=16384"],
    );
    assert!(out.contains("OK created joined"), "{out}");
    let part = ["--partition", "3"];
    let out = retention(
        "produce",
        &c.kafka(1),
        "joined",
        &[&part[..], &["--count", "200"]].concat(),
    );
    assert!(out.contains("OK produced 200"), "{out}");
    let check = [&part[..], &["--count", "200", "--min-earliest", "180"]].concat();
    retention("check", &c.kafka(1), "joined", &check);
    // Node 4 joins after the compaction: the snapshot it needs was taken
    // without it in the configuration.
    c.spawn_extra(NodeSpec::loopback(4));
    let r = c.add_learner(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.wait_groups_converged(&[1, 2, 3, 4], 4, 20 * SEC).await;
    let r = c.promote(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.wait_groups_converged(&[1, 2, 3, 4], 4, 20 * SEC).await;
    // Caught up from the snapshot, node 4 takes partition 3 and serves it.
    wait_kcat_leader(&c, 1, "joined", 3, 4, 30 * SEC).await;
    let out = retention("check", &c.kafka(4), "joined", &check);
    assert!(out.contains("earliest=180 latest=200 read=20"), "{out}");
}
