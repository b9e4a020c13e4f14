//! The cluster's health from the brokers' answers: who leads, the members
//! and how many voters are healthy against the quorum.

use chronik_api::{BrokerStatus, MemberRole, NodeId};

use crate::addresses::MemberAddresses;
use crate::brokers::Answers;
use crate::crd::{ClusterMember, ClusterMemberRole, LeaderStatus};
use crate::validate::{quorum, ValidatedCluster};

/// What the brokers say about the cluster as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The leader: the leader's own answer, else what the brokers of the
    /// newest term follow.
    pub leader: Option<LeaderStatus>,
    /// The newest term any broker reported.
    pub term: Option<u64>,
    /// The members as the leader (else the broker of the newest term) lists
    /// them.
    pub members: Vec<ClusterMember>,
    /// Voters in the configuration (the initial voters while none is known).
    pub voters: i32,
    /// Voters that answered and know a leader.
    pub healthy: i32,
    /// Pods that did not answer.
    pub silent_pods: Vec<String>,
}

impl Health {
    /// Read the answers of one cluster.
    pub fn of(cluster: &ValidatedCluster, answers: &Answers) -> Self {
        let leader = answers.leader();
        let term = answers.answered().map(|a| a.term).max();
        let leader_id = leader.map(|a| a.node_id).or_else(|| {
            answers
                .answered()
                .filter(|a| Some(a.term) == term)
                .find_map(BrokerStatus::leader)
        });
        let membership = leader.or_else(|| answers.answered().max_by_key(|a| a.term));
        let members: Vec<ClusterMember> = membership
            .map(|source| {
                source
                    .members
                    .iter()
                    .map(|m| ClusterMember {
                        id: m.id,
                        pod: cluster.addresses.pod_of(NodeId(m.id)),
                        url: m.url.clone(),
                        role: ClusterMemberRole::from(m.role),
                        ready: answers
                            .answered()
                            .find(|a| a.node_id == m.id)
                            .is_some_and(|a| a.leader().is_some()),
                        lag: leader
                            .zip(m.match_index)
                            .map(|(l, matched)| l.commit_index.saturating_sub(matched)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let voters = membership.map_or(0, |source| {
            count(
                source
                    .members
                    .iter()
                    .filter(|m| m.role == MemberRole::Voter)
                    .count(),
            )
        });
        let healthy = count(
            members
                .iter()
                .filter(|m| m.role == ClusterMemberRole::Voter && m.ready)
                .count(),
        );
        Self {
            leader: leader_id.map(|id| LeaderStatus {
                id,
                pod: cluster.addresses.pod_of(NodeId(id)),
            }),
            term,
            members,
            voters: if voters == 0 {
                cluster.initial_replicas
            } else {
                voters
            },
            healthy,
            silent_pods: answers
                .silent_ordinals()
                .map(|o| cluster.addresses.pod_name(o))
                .collect(),
        }
    }

    /// Voters that must be up for the cluster to commit.
    pub fn needed(&self) -> i32 {
        quorum(self.voters)
    }

    /// A leader is known and healthy voters reach quorum.
    pub fn available(&self) -> bool {
        self.leader.is_some() && self.healthy >= self.needed()
    }

    /// Not available, a voter unhealthy, or a pod silent.
    pub fn degraded(&self) -> bool {
        !self.available() || self.healthy < self.voters || !self.silent_pods.is_empty()
    }

    /// "2/3 members healthy, quorum needs 2".
    pub fn quorum_text(&self) -> String {
        format!(
            "{}/{} members healthy, quorum needs {}",
            self.healthy,
            self.voters,
            self.needed()
        )
    }
}
