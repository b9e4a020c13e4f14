//! Pure planner tests: a simulated cluster (Raft membership, StatefulSet,
//! pods) executes the planner's steps; invariants are checked after every
//! step, and an operator crash is injected between each pair of steps.

use std::collections::BTreeMap;

use chronik_api::{MemberRole, MemberStatus, NodeId, RejoinState};
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::crd::{OperationKind, OperationStatus, OperationStep};
use chronik_operator::lifecycle::{
    plan, Action, PartitionReplication, Plan, PlanInput, PlanState, PlannerSettings, PodView,
    RaftView, WorkloadView,
};
use chronik_operator::validate::quorum;
use k8s_openapi::jiff::Timestamp;

struct Names;
impl MemberAddresses for Names {
    fn pod_of(&self, id: NodeId) -> String {
        format!("c-{}", id.0 - 1)
    }
    fn raft_url_of(&self, id: NodeId) -> String {
        format!("http://c-{}.c-headless:5001", id.0 - 1)
    }
    fn http_url_of(&self, id: NodeId) -> String {
        format!("http://c-{}.c-headless:8080", id.0 - 1)
    }
}

#[derive(Clone, Debug)]
struct Pod {
    revision: String,
    ready: bool,
    failure: Option<String>,
}

/// A cluster the test plays Kubernetes and Raft for.
#[derive(Clone, Debug)]
struct World {
    members: BTreeMap<u64, (MemberRole, u64)>,
    leader: u64,
    commit: u64,
    sts: i32,
    pods: BTreeMap<i32, Pod>,
    revision: String,
    /// Revisions whose pods never become Ready.
    bad_revisions: Vec<String>,
    recorded: Option<OperationStatus>,
    actions: Vec<Action>,
    now: i64,
    /// Member → partition groups in which it is behind. A restarted member
    /// catches up in its partition groups one tick after the metadata group.
    partition_lag: BTreeMap<u64, u64>,
}

impl World {
    fn new(n: u64) -> Self {
        let members = (1..=n).map(|id| (id, (MemberRole::Voter, 100))).collect();
        let pods = (0..n as i32)
            .map(|o| {
                (
                    o,
                    Pod {
                        revision: "r1".into(),
                        ready: true,
                        failure: None,
                    },
                )
            })
            .collect();
        Self {
            members,
            leader: 1,
            commit: 100,
            sts: n as i32,
            pods,
            revision: "r1".into(),
            bad_revisions: vec![],
            recorded: None,
            actions: vec![],
            now: 1_700_000_000,
            partition_lag: BTreeMap::new(),
        }
    }

    fn raft(&self) -> RaftView {
        RaftView {
            leader_id: self.leader,
            commit_index: self.commit,
            members: self
                .members
                .iter()
                .map(|(id, (role, m))| MemberStatus {
                    id: *id,
                    url: Names.raft_url_of(NodeId(*id)),
                    role: *role,
                    match_index: Some(*m),
                    incarnation: String::new(),
                    rejoining: None,
                })
                .collect(),
            unconverged_groups: 0,
            partitions: PartitionReplication {
                leaderless: 0,
                lagging: self.partition_lag.clone(),
            },
        }
    }

    fn workload(&self) -> WorkloadView {
        WorkloadView {
            statefulset_replicas: Some(self.sts),
            update_revision: Some(self.revision.clone()),
            pods: self
                .pods
                .iter()
                .map(|(o, p)| PodView {
                    ordinal: u32::try_from(*o).unwrap(),
                    ready: p.ready,
                    terminating: false,
                    revision: Some(p.revision.clone()),
                    failure: p.failure.clone(),
                })
                .collect(),
        }
    }

    fn plan(&self, desired: i32, paused: bool) -> Plan {
        let settings = PlannerSettings::default();
        let workload = self.workload();
        let raft = self.raft();
        plan(&PlanInput {
            desired_replicas: desired,
            paused,
            addresses: &Names,
            workload: &workload,
            raft: Some(&raft),
            recorded: self.recorded.as_ref(),
            settings: &settings,
            now: Timestamp::from_second(self.now).unwrap(),
        })
    }

    fn voters(&self) -> Vec<u64> {
        self.members
            .iter()
            .filter(|(_, (r, _))| *r == MemberRole::Voter)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Kubernetes and Raft move on: the StatefulSet creates/deletes pods,
    /// pods of members become Ready, members catch up.
    fn tick(&mut self) {
        self.now += 5;
        let commit = self.commit;
        let members = &self.members;
        self.partition_lag
            .retain(|id, _| members.get(id).is_none_or(|m| m.1 < commit));
        self.pods.retain(|o, _| *o < self.sts);
        for o in 0..self.sts {
            self.pods.entry(o).or_insert(Pod {
                revision: self.revision.clone(),
                ready: false,
                failure: None,
            });
        }
        for (o, pod) in self.pods.iter_mut() {
            let id = *o as u64 + 1;
            if self.bad_revisions.contains(&pod.revision) {
                pod.ready = false;
                pod.failure = Some("CrashLoopBackOff".into());
            } else if self.members.contains_key(&id) {
                if pod.ready {
                    if let Some(m) = self.members.get_mut(&id) {
                        m.1 = self.commit;
                    }
                }
                pod.ready = true;
                pod.failure = None;
            }
        }
    }

    fn apply(&mut self, action: &Action) {
        self.actions.push(action.clone());
        match action {
            Action::AddLearner { id, url } => {
                assert_eq!(url, &Names.raft_url_of(NodeId(*id)));
                assert!(
                    self.members.values().all(|(r, _)| *r == MemberRole::Voter),
                    "one membership change at a time"
                );
                self.members.entry(*id).or_insert((MemberRole::Learner, 0));
            }
            Action::Promote { id } => {
                let lag = self.commit - self.members[id].1;
                assert!(lag <= 1000, "promote refused: lag {lag}");
                self.members.get_mut(id).unwrap().0 = MemberRole::Voter;
            }
            Action::RemoveMember { id } => {
                assert_ne!(*id, self.leader, "the leader cannot be removed");
                self.members.remove(id);
            }
            Action::TransferLeader { from, to } => {
                assert_eq!(*from, self.leader);
                assert_eq!(self.members[to].0, MemberRole::Voter);
                self.leader = *to;
            }
            Action::DeletePod { pod } => {
                let o: i32 = pod.trim_start_matches("c-").parse().unwrap();
                let p = self.pods.get_mut(&o).unwrap();
                assert_ne!(
                    self.leader,
                    o as u64 + 1,
                    "the leader is restarted last, after a transfer"
                );
                let id = o as u64 + 1;
                assert!(
                    self.partition_lag.keys().all(|k| *k == id),
                    "restarting member {id} while others are behind in partition groups: {:?}",
                    self.partition_lag
                );
                p.revision = self.revision.clone();
                p.ready = false;
                self.members.get_mut(&id).unwrap().1 = 0;
                self.partition_lag.insert(id, 3);
            }
        }
        self.commit += 1;
    }

    fn check_invariants(&self) {
        let voters = self.voters();
        let serving = voters
            .iter()
            .filter(|id| self.pods.get(&(**id as i32 - 1)).is_some_and(|p| p.ready))
            .count() as i32;
        assert!(
            serving >= quorum(voters.len() as i32),
            "quorum broken: {serving}/{} voters serving: {self:#?}",
            voters.len()
        );
        assert!(self.members.contains_key(&self.leader));
    }

    /// Run the operator until done; `crash_at` = step index after whose
    /// recording the operator crashes before acting (the action is lost), and
    /// the record survives in status.
    fn run(&mut self, desired: i32, crash_at: Option<usize>) -> Vec<Plan> {
        let mut plans = Vec::new();
        for i in 0..200 {
            let p = self.plan(desired, false);
            if p.state == PlanState::Done || p.state == PlanState::Blocked {
                self.recorded = p.operation.clone();
                plans.push(p);
                return plans;
            }
            // The status write (record) happens before the action.
            self.recorded = p.operation.clone();
            let crashed = crash_at == Some(i);
            if !crashed {
                if let Some(r) = p.statefulset_replicas {
                    let highest = *self.members.keys().max().unwrap() as i32;
                    assert!(
                        r >= self.sts || r >= highest,
                        "shrunk past member {highest}"
                    );
                    self.sts = r;
                }
                if let Some(a) = &p.action {
                    self.apply(a);
                }
            }
            self.check_invariants();
            self.tick();
            self.check_invariants();
            plans.push(p);
        }
        panic!("no convergence: {self:#?}");
    }

    fn assert_converged(&self, n: u64) {
        assert_eq!(self.voters(), (1..=n).collect::<Vec<_>>());
        assert_eq!(self.members.len() as u64, n);
        assert_eq!(self.sts, n as i32);
        assert!(self
            .pods
            .values()
            .all(|p| p.ready && p.revision == self.revision));
    }
}

fn membership_actions(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::AddLearner { id, .. } => format!("add {id}"),
            Action::Promote { id } => format!("promote {id}"),
            Action::RemoveMember { id } => format!("remove {id}"),
            Action::TransferLeader { from, to } => format!("transfer {from}->{to}"),
            Action::DeletePod { pod } => format!("delete {pod}"),
        })
        .collect()
}

#[test]
fn scale_up_3_to_5_adds_learners_then_grows_then_promotes() {
    let mut w = World::new(3);
    let plans = w.run(5, None);
    w.assert_converged(5);
    assert_eq!(
        membership_actions(&w.actions),
        ["add 4", "promote 4", "add 5", "promote 5"]
    );
    let messages: Vec<&str> = plans.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages[0], "adding member 4 as learner");
    assert_eq!(messages[1], "growing the StatefulSet to 4 pods");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("waiting for member 4")),
        "{messages:?}"
    );
    // The StatefulSet grows only after the learner was added.
    assert_eq!(plans[0].statefulset_replicas, Some(3));
    assert_eq!(plans[1].statefulset_replicas, Some(4));
    let op = plans[0].operation.as_ref().unwrap();
    assert_eq!(
        (op.kind, op.step, op.member_id, op.target_replicas),
        (OperationKind::Scale, OperationStep::AddLearner, Some(4), 5)
    );
    assert_eq!(op.pod.as_deref(), Some("c-3"));
    assert!(plans.last().unwrap().operation.is_none());
    // Existing pods are never restarted.
    assert!(w
        .actions
        .iter()
        .all(|a| !matches!(a, Action::DeletePod { .. })));
}

#[test]
fn waiting_for_catch_up_reports_the_lag() {
    let mut w = World::new(3);
    w.members.insert(4, (MemberRole::Learner, 0));
    w.commit = 1303;
    w.sts = 4;
    w.pods.insert(
        3,
        Pod {
            revision: "r1".into(),
            ready: true,
            failure: None,
        },
    );
    w.members.get_mut(&4).unwrap().1 = 100;
    let p = w.plan(5, false);
    assert_eq!(
        p.message,
        "waiting for member 4 to catch up: lag 1203 entries"
    );
    assert_eq!(p.action, None);
    assert_eq!(p.operation.unwrap().step, OperationStep::CatchUp);
}

#[test]
fn scale_down_5_to_3_transfers_leadership_and_removes_before_shrinking() {
    let mut w = World::new(5);
    w.leader = 5;
    let plans = w.run(3, None);
    w.assert_converged(3);
    let actions = membership_actions(&w.actions);
    assert_eq!(actions[0], "transfer 5->1");
    assert_eq!(&actions[1..], ["remove 5", "remove 4"]);
    // The StatefulSet shrinks only after each removal was committed.
    let shrink: Vec<_> = plans
        .iter()
        .filter(|p| {
            p.operation
                .as_ref()
                .is_some_and(|o| o.step == OperationStep::ShrinkStatefulSet)
        })
        .map(|p| p.statefulset_replicas)
        .collect();
    assert_eq!(shrink, [Some(4), Some(3)]);
    assert_eq!(plans.last().unwrap().pdb_min_available, 2);
}

#[test]
fn scale_down_5_to_1_is_stepwise_and_never_breaks_quorum() {
    let mut w = World::new(5);
    w.leader = 3;
    w.run(1, None);
    w.assert_converged(1);
    assert_eq!(
        membership_actions(&w.actions),
        [
            "remove 5",
            "remove 4",
            "transfer 3->1",
            "remove 3",
            "remove 2"
        ]
    );
}

#[test]
fn removal_waits_when_it_would_break_quorum() {
    let mut w = World::new(5);
    for o in [0, 1] {
        w.pods.get_mut(&o).unwrap().ready = false;
    }
    w.leader = 3;
    let p = w.plan(3, false);
    assert_eq!(p.action, None);
    assert_eq!(p.reason, "WaitingForQuorum");
    assert!(
        p.message
            .contains("removing member 5 would leave 2/4 healthy voters, quorum needs 3"),
        "{}",
        p.message
    );
}

#[test]
fn roll_restarts_followers_first_and_the_leader_last_after_a_transfer() {
    let mut w = World::new(3);
    w.leader = 2;
    w.revision = "r2".into();
    let plans = w.run(3, None);
    w.assert_converged(3);
    assert_eq!(
        membership_actions(&w.actions),
        ["delete c-2", "delete c-0", "transfer 2->1", "delete c-1"]
    );
    // Every restart waited for the previous pod to be Ready and caught up.
    let mut saw_wait = 0;
    for p in &plans {
        if p.message.starts_with("waiting for pod") || p.message.starts_with("waiting for member") {
            saw_wait += 1;
        }
    }
    assert!(
        saw_wait >= 3,
        "{:?}",
        plans.iter().map(|p| &p.message).collect::<Vec<_>>()
    );
    // ...and for its partition groups, which catch up after the metadata
    // group (World::apply fails a restart while another member lags).
    assert!(
        plans.iter().any(|p| p
            .message
            .contains("member 3 is behind in 3 partition group(s)")),
        "{:?}",
        plans.iter().map(|p| &p.message).collect::<Vec<_>>()
    );
    assert_eq!(
        plans[0].operation.as_ref().unwrap().kind,
        OperationKind::Roll
    );
    assert_eq!(
        plans[0].operation.as_ref().unwrap().revision.as_deref(),
        Some("r2")
    );
}

#[test]
fn a_failed_roll_stops_with_degraded_and_reverting_resumes() {
    let mut w = World::new(3);
    w.revision = "bad".into();
    w.bad_revisions = vec!["bad".into()];
    let plans = w.run(3, None);
    let last = plans.last().unwrap();
    assert_eq!(last.state, PlanState::Blocked);
    assert_eq!(last.reason, "RollStopped");
    assert!(
        last.message
            .contains("pod c-2 does not become Ready (CrashLoopBackOff)"),
        "{}",
        last.message
    );
    assert_eq!(
        membership_actions(&w.actions),
        ["delete c-2"],
        "no further pod touched"
    );
    // Still stopped on the next look.
    assert_eq!(w.plan(3, false).state, PlanState::Blocked);
    // Revert: the broken pod goes back to the good revision, nothing else restarts.
    w.revision = "r1".into();
    w.run(3, None);
    w.assert_converged(3);
    assert_eq!(membership_actions(&w.actions), ["delete c-2", "delete c-2"]);
}

#[test]
fn a_restarted_pod_not_ready_past_the_timeout_stops_the_roll() {
    let mut w = World::new(3);
    w.revision = "r2".into();
    let p = w.plan(3, false);
    w.recorded = p.operation.clone();
    w.apply(p.action.as_ref().unwrap());
    // The pod stays not Ready without a failure reason.
    let p = w.plan(3, false);
    assert_eq!(p.reason, "WaitingForPod");
    w.recorded = p.operation.clone();
    w.now += 301;
    let p = w.plan(3, false);
    assert_eq!(p.state, PlanState::Blocked);
    assert!(p.message.contains("not Ready after 301s"), "{}", p.message);
}

#[test]
fn paused_changes_nothing_but_keeps_the_record() {
    let mut w = World::new(3);
    let p = w.plan(5, false);
    w.recorded = p.operation.clone();
    let paused = w.plan(5, true);
    assert_eq!(paused.state, PlanState::Paused);
    assert_eq!(paused.action, None);
    assert_eq!(paused.statefulset_replicas, None);
    assert_eq!(paused.operation, w.recorded);
    w.revision = "r2".into();
    assert_eq!(w.plan(3, true).action, None);
}

#[test]
fn a_member_rejoining_after_a_wiped_disk_is_promoted_by_the_brokers_not_the_operator() {
    let mut w = World::new(3);
    w.members.insert(3, (MemberRole::Learner, 100));
    let settings = PlannerSettings::default();
    let workload = w.workload();
    let plan_with = |raft: &RaftView| {
        plan(&PlanInput {
            desired_replicas: 3,
            paused: false,
            addresses: &Names,
            workload: &workload,
            raft: Some(raft),
            recorded: None,
            settings: &settings,
            now: Timestamp::from_second(w.now).unwrap(),
        })
    };
    let mut raft = w.raft();
    assert_eq!(plan_with(&raft).action, Some(Action::Promote { id: 3 }));
    for state in [RejoinState::NewIncarnation, RejoinState::CatchingUp] {
        raft.members[2].rejoining = Some(state);
        assert_eq!(plan_with(&raft).action, None, "{state:?}");
    }
}

#[test]
fn a_roll_waits_while_a_member_rejoins_after_a_wiped_disk() {
    let mut w = World::new(3);
    w.revision = "r2".into();
    let settings = PlannerSettings::default();
    let workload = w.workload();
    let mut raft = w.raft();
    raft.members[2].rejoining = Some(RejoinState::CatchingUp);
    let p = plan(&PlanInput {
        desired_replicas: 3,
        paused: false,
        addresses: &Names,
        workload: &workload,
        raft: Some(&raft),
        recorded: None,
        settings: &settings,
        now: Timestamp::from_second(w.now).unwrap(),
    });
    assert_eq!(p.action, None);
    assert!(
        p.message.contains("member 3 rejoins after a wiped disk"),
        "{}",
        p.message
    );
}

#[test]
fn pdb_follows_the_voters() {
    let mut w = World::new(3);
    assert_eq!(w.plan(3, false).pdb_min_available, 2);
    // A learner pod on top of 3 voters: still only one voter may go.
    w.members.insert(4, (MemberRole::Learner, 0));
    w.sts = 4;
    assert_eq!(w.plan(5, false).pdb_min_available, 3);
    let w = World::new(5);
    assert_eq!(w.plan(5, false).pdb_min_available, 3);
    let w = World::new(1);
    assert_eq!(w.plan(1, false).pdb_min_available, 1);
}

#[test]
fn no_leader_waits_and_creation_sets_the_replicas() {
    let settings = PlannerSettings::default();
    let workload = WorkloadView::default();
    let input = PlanInput {
        desired_replicas: 3,
        paused: false,
        addresses: &Names,
        workload: &workload,
        raft: None,
        recorded: None,
        settings: &settings,
        now: Timestamp::from_second(1).unwrap(),
    };
    let p = plan(&input);
    assert_eq!(p.statefulset_replicas, Some(3));
    let workload = WorkloadView {
        statefulset_replicas: Some(3),
        ..WorkloadView::default()
    };
    let p = plan(&PlanInput {
        workload: &workload,
        ..input
    });
    assert_eq!(
        (p.reason.as_str(), p.action, p.statefulset_replicas),
        ("NoLeader", None, Some(3))
    );
}

/// Crash between each pair of steps: for every step of each scenario the
/// operator records the step and dies before acting; the restarted operator
/// resumes from the recorded status and the observed cluster and converges,
/// with each membership action at most repeated once (idempotent) and never
/// skipped.
#[test]
fn a_crash_between_any_two_steps_resumes_and_converges() {
    type Setup = fn() -> (World, i32, u64);
    let scenarios: [(&str, Setup); 4] = [
        ("3->5", || (World::new(3), 5, 5)),
        ("5->3", || {
            let mut w = World::new(5);
            w.leader = 5;
            (w, 3, 3)
        }),
        ("5->1", || (World::new(5), 1, 1)),
        ("roll", || {
            let mut w = World::new(3);
            w.leader = 2;
            w.revision = "r2".into();
            (w, 3, 3)
        }),
    ];
    for (name, setup) in scenarios {
        let (mut clean, desired, n) = setup();
        let steps = clean.run(desired, None).len();
        clean.assert_converged(n);
        let expected = membership_actions(&clean.actions);
        for crash in 0..steps {
            let (mut w, desired, n) = setup();
            w.run(desired, Some(crash));
            w.assert_converged(n);
            assert_eq!(
                membership_actions(&w.actions),
                expected,
                "{name}: crash after recording step {crash} changed the actions"
            );
        }
    }
}
