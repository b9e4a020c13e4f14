//! Log compaction (`cleanup.policy=compact`) and DeleteRecords on a
//! Raft-replicated cluster of real broker processes, checked with
//! confluent-kafka (`kafka/tests/clients/compact_log.py`): a
//! Schema-Registry-style `_schemas` topic keeps every key's newest value at
//! its original offset, every replica serves the same compacted records
//! (compared by a digest of every offset, timestamp, key and value, before
//! and after leader kills), tombstones go after `delete.retention.ms`,
//! `min.compaction.lag.ms` protects young records, a member added after the
//! compaction receives the compacted state, and DeleteRecords moves the log
//! start offset on every replica.

mod support;

use chronik_testkit::kcat::{kcat_leader, wait_kcat_leader};
use chronik_testkit::python::run_script;
use std::time::{Duration, Instant};
use support::{NodeSpec, TestCluster};

const SEC: Duration = Duration::from_secs(1);

fn script(action: &str, bootstrap: &str, topic: &str, extra: &[&str]) -> String {
    let mut args = vec![action, "--bootstrap", bootstrap, "--topic", topic];
    args.extend_from_slice(extra);
    run_script("compact_log.py", &args)
}

/// `k0=k0-v<v>,k1=k1-v<v>,...` for `keys` keys.
fn latest(keys: usize, version: usize) -> String {
    (0..keys)
        .map(|k| format!("k{k}=k{k}-v{version}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The `digest=` figure `compact_log.py check` prints.
fn digest(out: &str) -> String {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("digest="))
        .unwrap_or_else(|| panic!("no digest in {out}"))
        .to_string()
}

/// Waits until a node other than `not` leads `topic`/`partition`, as node
/// `via` sees it; returns it.
async fn wait_new_leader(c: &TestCluster, via: u64, topic: &str, not: u64) -> u64 {
    let deadline = Instant::now() + 30 * SEC;
    loop {
        if let Some(l) = kcat_leader(c, via, topic, 0).filter(|l| *l > 0 && *l as u64 != not) {
            return l as u64;
        }
        assert!(Instant::now() < deadline, "no new leader of {topic}/0");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compact_schemas_topic_keeps_the_newest_value_per_key_on_every_replica() {
    let mut c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    // Schema Registry's topic: compacted, one partition; a short
    // retention.ms must not delete anything of a compact-only topic.
    let configs = [
        "--config",
        "cleanup.policy=compact",
        "--config",
        "retention.ms=1000",
    ];
    let out = script("create", &c.kafka(1), "_schemas", &configs);
    assert!(out.contains("OK created"), "{out}");
    wait_kcat_leader(&c, 1, "_schemas", 0, 1, 30 * SEC).await;
    // 5 versions of 10 keys: offsets 0-49; the newest of each key at 40-49.
    let out = script("produce", &c.kafka(1), "_schemas", &[]);
    assert!(out.contains("OK produced"), "{out}");
    let expect = latest(10, 4);
    let check = ["--expect", expect.as_str()];
    let out = script("check", &c.kafka(1), "_schemas", &check);
    assert!(
        out.contains("offsets=[40, 41, 42, 43, 44, 45, 46, 47, 48, 49]"),
        "{out}"
    );
    let compacted = digest(&out);
    // kafka-python's consumer reads the same records across the gaps.
    let kp = [&check[..], &["--client", "kafka-python"]].concat();
    let out = script("check", &c.kafka(1), "_schemas", &kp);
    assert_eq!(digest(&out), compacted, "kafka-python: {out}");
    // The leader dies: another replica serves the very same records.
    c.kill9(1);
    let second = wait_new_leader(&c, 2, "_schemas", 1).await;
    let out = script("check", &c.kafka(second), "_schemas", &check);
    assert_eq!(digest(&out), compacted, "{out}");
    // The new leader compacts what is written next (offsets 50-99).
    let more = ["--first-version", "5"];
    let out = script("produce", &c.kafka(second), "_schemas", &more);
    assert!(out.contains("OK produced"), "{out}");
    let expect = latest(10, 9);
    let check = ["--expect", expect.as_str()];
    let out = script("check", &c.kafka(second), "_schemas", &check);
    assert!(
        out.contains("offsets=[90, 91, 92, 93, 94, 95, 96, 97, 98, 99]"),
        "{out}"
    );
    let compacted = digest(&out);
    // Node 1 returns (behind the compaction: it installs the snapshot);
    // then the second leader dies too and one of the others serves.
    c.spawn(1);
    wait_kcat_leader(&c, 2, "_schemas", 0, 1, 30 * SEC).await;
    let out = script("check", &c.kafka(1), "_schemas", &check);
    assert_eq!(digest(&out), compacted, "node 1: {out}");
    c.kill9(1);
    let third = wait_new_leader(&c, second, "_schemas", 1).await;
    let out = script("check", &c.kafka(third), "_schemas", &check);
    assert_eq!(digest(&out), compacted, "node {third}: {out}");
    // Every broker restarts from its own compaction snapshot.
    for id in 1..=3 {
        c.kill9(id);
    }
    c.start_all();
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    wait_kcat_leader(&c, 2, "_schemas", 0, 1, 30 * SEC).await;
    let out = script("check", &c.kafka(1), "_schemas", &check);
    assert_eq!(digest(&out), compacted, "after restarts: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn compact_tombstones_go_after_delete_retention_and_young_records_stay() {
    let c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let configs = [
        "--config",
        "cleanup.policy=compact",
        "--config",
        "delete.retention.ms=8000",
    ];
    let out = script("create", &c.kafka(1), "tomb", &configs);
    assert!(out.contains("OK created"), "{out}");
    // k0-k2 twice (offsets 0-5), a tombstone of k0 (6), k1 once more (7).
    let produce = [
        "--keys",
        "3",
        "--versions",
        "2",
        "--tombstone",
        "0",
        "--tail",
        "1",
    ];
    let out = script("produce", &c.kafka(1), "tomb", &produce);
    assert!(out.contains("OK produced"), "{out}");
    let with_tombstone = ["--expect", "k2=k2-v1,k0=null,k1=k1-tail", "--timeout", "6"];
    let out = script("check", &c.kafka(1), "tomb", &with_tombstone);
    assert!(out.contains("offsets=[5, 6, 7]"), "{out}");
    let without = ["--expect", "k2=k2-v1,k1=k1-tail", "--timeout", "30"];
    let out = script("check", &c.kafka(1), "tomb", &without);
    assert!(out.contains("offsets=[5, 7]"), "{out}");
    // DeleteRecords on a compacted topic: the log starts at 7 and the next
    // compaction drops what lies below it.
    let out = script("delete", &c.kafka(1), "tomb", &["--offset", "7"]);
    assert!(
        out.contains("OK low_watermark=7 earliest=7 high=8 first=7"),
        "{out}"
    );
    let out = script("check", &c.kafka(2), "tomb", &["--expect", "k1=k1-tail"]);
    assert!(out.contains("low=7 high=8 offsets=[7]"), "{out}");

    // min.compaction.lag.ms of 10 minutes: nothing is compacted yet.
    let configs = [
        "--config",
        "cleanup.policy=compact",
        "--config",
        "min.compaction.lag.ms=600000",
    ];
    let out = script("create", &c.kafka(1), "young", &configs);
    assert!(out.contains("OK created"), "{out}");
    let produce = ["--keys", "3", "--versions", "3"];
    let out = script("produce", &c.kafka(1), "young", &produce);
    assert!(out.contains("OK produced"), "{out}");
    // Compaction checks run every 2 s: several pass meanwhile.
    tokio::time::sleep(6 * SEC).await;
    let all = [latest(3, 0), latest(3, 1), latest(3, 2)].join(",");
    let out = script(
        "check",
        &c.kafka(2),
        "young",
        &["--expect", &all, "--timeout", "1"],
    );
    assert!(out.contains("offsets=[0, 1, 2, 3, 4, 5, 6, 7, 8]"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn compact_a_member_added_after_compaction_receives_the_compacted_state() {
    let mut c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    // Partition 3's preferred leader is node 1 among voters 1-3 and node 4
    // among voters 1-4.
    let configs = ["--partitions", "4", "--config", "cleanup.policy=compact"];
    let out = script("create", &c.kafka(1), "joined", &configs);
    assert!(out.contains("OK created"), "{out}");
    wait_kcat_leader(&c, 1, "joined", 3, 1, 30 * SEC).await;
    let part = ["--partition", "3"];
    let out = script("produce", &c.kafka(1), "joined", &part);
    assert!(out.contains("OK produced"), "{out}");
    let expect = latest(10, 4);
    let check = [&part[..], &["--expect", expect.as_str()]].concat();
    let out = script("check", &c.kafka(1), "joined", &check);
    let compacted = digest(&out);
    c.spawn_extra(NodeSpec::loopback(4));
    let r = c.add_learner(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.wait_groups_converged(&[1, 2, 3, 4], 4, 20 * SEC).await;
    let r = c.promote(leader, 4).await;
    assert!(r.status().is_success(), "{:?}", r.text().await);
    c.wait_groups_converged(&[1, 2, 3, 4], 4, 20 * SEC).await;
    wait_kcat_leader(&c, 1, "joined", 3, 4, 30 * SEC).await;
    let out = script("check", &c.kafka(4), "joined", &check);
    assert!(
        out.contains("offsets=[40, 41, 42, 43, 44, 45, 46, 47, 48, 49]"),
        "{out}"
    );
    assert_eq!(digest(&out), compacted, "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_records_moves_the_log_start_on_every_replica() {
    let mut c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let out = script("create", &c.kafka(1), "trim", &[]);
    assert!(out.contains("OK created"), "{out}");
    wait_kcat_leader(&c, 1, "trim", 0, 1, 30 * SEC).await;
    let out = script("produce", &c.kafka(1), "trim", &[]);
    assert!(out.contains("OK produced"), "{out}");
    let out = script("delete", &c.kafka(1), "trim", &["--offset", "20"]);
    assert!(
        out.contains("OK low_watermark=20 earliest=20 high=50 first=20 read=30"),
        "{out}"
    );
    let out = script("delete-beyond", &c.kafka(1), "trim", &["--offset", "51"]);
    assert!(out.contains("OK OFFSET_OUT_OF_RANGE"), "{out}");
    // The new log start was replicated: another leader serves from 20.
    c.kill9(1);
    let second = wait_new_leader(&c, 2, "trim", 1).await;
    let rest = [latest(10, 2), latest(10, 3), latest(10, 4)].join(",");
    let out = script("check", &c.kafka(second), "trim", &["--expect", &rest]);
    assert!(out.contains("low=20 high=50"), "{out}");
}
