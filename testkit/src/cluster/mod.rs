//! A cluster of real `chronik-broker` processes for integration tests: where
//! each node runs ([`NodeSpec`]) and the processes themselves
//! ([`TestCluster`]: start, restart, kill, terminate). Talking to the nodes
//! over HTTP is in [`api`]; peer mutual TLS (certificates, admin ports) in
//! [`tls`].

pub mod api;
pub mod tls;

use chronik_api::identity::{format_peers, Peer};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::binary::broker_binary;
use crate::ports::free_port;

/// Where and how one node runs.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// The node id (`--node-id`).
    pub id: u64,
    /// The address every listener binds and the node advertises.
    pub ip: String,
    /// Port of the Raft (gRPC) listener.
    pub raft_port: u16,
    /// Port of the HTTP API.
    pub http_port: u16,
    /// Port of the Kafka listener.
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

    /// The node's Raft (gRPC) URL, as `--peers` and membership changes name it.
    pub fn raft_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.raft_port)
    }

    /// Base URL of the node's HTTP API.
    pub fn http(&self) -> String {
        format!("http://{}:{}", self.ip, self.http_port)
    }

    /// The node's Kafka bootstrap address, `host:port`.
    pub fn kafka(&self) -> String {
        format!("{}:{}", self.ip, self.kafka_port)
    }
}

/// A cluster under test; every process is killed on drop.
pub struct TestCluster {
    /// Holds every node's data directory.
    pub dir: tempfile::TempDir,
    /// `--cluster-id` of every node (unique per cluster).
    pub cluster_id: String,
    /// `--peers` of the initial voters.
    pub peers: String,
    /// Every node planned so far, by id.
    pub specs: BTreeMap<u64, NodeSpec>,
    /// Extra arguments for every node started from now on.
    pub extra_args: Vec<String>,
    /// An HTTP client with a short timeout, for the nodes' APIs (with peer
    /// TLS, presenting the operator's certificate).
    pub client: reqwest::Client,
    /// Peer TLS, when the cluster runs with it ([`TestCluster::plan_tls`]).
    pub tls: Option<tls::ClusterTls>,
    binary: PathBuf,
    children: BTreeMap<u64, Child>,
}

impl TestCluster {
    /// Plans `n` initial voters on loopback.
    pub fn plan(n: u64) -> Self {
        let specs = (1..=n).map(|id| (id, NodeSpec::loopback(id))).collect();
        Self::with_specs(specs)
    }

    /// Plans the given nodes as the initial voters; nothing runs yet.
    pub fn with_specs(specs: BTreeMap<u64, NodeSpec>) -> Self {
        let peers: Vec<Peer> = specs
            .values()
            .map(|s| Peer {
                id: s.id,
                url: s.raft_url(),
            })
            .collect();
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            cluster_id: format!("test-{}", uuid::Uuid::new_v4()),
            peers: format_peers(&peers),
            specs,
            extra_args: Vec::new(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .expect("http client"),
            tls: None,
            binary: broker_binary(),
            children: BTreeMap::new(),
        }
    }

    /// Plans and starts `n` voters on loopback.
    pub fn start(n: u64) -> Self {
        let mut c = Self::plan(n);
        c.start_all();
        c
    }

    /// Starts every planned node.
    pub fn start_all(&mut self) {
        let ids: Vec<u64> = self.specs.keys().copied().collect();
        for id in ids {
            self.spawn(id);
        }
    }

    /// Node `id`'s data directory (kept across restarts).
    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    /// The command that runs node `id` (inside its namespace, if it has one).
    /// `TEST_BROKER_LOG` sets the nodes' `RUST_LOG` (default `warn`).
    pub fn command(&self, id: u64) -> Command {
        let s = &self.specs[&id];
        let mut cmd = match &s.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
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
            .arg(s.kafka())
            .arg("--advertised-host")
            .arg(&s.ip)
            .arg("--data-dir")
            .arg(self.data_dir(id))
            .args(self.tls_args(id))
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
        self.prepare_tls(id);
        let child = self.command(id).spawn().expect("spawn chronik-broker");
        self.children.insert(id, child);
    }

    /// Adds a node that is not among the initial voters.
    pub fn spawn_extra(&mut self, spec: NodeSpec) {
        let id = spec.id;
        self.specs.insert(id, spec);
        self.spawn(id);
    }

    /// SIGKILL.
    pub fn kill9(&mut self, id: u64) {
        if let Some(mut c) = self.children.remove(&id) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP: the process keeps its sockets and state but does nothing
    /// (a long GC pause or a frozen VM, as peers see it).
    pub fn pause(&self, id: u64) {
        self.signal(id, "-STOP");
    }

    /// SIGCONT after [`Self::pause`].
    pub fn resume(&self, id: u64) {
        self.signal(id, "-CONT");
    }

    fn signal(&self, id: u64, signal: &str) {
        if let Some(c) = self.children.get(&id) {
            let status = Command::new("kill")
                .arg(signal)
                .arg(c.id().to_string())
                .status()
                .expect("run kill");
            assert!(status.success(), "kill {signal} of node {id} failed");
        }
    }

    /// SIGTERM, then waits up to `within` for the exit status (`None`: it
    /// did not exit in time and was killed).
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

    /// The process id of node `id`, while it runs.
    pub fn pid(&self, id: u64) -> Option<u32> {
        self.children.get(&id).map(Child::id)
    }

    /// Ids of the nodes started and not killed since.
    pub fn running(&self) -> Vec<u64> {
        self.children.keys().copied().collect()
    }

    /// Kafka bootstrap address of node `id`.
    pub fn kafka(&self, id: u64) -> String {
        self.specs[&id].kafka()
    }

    /// Kafka bootstrap list of the given nodes.
    pub fn kafka_list(&self, ids: &[u64]) -> String {
        ids.iter()
            .map(|id| self.kafka(*id))
            .collect::<Vec<_>>()
            .join(",")
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
