//! Raft transport over gRPC: one long-lived, batching stream per peer.
//!
//! The Raft loop hands messages to [`Transport::send`], which never blocks:
//! each peer has a bounded queue drained by its own task. A full queue drops
//! messages (Raft retransmits) and a broken connection is reported to Raft as
//! unreachable. Each reconnect builds a new channel, so the peer's DNS name is
//! resolved again (a restarted pod comes back with a new address).
//!
//! The transport knows nothing of the node: it delivers what it hears from
//! peers as [`PeerEvent`]s into a mailbox of any message type that can be
//! made from one (the node's mailbox, in the broker).

mod connector;
mod peer;
mod server;
#[cfg(test)]
mod tests;

pub use connector::PeerConnector;
pub use server::RaftService;

use crate::metrics::{Metrics, PeerLabel};
use chronik_proto::raft::SenderInfo;
use raft::eraftpb::{Message, MessageType};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Messages queued per peer before new ones are dropped.
const PEER_QUEUE: usize = 8_192;
/// Largest gRPC message accepted or sent (snapshots can be large).
pub const MAX_GRPC_MESSAGE: usize = 256 * 1024 * 1024;

/// What the transport tells the Raft node about its peers.
#[derive(Debug)]
pub enum PeerEvent {
    /// Raft messages from a peer by group (sender and cluster already checked).
    Raft(Vec<(u64, Message)>),
    /// A peer announced itself (URL and incarnation).
    PeerSeen {
        id: u64,
        url: String,
        incarnation: String,
    },
    /// The link to a peer broke, or there is no address for it.
    Unreachable(u64),
    /// A peer refused our Raft traffic with this reason.
    Refused { by: u64, reason: String },
    /// A snapshot of `group` reached peer `to` (or failed to).
    SnapshotDelivered { group: u64, to: u64, ok: bool },
}

/// The mailbox peer events go to: any message type made from a [`PeerEvent`].
pub trait Inbox: From<PeerEvent> + Send + 'static {}

impl<M: From<PeerEvent> + Send + 'static> Inbox for M {}

/// What the per-peer tasks need in common.
pub(crate) struct Shared<M> {
    pub sender: SenderInfo,
    pub mailbox: mpsc::Sender<M>,
    pub metrics: Arc<Metrics>,
    /// Dials peers over mutual TLS when set, else plaintext.
    pub tls: Option<PeerConnector>,
}

// Derived `Clone` would demand `M: Clone`; only the sender is cloned.
impl<M> Clone for Shared<M> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            mailbox: self.mailbox.clone(),
            metrics: self.metrics.clone(),
            tls: self.tls.clone(),
        }
    }
}

impl<M: Inbox> Shared<M> {
    /// Delivers an event unless the mailbox is full (the event is advisory:
    /// Raft retries, and the next failure reports again).
    pub fn try_tell(&self, event: PeerEvent) {
        let _ = self.mailbox.try_send(M::from(event));
    }

    /// Delivers an event, waiting for room; false once the node is gone.
    pub async fn tell(&self, event: PeerEvent) -> bool {
        self.mailbox.send(M::from(event)).await.is_ok()
    }
}

struct PeerHandle {
    url: String,
    queue: mpsc::Sender<(u64, Message)>,
}

/// Outgoing side of the transport, owned by the Raft task; peer events go
/// to a mailbox of `M`.
pub struct Transport<M> {
    shared: Shared<M>,
    peers: HashMap<u64, PeerHandle>,
    /// Snapshots dropped here, as (group, peer): the Raft task reports each
    /// to its group as failed (see [`Transport::take_dropped_snapshots`]).
    dropped_snapshots: Vec<(u64, u64)>,
}

impl<M: Inbox> Transport<M> {
    /// `sender` identifies this node in every stream it opens.
    pub fn new(sender: SenderInfo, mailbox: mpsc::Sender<M>, metrics: Arc<Metrics>) -> Self {
        Self {
            shared: Shared {
                sender,
                mailbox,
                metrics,
                tls: None,
            },
            peers: HashMap::new(),
            dropped_snapshots: Vec::new(),
        }
    }

    /// Dials peers over mutual TLS with `connector` (set before any
    /// address, so every stream uses it).
    pub fn with_tls(mut self, connector: Option<PeerConnector>) -> Self {
        self.shared.tls = connector;
        self
    }

    /// Snapshots dropped since the last call, as (group, peer). Raft keeps
    /// a follower whose snapshot is in flight in its Snapshot state until
    /// it hears of the outcome; a snapshot that never left must be reported
    /// as failed (`report_snapshot(.., Failure)`) so the leader sends
    /// another, instead of waiting for the next leader change. They are
    /// returned to the caller rather than sent to the mailbox: the Raft
    /// task is the mailbox's only reader and must not wait for room in it.
    pub fn take_dropped_snapshots(&mut self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.dropped_snapshots)
    }

    /// Sets (or changes) the URL of a peer; a change restarts its stream.
    pub fn set_address(&mut self, id: u64, url: &str) {
        if id == self.shared.sender.node_id {
            return;
        }
        if self.peers.get(&id).is_some_and(|p| p.url == url) {
            return;
        }
        let (tx, rx) = mpsc::channel(PEER_QUEUE);
        tokio::spawn(peer::run(id, url.to_string(), rx, self.shared.clone()));
        self.peers.insert(
            id,
            PeerHandle {
                url: url.to_string(),
                queue: tx,
            },
        );
    }

    /// Keeps only the peers for which `keep` is true (stops the others' tasks).
    pub fn retain(&mut self, keep: impl Fn(u64) -> bool) {
        self.peers.retain(|id, _| keep(*id));
    }

    /// Queues messages of `group` to their peers without blocking. A peer
    /// whose queue is full loses the message and is reported unreachable, so
    /// Raft stops streaming appends to it and probes it instead (the queue
    /// never grows past [`PEER_QUEUE`]).
    pub fn send(&mut self, group: u64, msgs: Vec<Message>) {
        let mut overflowed: Option<u64> = None;
        for msg in msgs {
            let to = msg.to;
            let snapshot = msg.get_msg_type() == MessageType::MsgSnapshot;
            let Some(peer) = self.peers.get(&to) else {
                tracing::debug!(to, "no address for peer; message dropped");
                self.shared.try_tell(PeerEvent::Unreachable(to));
                if snapshot {
                    self.dropped_snapshots.push((group, to));
                }
                continue;
            };
            if peer.queue.try_send((group, msg)).is_err() {
                if snapshot {
                    tracing::debug!(to, group, "peer queue full; snapshot dropped");
                    self.dropped_snapshots.push((group, to));
                }
                self.shared
                    .metrics
                    .peer_dropped_messages
                    .get_or_create(&PeerLabel { peer: to })
                    .inc();
                if overflowed != Some(to) {
                    overflowed = Some(to);
                    self.shared.try_tell(PeerEvent::Unreachable(to));
                }
            }
        }
    }
}
