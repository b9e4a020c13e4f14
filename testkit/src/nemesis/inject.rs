//! Injects a [`Schedule`]'s faults into a [`TestCluster`] (and its network
//! namespaces, when it runs in a [`Lab`]), one at a time: each fault is
//! undone before the next, and the next waits (bounded) until the cluster is
//! whole again (every broker ready and a voter, every partition group led),
//! so a majority can always come back. Every fault is
//! logged with its time and outcome.

use std::time::{Duration, Instant};

use chronik_api::{AddMemberRequest, MemberRole, TransferLeaderRequest};
use serde_json::Value;

use super::schedule::{Fault, Schedule};
use crate::cluster::TestCluster;
use crate::netns::Lab;

const SEC: Duration = Duration::from_secs(1);

/// A fault as it was injected.
#[derive(Clone, Debug)]
pub struct Injected {
    /// Since the nemesis started.
    pub at: Duration,
    /// What was done.
    pub fault: Fault,
    /// How it went (answers of the HTTP API, waits that timed out).
    pub outcome: String,
}

/// The cluster under test and its network, as the nemesis drives them.
pub struct Nemesis<'a> {
    /// The brokers.
    pub cluster: &'a mut TestCluster,
    /// Their namespaces, when partitions can be injected.
    pub lab: Option<&'a Lab>,
    /// Every fault injected so far.
    pub log: Vec<Injected>,
    started: Instant,
}

impl<'a> Nemesis<'a> {
    /// A nemesis against `cluster`.
    pub fn new(cluster: &'a mut TestCluster, lab: Option<&'a Lab>) -> Self {
        Self {
            cluster,
            lab,
            log: Vec::new(),
            started: Instant::now(),
        }
    }

    fn ids(&self) -> Vec<u64> {
        self.cluster.specs.keys().copied().collect()
    }

    /// Runs the schedule's steps until `duration` has passed.
    pub async fn run(&mut self, schedule: &Schedule, duration: Duration) {
        for step in &schedule.steps {
            if self.started.elapsed() + step.wait >= duration {
                break;
            }
            tokio::time::sleep(step.wait).await;
            let at = self.started.elapsed();
            let outcome = self.inject(&step.fault).await;
            let settle = self.wait_whole(90 * SEC).await;
            let whole = settle.is_ok();
            let outcome = match settle {
                Ok(()) => outcome,
                Err(e) => format!("{outcome}; {e}; no more faults"),
            };
            eprintln!("nemesis: at {at:?}: {} ({outcome})", step.fault);
            self.log.push(Injected {
                at,
                fault: step.fault.clone(),
                outcome,
            });
            if !whole {
                // Another fault now could take the majority down for good
                // (a wiped voter beside a learner); the heal phase decides.
                break;
            }
        }
    }

    /// Injects one fault and undoes it; returns its outcome.
    pub async fn inject(&mut self, fault: &Fault) -> String {
        match fault {
            Fault::Kill { node, down } => {
                self.cluster.kill9(*node);
                tokio::time::sleep(*down).await;
                self.cluster.spawn(*node);
                "restarted".into()
            }
            Fault::Pause { node, paused } => {
                self.cluster.pause(*node);
                tokio::time::sleep(*paused).await;
                self.cluster.resume(*node);
                "resumed".into()
            }
            Fault::Partition { node, isolated } => match self.lab {
                Some(lab) => {
                    lab.isolate(*node);
                    tokio::time::sleep(*isolated).await;
                    lab.heal(*node);
                    "healed".into()
                }
                None => "skipped: no network namespaces".into(),
            },
            Fault::Wipe { node } => {
                self.cluster.kill9(*node);
                self.wipe(*node);
                self.cluster.spawn(*node);
                "restarted with an empty data directory".into()
            }
            Fault::TransferLeader { node } => match self.leader().await {
                Some(leader) => {
                    let body =
                        serde_json::to_value(TransferLeaderRequest { target_id: *node }).ok();
                    let r = self.post(leader, "/v1/leader/transfer", body).await;
                    format!("leader {leader}: {r}")
                }
                None => "no leader to ask".into(),
            },
            Fault::Rejoin { node } => self.rejoin(*node).await,
            Fault::Restart { node } => {
                let exit = self.cluster.terminate(*node, 10 * SEC);
                self.cluster.spawn(*node);
                format!("exit {exit:?}, restarted")
            }
        }
    }

    fn wipe(&self, node: u64) {
        let dir = self.cluster.data_dir(node);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("wipe {}: {e}", dir.display()));
        }
    }

    /// Removes `node`, wipes it, adds it back as a learner and promotes it.
    async fn rejoin(&mut self, node: u64) -> String {
        let mut steps = Vec::new();
        if self.leader().await == Some(node) {
            let r = self
                .post(
                    node,
                    "/v1/leader/transfer",
                    serde_json::to_value(TransferLeaderRequest::default()).ok(),
                )
                .await;
            steps.push(format!("moved leadership away: {r}"));
            let others: Vec<u64> = self.ids().into_iter().filter(|i| *i != node).collect();
            if self.wait_leader_among(&others, 20 * SEC).await.is_none() {
                steps.push("no other leader".into());
                return steps.join("; ");
            }
        }
        let removed = self
            .retry(20 * SEC, |n, leader| {
                Box::pin(async move { n.delete(leader, &format!("/v1/members/{node}")).await })
            })
            .await;
        steps.push(format!("remove: {removed}"));
        if !removed.starts_with("200") {
            return steps.join("; ");
        }
        self.cluster.kill9(node);
        self.wipe(node);
        let url = self.cluster.specs[&node].raft_url();
        let added = self
            .retry(30 * SEC, move |n, leader| {
                let body = serde_json::to_value(AddMemberRequest {
                    id: node,
                    url: url.clone(),
                })
                .ok();
                Box::pin(async move { n.post(leader, "/v1/members", body).await })
            })
            .await;
        steps.push(format!("add learner: {added}"));
        self.cluster.spawn(node);
        steps.push(format!("promote: {}", self.promote(node, 90 * SEC).await));
        steps.join("; ")
    }

    /// Promotes `node` through the leader until the leader answers 200 or
    /// says it is a voter already (the cluster may also promote it on its
    /// own, for a member rejoining after a wiped disk).
    pub async fn promote(&self, node: u64, within: Duration) -> String {
        let deadline = Instant::now() + within;
        let mut last = String::from("no leader");
        while Instant::now() < deadline {
            if let Some(leader) = self.leader().await {
                last = self
                    .post(leader, &format!("/v1/members/{node}/promote"), None)
                    .await;
                if last == "200" || last.contains("is already a voter") {
                    return last;
                }
            }
            tokio::time::sleep(SEC).await;
        }
        format!("still not a voter after {within:?}: {last}")
    }

    /// One promotion attempt of every learner in the leader's configuration
    /// (undoing a membership fault whose promotion did not finish; a member
    /// rejoining after a wiped disk answers 409 and the cluster promotes it).
    pub async fn promote_learners(&self) {
        let Some(leader) = self.leader().await else {
            return;
        };
        let Some(status) = self.cluster.status(leader).await else {
            return;
        };
        for m in status
            .members
            .iter()
            .filter(|m| m.role == MemberRole::Learner)
        {
            let path = format!("/v1/members/{}/promote", m.id);
            self.post(leader, &path, None).await;
        }
    }

    /// Retries a membership request through the current leader until it
    /// answers 200 or `within` passes; returns the last answer.
    async fn retry<F>(&self, within: Duration, f: F) -> String
    where
        F: for<'n> Fn(
            &'n Self,
            u64,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + 'n>>,
    {
        let deadline = Instant::now() + within;
        let mut last = String::from("no leader");
        while Instant::now() < deadline {
            if let Some(leader) = self.leader().await {
                last = f(self, leader).await;
                if last.starts_with("200") {
                    break;
                }
            }
            tokio::time::sleep(500 * Duration::from_millis(1)).await;
        }
        last
    }

    /// The metadata leader among the running brokers.
    pub async fn leader(&self) -> Option<u64> {
        self.cluster.leader(&self.cluster.running()).await
    }

    async fn wait_leader_among(&self, ids: &[u64], within: Duration) -> Option<u64> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(l) = self.cluster.leader(ids).await {
                return Some(l);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    async fn post(&self, via: u64, path: &str, body: Option<Value>) -> String {
        let url = format!("{}{path}", self.cluster.specs[&via].http());
        let mut request = self.cluster.client.post(url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await).await
    }

    async fn delete(&self, via: u64, path: &str) -> String {
        let url = format!("{}{path}", self.cluster.specs[&via].http());
        answer(self.cluster.client.delete(url).send().await).await
    }

    /// Waits until every broker's `/readyz` answers 2xx.
    pub async fn wait_all_ready(&self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let mut unready = Vec::new();
            for id in self.ids() {
                if !self.cluster.ready(id).await {
                    unready.push(id);
                }
            }
            if unready.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("brokers {unready:?} not ready after {within:?}"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Whether the cluster is whole again: every broker ready, a metadata
    /// leader whose configuration has every broker as a voter (none
    /// rejoining), and every partition group converged with exactly one
    /// leader (no replica without one). `Err` says what is missing.
    pub async fn whole(&self) -> Result<(), String> {
        self.wait_all_ready(Duration::ZERO).await?;
        let leader = self.leader().await.ok_or("no metadata leader")?;
        let status = self
            .cluster
            .status(leader)
            .await
            .ok_or("the leader does not answer")?;
        for id in self.ids() {
            match status.member(id) {
                Some(m) if m.role == MemberRole::Voter && m.rejoining.is_none() => {}
                other => return Err(format!("node {id} is not a voter yet: {other:?}")),
            }
        }
        let mut led = 0;
        for id in self.ids() {
            let g = self
                .cluster
                .groups(id)
                .await
                .ok_or(format!("node {id} does not answer"))?;
            if g.unconverged > 0 || g.leaderless > 0 || g.total != status.groups.total {
                return Err(format!("node {id}'s partition groups: {g:?}"));
            }
            led += g.led;
        }
        if led != status.groups.total {
            return Err(format!(
                "{led} partition leaders for {} groups",
                status.groups.total
            ));
        }
        Ok(())
    }

    /// Waits (bounded) until [`Self::whole`]: the next fault then finds
    /// every broker a voter again, so a majority can always come back.
    pub async fn wait_whole(&self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            match self.whole().await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("not whole after {within:?}: {e}"))
                }
                Err(e) if e.contains("not a voter") => {
                    self.promote_learners().await;
                    tokio::time::sleep(SEC).await;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// The heal phase: every paused broker resumed, every link up, every
    /// broker that is down started, every learner promoted.
    pub async fn heal_all(&mut self) {
        let running = self.cluster.running();
        for id in self.ids() {
            if running.contains(&id) {
                self.cluster.resume(id);
            } else {
                self.cluster.spawn(id);
            }
            if let Some(lab) = self.lab {
                lab.heal(id);
            }
        }
    }
}

async fn answer(r: reqwest::Result<reqwest::Response>) -> String {
    match r {
        Ok(r) if r.status().is_success() => r.status().as_u16().to_string(),
        Ok(r) => {
            let code = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            let body: String = body.chars().take(200).collect();
            format!("{code} {body}")
        }
        Err(e) => format!("request failed: {e}"),
    }
}
