//! A cluster of real `chronik-broker` processes for integration tests.
#![allow(dead_code)]

pub mod kafka;
pub mod netns;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_chronik-broker");

/// Ports handed out below the kernel's ephemeral range (32768-60999 by
/// default), so that the outgoing connections of a running cluster can never
/// take a port a node is about to bind (a restarted or added node binds its
/// ports long after they were picked).
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A free TCP port on `ip` (the socket is closed again; a small race with
/// other processes is accepted).
pub fn free_port(ip: &str) -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    // Start at a per-process pseudo-random offset; never repeat a port within
    // one test process.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() as u64 ^ uuid::Uuid::new_v4().as_u64_pair().0) as u16;
    let _ = NEXT.compare_exchange(
        0,
        seed % (PORTS.end - PORTS.start) + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..(PORTS.end - PORTS.start) {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = PORTS.start + n % (PORTS.end - PORTS.start);
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORTS:?} on {ip}");
}

/// Where and how one node runs.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub id: u64,
    pub ip: String,
    pub raft_port: u16,
    pub http_port: u16,
    pub kafka_port: u16,
    /// Network namespace to run in (partition tests).
    pub netns: Option<String>,
}

impl NodeSpec {
    /// Node `id` on loopback, on free ports.
    pub fn loopback(id: u64) -> Self {
        Self {
            id,
            ip: "127.0.0.1".into(),
            raft_port: free_port("127.0.0.1"),
            http_port: free_port("127.0.0.1"),
            kafka_port: free_port("127.0.0.1"),
            netns: None,
        }
    }

    pub fn raft_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.raft_port)
    }
    pub fn http(&self) -> String {
        format!("http://{}:{}", self.ip, self.http_port)
    }
}

/// A cluster under test; every process is killed on drop.
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub cluster_id: String,
    pub peers: String,
    pub specs: BTreeMap<u64, NodeSpec>,
    pub children: BTreeMap<u64, Child>,
    pub extra_args: Vec<String>,
    pub client: reqwest::Client,
}

impl TestCluster {
    /// Plans `n` initial voters on loopback.
    pub fn plan(n: u64) -> Self {
        let specs = (1..=n).map(|id| (id, NodeSpec::loopback(id))).collect();
        Self::with_specs(specs)
    }

    pub fn with_specs(specs: BTreeMap<u64, NodeSpec>) -> Self {
        let peers = specs
            .values()
            .map(|s| format!("{}@{}", s.id, s.raft_url()))
            .collect::<Vec<_>>()
            .join(",");
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            cluster_id: format!("test-{}", uuid::Uuid::new_v4()),
            peers,
            specs,
            children: BTreeMap::new(),
            extra_args: Vec::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .expect("http client"),
        }
    }

    /// Plans and starts `n` voters on loopback.
    pub fn start(n: u64) -> Self {
        let mut c = Self::plan(n);
        c.start_all();
        c
    }

    pub fn start_all(&mut self) {
        let ids: Vec<u64> = self.specs.keys().copied().collect();
        for id in ids {
            self.spawn(id);
        }
    }

    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    pub fn command(&self, id: u64) -> Command {
        let s = &self.specs[&id];
        let mut cmd = match &s.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, BIN]);
                c
            }
            None => Command::new(BIN),
        };
        cmd.arg("--node-id")
            .arg(id.to_string())
            .arg("--peers")
            .arg(&self.peers)
            .arg("--cluster-id")
            .arg(&self.cluster_id)
            .arg("--raft-addr")
            .arg(format!("{}:{}", s.ip, s.raft_port))
            .arg("--http-addr")
            .arg(format!("{}:{}", s.ip, s.http_port))
            .arg("--kafka-addr")
            .arg(format!("{}:{}", s.ip, s.kafka_port))
            .arg("--advertised-host")
            .arg(&s.ip)
            .arg("--data-dir")
            .arg(self.data_dir(id))
            .args(&self.extra_args)
            .env(
                "RUST_LOG",
                std::env::var("TEST_BROKER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null());
        cmd
    }

    /// Starts (or restarts) node `id` with its data directory.
    pub fn spawn(&mut self, id: u64) {
        let child = self.command(id).spawn().expect("spawn chronik-broker");
        self.children.insert(id, child);
    }

    /// Adds a node that is not among the initial voters.
    pub fn spawn_extra(&mut self, spec: NodeSpec) {
        let id = spec.id;
        self.specs.insert(id, spec);
        self.spawn(id);
    }

    /// `POST /v1/members` on node `via`: add node `id`, at its planned Raft
    /// URL, as a learner.
    pub async fn add_learner(&self, via: u64, id: u64) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/members", self.specs[&via].http()))
            .json(&serde_json::json!({"id": id, "url": self.specs[&id].raft_url()}))
            .send()
            .await
            .expect("add learner")
    }

    /// `POST /v1/members/<id>/promote` on node `via`.
    pub async fn promote(&self, via: u64, id: u64) -> reqwest::Response {
        self.client
            .post(format!(
                "{}/v1/members/{id}/promote",
                self.specs[&via].http()
            ))
            .send()
            .await
            .expect("promote")
    }

    /// `DELETE /v1/members/<id>` on node `via`.
    pub async fn remove_member(&self, via: u64, id: u64) -> reqwest::Response {
        self.client
            .delete(format!("{}/v1/members/{id}", self.specs[&via].http()))
            .send()
            .await
            .expect("remove member")
    }

    /// SIGKILL.
    pub fn kill9(&mut self, id: u64) {
        if let Some(mut c) = self.children.remove(&id) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to `within` for the exit status.
    pub fn terminate(&mut self, id: u64, within: Duration) -> Option<ExitStatus> {
        let mut c = self.children.remove(&id)?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    pub fn running(&self) -> Vec<u64> {
        self.children.keys().copied().collect()
    }

    pub async fn status(&self, id: u64) -> Option<Value> {
        let url = format!("{}/v1/status", self.specs[&id].http());
        let r = self.client.get(url).send().await.ok()?;
        r.json().await.ok()
    }

    pub async fn ready(&self, id: u64) -> bool {
        let url = format!("{}/readyz", self.specs[&id].http());
        matches!(self.client.get(url).send().await, Ok(r) if r.status().is_success())
    }

    /// The leader agreed on by a live node that is itself leader.
    pub async fn leader(&self, among: &[u64]) -> Option<u64> {
        for id in among {
            if let Some(s) = self.status(*id).await {
                if s["role"] == "leader" {
                    return Some(*id);
                }
            }
        }
        None
    }

    pub async fn wait_leader(&self, among: &[u64], timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader(among).await {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no leader among {among:?} within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Writes through node `via`; Ok(index) once committed and applied.
    pub async fn put_via(&self, via: u64, key: &str, value: &str) -> Result<u64, String> {
        let url = format!("{}/v1/kv/{key}", self.specs[&via].http());
        let r = self
            .client
            .put(url)
            .body(value.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let code = r.status();
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        if code.is_success() {
            Ok(body["index"].as_u64().unwrap_or(0))
        } else {
            Err(format!("{code}: {body}"))
        }
    }

    /// Writes through whichever live node leads, retrying until `timeout`.
    pub async fn put(&self, key: &str, value: &str, timeout: Duration) -> Result<u64, String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no attempt");
        while Instant::now() < deadline {
            if let Some(l) = self.leader(&self.running()).await {
                match self.put_via(l, key, value).await {
                    Ok(i) => return Ok(i),
                    Err(e) => last = e,
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(last)
    }

    /// The value of `key` as node `id` has applied it.
    pub async fn get(&self, id: u64, key: &str) -> Option<String> {
        let url = format!("{}/v1/kv/{key}", self.specs[&id].http());
        let r = self.client.get(url).send().await.ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.text().await.ok()
    }

    /// Waits until every node in `ids` has applied at least `index`.
    pub async fn wait_applied(&self, ids: &[u64], index: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for id in ids {
            loop {
                let applied = self
                    .status(*id)
                    .await
                    .and_then(|s| s["applied_index"].as_u64())
                    .unwrap_or(0);
                if applied >= index {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {id} applied {applied}, expected {index} within {timeout:?}"
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }

    /// (id, role) of every member as node `id` sees the configuration.
    pub async fn members(&self, id: u64) -> Vec<(u64, String)> {
        let Some(s) = self.status(id).await else {
            return vec![];
        };
        s["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| {
                        (
                            m["id"].as_u64().unwrap_or(0),
                            m["role"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for (_, mut c) in std::mem::take(&mut self.children) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
