//! Prometheus metrics of a broker (served at `GET /metrics`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// Label naming a peer node.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    pub peer: u64,
}

/// Label naming a proposal outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

/// Label naming why something was refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

/// All metrics of one broker.
pub struct Metrics {
    registry: Registry,
    pub term: Gauge,
    /// 0 follower, 1 candidate, 2 leader, 3 pre-candidate.
    pub role: Gauge,
    pub leader_id: Gauge,
    pub commit_index: Gauge,
    pub applied_index: Gauge,
    pub proposals: Family<OutcomeLabel, Counter>,
    pub peer_send_errors: Family<PeerLabel, Counter>,
    pub peer_dropped_messages: Family<PeerLabel, Counter>,
    pub peer_rtt_seconds: Family<PeerLabel, Histogram>,
    pub fsync_seconds: Histogram,
    pub refused_batches: Counter,
    /// Incoming Raft traffic refused, by reason (failed TLS handshakes,
    /// senders not matching their certificate, other clusters...).
    pub transport_refusals: Family<ReasonLabel, Counter>,
    /// Vote requests and grants dropped because their sender came back with
    /// a new incarnation and has not rejoined yet.
    pub rejoin_dropped_votes: Counter,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("chronik");
        let m = Self {
            term: Gauge::default(),
            role: Gauge::default(),
            leader_id: Gauge::default(),
            commit_index: Gauge::default(),
            applied_index: Gauge::default(),
            proposals: Family::default(),
            peer_send_errors: Family::default(),
            peer_dropped_messages: Family::default(),
            peer_rtt_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 16))
            }),
            fsync_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 16)),
            refused_batches: Counter::default(),
            transport_refusals: Family::default(),
            rejoin_dropped_votes: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("raft_term", "Current Raft term", m.term.clone());
        registry.register(
            "raft_role",
            "Raft role: 0 follower, 1 candidate, 2 leader, 3 pre-candidate",
            m.role.clone(),
        );
        registry.register(
            "raft_leader_id",
            "Node id of the known leader (0 = none)",
            m.leader_id.clone(),
        );
        registry.register(
            "raft_commit_index",
            "Raft commit index",
            m.commit_index.clone(),
        );
        registry.register(
            "raft_applied_index",
            "Last applied log index",
            m.applied_index.clone(),
        );
        registry.register(
            "raft_proposals",
            "Proposals by outcome",
            m.proposals.clone(),
        );
        registry.register(
            "transport_send_errors",
            "Failed connections or streams to a peer",
            m.peer_send_errors.clone(),
        );
        registry.register(
            "transport_dropped_messages",
            "Raft messages dropped because a peer's queue was full",
            m.peer_dropped_messages.clone(),
        );
        registry.register(
            "transport_rtt_seconds",
            "Round trip of a message batch to a peer's Raft mailbox",
            m.peer_rtt_seconds.clone(),
        );
        registry.register(
            "storage_fsync_seconds",
            "Latency of fsync'd Raft log writes",
            m.fsync_seconds.clone(),
        );
        registry.register(
            "transport_refused_batches",
            "Incoming batches refused (other cluster, unknown group)",
            m.refused_batches.clone(),
        );
        registry.register(
            "transport_refusals",
            "Incoming Raft connections, streams and batches refused, by reason",
            m.transport_refusals.clone(),
        );
        registry.register(
            "raft_rejoin_dropped_votes",
            "Vote requests and grants dropped from members rejoining with a new incarnation",
            m.rejoin_dropped_votes.clone(),
        );
        Arc::new(Self { registry, ..m })
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
