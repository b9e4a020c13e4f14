//! The task that owns every Raft group of the node: mailbox, ticks, the
//! ready loop ([`ready`]) and the status it publishes. The groups, the peers
//! and the periodic duties are objects of their own; the actor routes
//! messages to them and keeps the order between them.

mod ready;

use super::error::{FatalError, NodeError};
use super::handle::NodeMsg;
use super::mailbox::Mailbox;
use super::meta_group::MetaGroup;
use super::partition_groups::PartitionGroups;
use super::peers::Peers;
use super::status::{now_ms, BrokerStatus, RaftRole};
use super::{balance, reconcile, rejoin, retention, METADATA_GROUP};
use crate::metrics::Metrics;
use crate::partition::PartitionRegistry;
use crate::state_machine::MetaStateMachine;
use crate::storage::RaftStore;
use crate::transport::{PeerEvent, Transport};
use raft::{RawNode, StateRole};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

pub use super::meta_group::Advertised;

/// Ticks between two attempts to register this broker's addresses.
const REGISTER_EVERY_TICKS: u64 = 5;

/// Everything the node task is built from.
pub struct NodeParts {
    /// This node's Raft id.
    pub node_id: u64,
    /// This data directory's incarnation (a new one after a wipe).
    pub incarnation: String,
    /// The metadata group's Raft node.
    pub raw: RawNode<RaftStore>,
    /// The metadata state recovered from the latest snapshot.
    pub state: MetaStateMachine,
    /// The outgoing side of the transport, delivering into the node's mailbox.
    pub transport: Transport<NodeMsg>,
    pub metrics: Arc<Metrics>,
    /// Interval of one Raft tick.
    pub tick: Duration,
    /// Applied entries between two metadata snapshots.
    pub snapshot_interval: u64,
    /// Partitions shared with the Kafka read path.
    pub registry: Arc<PartitionRegistry>,
    /// Where this broker serves Kafka clients and its HTTP API.
    pub advertised: Advertised,
    /// Election and heartbeat ticks of every group.
    pub ticks: (usize, usize),
    /// The `--config` values under dynamic broker defaults (retention).
    pub static_config: crate::broker_config::StaticConfig,
}

/// The loop's clock: the tick interval and the ticks seen so far, which
/// schedule the periodic duties.
struct Clock {
    interval: Duration,
    ticks: u64,
}

impl Clock {
    fn every(&self, n: u64) -> bool {
        self.ticks.is_multiple_of(n)
    }
}

/// The node task.
pub struct NodeActor {
    id: u64,
    meta: MetaGroup,
    partitions: PartitionGroups,
    peers: Peers,
    advertised: Advertised,
    static_config: crate::broker_config::StaticConfig,
    clock: Clock,
    status_tx: watch::Sender<BrokerStatus>,
    /// Set once shutdown was asked for; answered when the loop stops.
    shutdown: Option<oneshot::Sender<()>>,
}

impl NodeActor {
    /// Builds the task; `status_tx` publishes [`BrokerStatus`].
    pub fn new(parts: NodeParts, status_tx: watch::Sender<BrokerStatus>) -> Self {
        let mut peers = Peers::new(parts.node_id, parts.incarnation, parts.transport);
        for (id, url) in parts.state.members() {
            peers.set_address(*id, url);
        }
        Self {
            id: parts.node_id,
            meta: MetaGroup::new(
                parts.raw,
                parts.state,
                parts.snapshot_interval,
                parts.metrics,
            ),
            partitions: PartitionGroups::new(parts.node_id, parts.registry, parts.ticks),
            peers,
            advertised: parts.advertised,
            static_config: parts.static_config,
            clock: Clock {
                interval: parts.tick,
                ticks: 0,
            },
            status_tx,
            shutdown: None,
        }
    }

    /// Runs until shutdown or a fatal error.
    pub async fn run(mut self, mut mailbox: Mailbox) -> Result<(), FatalError> {
        let mut ticker = tokio::time::interval(self.clock.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.meta.campaign_if_alone()?;
        self.partitions.sync(self.meta.state())?;
        loop {
            tokio::select! {
                // Ticks first: a busy mailbox never delays heartbeats.
                biased;
                _ = ticker.tick() => self.on_tick()?,
                msg = mailbox.recv() => {
                    let Some(msg) = msg else { break };
                    mailbox.drain(msg, |m| self.handle(m));
                }
            }
            self.on_ready()?;
            if self.shutdown.is_some() && !self.meta.transferring() {
                break;
            }
        }
        self.meta.fail_pending(NodeError::ShuttingDown);
        self.partitions.fail_pending();
        self.publish_status();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        Ok(())
    }

    /// One tick: every group's clock, then the periodic duties.
    fn on_tick(&mut self) -> Result<(), FatalError> {
        self.meta.tick();
        self.clock.ticks += 1;
        self.partitions.tick();
        if self.clock.every(reconcile::RECONCILE_EVERY_TICKS) {
            self.partitions.reconcile(&self.meta.conf_state());
            let partitions = &self.partitions;
            self.meta
                .restore_rejoining(&self.peers, &|id| partitions.roles_of(id));
        }
        // A member rejoining after a wiped disk cannot win an election yet:
        // no partition leadership is handed to anyone meanwhile.
        if self.clock.every(balance::BALANCE_EVERY_TICKS)
            && self.shutdown.is_none()
            && !self.meta.anyone_rejoining(&self.peers)
        {
            self.partitions.balance_leaders();
        }
        if self.clock.every(REGISTER_EVERY_TICKS) {
            self.meta.register(&self.advertised, &self.peers);
        }
        if self.clock.every(retention::RETENTION_EVERY_TICKS) {
            self.partitions
                .enforce_retention(self.meta.state(), &self.static_config)?;
        }
        self.meta.check_transfer(&self.peers);
        self.publish_status();
        Ok(())
    }

    fn handle(&mut self, msg: NodeMsg) {
        match msg {
            NodeMsg::Peer(event) => self.on_peer_event(event),
            NodeMsg::Append {
                partition_group,
                data,
                local_ack,
                reply,
            } => {
                if self.shutdown.is_some() {
                    let _ = reply.send(Err(super::AppendError::ShuttingDown));
                } else {
                    self.partitions
                        .append(partition_group, data, local_ack, reply);
                }
            }
            NodeMsg::Propose { data, reply } => {
                if self.shutdown.is_some() {
                    let _ = reply.send(Err(NodeError::ShuttingDown));
                } else {
                    self.meta.propose(data, reply);
                }
            }
            NodeMsg::ChangeMembership { change, reply } => {
                self.meta.change_membership(change, reply, &self.peers)
            }
            NodeMsg::TransferLeader { target, reply } => {
                self.meta.start_transfer(target, Some(reply), &self.peers)
            }
            NodeMsg::Query(f) => f(self.meta.state()),
            NodeMsg::LeaderRead(f) => f(self.meta.leader_read()),
            NodeMsg::Forward(data) => self.meta.forward(data),
            NodeMsg::Partitions(task) => task.run(&mut self.partitions),
            NodeMsg::Shutdown(tx) => {
                self.shutdown = Some(tx);
                if self.meta.is_leader() && !self.meta.transferring() {
                    self.meta.start_transfer(0, None, &self.peers);
                }
                self.partitions.hand_off();
            }
        }
    }

    fn on_peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Raft(msgs) => {
                for (group, m) in msgs {
                    let incarnations = self.meta.state().incarnations();
                    if rejoin::drops(&m, incarnations, &self.peers.incarnation(m.from)) {
                        self.meta.metrics().rejoin_dropped_votes.inc();
                        tracing::debug!(group, from = m.from, kind = ?m.get_msg_type(), "vote traffic of a rejoining member dropped");
                        continue;
                    }
                    if group == METADATA_GROUP {
                        self.meta.step(m);
                    } else {
                        self.partitions.step(group, m);
                    }
                }
            }
            PeerEvent::PeerSeen {
                id,
                url,
                incarnation,
            } => {
                if self.peers.seen(id, incarnation) {
                    self.meta.forget_progress(id);
                    self.partitions.forget_progress(id);
                }
                // A member's URL comes from the replicated membership; others
                // (a new learner answering us) are reachable at the URL they
                // announce.
                if !self.meta.state().members().contains_key(&id) {
                    self.peers.set_address(id, &url);
                }
            }
            PeerEvent::Refused { by, reason } => self.peers.refused_by(by, reason),
            PeerEvent::Unreachable(id) => {
                self.meta.report_unreachable(id);
                self.partitions.report_unreachable(id);
            }
            PeerEvent::SnapshotDelivered { group, to, ok } => {
                let status = if ok {
                    raft::SnapshotStatus::Finish
                } else {
                    raft::SnapshotStatus::Failure
                };
                if group == METADATA_GROUP {
                    self.meta.report_snapshot(to, status);
                } else {
                    self.partitions.report_snapshot(group, to, status);
                }
            }
        }
    }

    /// Tells each group of the snapshots the transport dropped, so Raft
    /// moves those followers out of the Snapshot state and sends again.
    fn report_dropped_snapshots(&mut self) {
        for (group, to) in self.peers.take_dropped_snapshots() {
            tracing::debug!(
                group,
                to,
                "snapshot dropped before sending; reported as failed"
            );
            self.on_peer_event(PeerEvent::SnapshotDelivered {
                group,
                to,
                ok: false,
            });
        }
    }

    fn on_soft_state_change(&mut self) {
        self.meta.log_role_change();
        self.publish_status();
    }

    fn build_status(&self) -> BrokerStatus {
        let raw = self.meta.raw();
        let r = &raw.raft;
        let conf = self.meta.conf_state();
        let state = self.meta.state();
        let role = match r.state {
            StateRole::Leader => RaftRole::Leader,
            StateRole::Candidate => RaftRole::Candidate,
            StateRole::PreCandidate => RaftRole::PreCandidate,
            StateRole::Follower if conf.learners.contains(&self.id) => RaftRole::Learner,
            StateRole::Follower => RaftRole::Follower,
        };
        let previous = self.status_tx.borrow();
        let peer_security = previous.peer_security;
        BrokerStatus {
            node_id: self.id,
            cluster_id: previous.cluster_id.clone(),
            incarnation: previous.incarnation.clone(),
            role,
            leader_id: r.leader_id,
            term: r.term,
            commit_index: r.raft_log.committed,
            applied_index: state.applied().max(r.raft_log.applied),
            leader_raft_url: state
                .members()
                .get(&r.leader_id)
                .cloned()
                .unwrap_or_default(),
            members: self.meta.membership(&self.peers).members,
            loop_heartbeat_ms: now_ms(),
            recovery: None,
            groups: self.partitions.summary(&conf),
            removed: state.removed().clone(),
            refused: self.peers.refusal(),
            rejoining: rejoin::rejoin_state(
                state.incarnations(),
                self.id,
                &self.peers.incarnation(self.id),
            ),
            state_digest: Some(self.state_digest()),
            unregistered: conf
                .voters
                .iter()
                .chain(conf.learners.iter())
                .copied()
                .filter(|id| !state.brokers().contains_key(id))
                .collect(),
            peer_security,
        }
    }

    fn state_digest(&self) -> chronik_api::StateDigest {
        let (applied_index, digest) = self.meta.digest();
        chronik_api::StateDigest {
            applied_index,
            digest: format!("{digest:016x}"),
        }
    }

    fn publish_status(&mut self) {
        let status = self.build_status();
        let m = self.meta.metrics();
        m.term.set(status.term as i64);
        m.leader_id.set(status.leader_id as i64);
        m.commit_index.set(status.commit_index as i64);
        m.applied_index.set(status.applied_index as i64);
        m.role.set(match self.meta.raw().raft.state {
            StateRole::Follower => 0,
            StateRole::Candidate => 1,
            StateRole::Leader => 2,
            StateRole::PreCandidate => 3,
        });
        self.status_tx.send_replace(status);
    }
}
