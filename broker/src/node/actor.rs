//! The task that owns the `RawNode`: mailbox, ticks and the ready loop.

use super::apply::Applier;
use super::group::PartitionGroup;
use super::membership::{MembershipView, Plan};
use super::proposals::{Pending, Waiter};
use super::status::{now_ms, BrokerStatus, MemberRole, MemberStatus, PeerRefusal, RaftRole};

/// How long a peer's refusal keeps this node unready after the last one
/// (refused links retry at least every 2 s, so a lasting refusal stays shown).
const REFUSAL_SHOWN_MS: u64 = 10_000;
use super::{Membership, MembershipChange, MembershipError, NodeError, NodeMsg};
use crate::metrics::{Metrics, OutcomeLabel};
use crate::partition::PartitionRegistry;
use crate::state_machine::MetaStateMachine;
use crate::storage::{RaftStore, StorageError};
use crate::transport::Transport;
use raft::{RawNode, StateRole};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Messages handled per loop turn before a `Ready` is processed; this is what
/// batches many proposals into one fsync.
const MAX_MESSAGES_PER_TURN: usize = 4_096;
/// How long a leadership transfer may take.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(5);

/// A fatal error: the node stops rather than run on with doubtful state.
#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Decode(#[from] crate::state_machine::DecodeError),
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error(transparent)]
    PartitionSnapshot(#[from] crate::partition::SnapshotDecodeError),
}

/// Everything the node task is built from.
pub struct NodeParts {
    pub node_id: u64,
    pub cluster_id: String,
    pub incarnation: String,
    pub raw: RawNode<RaftStore>,
    pub state: MetaStateMachine,
    pub transport: Transport,
    pub metrics: Arc<Metrics>,
    pub tick: Duration,
    pub snapshot_interval: u64,
    /// Partitions shared with the Kafka read path.
    pub registry: Arc<PartitionRegistry>,
    /// This broker's Kafka address ("host:port") as clients reach it.
    pub kafka_addr: String,
    /// Election and heartbeat ticks of every group.
    pub ticks: (usize, usize),
}

struct PendingTransfer {
    target: u64,
    deadline: Instant,
    reply: Option<oneshot::Sender<Result<Membership, NodeError>>>,
}

/// The node task.
pub struct NodeActor {
    pub(super) id: u64,
    /// The metadata group (group 0).
    pub(super) raw: RawNode<RaftStore>,
    pub(super) applier: Applier,
    pub(super) transport: Transport,
    pub(super) metrics: Arc<Metrics>,
    pub(super) pending: Pending,
    transfer: Option<PendingTransfer>,
    incarnations: BTreeMap<u64, String>,
    /// The latest refusal of our traffic by a peer.
    refused: Option<PeerRefusal>,
    status_tx: watch::Sender<BrokerStatus>,
    tick: Duration,
    pub(super) shutdown: Option<oneshot::Sender<()>>,
    /// Partition groups by group id.
    pub(super) groups: BTreeMap<u64, PartitionGroup>,
    pub(super) registry: Arc<PartitionRegistry>,
    /// Set when metadata applied something: partition groups are re-synced.
    pub(super) meta_changed: bool,
    pub(super) ticks: (usize, usize),
    pub(super) kafka_addr: String,
    pub(super) tick_count: u64,
}

impl NodeActor {
    /// Builds the task; `status_tx` publishes [`BrokerStatus`].
    pub fn new(parts: NodeParts, status_tx: watch::Sender<BrokerStatus>) -> Self {
        let mut incarnations = BTreeMap::new();
        incarnations.insert(parts.node_id, parts.incarnation.clone());
        let mut transport = parts.transport;
        for (id, url) in parts.state.members() {
            transport.set_address(*id, url);
        }
        Self {
            id: parts.node_id,
            raw: parts.raw,
            applier: Applier::new(parts.state, parts.snapshot_interval),
            transport,
            metrics: parts.metrics,
            pending: Pending::default(),
            transfer: None,
            incarnations,
            refused: None,
            status_tx,
            tick: parts.tick,
            shutdown: None,
            groups: BTreeMap::new(),
            registry: parts.registry,
            meta_changed: true,
            ticks: parts.ticks,
            kafka_addr: parts.kafka_addr,
            tick_count: 0,
        }
    }

    /// Runs until shutdown or a fatal error.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<NodeMsg>) -> Result<(), FatalError> {
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A lone voter need not wait an election timeout.
        let cs = self.raw.store().conf_state().clone();
        if cs.voters == [self.id] {
            self.raw.campaign()?;
        }
        self.sync_partition_groups()?;
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    self.raw.tick();
                    self.tick_groups()?;
                    self.check_transfer();
                    self.publish_status();
                }
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    self.handle(msg)?;
                    for _ in 0..MAX_MESSAGES_PER_TURN {
                        match rx.try_recv() {
                            Ok(msg) => self.handle(msg)?,
                            Err(_) => break,
                        }
                    }
                }
            }
            self.on_ready()?;
            if self.shutdown.is_some() && self.transfer.is_none() {
                break;
            }
        }
        self.pending.fail_all(NodeError::ShuttingDown);
        for g in self.groups.values_mut() {
            g.fail_pending();
        }
        self.publish_status();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        Ok(())
    }

    fn handle(&mut self, msg: NodeMsg) -> Result<(), FatalError> {
        match msg {
            NodeMsg::Raft(msgs) => {
                for (group, m) in msgs {
                    self.step(group, m);
                }
            }
            NodeMsg::Append {
                group,
                data,
                local_ack,
                reply,
            } => self.append(group, data, local_ack, reply),
            NodeMsg::PeerSeen {
                id,
                url,
                incarnation,
            } => self.peer_seen(id, url, incarnation),
            NodeMsg::Refused { by, reason } => {
                tracing::warn!(peer = by, %reason, "a member refuses this node's raft traffic");
                self.refused = Some(PeerRefusal {
                    by,
                    reason,
                    at_ms: now_ms(),
                });
            }
            NodeMsg::Unreachable(id) => {
                self.raw.report_unreachable(id);
                for g in self.groups.values_mut() {
                    g.raw.report_unreachable(id);
                }
            }
            NodeMsg::SnapshotDelivered { group, to, ok } => {
                let status = if ok {
                    raft::SnapshotStatus::Finish
                } else {
                    raft::SnapshotStatus::Failure
                };
                if group == super::METADATA_GROUP {
                    self.raw.report_snapshot(to, status);
                } else if let Some(g) = self.groups.get_mut(&group) {
                    g.raw.report_snapshot(to, status);
                }
            }
            NodeMsg::Propose { data, reply } => self.propose(data, reply),
            NodeMsg::ChangeMembership { change, reply } => self.change_membership(change, reply),
            NodeMsg::TransferLeader { target, reply } => self.start_transfer(target, Some(reply)),
            NodeMsg::Query(f) => f(self.applier.state()),
            NodeMsg::Shutdown(tx) => {
                self.shutdown = Some(tx);
                if self.raw.raft.state == StateRole::Leader && self.transfer.is_none() {
                    self.start_transfer(0, None);
                }
                self.hand_off_partitions();
            }
        }
        Ok(())
    }

    fn peer_seen(&mut self, id: u64, url: String, incarnation: String) {
        match self.incarnations.get(&id) {
            Some(known) if *known == incarnation => {}
            Some(known) => {
                tracing::warn!(peer = id, old = %known, new = %incarnation, "peer restarted with a new incarnation (wiped disk?)");
                self.incarnations.insert(id, incarnation);
                self.forget_progress(id);
            }
            None => {
                self.incarnations.insert(id, incarnation);
            }
        }
        // A member's URL comes from the replicated membership; others (a new
        // learner answering us) are reachable at the URL they announce.
        if !self.applier.state().members().contains_key(&id) {
            self.transport.set_address(id, &url);
        }
    }

    fn not_leader(&self) -> NodeError {
        let leader_id = self.raw.raft.leader_id;
        let leader_raft_url = self
            .applier
            .state()
            .members()
            .get(&leader_id)
            .cloned()
            .unwrap_or_default();
        NodeError::NotLeader {
            leader_id,
            leader_raft_url,
        }
    }

    fn propose(&mut self, data: Vec<u8>, reply: oneshot::Sender<Result<u64, NodeError>>) {
        if self.shutdown.is_some() {
            let _ = reply.send(Err(NodeError::ShuttingDown));
            return;
        }
        if self.raw.raft.state != StateRole::Leader {
            self.metrics
                .proposals
                .get_or_create(&OutcomeLabel {
                    outcome: "not_leader",
                })
                .inc();
            let _ = reply.send(Err(self.not_leader()));
            return;
        }
        match self.raw.propose(Vec::new(), data) {
            Ok(()) => {
                let index = self.raw.raft.raft_log.last_index();
                self.pending
                    .insert(index, self.raw.raft.term, Waiter::Command(reply));
            }
            Err(e) => {
                tracing::debug!(error = %e, "proposal dropped");
                self.metrics
                    .proposals
                    .get_or_create(&OutcomeLabel { outcome: "dropped" })
                    .inc();
                let _ = reply.send(Err(NodeError::Dropped));
            }
        }
    }

    fn membership_view_plan(&self, change: &MembershipChange) -> Result<Plan, MembershipError> {
        let conf = self.raw.raft.prs().conf().to_conf_state();
        let prs = self.raw.raft.prs();
        let matched = |id| prs.get(id).map(|p| p.matched);
        let members = self.applier.state().members();
        let known_url = |id| members.get(&id).cloned();
        change.plan(&MembershipView {
            conf: &conf,
            leader_id: self.id,
            last_index: self.raw.raft.raft_log.last_index(),
            matched: &matched,
            known_url: &known_url,
        })
    }

    fn change_membership(
        &mut self,
        change: MembershipChange,
        reply: oneshot::Sender<Result<Membership, NodeError>>,
    ) {
        if self.raw.raft.state != StateRole::Leader {
            let _ = reply.send(Err(self.not_leader()));
            return;
        }
        if self.raw.raft.has_pending_conf() {
            let _ = reply.send(Err(MembershipError::ChangeInProgress.into()));
            return;
        }
        match self.membership_view_plan(&change) {
            Err(e) => {
                let _ = reply.send(Err(e.into()));
            }
            Ok(Plan::AlreadyDone) => {
                let _ = reply.send(Ok(self.build_status().membership()));
            }
            Ok(Plan::Propose(p)) => {
                tracing::info!(?change, "proposing membership change");
                match self.raw.propose_conf_change(p.context, p.cc) {
                    Ok(()) => {
                        let index = self.raw.raft.raft_log.last_index();
                        self.pending
                            .insert(index, self.raw.raft.term, Waiter::Membership(reply));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(MembershipError::Apply(e.to_string()).into()));
                    }
                }
            }
        }
    }

    fn start_transfer(
        &mut self,
        target: u64,
        reply: Option<oneshot::Sender<Result<Membership, NodeError>>>,
    ) {
        let fail = |reply: Option<oneshot::Sender<_>>, e: NodeError| {
            if let Some(r) = reply {
                let _ = r.send(Err(e));
            }
        };
        if self.raw.raft.state != StateRole::Leader {
            return fail(reply, self.not_leader());
        }
        let conf = self.raw.raft.prs().conf().to_conf_state();
        let target = if target == 0 {
            let prs = self.raw.raft.prs();
            let best = conf
                .voters
                .iter()
                .filter(|id| **id != self.id)
                .max_by_key(|id| prs.get(**id).map(|p| p.matched).unwrap_or(0));
            match best {
                Some(id) => *id,
                None => return fail(reply, MembershipError::NoTransferTarget.into()),
            }
        } else {
            target
        };
        if !conf.voters.contains(&target) {
            return fail(
                reply,
                MembershipError::TransferTargetNotVoter(target).into(),
            );
        }
        if target == self.id {
            if let Some(r) = reply {
                let _ = r.send(Ok(self.build_status().membership()));
            }
            return;
        }
        tracing::info!(target, "transferring leadership");
        self.raw.transfer_leader(target);
        self.transfer = Some(PendingTransfer {
            target,
            deadline: Instant::now() + TRANSFER_TIMEOUT,
            reply,
        });
    }

    fn check_transfer(&mut self) {
        let Some(t) = &mut self.transfer else { return };
        let leader = self.raw.raft.leader_id;
        if leader == t.target || (leader != self.id && leader != 0) {
            let membership = self.build_status().membership();
            if let Some(t) = self.transfer.take() {
                if let Some(r) = t.reply {
                    let _ = r.send(Ok(membership));
                }
            }
        } else if Instant::now() > t.deadline {
            if let Some(t) = self.transfer.take() {
                tracing::warn!(target = t.target, "leadership transfer timed out");
                if let Some(r) = t.reply {
                    let _ = r.send(Err(NodeError::TransferTimedOut { target: t.target }));
                }
            }
        }
    }

    pub(super) fn on_soft_state_change(&mut self) {
        let r = &self.raw.raft;
        tracing::info!(term = r.term, leader = r.leader_id, role = ?r.state, "raft role changed");
        if r.state != StateRole::Leader && !self.pending.is_empty() {
            // Entries proposed here may still commit under the new leader;
            // their waiters are resolved when (and if) the entries apply.
            tracing::debug!("lost leadership with proposals in flight");
        }
        self.publish_status();
    }

    pub(super) fn build_status(&self) -> BrokerStatus {
        let r = &self.raw.raft;
        let conf = r.prs().conf().to_conf_state();
        let is_leader = r.state == StateRole::Leader;
        let members_urls = self.applier.state().members();
        let member = |id: u64, role| MemberStatus {
            id,
            url: members_urls.get(&id).cloned().unwrap_or_default(),
            role,
            match_index: if is_leader {
                r.prs().get(id).map(|p| p.matched)
            } else {
                None
            },
            incarnation: self.incarnations.get(&id).cloned().unwrap_or_default(),
        };
        let mut members: Vec<MemberStatus> = conf
            .voters
            .iter()
            .map(|id| member(*id, MemberRole::Voter))
            .chain(
                conf.learners
                    .iter()
                    .map(|id| member(*id, MemberRole::Learner)),
            )
            .collect();
        members.sort_by_key(|m| m.id);
        let role = match r.state {
            StateRole::Leader => RaftRole::Leader,
            StateRole::Candidate => RaftRole::Candidate,
            StateRole::PreCandidate => RaftRole::PreCandidate,
            StateRole::Follower if conf.learners.contains(&self.id) => RaftRole::Learner,
            StateRole::Follower => RaftRole::Follower,
        };
        let status = self.status_tx.borrow();
        BrokerStatus {
            node_id: self.id,
            cluster_id: status.cluster_id.clone(),
            incarnation: status.incarnation.clone(),
            role,
            leader_id: r.leader_id,
            term: r.term,
            commit_index: r.raft_log.committed,
            applied_index: self.applier.state().applied().max(r.raft_log.applied),
            leader_raft_url: members_urls.get(&r.leader_id).cloned().unwrap_or_default(),
            members,
            loop_heartbeat_ms: now_ms(),
            groups: self.groups_summary(),
            removed: self.applier.state().removed().clone(),
            refused: self
                .refused
                .clone()
                .filter(|r| now_ms().saturating_sub(r.at_ms) < REFUSAL_SHOWN_MS),
        }
    }

    fn publish_status(&mut self) {
        let status = self.build_status();
        let m = &self.metrics;
        m.term.set(status.term as i64);
        m.leader_id.set(status.leader_id as i64);
        m.commit_index.set(status.commit_index as i64);
        m.applied_index.set(status.applied_index as i64);
        m.role.set(match self.raw.raft.state {
            StateRole::Follower => 0,
            StateRole::Candidate => 1,
            StateRole::Leader => 2,
            StateRole::PreCandidate => 3,
        });
        self.status_tx.send_replace(status);
    }
}
