//! Starting and driving a 3-member Chronik or etcd cluster on loopback.

use crate::RaftArgs;
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use chronik_api::identity::{format_peers, NodeId, Peer};
use chronik_api::BrokerStatus;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Timeout of one write while probing for the end of a failover.
const PROBE_TIMEOUT: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum System {
    Chronik,
    Etcd,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::Chronik => "chronik",
            System::Etcd => "etcd",
        }
    }
}

pub struct Member {
    pub http: String,
    /// Kafka listener ("host:port"); empty for etcd.
    pub kafka: String,
    child: Option<Child>,
}

pub struct Cluster {
    pub system: System,
    pub members: Vec<Member>,
    pub client: reqwest::Client,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Cluster {
    pub async fn start(system: System, args: &RaftArgs, dir: &Path) -> Result<Self> {
        Self::start_n(system, args, dir, 3).await
    }

    /// Starts `n` members.
    pub async fn start_n(system: System, args: &RaftArgs, dir: &Path, n: usize) -> Result<Self> {
        let ports: Vec<(u16, u16)> = (0..n)
            .map(|_| Ok((free_port()?, free_port()?)))
            .collect::<Result<_>>()?;
        let mut members = Vec::new();
        match system {
            System::Chronik => {
                // Member i is node i + 1, as pod ordinal i would be.
                let node_id = |i: usize| NodeId::from_ordinal(i as u32);
                let peers: Vec<Peer> = ports
                    .iter()
                    .enumerate()
                    .map(|(i, (raft, _))| Peer {
                        id: node_id(i).0,
                        url: format!("http://127.0.0.1:{raft}"),
                    })
                    .collect();
                let peers = format_peers(&peers);
                for (i, (raft, http)) in ports.iter().enumerate() {
                    let kafka = format!("127.0.0.1:{}", free_port()?);
                    let child = Command::new(&args.broker_bin)
                        .args(["--node-id", &node_id(i).to_string(), "--peers", &peers])
                        .args(["--cluster-id", "bench", "--advertised-host", "127.0.0.1"])
                        .arg("--raft-addr")
                        .arg(format!("127.0.0.1:{raft}"))
                        .arg("--http-addr")
                        .arg(format!("127.0.0.1:{http}"))
                        .arg("--kafka-addr")
                        .arg(&kafka)
                        .arg("--data-dir")
                        .arg(dir.join(format!("chronik-{i}")))
                        .env("RUST_LOG", "warn")
                        .stdin(Stdio::null())
                        .spawn()
                        .with_context(|| format!("start {}", args.broker_bin.display()))?;
                    members.push(Member {
                        http: format!("http://127.0.0.1:{http}"),
                        kafka,
                        child: Some(child),
                    });
                }
            }
            System::Etcd => {
                let initial: Vec<String> = ports
                    .iter()
                    .enumerate()
                    .map(|(i, (_, peer))| format!("e{i}=http://127.0.0.1:{peer}"))
                    .collect();
                for (i, (client, peer)) in ports.iter().enumerate() {
                    let child = Command::new(&args.etcd_bin)
                        .args(["--name", &format!("e{i}")])
                        .arg("--data-dir")
                        .arg(dir.join(format!("etcd-{i}")))
                        .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
                        .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
                        .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
                        .arg(format!(
                            "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
                        ))
                        .arg(format!("--initial-cluster={}", initial.join(",")))
                        .args(["--initial-cluster-state", "new", "--log-level", "error"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .with_context(|| format!("start {}", args.etcd_bin.display()))?;
                    members.push(Member {
                        http: format!("http://127.0.0.1:{client}"),
                        kafka: String::new(),
                        child: Some(child),
                    });
                }
            }
        }
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency * 2)
            .timeout(Duration::from_secs(5))
            .build()?;
        let c = Self {
            system,
            members,
            client,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.leader_opt().await.is_none() {
            if Instant::now() > deadline {
                bail!("{} elected no leader within 30 s", system.name());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(c)
    }

    /// Index of the member that leads, if any answers as leader.
    async fn leader_opt(&self) -> Option<usize> {
        for (i, m) in self.members.iter().enumerate() {
            if m.child.is_none() {
                continue;
            }
            match self.system {
                System::Chronik => {
                    let s: BrokerStatus = self
                        .client
                        .get(format!("{}/v1/status", m.http))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()?;
                    if s.is_leader() {
                        return Some(i);
                    }
                }
                System::Etcd => {
                    let Ok(r) = self
                        .client
                        .post(format!("{}/v3/maintenance/status", m.http))
                        .body("{}")
                        .send()
                        .await
                    else {
                        continue;
                    };
                    let Ok(s) = r.json::<serde_json::Value>().await else {
                        continue;
                    };
                    if s["leader"].is_string() && s["leader"] == s["header"]["member_id"] {
                        return Some(i);
                    }
                }
            }
        }
        None
    }

    pub async fn leader(&self) -> Result<usize> {
        self.leader_opt().await.context("no leader")
    }

    /// One write of `value` under `key` to member `i`; Ok once committed.
    pub async fn put(&self, i: usize, key: &str, value: &[u8]) -> Result<()> {
        self.put_with_timeout(i, key, value, Duration::from_secs(5))
            .await
    }

    async fn put_with_timeout(
        &self,
        i: usize,
        key: &str,
        value: &[u8],
        timeout: Duration,
    ) -> Result<()> {
        let m = &self.members[i];
        let r = match self.system {
            System::Chronik => {
                self.client
                    .put(format!("{}/v1/kv/{key}", m.http))
                    .body(value.to_vec())
                    .timeout(timeout)
                    .send()
                    .await?
            }
            System::Etcd => {
                let b64 = base64::engine::general_purpose::STANDARD;
                let body = serde_json::json!({"key": b64.encode(key), "value": b64.encode(value)});
                self.client
                    .post(format!("{}/v3/kv/put", m.http))
                    .json(&body)
                    .timeout(timeout)
                    .send()
                    .await?
            }
        };
        if !r.status().is_success() {
            bail!("write refused: {}", r.status());
        }
        Ok(())
    }

    /// Kills the leader (SIGKILL) and measures until a write commits again.
    pub async fn kill_leader_and_time_next_commit(&mut self, leader: usize) -> Result<Duration> {
        if let Some(mut c) = self.members[leader].child.take() {
            c.kill()?;
            c.wait()?;
        }
        let killed = Instant::now();
        let value = vec![b'x'; 16];
        loop {
            for i in 0..self.members.len() {
                // A short timeout per attempt: a write parked on a dead leader
                // must not hide the moment a new leader commits.
                let alive = self.members[i].child.is_some();
                if alive
                    && self
                        .put_with_timeout(i, "failover", &value, PROBE_TIMEOUT)
                        .await
                        .is_ok()
                {
                    return Ok(killed.elapsed());
                }
            }
            if killed.elapsed() > Duration::from_secs(30) {
                bail!(
                    "{} did not commit within 30 s of losing its leader",
                    self.system.name()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Resident set size of member `i` in KiB.
    pub fn rss_kib(&self, i: usize) -> u64 {
        let Some(child) = &self.members[i].child else {
            return 0;
        };
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    pub fn stop(&mut self) {
        for m in &mut self.members {
            if let Some(mut c) = m.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
