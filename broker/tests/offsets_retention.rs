//! `offsets.retention.minutes` on a real broker with kafka-python: the
//! committed offsets of a group without members expire once their newest
//! commit is older than the retention; a group with a live member keeps its
//! offsets; the expiry is a replicated command, so the next leader serves
//! the same answer.

mod support;

use chronik_testkit::python::{read_line_with, run_script, spawn_script};
use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);

fn offsets(action: &str, bootstrap: &str, group: &str, extra: &[&str]) -> String {
    let mut args = vec![
        action,
        "--bootstrap",
        bootstrap,
        "--topic",
        "kept",
        "--group",
        group,
    ];
    args.extend_from_slice(extra);
    run_script("offsets.py", &args)
}

/// What `offsets.py committed` prints after `committed=`.
fn committed(bootstrap: &str, group: &str) -> String {
    let out = offsets("committed", bootstrap, group, &[]);
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("committed="))
        .unwrap_or_else(|| panic!("no committed= in {out}"))
        .to_string()
}

/// Catches offsets kept forever (a metadata store that only grows with every
/// group name a client ever used) and an expiry that ignores live members.
#[tokio::test(flavor = "multi_thread")]
async fn offsets_of_idle_groups_expire_and_live_groups_keep_theirs() {
    let mut c = TestCluster::plan(3);
    c.extra_args = [
        "--offsets-retention-minutes",
        "1",
        "--offsets-retention-check-interval-ms",
        "500",
    ]
    .map(String::from)
    .to_vec();
    c.start_all();
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let bootstrap = c.kafka(leader);
    let out = run_script(
        "create_topic.py",
        &["--bootstrap", &bootstrap, "--topic", "kept"],
    );
    assert!(out.contains("OK created"), "{out}");
    let mut live = spawn_script(
        "offsets.py",
        &[
            "hold",
            "--bootstrap",
            &bootstrap,
            "--topic",
            "kept",
            "--group",
            "live",
            "--offset",
            "3",
            "--seconds",
            "150",
        ],
    );
    let (held, _rest) = read_line_with(&mut live, "OK holding");
    assert_eq!(held, "3");
    let out = offsets("commit", &bootstrap, "idle", &["--offset", "5"]);
    assert!(out.contains("OK committed 5"), "{out}");
    assert_eq!(committed(&bootstrap, "idle"), "5");
    let deadline = Instant::now() + 150 * SEC;
    while committed(&bootstrap, "idle") != "None" {
        assert!(
            Instant::now() < deadline,
            "idle group's offsets outlived offsets.retention.minutes=1"
        );
        tokio::time::sleep(2 * SEC).await;
    }
    assert_eq!(
        committed(&bootstrap, "live"),
        "3",
        "a group with a live member lost its offsets"
    );
    // Every replica applied the same expiry: a new leader (and coordinator)
    // serves the same answer.
    let others: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    let index = c
        .put("after-expiry", "x", 5 * SEC)
        .await
        .unwrap_or_else(|e| panic!("put: {e}"));
    c.wait_applied(&others, index, 10 * SEC).await;
    let _ = live.kill();
    let _ = live.wait();
    c.kill9(leader);
    let new_leader = c.wait_leader(&others, 15 * SEC).await;
    let bootstrap = c.kafka(new_leader);
    let deadline = Instant::now() + 30 * SEC;
    loop {
        if let Ok(idle) = std::panic::catch_unwind(|| committed(&bootstrap, "idle")) {
            assert_eq!(idle, "None", "a follower kept expired offsets");
            break;
        }
        assert!(Instant::now() < deadline, "no coordinator after failover");
        tokio::time::sleep(SEC).await;
    }
}
