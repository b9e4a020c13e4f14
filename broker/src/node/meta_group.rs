//! The metadata group (group 0) inside the node task: its `RawNode`, the
//! applier that owns the metadata state machine, the proposals and the
//! leadership transfer waiting for an answer. Beside it stand the
//! partition groups ([`super::partition_group`]).

use super::apply::Applier;
use super::error::{FatalError, NodeError};
use super::membership::{MembershipChange, MembershipError, MembershipView, Plan};
use super::peers::Peers;
use super::proposals::{Pending, Waiter};
use super::read_gate::{self, ReadRefusal};
use super::rejoin::{self, PartitionRoles, RejoinStep, RejoinView};
use super::status::{MemberRole, MemberStatus, Membership};
use super::METADATA_GROUP;
use crate::metrics::{Metrics, OutcomeLabel};
use crate::state_machine::{commands, stamp_voters, MetaStateMachine, Standing};
use crate::storage::{RaftStore, WriteBatch};
use raft::eraftpb::{
    ConfChangeSingle, ConfChangeType, ConfChangeV2, ConfState, Entry, Message, MessageType,
};
use raft::{RawNode, Ready, StateRole};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a leadership transfer may take.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(5);

/// The answer a membership change or transfer waits for.
type MembershipReply = oneshot::Sender<Result<Membership, NodeError>>;

/// Where this broker serves clients, registered in the metadata so every
/// broker knows every other's.
#[derive(Debug, Clone)]
pub struct Advertised {
    /// Kafka address ("host:port") as clients reach it.
    pub kafka_addr: String,
    /// HTTP API URL (`http://host:port`), where a 421 sends callers.
    pub http_url: String,
    /// Each Kafka listener's advertised address by listener name; changes
    /// (`--advertised-listeners-file`) are registered again.
    pub listeners: tokio::sync::watch::Receiver<std::collections::BTreeMap<String, String>>,
}

struct PendingTransfer {
    target: u64,
    deadline: Instant,
    reply: Option<MembershipReply>,
}

/// The metadata group.
pub(super) struct MetaGroup {
    raw: RawNode<RaftStore>,
    applier: Applier,
    pending: Pending,
    transfer: Option<PendingTransfer>,
    metrics: Arc<Metrics>,
    /// Set when something applied: partition groups are re-synced.
    changed: bool,
}

impl MetaGroup {
    /// The group over `raw`, with the metadata `state` it recovered.
    pub fn new(
        raw: RawNode<RaftStore>,
        state: MetaStateMachine,
        snapshot_interval: u64,
        metrics: Arc<Metrics>,
    ) -> Self {
        let conf = raw
            .store()
            .latest_snapshot()
            .get_metadata()
            .get_conf_state()
            .clone();
        Self {
            raw,
            applier: Applier::new(state, snapshot_interval, &conf),
            pending: Pending::default(),
            transfer: None,
            metrics,
            changed: true,
        }
    }

    /// The group's Raft node.
    pub fn raw(&self) -> &RawNode<RaftStore> {
        &self.raw
    }

    /// The replicated metadata as applied here.
    pub fn state(&self) -> &MetaStateMachine {
        self.applier.state()
    }

    /// The metadata state's digest and the applied index it belongs to.
    pub fn digest(&self) -> (u64, u64) {
        self.applier.digest()
    }

    /// The group's current configuration.
    pub fn conf_state(&self) -> ConfState {
        self.raw.raft.prs().conf().to_conf_state()
    }

    fn id(&self) -> u64 {
        self.raw.raft.id
    }

    /// The broker's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether this node leads the group.
    pub fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    /// Whether a leadership transfer is still waiting to complete.
    pub fn transferring(&self) -> bool {
        self.transfer.is_some()
    }

    /// Whether something applied since the last call (partition groups
    /// then follow the metadata).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// A lone voter need not wait an election timeout.
    pub fn campaign_if_alone(&mut self) -> Result<(), FatalError> {
        if self.raw.store().conf_state().voters == [self.id()] {
            self.raw.campaign()?;
        }
        Ok(())
    }

    /// Advances the group's logical clock.
    pub fn tick(&mut self) {
        self.raw.tick();
    }

    /// Steps a peer's message.
    pub fn step(&mut self, mut m: Message) {
        clamp_heartbeat(&self.raw, &mut m);
        // Messages from unknown or removed nodes are refused by raft itself.
        if let Err(e) = self.raw.step(m) {
            tracing::debug!(group = METADATA_GROUP, error = %e, "raft refused a message");
        }
    }

    /// The link to `peer` broke.
    pub fn report_unreachable(&mut self, peer: u64) {
        self.raw.report_unreachable(peer);
    }

    /// A snapshot reached `peer` (or failed to).
    pub fn report_snapshot(&mut self, peer: u64, status: raft::SnapshotStatus) {
        self.raw.report_snapshot(peer, status);
    }

    /// Forgets what the leader believed `peer` had stored (wiped disk).
    pub fn forget_progress(&mut self, peer: u64) {
        forget_progress(&mut self.raw, peer);
    }

    /// The answer for a request only the leader takes, naming the leader.
    pub fn not_leader(&self) -> NodeError {
        let leader_id = self.raw.raft.leader_id;
        let state = self.state();
        let url = |urls: &std::collections::BTreeMap<u64, String>| {
            urls.get(&leader_id).cloned().unwrap_or_default()
        };
        NodeError::NotLeader {
            leader_id,
            leader_url: url(state.http_urls()),
            leader_raft_url: url(state.members()),
        }
    }

    fn count(&self, outcome: &'static str) {
        self.metrics
            .proposals
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// Proposes an encoded command; `reply` gets its index once applied.
    pub fn propose(&mut self, data: Vec<u8>, reply: oneshot::Sender<Result<u64, NodeError>>) {
        if !self.is_leader() {
            self.count("not_leader");
            let _ = reply.send(Err(self.not_leader()));
            return;
        }
        // New partition groups get the voters of now, in the entry itself.
        let data = stamp_voters(&data, &self.conf_state().voters).unwrap_or(data);
        match self.raw.propose(Vec::new(), data) {
            Ok(()) => {
                let index = self.raw.raft.raft_log.last_index();
                self.pending
                    .insert(index, self.raw.raft.term, Waiter::Command(reply));
            }
            Err(e) => {
                tracing::debug!(error = %e, "proposal dropped");
                self.count("dropped");
                let _ = reply.send(Err(NodeError::Dropped));
            }
        }
    }

    /// The state for a read only the leader answers (see `read_gate`).
    pub fn leader_read(&self) -> Result<&MetaStateMachine, ReadRefusal> {
        read_gate::check(&self.raw.raft, self.state().applied()).map(|()| self.state())
    }

    /// Proposes a command from any member, Raft forwarding it to the
    /// leader; a proposal dropped (no leader yet) is the caller's to retry.
    pub fn forward(&mut self, data: Vec<u8>) {
        if let Err(e) = self.raw.propose(Vec::new(), data) {
            tracing::debug!(error = %e, "forwarded proposal dropped");
        }
    }

    /// Proposes this broker's addresses and incarnation until the metadata
    /// records them (an incarnation other than the recorded one is only
    /// accepted through [`Self::restore_rejoining`]). Followers' proposals are
    /// forwarded to the leader by Raft itself.
    pub fn register(&mut self, advertised: &Advertised, peers: &Peers) {
        let id = self.id();
        let state = self.applier.state();
        let listeners = advertised.listeners.borrow().clone();
        let registered = state.brokers().get(&id) == Some(&advertised.kafka_addr)
            && state.http_urls().get(&id) == Some(&advertised.http_url)
            && state.listeners().all().get(&id) == Some(&listeners)
            && state.incarnations().recorded().contains_key(&id);
        if !state.members().contains_key(&id) || registered || self.raw.raft.leader_id == 0 {
            return;
        }
        let cmd = crate::state_machine::register_command(
            id,
            &advertised.kafka_addr,
            &advertised.http_url,
            &peers.incarnation(id),
            &listeners,
        );
        if let Err(e) = self.raw.propose(Vec::new(), cmd) {
            tracing::debug!(error = %e, "registering the broker's addresses failed; will retry");
        }
    }

    /// The configured members with what this node knows of each.
    pub fn membership(&self, peers: &Peers) -> Membership {
        let r = &self.raw.raft;
        let conf = self.conf_state();
        let is_leader = self.is_leader();
        let urls = self.state().members();
        let member = |id: u64, role| MemberStatus {
            id,
            url: urls.get(&id).cloned().unwrap_or_default(),
            role,
            match_index: if is_leader {
                r.prs().get(id).map(|p| p.matched)
            } else {
                None
            },
            incarnation: peers.incarnation(id),
            rejoining: rejoin::rejoin_state(
                self.state().incarnations(),
                id,
                &peers.incarnation(id),
            ),
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
        Membership {
            leader_id: r.leader_id,
            members,
        }
    }

    fn plan(&self, change: &MembershipChange) -> Result<Plan, MembershipError> {
        let conf = self.conf_state();
        let prs = self.raw.raft.prs();
        let matched = |id| prs.get(id).map(|p| p.matched);
        let members = self.state().members();
        let known_url = |id| members.get(&id).cloned();
        change.plan(&MembershipView {
            conf: &conf,
            leader_id: self.id(),
            last_index: self.raw.raft.raft_log.last_index(),
            matched: &matched,
            known_url: &known_url,
        })
    }

    /// Proposes one membership step; `reply` is answered once it applied.
    pub fn change_membership(
        &mut self,
        change: MembershipChange,
        reply: MembershipReply,
        peers: &Peers,
    ) {
        if !self.is_leader() {
            let _ = reply.send(Err(self.not_leader()));
            return;
        }
        if self.raw.raft.has_pending_conf() {
            let _ = reply.send(Err(MembershipError::ChangeInProgress.into()));
            return;
        }
        if let Err(e) = self.check_rejoin_promotion(&change, peers) {
            let _ = reply.send(Err(e.into()));
            return;
        }
        match self.plan(&change) {
            Err(e) => {
                let _ = reply.send(Err(e.into()));
            }
            Ok(Plan::AlreadyDone) => {
                let _ = reply.send(Ok(self.membership(peers)));
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

    /// A member rejoining with a new incarnation is promoted by the leader
    /// itself, once it holds the log up to its accepted incarnation (see
    /// [`Self::restore_rejoining`]); never earlier through the API.
    fn check_rejoin_promotion(
        &self,
        change: &MembershipChange,
        peers: &Peers,
    ) -> Result<(), MembershipError> {
        let MembershipChange::Promote { id } = change else {
            return Ok(());
        };
        let standing = self
            .state()
            .incarnations()
            .standing(*id, &peers.incarnation(*id));
        let matched = self.raw.raft.prs().get(*id).map_or(0, |p| p.matched);
        match standing {
            Standing::NewIncarnation => Err(MembershipError::Rejoining {
                id: *id,
                index: None,
            }),
            Standing::CatchingUp(index) if matched < index => Err(MembershipError::Rejoining {
                id: *id,
                index: Some(index),
            }),
            _ => Ok(()),
        }
    }

    /// On the leader, one step toward restoring a member that came back with
    /// a new incarnation (see [`rejoin`]); `partitions` tells its roles in
    /// the partition groups held here.
    pub fn restore_rejoining(&mut self, peers: &Peers, partitions: &dyn Fn(u64) -> PartitionRoles) {
        if !self.is_leader() || self.raw.raft.has_pending_conf() {
            return;
        }
        let conf = self.conf_state();
        let prs = self.raw.raft.prs();
        let step = rejoin::next_step(&RejoinView {
            own: self.id(),
            conf: &conf,
            incarnations: self.state().incarnations(),
            announced: &|id| peers.incarnation(id),
            matched: &|id| prs.get(id).map_or(0, |p| p.matched),
            partitions,
        });
        let Some(step) = step else { return };
        tracing::info!(
            ?step,
            "restoring a member that came back with a new incarnation"
        );
        let result = match step {
            RejoinStep::Demote(id) => self.propose_conf(id, ConfChangeType::AddLearnerNode),
            RejoinStep::Promote(id) => self.propose_conf(id, ConfChangeType::AddNode),
            RejoinStep::Accept { id, incarnation } => {
                let cmd = commands::record_incarnation(id, &incarnation, false);
                self.raw.propose(Vec::new(), cmd)
            }
            RejoinStep::Rejoined { id, incarnation } => {
                let cmd = commands::record_incarnation(id, &incarnation, true);
                self.raw.propose(Vec::new(), cmd)
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "rejoin step not proposed; will retry");
        }
    }

    /// Whether a member of the configuration rejoins with a new incarnation.
    pub fn anyone_rejoining(&self, peers: &Peers) -> bool {
        let conf = self.conf_state();
        let incarnations = self.state().incarnations();
        conf.voters
            .iter()
            .chain(&conf.learners)
            .any(|id| incarnations.standing(*id, &peers.incarnation(*id)) != Standing::Clean)
    }

    fn propose_conf(&mut self, id: u64, change_type: ConfChangeType) -> raft::Result<()> {
        let mut single = ConfChangeSingle {
            node_id: id,
            ..Default::default()
        };
        single.set_change_type(change_type);
        let mut cc = ConfChangeV2::default();
        cc.mut_changes().push(single);
        self.raw.propose_conf_change(Vec::new(), cc)
    }

    /// Starts moving leadership to `target` (0: the most caught-up voter).
    pub fn start_transfer(&mut self, target: u64, reply: Option<MembershipReply>, peers: &Peers) {
        let fail = |reply: Option<MembershipReply>, e: NodeError| {
            if let Some(r) = reply {
                let _ = r.send(Err(e));
            }
        };
        if !self.is_leader() {
            return fail(reply, self.not_leader());
        }
        let own = self.id();
        let conf = self.conf_state();
        let target = if target == 0 {
            match most_caught_up(&self.raw, own) {
                Some(id) => id,
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
        if target == own {
            if let Some(r) = reply {
                let _ = r.send(Ok(self.membership(peers)));
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

    /// Answers the pending transfer once another node leads, or once it
    /// timed out.
    pub fn check_transfer(&mut self, peers: &Peers) {
        let Some(t) = &self.transfer else { return };
        let leader = self.raw.raft.leader_id;
        if leader == t.target || (leader != self.id() && leader != 0) {
            let membership = self.membership(peers);
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

    /// Fails every waiting proposal (shutdown).
    pub fn fail_pending(&mut self, err: NodeError) {
        self.pending.fail_all(err);
    }

    /// Logs a role change; proposals in flight stay registered.
    pub fn log_role_change(&self) {
        let r = &self.raw.raft;
        tracing::info!(term = r.term, leader = r.leader_id, role = ?r.state, "raft role changed");
        if r.state != StateRole::Leader && !self.pending.is_empty() {
            // Entries proposed here may still commit under the new leader;
            // their waiters are resolved when (and if) the entries apply.
            tracing::debug!("lost leadership with proposals in flight");
        }
    }

    /// The group's `Ready`, if it has one.
    pub fn ready(&mut self) -> Option<Ready> {
        self.raw.has_ready().then(|| self.raw.ready())
    }

    /// Steps 1-3 of the ready loop: messages, snapshot, staged writes.
    pub fn stage(
        &mut self,
        ready: &mut Ready,
        batch: &mut WriteBatch,
        peers: &mut Peers,
    ) -> Result<(), FatalError> {
        // 1. Messages that need no persistence go out at once.
        if !ready.messages().is_empty() {
            peers.send(METADATA_GROUP, ready.take_messages());
        }
        // 2. A snapshot from the leader replaces state and log.
        if !ready.snapshot().is_empty() {
            let snap = ready.snapshot().clone();
            tracing::info!(
                index = snap.get_metadata().index,
                "applying snapshot from leader"
            );
            self.applier.restore(&snap)?;
            self.raw.mut_store().apply_snapshot(batch, snap)?;
            self.sync_addresses(peers);
            self.changed = true;
        }
        self.raw.mut_store().append(batch, ready.entries())?;
        if let Some(hs) = ready.hs() {
            self.raw.mut_store().set_hard_state(batch, hs.clone())?;
        }
        Ok(())
    }

    /// Writes a batch staged by every group, with an fsync.
    pub fn write_synced(&mut self, batch: WriteBatch) -> Result<(), FatalError> {
        let started = Instant::now();
        self.raw.mut_store().write(batch, true)?;
        self.metrics
            .fsync_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Steps 4-5 of the ready loop: persisted messages, apply, advance.
    pub fn finish(&mut self, mut ready: Ready, peers: &mut Peers) -> Result<(), FatalError> {
        if !ready.persisted_messages().is_empty() {
            peers.send(METADATA_GROUP, ready.take_persisted_messages());
        }
        let committed = ready.take_committed_entries();
        self.apply(committed, peers)?;
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            let mut batch = WriteBatch::default();
            self.raw.mut_store().set_commit(&mut batch, commit)?;
            self.raw.mut_store().write(batch, false)?;
        }
        peers.send(METADATA_GROUP, light.take_messages());
        self.apply(light.take_committed_entries(), peers)?;
        self.raw.advance_apply();
        self.applier.maybe_snapshot(&mut self.raw)?;
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>, peers: &mut Peers) -> Result<(), FatalError> {
        if entries.is_empty() {
            return Ok(());
        }
        let outcomes = self.applier.apply(&mut self.raw, entries)?;
        self.changed = true;
        if outcomes.membership_changed {
            self.sync_addresses(peers);
        }
        for done in outcomes.applied {
            let Some(waiter) = self.pending.take(done.index, done.term) else {
                continue;
            };
            match waiter {
                Waiter::Command(tx) => {
                    self.count(if done.rejection.is_none() {
                        "committed"
                    } else {
                        "rejected"
                    });
                    let _ = tx.send(match done.rejection {
                        None => Ok(done.index),
                        Some(r) => Err(r.into()),
                    });
                }
                Waiter::Membership(tx) => {
                    let _ = tx.send(match done.conf_error {
                        None => Ok(self.membership(peers)),
                        Some(e) => Err(MembershipError::Apply(e).into()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Points the transport at the replicated member URLs.
    pub fn sync_addresses(&self, peers: &mut Peers) {
        peers.sync_addresses(self.id(), self.state().members(), &self.conf_state());
    }
}

/// The voter other than `own` with the highest match index.
pub(super) fn most_caught_up(raw: &RawNode<RaftStore>, own: u64) -> Option<u64> {
    let prs = raw.raft.prs();
    prs.conf()
        .to_conf_state()
        .voters
        .iter()
        .filter(|id| **id != own)
        .max_by_key(|id| prs.get(**id).map(|p| p.matched).unwrap_or(0))
        .copied()
}

/// A peer came back with a new incarnation (wiped disk): a leader forgets
/// what it believed the peer had stored, so it probes the peer's log from
/// the start (entries or a snapshot) instead of ignoring its rejections as
/// stale.
pub(super) fn forget_progress(raw: &mut RawNode<RaftStore>, peer: u64) {
    if let Some(pr) = raw.raft.mut_prs().get_mut(peer) {
        pr.matched = 0;
        pr.become_probe();
    }
}

/// A heartbeat carries `min(match, commit)` as the leader knows it. A follower
/// that lost its disk has less than the leader believes; raft-rs would abort
/// on a commit index beyond its log, so such a heartbeat advances nothing
/// (the leader re-probes the follower once it sees its new incarnation).
pub(super) fn clamp_heartbeat(raw: &RawNode<RaftStore>, m: &mut Message) {
    if m.get_msg_type() == MessageType::MsgHeartbeat && m.commit > raw.raft.raft_log.last_index() {
        m.commit = raw.raft.raft_log.committed;
    }
}
