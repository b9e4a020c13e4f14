//! The node's externally visible status (`/v1/status`, readiness, metrics).

use serde::Serialize;
use std::collections::BTreeMap;

/// A member's role in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Voter,
    Learner,
}

/// One member of the Raft configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberStatus {
    pub id: u64,
    pub url: String,
    pub role: MemberRole,
    /// Known on the leader only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_index: Option<u64>,
    /// Incarnation last seen from the member (empty if never heard from).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub incarnation: String,
}

/// The configuration and who leads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub leader_id: u64,
    pub members: Vec<MemberStatus>,
}

/// Partition groups on this node, for operators waiting for convergence
/// and for replication before they restart a broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupsSummary {
    /// Partition groups known locally.
    pub total: usize,
    /// Groups this node leads.
    pub led: usize,
    /// Groups whose configuration (as known here) differs from the metadata
    /// group's; 0 means every local group matches the metadata membership.
    pub unconverged: usize,
    /// Local replicas that know no leader (right after a restart, or while
    /// their group elects one).
    pub leaderless: usize,
    /// Voter id → groups led here in which that voter needs a snapshot or
    /// is behind the commit index by more than a small slack. A broker
    /// restarted while another voter is behind can take a partition below
    /// quorum.
    pub lagging: BTreeMap<u64, usize>,
}

/// A peer refused this node's Raft traffic (e.g. because it was removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerRefusal {
    /// The refusing member.
    pub by: u64,
    /// Its reason, as it sent it.
    pub reason: String,
    /// Milliseconds since the Unix epoch of the latest refusal.
    pub at_ms: u64,
}

/// Everything `/v1/status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    pub node_id: u64,
    pub cluster_id: String,
    pub incarnation: String,
    /// leader, follower, candidate, pre_candidate or learner.
    pub role: String,
    pub leader_id: u64,
    pub term: u64,
    pub commit_index: u64,
    pub applied_index: u64,
    pub members: Vec<MemberStatus>,
    /// Raft URL of the leader, when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub leader_url: String,
    /// Partition groups on this node.
    pub groups: GroupsSummary,
    /// Members removed from the cluster and not added again (node id → index
    /// of the removing conf change); their Raft traffic is refused.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub removed: BTreeMap<u64, u64>,
    /// The latest refusal of this node's traffic by a peer, while recent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<PeerRefusal>,
    /// Milliseconds since the Unix epoch when the Raft loop last ran.
    #[serde(skip)]
    pub loop_heartbeat_ms: u64,
}

impl NodeStatus {
    /// The status before the Raft loop has run.
    pub fn initial(node_id: u64, cluster_id: &str, incarnation: &str) -> Self {
        Self {
            node_id,
            cluster_id: cluster_id.to_string(),
            incarnation: incarnation.to_string(),
            role: "follower".to_string(),
            leader_id: 0,
            term: 0,
            commit_index: 0,
            applied_index: 0,
            members: Vec::new(),
            leader_url: String::new(),
            loop_heartbeat_ms: now_ms(),
            groups: GroupsSummary::default(),
            removed: BTreeMap::new(),
            refused: None,
        }
    }

    /// Whether this node is in the configuration.
    pub fn is_member(&self) -> bool {
        self.members.iter().any(|m| m.id == self.node_id)
    }

    /// `None` when ready to serve; otherwise the one-line reason it is not.
    pub fn not_ready_reason(&self) -> Option<String> {
        if let Some(index) = self
            .removed
            .get(&self.node_id)
            .filter(|_| !self.is_member())
        {
            return Some(format!(
                "node {} was removed from the cluster at index {index}; \
                 wipe its data directory or add it again as a learner",
                self.node_id
            ));
        }
        if let Some(r) = &self.refused {
            return Some(format!(
                "member {} refuses this node's traffic: {}",
                r.by, r.reason
            ));
        }
        if !self.is_member() {
            return Some(format!(
                "node {} is not a member of the cluster yet",
                self.node_id
            ));
        }
        if self.leader_id == 0 {
            return Some("no leader known".to_string());
        }
        if self.applied_index < self.commit_index {
            return Some(format!(
                "catching up: applied {} of {} committed entries",
                self.applied_index, self.commit_index
            ));
        }
        None
    }

    /// The membership part of the status.
    pub fn membership(&self) -> super::Membership {
        super::Membership {
            leader_id: self.leader_id,
            members: self.members.clone(),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
