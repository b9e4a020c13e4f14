//! What the planner looks at: the observed workload, the leader's view of
//! Raft, the recorded operation and a few settings.

use chronik_api::{MemberRole, MemberStatus, NodeId};
use k8s_openapi::jiff::Timestamp;

use crate::addresses::MemberAddresses;
use crate::brokers::Answers;
use crate::crd::OperationStatus;

/// One pod of the StatefulSet as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    /// Pod ordinal (see [`NodeId::from_ordinal`]).
    pub ordinal: u32,
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
        let ordinal = NodeId(id).ordinal()?;
        self.pods.iter().find(|p| p.ordinal == ordinal)
    }
    /// True when the member's pod exists, is Ready and is not terminating.
    pub fn pod_ready(&self, id: u64) -> bool {
        self.pod(id).is_some_and(|p| p.ready && !p.terminating)
    }
}

/// The leader's view of Raft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftView {
    pub leader_id: u64,
    pub commit_index: u64,
    pub members: Vec<MemberStatus>,
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
    pub fn member(&self, id: u64) -> Option<&MemberStatus> {
        self.members.iter().find(|m| m.id == id)
    }
    /// Ids of the voters.
    pub fn voters(&self) -> impl Iterator<Item = &MemberStatus> {
        self.members.iter().filter(|m| m.role == MemberRole::Voter)
    }
    /// Entries the member is behind the leader's commit index; `None` when unknown.
    pub fn lag(&self, id: u64) -> Option<u64> {
        self.member(id)?
            .match_index
            .map(|m| self.commit_index.saturating_sub(m))
    }
}

/// The leader's view from the brokers' `/v1/status` answers; `None` while
/// no broker answers as the leader.
pub fn raft_view(answers: &Answers) -> Option<RaftView> {
    let leader = answers.leader()?;
    Some(RaftView {
        leader_id: leader.node_id,
        commit_index: leader.commit_index,
        members: leader.members.clone(),
        unconverged_groups: count(leader.groups.unconverged),
        partitions: partition_replication(answers),
    })
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn partition_replication(answers: &Answers) -> PartitionReplication {
    let mut sum = PartitionReplication::default();
    for groups in answers.answered().map(|a| &a.groups) {
        sum.leaderless += count(groups.leaderless);
        for (id, n) in &groups.lagging {
            *sum.lagging.entry(*id).or_default() += count(*n);
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
    pub addresses: &'a dyn MemberAddresses,
    pub workload: &'a WorkloadView,
    /// `None` when no broker answered as leader.
    pub raft: Option<&'a RaftView>,
    /// `status.operation` as stored.
    pub recorded: Option<&'a OperationStatus>,
    pub settings: &'a PlannerSettings,
    pub now: Timestamp,
}
