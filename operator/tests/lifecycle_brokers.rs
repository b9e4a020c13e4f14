//! The lifecycle planner and broker client against real `chronik-broker`
//! processes on loopback: the test plays Kubernetes (a "StatefulSet" of
//! processes, pod readiness from `/readyz`) and scales 3 → 5 → 3, then rolls
//! all pods onto a new template revision, through the operator's planner and
//! `HttpBrokers`, checking the brokers' membership after every step. The
//! operator "crashes" (the client is dropped and recreated, the plan resumed
//! from the recorded status) between steps, and repeated steps are idempotent.
//!
//! Needs the broker binary of the same build: `cargo test --workspace` builds it
//! (alone: `cargo build -p chronik-broker` first, or set `CHRONIK_BROKER_BIN`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronik_api::{MemberRole, Membership, NodeId};
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::{Answers, BrokerApi, HttpBrokers};
use chronik_operator::crd::OperationStatus;
use chronik_operator::lifecycle::{
    plan, raft_view, Action, PlanInput, PlanState, PlannerSettings, PodView, RaftView, WorkloadView,
};
use chronik_testkit::binary::broker_binary;
use k8s_openapi::jiff::Timestamp;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// Ports of one would-be pod.
#[derive(Clone, Copy)]
struct Ports {
    raft: u16,
    http: u16,
    kafka: u16,
}

/// Loopback addresses of members 1..=9.
struct Loopback {
    ports: BTreeMap<u64, Ports>,
}

impl MemberAddresses for Loopback {
    fn pod_of(&self, id: NodeId) -> String {
        format!("c-{}", id.0 - 1)
    }
    fn raft_url_of(&self, id: NodeId) -> String {
        format!("http://127.0.0.1:{}", self.ports[&id.0].raft)
    }
    fn http_url_of(&self, id: NodeId) -> String {
        format!("http://127.0.0.1:{}", self.ports[&id.0].http)
    }
}

/// A fresh broker client: it keeps nothing between steps.
fn fresh_client() -> HttpBrokers {
    HttpBrokers::new(Duration::from_secs(2), Duration::from_secs(10)).expect("client")
}

/// Carry out the broker part of `action`, asking member `via` first.
async fn change(
    addresses: &Arc<Loopback>,
    via: u64,
    action: &Action,
) -> Result<Membership, chronik_operator::brokers::BrokerError> {
    let change = action.member_change().expect("a membership action");
    fresh_client().change(addresses.clone(), via, change).await
}

/// A "StatefulSet" of broker processes: pod ordinal o runs node id o + 1.
struct ProcessSet {
    binary: PathBuf,
    dir: tempfile::TempDir,
    addresses: Arc<Loopback>,
    peers: String,
    cluster_id: String,
    children: BTreeMap<u64, Child>,
    /// Pod template revision each process was started with.
    revisions: BTreeMap<u64, String>,
    /// The "StatefulSet's" current template revision.
    update_revision: String,
}

impl ProcessSet {
    fn new(initial: u64) -> Self {
        let ports: BTreeMap<u64, Ports> = (1..=5)
            .map(|id| {
                (
                    id,
                    Ports {
                        raft: free_port(),
                        http: free_port(),
                        kafka: free_port(),
                    },
                )
            })
            .collect();
        let addresses = Arc::new(Loopback { ports });
        let peers = (1..=initial)
            .map(|id| format!("{id}@{}", addresses.raft_url_of(NodeId(id))))
            .collect::<Vec<_>>()
            .join(",");
        Self {
            binary: broker_binary(),
            dir: tempfile::tempdir().expect("tempdir"),
            addresses,
            peers,
            cluster_id: "lifecycle-test".to_string(),
            children: BTreeMap::new(),
            revisions: BTreeMap::new(),
            update_revision: "r1".to_string(),
        }
    }

    /// Make the processes match `replicas` like a StatefulSet would.
    fn scale(&mut self, replicas: i32) {
        let replicas = u64::try_from(replicas).expect("replicas");
        let doomed: Vec<u64> = self
            .children
            .keys()
            .copied()
            .filter(|id| *id > replicas)
            .collect();
        for id in doomed {
            if let Some(mut child) = self.children.remove(&id) {
                let _ = child.kill();
                let _ = child.wait();
            }
            self.revisions.remove(&id);
        }
        for id in 1..=replicas {
            if !self.children.contains_key(&id) {
                self.spawn(id);
            }
        }
    }

    fn spawn(&mut self, id: u64) {
        let p = self.addresses.ports[&id];
        let child = Command::new(&self.binary)
            .arg("--node-id")
            .arg(id.to_string())
            .arg("--peers")
            .arg(&self.peers)
            .arg("--cluster-id")
            .arg(&self.cluster_id)
            .arg("--raft-addr")
            .arg(format!("127.0.0.1:{}", p.raft))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{}", p.http))
            .arg("--kafka-addr")
            .arg(format!("127.0.0.1:{}", p.kafka))
            .arg("--advertised-host")
            .arg("127.0.0.1")
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("node-{id}")))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn chronik-broker");
        self.children.insert(id, child);
        self.revisions.insert(id, self.update_revision.clone());
    }

    fn replicas(&self) -> i32 {
        i32::try_from(self.children.len()).expect("replicas")
    }
}

impl Drop for ProcessSet {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The recorded part of `status`: all a restarted operator has.
#[derive(Default)]
struct RecordedStatus {
    operation: Option<OperationStatus>,
}

struct Harness {
    set: ProcessSet,
    brokers: HttpBrokers,
    http: reqwest::Client,
    settings: PlannerSettings,
    recorded: RecordedStatus,
    /// Membership actions carried out, in order.
    actions: Vec<Action>,
}

impl Harness {
    async fn observe(&self) -> (WorkloadView, Option<RaftView>) {
        let mut answers = Vec::new();
        let mut pods = Vec::new();
        for id in self.set.children.keys() {
            let base = self.set.addresses.http_url_of(NodeId(*id));
            answers.push(self.brokers.status(base.clone()).await);
            let ready = self
                .http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            pods.push(PodView {
                ordinal: u32::try_from(*id - 1).expect("ordinal"),
                ready,
                terminating: false,
                revision: self.set.revisions.get(id).cloned(),
                failure: None,
            });
        }
        let workload = WorkloadView {
            statefulset_replicas: Some(self.set.replicas()),
            update_revision: Some(self.set.update_revision.clone()),
            pods,
        };
        (workload, raft_view(&Answers::new(answers)))
    }

    /// Run planner + client until the cluster matches `desired`; the
    /// client is recreated and the plan resumed from the recorded status
    /// after every step, and
    /// every `crash_every`-th step is lost (recorded, then the "operator"
    /// dies before carrying it out).
    async fn converge(&mut self, desired: i32, crash_every: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut step = 0usize;
        loop {
            assert!(
                Instant::now() < deadline,
                "no convergence to {desired}; last record {:?}",
                self.recorded.operation
            );
            let (workload, raft) = self.observe().await;
            let p = plan(&PlanInput {
                desired_replicas: desired,
                paused: false,
                addresses: self.set.addresses.as_ref(),
                workload: &workload,
                raft: raft.as_ref(),
                recorded: self.recorded.operation.as_ref(),
                settings: &self.settings,
                now: Timestamp::now(),
            });
            if p.state == PlanState::Done {
                self.recorded.operation = None;
                return;
            }
            assert_ne!(p.state, PlanState::Blocked, "{}", p.message);
            // Record first, as the controller writes status before acting.
            self.recorded.operation = p.operation.clone();
            step += 1;
            if crash_every > 0 && step.is_multiple_of(crash_every) {
                // Crash: the step is lost; the next pass starts from the record.
                continue;
            }
            if let Some(replicas) = p.statefulset_replicas {
                self.set.scale(replicas);
            }
            if let (Some(Action::DeletePod { pod }), Some(raft)) = (&p.action, &raft) {
                // The StatefulSet (OnDelete) recreates the pod from the new
                // template with the same data directory.
                let id = pod
                    .strip_prefix("c-")
                    .and_then(|o| o.parse::<u64>().ok())
                    .expect("pod name")
                    + 1;
                assert_ne!(
                    id, raft.leader_id,
                    "the leader is restarted only after a transfer"
                );
                if let Some(mut child) = self.set.children.remove(&id) {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                self.set.spawn(id);
                self.actions.push(Action::DeletePod { pod: pod.clone() });
            } else if let (Some(action), Some(raft)) = (&p.action, &raft) {
                // Ask a follower first now and then, to exercise the 421 redirect.
                let via = if step.is_multiple_of(2) {
                    raft.members
                        .iter()
                        .map(|m| m.id)
                        .find(|id| *id != raft.leader_id && self.set.children.contains_key(id))
                        .unwrap_or(raft.leader_id)
                } else {
                    raft.leader_id
                };
                match change(&self.set.addresses, via, action).await {
                    Ok(m) => {
                        check_membership_after(action, &m);
                        self.actions.push(action.clone());
                        // Plan again only once `/v1/status` shows the change,
                        // as a controller's next pass would.
                        let expected: Vec<(u64, MemberRole)> =
                            m.members.iter().map(|x| (x.id, x.role)).collect();
                        self.assert_membership(&expected).await;
                    }
                    Err(e) => panic!("{}: {e}", p.message),
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The leader's membership as `(id, role)`.
    async fn membership(&self) -> Vec<(u64, MemberRole)> {
        let (_, raft) = self.observe().await;
        let raft = raft.expect("a leader");
        let mut members: Vec<(u64, MemberRole)> =
            raft.members.iter().map(|m| (m.id, m.role)).collect();
        members.sort_by_key(|m| m.0);
        members
    }

    /// Wait (up to 5 s: `/v1/status` is published by the Raft loop) until
    /// the leader reports `expected`.
    async fn assert_membership(&self, expected: &[(u64, MemberRole)]) {
        let mut expected = expected.to_vec();
        expected.sort_by_key(|m| m.0);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let seen = self.membership().await;
            if seen == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "membership {seen:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The broker's answer to a change shows the change.
fn check_membership_after(action: &Action, m: &Membership) {
    let role = |id: u64| m.members.iter().find(|x| x.id == id).map(|x| x.role);
    match action {
        Action::AddLearner { id, .. } => {
            assert_eq!(role(*id), Some(MemberRole::Learner), "{m:?}")
        }
        Action::Promote { id } => assert_eq!(role(*id), Some(MemberRole::Voter), "{m:?}"),
        Action::RemoveMember { id } => assert_eq!(role(*id), None, "{m:?}"),
        Action::TransferLeader { .. } | Action::DeletePod { .. } => {}
    }
}

fn voters(ids: std::ops::RangeInclusive<u64>) -> Vec<(u64, MemberRole)> {
    ids.map(|id| (id, MemberRole::Voter)).collect()
}

async fn wait_for_leader(h: &Harness) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if h.observe().await.1.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the initial 3 brokers elected no leader within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_3_to_5_to_3_through_the_broker_client_with_crashes() {
    let mut set = ProcessSet::new(3);
    set.scale(3);
    let mut h = Harness {
        set,
        brokers: fresh_client(),
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client"),
        settings: PlannerSettings::default(),
        recorded: RecordedStatus::default(),
        actions: Vec::new(),
    };
    wait_for_leader(&h).await;
    h.assert_membership(&voters(1..=3)).await;

    // An operator that added learner 4 and crashed before recording it adds
    // it again after the restart: a no-op on the broker (same URL).
    let (_, raft) = h.observe().await;
    let leader = raft.expect("leader").leader_id;
    let add4 = Action::AddLearner {
        id: 4,
        url: h.set.addresses.raft_url_of(NodeId(4)),
    };
    for _ in 0..2 {
        let done = change(&h.set.addresses, leader, &add4)
            .await
            .expect("adding learner 4 (again) succeeds");
        assert_eq!(
            done.members.iter().find(|m| m.id == 4).map(|m| m.role),
            Some(MemberRole::Learner)
        );
    }
    let mut expected = voters(1..=3);
    expected.push((4, MemberRole::Learner));
    h.assert_membership(&expected).await;

    // 3 → 5 from there, every third step lost to a crash.
    h.converge(5, 3).await;
    h.assert_membership(&voters(1..=5)).await;
    assert_eq!(h.set.replicas(), 5);
    let added: Vec<String> = h
        .actions
        .iter()
        .map(|a| format!("{a:?}"))
        .filter(|a| !a.starts_with("TransferLeader"))
        .collect();
    assert_eq!(
        added,
        [
            "Promote { id: 4 }".to_string(),
            format!(
                "AddLearner {{ id: 5, url: {:?} }}",
                h.set.addresses.raft_url_of(NodeId(5))
            ),
            "Promote { id: 5 }".to_string(),
        ]
    );
    h.actions.clear();

    // Make a leaving member the leader: it must hand leadership off first.
    let (_, raft) = h.observe().await;
    let leader = raft.expect("leader").leader_id;
    change(
        &h.set.addresses,
        leader,
        &Action::TransferLeader {
            from: leader,
            to: 5,
        },
    )
    .await
    .expect("transfer to member 5");
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.observe().await.1.map(|r| r.leader_id) != Some(5) {
        assert!(Instant::now() < deadline, "member 5 never became leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 5 → 3, every second step lost to a crash.
    h.converge(3, 2).await;
    h.assert_membership(&voters(1..=3)).await;
    assert_eq!(h.set.replicas(), 3);
    let removed: Vec<u64> = h
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::RemoveMember { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(removed, [5, 4]);
    assert!(
        matches!(
            h.actions.first(),
            Some(Action::TransferLeader { from: 5, .. })
        ),
        "leadership leaves member 5 before it is removed: {:?}",
        h.actions
    );

    // A step repeated by an operator that crashed after carrying it out but
    // before recording the next one changes nothing on the broker.
    let (_, raft) = h.observe().await;
    let leader = raft.expect("leader").leader_id;
    let again = change(&h.set.addresses, leader, &Action::RemoveMember { id: 5 })
        .await
        .expect("removing an absent member is a no-op");
    assert!(again.members.iter().all(|m| m.id != 5), "{again:?}");
    h.assert_membership(&voters(1..=3)).await;

    // A roll (new pod template): followers first, the leader last after a
    // transfer, each restart gated on Ready and caught up; crashes lose
    // every third step.
    let (_, raft) = h.observe().await;
    let leader = raft.expect("leader").leader_id;
    h.set.update_revision = "r2".to_string();
    h.actions.clear();
    h.converge(3, 3).await;
    assert!(
        h.set.revisions.values().all(|r| r == "r2"),
        "{:?}",
        h.set.revisions
    );
    h.assert_membership(&voters(1..=3)).await;
    let deleted: Vec<String> = h
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::DeletePod { pod } => Some(pod.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted.len(), 3, "each pod restarted once: {:?}", h.actions);
    assert_eq!(
        deleted.last().map(String::as_str),
        Some(format!("c-{}", leader - 1).as_str()),
        "the leader's pod last: {:?}",
        h.actions
    );
    let transfer = h
        .actions
        .iter()
        .position(|a| matches!(a, Action::TransferLeader { from, .. } if *from == leader))
        .expect("leadership transferred before the leader restarts");
    assert_eq!(transfer, h.actions.len() - 2, "{:?}", h.actions);
}
