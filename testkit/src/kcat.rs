//! kcat (librdkafka) as a Kafka client independent of the Python ones:
//! the command to run it, a presence check and the partition leader it sees.

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::TestCluster;

/// `kcat` under `timeout <secs>`, loading the system's librdkafka: `cargo
/// test` puts build-script library directories on `LD_LIBRARY_PATH`, among
/// them the librdkafka that rdkafka-sys builds for the test client (with
/// other features than Debian's), which kcat would otherwise load.
pub fn command(timeout_secs: u64) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg(timeout_secs.to_string())
        .arg("kcat")
        .env_remove("LD_LIBRARY_PATH");
    cmd
}

/// Fails the test unless kcat runs.
pub fn require_kcat() {
    let ok = command(10)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "kcat is required: run `cargo xtask deps` (or `apt-get install -y kcat`)"
    );
}

/// Leader of `topic`/`partition` as kcat sees it through node `via`.
pub fn kcat_leader(c: &TestCluster, via: u64, topic: &str, partition: i64) -> Option<i64> {
    let output = command(20)
        .args(["-b", &c.kafka(via), "-L", "-J", "-t", topic])
        .output()
        .ok()?;
    let md: Value = serde_json::from_slice(&output.stdout).ok()?;
    md["topics"][0]["partitions"]
        .as_array()?
        .iter()
        .find(|p| p["partition"].as_i64() == Some(partition))?["leader"]
        .as_i64()
}

/// Waits until kcat, asking node `via`, sees `leader` lead `topic`/`partition`.
pub async fn wait_kcat_leader(
    c: &TestCluster,
    via: u64,
    topic: &str,
    partition: i64,
    leader: i64,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = kcat_leader(c, via, topic, partition);
        if seen == Some(leader) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {leader} did not lead {topic}/{partition} within {timeout:?} (leader {seen:?})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
