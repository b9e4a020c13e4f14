//! What the node knows of its peers: the transport that reaches them, the
//! incarnation each announced (a new one means a wiped disk) and the latest
//! refusal of this node's traffic.

use super::handle::NodeMsg;
use super::status::{now_ms, PeerRefusal};
use crate::transport::Transport;
use raft::eraftpb::{ConfState, Message};
use std::collections::BTreeMap;

/// How long a peer's refusal keeps this node unready after the last one
/// (refused links retry at least every 2 s, so a lasting refusal stays shown).
const REFUSAL_SHOWN_MS: u64 = 10_000;

/// The node's peers.
pub(super) struct Peers {
    transport: Transport<NodeMsg>,
    incarnations: BTreeMap<u64, String>,
    refused: Option<PeerRefusal>,
}

impl Peers {
    /// Peers reached through `transport`; this node's own incarnation is known.
    pub fn new(own_id: u64, own_incarnation: String, transport: Transport<NodeMsg>) -> Self {
        Self {
            transport,
            incarnations: BTreeMap::from([(own_id, own_incarnation)]),
            refused: None,
        }
    }

    /// Queues messages of `group` to their peers without blocking.
    pub fn send(&mut self, group: u64, msgs: Vec<Message>) {
        self.transport.send(group, msgs);
    }

    /// Snapshots the transport dropped before they left, as (group, peer).
    pub fn take_dropped_snapshots(&mut self) -> Vec<(u64, u64)> {
        self.transport.take_dropped_snapshots()
    }

    /// Sets (or changes) the Raft URL of a peer.
    pub fn set_address(&mut self, id: u64, url: &str) {
        self.transport.set_address(id, url);
    }

    /// Points the transport at the replicated member URLs and stops the links
    /// of nodes that are neither configured nor known members.
    pub fn sync_addresses(
        &mut self,
        own_id: u64,
        members: &BTreeMap<u64, String>,
        conf: &ConfState,
    ) {
        for (id, url) in members {
            if *id != own_id {
                self.transport.set_address(*id, url);
            }
        }
        self.transport.retain(|id| {
            conf.voters.contains(&id) || conf.learners.contains(&id) || members.contains_key(&id)
        });
    }

    /// Records the incarnation a peer announced; true when it changed (the
    /// peer restarted with a wiped disk).
    pub fn seen(&mut self, id: u64, incarnation: String) -> bool {
        match self.incarnations.get(&id) {
            Some(known) if *known == incarnation => false,
            Some(known) => {
                tracing::warn!(peer = id, old = %known, new = %incarnation, "peer restarted with a new incarnation (wiped disk?)");
                self.incarnations.insert(id, incarnation);
                true
            }
            None => {
                self.incarnations.insert(id, incarnation);
                false
            }
        }
    }

    /// The incarnation `id` last announced ("" if it never did).
    pub fn incarnation(&self, id: u64) -> String {
        self.incarnations.get(&id).cloned().unwrap_or_default()
    }

    /// Records that peer `by` refuses this node's traffic.
    pub fn refused_by(&mut self, by: u64, reason: String) {
        tracing::warn!(peer = by, %reason, "a member refuses this node's raft traffic");
        self.refused = Some(PeerRefusal {
            by,
            reason,
            at_ms: now_ms(),
        });
    }

    /// The latest refusal, while it is recent enough to show.
    pub fn refusal(&self) -> Option<PeerRefusal> {
        self.refused
            .clone()
            .filter(|r| now_ms().saturating_sub(r.at_ms) < REFUSAL_SHOWN_MS)
    }
}
