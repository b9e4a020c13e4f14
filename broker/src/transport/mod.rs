//! Raft transport over gRPC: one long-lived, batching stream per peer.
//!
//! The Raft loop hands messages to [`Transport::send`], which never blocks:
//! each peer has a bounded queue drained by its own task. A full queue drops
//! messages (Raft retransmits) and a broken connection is reported to Raft as
//! unreachable. Each reconnect builds a new channel, so the peer's DNS name is
//! resolved again (a restarted pod comes back with a new address).

mod peer;
mod server;

pub use server::RaftService;

use crate::metrics::{Metrics, PeerLabel};
use crate::node::NodeMsg;
use chronik_proto::raft::SenderInfo;
use raft::eraftpb::Message;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Messages queued per peer before new ones are dropped.
const PEER_QUEUE: usize = 8_192;
/// Largest gRPC message accepted or sent (snapshots can be large).
pub const MAX_GRPC_MESSAGE: usize = 256 * 1024 * 1024;

/// What the per-peer tasks need in common.
#[derive(Clone)]
pub(crate) struct Shared {
    pub sender: SenderInfo,
    pub mailbox: mpsc::Sender<NodeMsg>,
    pub metrics: Arc<Metrics>,
}

struct PeerHandle {
    url: String,
    queue: mpsc::Sender<(u64, Message)>,
}

/// Outgoing side of the transport, owned by the Raft task.
pub struct Transport {
    shared: Shared,
    peers: HashMap<u64, PeerHandle>,
}

impl Transport {
    /// `sender` identifies this node in every stream it opens.
    pub(crate) fn new(
        sender: SenderInfo,
        mailbox: mpsc::Sender<NodeMsg>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            shared: Shared {
                sender,
                mailbox,
                metrics,
            },
            peers: HashMap::new(),
        }
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

    /// Queues messages of `group` to their peers without blocking.
    pub fn send(&mut self, group: u64, msgs: Vec<Message>) {
        for msg in msgs {
            let to = msg.to;
            let Some(peer) = self.peers.get(&to) else {
                tracing::debug!(to, "no address for peer; message dropped");
                let _ = self.shared.mailbox.try_send(NodeMsg::Unreachable(to));
                continue;
            };
            if peer.queue.try_send((group, msg)).is_err() {
                self.shared
                    .metrics
                    .peer_dropped_messages
                    .get_or_create(&PeerLabel { peer: to })
                    .inc();
            }
        }
    }
}
