//! Kafka client helpers: the Python client scripts of `kafka/tests/clients`
//! run against a [`TestCluster`]'s Kafka listeners on loopback.

use super::TestCluster;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command};

#[path = "../../../kafka/tests/common/python.rs"]
mod python;
// Each test binary compiles this module and uses a different part of it.
#[allow(unused_imports)]
pub use python::{check, run_script, spawn_script};
use std::time::{Duration, Instant};

/// Reads the child's stdout until a line starting with `prefix`; returns the
/// rest of that line and a thread collecting the remaining output.
pub fn read_line_with(
    child: &mut Child,
    prefix: &str,
) -> (String, std::thread::JoinHandle<String>) {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut seen = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read script output");
        assert!(n > 0, "script ended before printing {prefix:?}: {seen:?}");
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            let rest = rest.trim().to_string();
            // Keep draining stdout so the script never blocks on a full pipe.
            let rest_of_output = std::thread::spawn(move || {
                let mut all = String::new();
                while reader.read_line(&mut all).unwrap_or(0) > 0 {}
                all
            });
            return (rest, rest_of_output);
        }
        seen.push(line.clone());
    }
}

/// Leader of `topic`/`partition` as kcat (librdkafka) sees it through `via`.
pub fn kcat_leader(c: &TestCluster, via: u64, topic: &str, partition: i64) -> Option<i64> {
    let output = Command::new("timeout")
        .args(["20", "kcat", "-b", &c.kafka(via), "-L", "-J", "-t", topic])
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

impl TestCluster {
    /// Kafka bootstrap address of node `id`.
    pub fn kafka(&self, id: u64) -> String {
        let s = &self.specs[&id];
        format!("{}:{}", s.ip, s.kafka_port)
    }

    /// Kafka bootstrap list of the given nodes.
    pub fn kafka_list(&self, ids: &[u64]) -> String {
        ids.iter()
            .map(|id| self.kafka(*id))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The `groups` summary of `/v1/status` on node `id`.
    pub async fn groups(&self, id: u64) -> Option<Value> {
        Some(self.status(id).await?["groups"].clone())
    }

    /// Waits until every node in `ids` has `total` partition groups, all
    /// matching the metadata membership.
    pub async fn wait_groups_converged(&self, ids: &[u64], total: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for id in ids {
            loop {
                let g = self.groups(*id).await.unwrap_or(Value::Null);
                if g["total"].as_u64() == Some(total) && g["unconverged"].as_u64() == Some(0) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {id}: groups {g} did not converge to {total} within {timeout:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
