//! The `GET /v1/status` document: what a broker knows of the metadata Raft
//! group and of the partition groups it hosts.
//!
//! The broker builds it; the operator, scenarios, benchmarks and tests read
//! it. Fields a newer broker adds deserialize with their defaults on older
//! readers and the other way round, so a rolling upgrade keeps working.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A broker's Raft role in the metadata group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftRole {
    Leader,
    Follower,
    Candidate,
    PreCandidate,
    /// A follower that is a learner in the configuration (no vote).
    Learner,
}

impl RaftRole {
    /// The name used in the JSON document and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::Follower => "follower",
            Self::Candidate => "candidate",
            Self::PreCandidate => "pre_candidate",
            Self::Learner => "learner",
        }
    }
}

impl std::fmt::Display for RaftRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member's place in the Raft configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Voter,
    Learner,
}

/// Where a member that came back with a new incarnation (a wiped or
/// replaced disk) stands on its way back to being a voter. Until it is done,
/// no broker counts its votes in any Raft group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejoinState {
    /// It announced an incarnation other than the recorded one: the metadata
    /// leader demotes it to learner in every group.
    NewIncarnation,
    /// Its new incarnation is recorded; it is promoted again in each group
    /// once it holds that group's log up to its demotion.
    CatchingUp,
}

/// One member of the metadata group's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: u64,
    /// The member's Raft (gRPC) URL.
    pub url: String,
    pub role: MemberRole,
    /// The highest log index known to be replicated on the member; known on
    /// the leader only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_index: Option<u64>,
    /// Incarnation last seen from the member (empty if never heard from).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub incarnation: String,
    /// Set while the member rejoins with a new incarnation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejoining: Option<RejoinState>,
}

/// Partition groups on one broker, for operators waiting for convergence and
/// for replication before they restart a broker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupsSummary {
    /// Partition groups known locally.
    pub total: usize,
    /// Groups this broker leads.
    pub led: usize,
    /// Groups whose configuration (as known here) differs from the metadata
    /// group's; 0 means every local group matches the metadata membership.
    pub unconverged: usize,
    /// Local replicas that know no leader (right after a restart, or while
    /// their group elects one).
    pub leaderless: usize,
    /// Voter id → groups led here in which that voter needs a snapshot or is
    /// behind the commit index by more than a small slack. A broker restarted
    /// while another voter is behind can take a partition below quorum.
    pub lagging: BTreeMap<u64, usize>,
    /// Local replicas that have not applied every entry they know committed
    /// (replaying their log after a restart, or catching up from the
    /// leader); they serve no reads meanwhile.
    pub replaying: usize,
}

/// A peer refused this broker's Raft traffic (e.g. because it was removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRefusal {
    /// The refusing member.
    pub by: u64,
    /// Its reason, as it sent it.
    pub reason: String,
    /// Milliseconds since the Unix epoch of the latest refusal.
    pub at_ms: u64,
}

/// A fingerprint of the replicated metadata state at one applied index:
/// replicas that applied the same log to the same index report the same
/// digest (a check that replay is deterministic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDigest {
    /// The metadata index the digest belongs to.
    pub applied_index: u64,
    /// 64-bit hash of the metadata state, 16 hex digits.
    pub digest: String,
}

/// Everything `GET /v1/status` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerStatus {
    pub node_id: u64,
    #[serde(default)]
    pub cluster_id: String,
    /// This data directory's incarnation (a new one after a wiped disk).
    #[serde(default)]
    pub incarnation: String,
    pub role: RaftRole,
    /// The leader this broker follows; 0 (Raft's "none") while unknown. Use
    /// [`BrokerStatus::leader`] for an `Option`.
    #[serde(default)]
    pub leader_id: u64,
    #[serde(default)]
    pub term: u64,
    #[serde(default)]
    pub commit_index: u64,
    #[serde(default)]
    pub applied_index: u64,
    #[serde(default)]
    pub members: Vec<MemberStatus>,
    /// The leader's Raft (gRPC) URL, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub leader_raft_url: String,
    /// Partition groups on this broker.
    #[serde(default)]
    pub groups: GroupsSummary,
    /// Members removed from the cluster and not added again (node id → index
    /// of the removing configuration change); their Raft traffic is refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub removed: BTreeMap<u64, u64>,
    /// The latest refusal of this broker's traffic by a peer, while recent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<PeerRefusal>,
    /// Set while this broker rejoins with a new incarnation (as far as the
    /// metadata it holds tells); its votes are not counted meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejoining: Option<RejoinState>,
    /// Milliseconds since the Unix epoch when the Raft loop last ran; a
    /// value that stops moving means the loop is stuck (`/livez` fails).
    #[serde(default)]
    pub loop_heartbeat_ms: u64,
    /// The metadata state's digest at the index it was applied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_digest: Option<StateDigest>,
    /// Set while the broker starts: its storage is being recovered and the
    /// Raft loop does not run yet (absent once it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// Members of the metadata group whose Kafka address is not recorded yet
    /// (a broker registers its addresses once a leader is known). Kafka
    /// Metadata cannot name them until they do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unregistered: Vec<u64>,
    /// Whether peer traffic (Raft and the admin API) uses mutual TLS.
    #[serde(default)]
    pub peer_security: crate::security::PeerSecurity,
}

/// Where a starting broker stands before its Raft loop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPhase {
    /// The process runs; storage is not opened yet.
    Starting,
    /// The Raft log is being opened and checked.
    Recovering,
}

/// Progress of a starting broker's storage recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub phase: StartPhase,
    /// What it is doing, for people (e.g. "checking the log of group 3").
    #[serde(default)]
    pub step: String,
    /// Milliseconds since the Unix epoch of its latest progress; a value
    /// that stops moving means recovery is stuck (`/livez` fails).
    #[serde(default)]
    pub progress_ms: u64,
    /// Log bytes checked so far and in all (0 while unknown).
    #[serde(default)]
    pub checked_bytes: u64,
    #[serde(default)]
    pub total_bytes: u64,
}

impl BrokerStatus {
    /// The status of a broker whose Raft loop has not run yet.
    pub fn initial(node_id: u64, cluster_id: &str, incarnation: &str, now_ms: u64) -> Self {
        Self {
            node_id,
            cluster_id: cluster_id.to_string(),
            incarnation: incarnation.to_string(),
            role: RaftRole::Follower,
            leader_id: 0,
            term: 0,
            commit_index: 0,
            applied_index: 0,
            members: Vec::new(),
            leader_raft_url: String::new(),
            groups: GroupsSummary::default(),
            removed: BTreeMap::new(),
            refused: None,
            rejoining: None,
            loop_heartbeat_ms: now_ms,
            state_digest: None,
            recovery: None,
            unregistered: Vec::new(),
            peer_security: crate::security::PeerSecurity::Plaintext,
        }
    }

    /// The status of a broker process that has not recovered its storage
    /// yet (phase `starting`).
    pub fn starting(node_id: u64, cluster_id: &str, incarnation: &str, now_ms: u64) -> Self {
        Self {
            recovery: Some(Recovery {
                phase: StartPhase::Starting,
                step: "starting".to_string(),
                progress_ms: now_ms,
                checked_bytes: 0,
                total_bytes: 0,
            }),
            ..Self::initial(node_id, cluster_id, incarnation, now_ms)
        }
    }

    /// The leader this broker follows, if it knows one.
    pub fn leader(&self) -> Option<u64> {
        (self.leader_id != 0).then_some(self.leader_id)
    }

    /// Whether this broker leads the metadata group.
    pub fn is_leader(&self) -> bool {
        self.role == RaftRole::Leader
    }

    /// Whether this broker is in the configuration.
    pub fn is_member(&self) -> bool {
        self.members.iter().any(|m| m.id == self.node_id)
    }

    /// The member with this id, if configured.
    pub fn member(&self, id: u64) -> Option<&MemberStatus> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The membership part of the status.
    pub fn membership(&self) -> crate::Membership {
        crate::Membership {
            leader_id: self.leader_id,
            members: self.members.clone(),
        }
    }

    /// Whether the two ids [`Self::registration_pending`] checks are both
    /// known and registered.
    pub fn registered(&self) -> bool {
        self.leader_id != 0 && self.registration_pending().is_none()
    }

    /// This broker or the leader (the Kafka controller) when its Kafka
    /// address is not recorded yet: a Metadata answer would leave it out.
    pub fn registration_pending(&self) -> Option<u64> {
        [self.node_id, self.leader_id]
            .into_iter()
            .find(|id| *id != 0 && self.unregistered.contains(id))
    }

    /// `None` when ready to serve; otherwise the one-line reason it is not
    /// (what `/readyz` answers with 503).
    pub fn not_ready_reason(&self) -> Option<String> {
        if let Some(r) = &self.recovery {
            return Some(format!("recovering storage: {}", r.step));
        }
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
        if self.groups.replaying > 0 {
            return Some(format!(
                "catching up: {} partition groups are applying their log",
                self.groups.replaying
            ));
        }
        if let Some(missing) = self.registration_pending() {
            return Some(format!(
                "waiting for broker {missing} to register its Kafka address"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_snake_case_in_json() {
        let s = serde_json::to_string(&RaftRole::PreCandidate).unwrap();
        assert_eq!(s, "\"pre_candidate\"");
        let r: RaftRole = serde_json::from_str("\"learner\"").unwrap();
        assert_eq!(r, RaftRole::Learner);
    }

    #[test]
    fn a_minimal_document_reads_with_defaults() {
        let s: BrokerStatus =
            serde_json::from_str(r#"{"node_id":2,"role":"follower","leader_id":0}"#).unwrap();
        assert_eq!(s.leader(), None);
        assert_eq!(s.groups, GroupsSummary::default());
        assert_eq!(
            s.not_ready_reason().as_deref(),
            Some("node 2 is not a member of the cluster yet")
        );
    }

    #[test]
    fn a_starting_broker_is_not_ready_until_storage_is_recovered() {
        let mut s = BrokerStatus::starting(1, "c", "i", 5);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""phase":"starting""#), "{json}");
        assert_eq!(
            s.not_ready_reason().as_deref(),
            Some("recovering storage: starting")
        );
        s.recovery = None;
        s.groups.replaying = 2;
        assert!(!serde_json::to_string(&s).unwrap().contains("recovery"));
        assert!(s.not_ready_reason().is_some());
    }

    #[test]
    fn round_trips() {
        let mut s = BrokerStatus::initial(1, "c", "i", 5);
        s.role = RaftRole::Leader;
        s.leader_id = 1;
        s.members.push(MemberStatus {
            id: 1,
            url: "http://a:5001".into(),
            role: MemberRole::Voter,
            match_index: Some(3),
            incarnation: "i".into(),
            rejoining: Some(RejoinState::CatchingUp),
        });
        s.groups.lagging.insert(2, 4);
        let json = serde_json::to_string(&s).unwrap();
        let back: BrokerStatus = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(back.is_leader());
        assert_eq!(back.not_ready_reason(), None);
    }
}
