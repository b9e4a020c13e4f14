//! What the planner looks at: the observed workload, the leader's view of
//! Raft, the recorded operation and a few settings.

use k8s_openapi::jiff::Timestamp;

use crate::crd::{MemberRole, OperationStatus};
use crate::status::{BrokerError, BrokerStatus};
use crate::validate::ValidatedCluster;

/// Where members live: Raft node id → URLs and pod name.
pub trait Addresses: Send + Sync {
    /// Raft URL a new member is added with (its headless-DNS name in Kubernetes).
    fn raft_url(&self, id: u64) -> String;
    /// Base URL of the member's HTTP API.
    fn http_url(&self, id: u64) -> String;
    /// Name of the member's pod.
    fn pod_name(&self, id: u64) -> String;
}

fn ordinal(id: u64) -> i32 {
    i32::try_from(id.saturating_sub(1)).unwrap_or(i32::MAX)
}

impl Addresses for ValidatedCluster {
    fn raft_url(&self, id: u64) -> String {
        self.peer_url(ordinal(id))
    }
    fn http_url(&self, id: u64) -> String {
        ValidatedCluster::http_url(self, ordinal(id))
    }
    fn pod_name(&self, id: u64) -> String {
        ValidatedCluster::pod_name(self, ordinal(id))
    }
}

/// One pod of the StatefulSet as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    /// Pod ordinal (Raft node id − 1).
    pub ordinal: i32,
    /// The pod's Ready condition is True.
    pub ready: bool,
    /// The pod has a deletion timestamp.
    pub terminating: bool,
    /// The pod's `controller-revision-hash` label.
    pub revision: Option<String>,
    /// Why the broker container cannot run: a waiting reason that will not
    /// heal by itself (`CrashLoopBackOff`, `ImagePullBackOff`, ...), followed
    /// by the kubelet's message when it gave one (`reason: message`).
    pub failure: Option<String>,
}

/// The StatefulSet and its pods as observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadView {
    /// `spec.replicas` of the live StatefulSet; `None` before it exists.
    pub statefulset_replicas: Option<i32>,
    /// `status.updateRevision` of the live StatefulSet: the revision of the
    /// current pod template.
    pub update_revision: Option<String>,
    /// Pods that exist, any order.
    pub pods: Vec<PodView>,
}

impl WorkloadView {
    /// The pod of a Raft member, if it exists.
    pub fn pod(&self, id: u64) -> Option<&PodView> {
        self.pods.iter().find(|p| p.ordinal == ordinal(id))
    }
    /// True when the member's pod exists, is Ready and is not terminating.
    pub fn pod_ready(&self, id: u64) -> bool {
        self.pod(id).is_some_and(|p| p.ready && !p.terminating)
    }
}

/// One Raft member as the leader reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftMember {
    pub id: u64,
    pub url: String,
    pub role: MemberRole,
    /// Highest log index known replicated on the member.
    pub match_index: Option<u64>,
}

/// The leader's view of Raft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftView {
    pub leader_id: u64,
    pub commit_index: u64,
    pub members: Vec<RaftMember>,
    /// Partition groups whose membership has not followed the metadata group
    /// yet (`groups.unconverged` of `/v1/status`; absent = 0).
    pub unconverged_groups: u64,
    /// Replication of the partition groups, summed over every broker that
    /// answered.
    pub partitions: PartitionReplication,
}

/// How far the partition groups are from fully replicated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionReplication {
    /// Partition replicas that know no leader.
    pub leaderless: u64,
    /// Voter id → partition groups in which it is behind its leader.
    pub lagging: std::collections::BTreeMap<u64, u64>,
}

impl PartitionReplication {
    /// Why restarting a broker now could take a partition below quorum:
    /// a voter behind in some partition group, or a replica without a
    /// leader. `None` when every partition is fully replicated.
    pub fn unsettled(&self) -> Option<String> {
        if let Some((id, groups)) = self.lagging.iter().find(|(_, n)| **n > 0) {
            return Some(format!(
                "member {id} is behind in {groups} partition group(s)"
            ));
        }
        (self.leaderless > 0)
            .then(|| format!("{} partition replica(s) know no leader", self.leaderless))
    }
}

impl RaftView {
    /// The member with this id.
    pub fn member(&self, id: u64) -> Option<&RaftMember> {
        self.members.iter().find(|m| m.id == id)
    }
    /// Ids of the voters.
    pub fn voters(&self) -> impl Iterator<Item = &RaftMember> {
        self.members.iter().filter(|m| m.role == MemberRole::Voter)
    }
    /// Entries the member is behind the leader's commit index; `None` when unknown.
    pub fn lag(&self, id: u64) -> Option<u64> {
        self.member(id)?
            .match_index
            .map(|m| self.commit_index.saturating_sub(m))
    }
}

/// The leader's view from the brokers' `/v1/status` answers: the answer of
/// the leader with the highest term, if any broker is the leader.
pub fn raft_view(answers: &[Result<BrokerStatus, BrokerError>]) -> Option<RaftView> {
    let leader = answers
        .iter()
        .filter_map(|a| a.as_ref().ok())
        .filter(|a| a.role == "leader")
        .max_by_key(|a| a.term)?;
    Some(RaftView {
        leader_id: leader.node_id,
        commit_index: leader.commit_index,
        members: leader
            .members
            .iter()
            .map(|m| RaftMember {
                id: m.id,
                url: m.url.clone(),
                role: if m.role == "learner" {
                    MemberRole::Learner
                } else {
                    MemberRole::Voter
                },
                match_index: m.match_index,
            })
            .collect(),
        unconverged_groups: leader.groups.as_ref().map_or(0, |g| g.unconverged),
        partitions: partition_replication(answers),
    })
}

fn partition_replication(answers: &[Result<BrokerStatus, BrokerError>]) -> PartitionReplication {
    let mut sum = PartitionReplication::default();
    for groups in answers
        .iter()
        .filter_map(|a| a.as_ref().ok()?.groups.as_ref())
    {
        sum.leaderless += groups.leaderless;
        for (id, n) in &groups.lagging {
            *sum.lagging.entry(*id).or_default() += n;
        }
    }
    sum
}

/// Tunables of the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannerSettings {
    /// A member is caught up when it is at most this many entries behind the
    /// leader's commit index (default 0: its match index reached it).
    pub max_lag: u64,
    /// A restarted pod that is not Ready this many seconds after its restart
    /// stops the roll (default 300).
    pub roll_ready_timeout_seconds: i64,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        Self {
            max_lag: 0,
            roll_ready_timeout_seconds: 300,
        }
    }
}

/// Everything [`super::plan`] looks at.
pub struct PlanInput<'a> {
    /// `spec.replicas`.
    pub desired_replicas: i32,
    /// `spec.paused`.
    pub paused: bool,
    pub addresses: &'a dyn Addresses,
    pub workload: &'a WorkloadView,
    /// `None` when no broker answered as leader.
    pub raft: Option<&'a RaftView>,
    /// `status.operation` as stored.
    pub recorded: Option<&'a OperationStatus>,
    pub settings: &'a PlannerSettings,
    pub now: Timestamp,
}
