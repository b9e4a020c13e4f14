//! Cluster status from the brokers' own answers.
//!
//! The operator asks every pod for `GET /v1/status` through its headless DNS
//! name ([`BrokerStatusSource`]), then [`compute_status`] (pure) turns the
//! answers and the StatefulSet's status into the ChronikCluster status with
//! the conditions `Available`, `Progressing` and `Degraded`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::StatefulSetStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::crd::{
    ChronikClusterStatus, ClusterPhase, LeaderStatus, MemberRole, MemberStatus, RecordedStorage,
};
use crate::validate::{quorum, ValidatedCluster};

/// One member in a broker's `/v1/status` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerMember {
    pub id: u64,
    pub url: String,
    /// `voter` or `learner`.
    pub role: String,
    /// Only present in the leader's answer.
    #[serde(default)]
    pub match_index: Option<u64>,
    #[serde(default)]
    pub incarnation: Option<String>,
}

/// A broker's `GET /v1/status` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerStatus {
    pub node_id: u64,
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub incarnation: Option<String>,
    /// `leader`, `follower`, `candidate`, `pre_candidate` or `learner`.
    pub role: String,
    /// The leader this broker follows; the broker sends 0 (Raft's invalid
    /// id) or omits it while no leader is known.
    #[serde(default, deserialize_with = "leader_id_or_none")]
    pub leader_id: Option<u64>,
    #[serde(default)]
    pub term: u64,
    #[serde(default)]
    pub commit_index: u64,
    #[serde(default)]
    pub applied_index: u64,
    #[serde(default)]
    pub members: Vec<BrokerMember>,
    /// Raft URL of the leader, when known.
    #[serde(default)]
    pub leader_url: Option<String>,
    /// Partition Raft groups led here and not yet converged; absent on
    /// brokers without partition groups (= converged).
    #[serde(default)]
    pub groups: Option<GroupsStatus>,
}

/// `groups` of a broker's `/v1/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsStatus {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub led: u64,
    /// Groups whose membership has not followed the metadata group yet.
    #[serde(default)]
    pub unconverged: u64,
    /// Local partition replicas that know no leader.
    #[serde(default)]
    pub leaderless: u64,
    /// Voter id → partition groups led by this broker in which that voter
    /// needs a snapshot or is behind.
    #[serde(default)]
    pub lagging: BTreeMap<u64, u64>,
}

fn leader_id_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let id: Option<u64> = Option::deserialize(d)?;
    Ok(id.filter(|id| *id != 0))
}

/// Why a broker could not be asked.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BrokerError {
    #[error("GET {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("GET {url}: HTTP {code}")]
    Http { url: String, code: u16 },
    #[error("GET {url}: bad answer: {message}")]
    BadAnswer { url: String, message: String },
}

/// Where broker status comes from (HTTP in production, canned answers in tests).
pub trait BrokerStatusSource: Send + Sync {
    /// Fetch `<base_url>/v1/status`.
    fn fetch(&self, base_url: String) -> BoxFuture<'static, Result<BrokerStatus, BrokerError>>;
}

/// Asks brokers over HTTP with a short timeout.
#[derive(Clone)]
pub struct HttpBrokerClient {
    http: reqwest::Client,
}

impl HttpBrokerClient {
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        // Brokers are reached directly by their headless DNS names, never
        // through an HTTP proxy from the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self { http })
    }
}

impl BrokerStatusSource for HttpBrokerClient {
    fn fetch(&self, base_url: String) -> BoxFuture<'static, Result<BrokerStatus, BrokerError>> {
        let http = self.http.clone();
        Box::pin(async move {
            let url = format!("{base_url}/v1/status");
            let response = http
                .get(&url)
                .send()
                .await
                .map_err(|e| BrokerError::Unreachable {
                    url: url.clone(),
                    message: e.to_string(),
                })?;
            if !response.status().is_success() {
                return Err(BrokerError::Http {
                    url,
                    code: response.status().as_u16(),
                });
            }
            response
                .json::<BrokerStatus>()
                .await
                .map_err(|e| BrokerError::BadAnswer {
                    url,
                    message: e.to_string(),
                })
        })
    }
}

/// Ask every pod `0..replicas` concurrently; answers are in ordinal order.
pub async fn fetch_all(
    source: &dyn BrokerStatusSource,
    cluster: &ValidatedCluster,
    pods: i32,
) -> Vec<Result<BrokerStatus, BrokerError>> {
    let futures = (0..pods).map(|ordinal| source.fetch(cluster.http_url(ordinal)));
    futures::future::join_all(futures).await
}

/// Condition types.
pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";

/// Everything [`compute_status`] looks at.
pub struct StatusInputs<'a> {
    pub cluster: &'a ValidatedCluster,
    /// The StatefulSet's status, if it exists yet.
    pub statefulset: Option<&'a StatefulSetStatus>,
    /// One answer per pod, by ordinal.
    pub brokers: &'a [Result<BrokerStatus, BrokerError>],
    /// The status currently stored (for transition times and latches).
    pub previous: Option<&'a ChronikClusterStatus>,
    pub now: Timestamp,
}

fn pod_for_id(cluster: &ValidatedCluster, id: u64) -> String {
    let ordinal = id.saturating_sub(1);
    format!("{}-{ordinal}", cluster.name)
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    inputs: &StatusInputs<'_>,
) -> Condition {
    let status = if ok { "True" } else { "False" }.to_string();
    // Keep the transition time while the status does not flip.
    let last_transition_time = inputs
        .previous
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or(Time(inputs.now));
    Condition {
        type_: type_.to_string(),
        status,
        reason: reason.to_string(),
        message,
        observed_generation: inputs.cluster.generation,
        last_transition_time,
    }
}

/// The status that the answers describe.
pub fn compute_status(inputs: &StatusInputs<'_>) -> ChronikClusterStatus {
    let cluster = inputs.cluster;
    let answers: Vec<&BrokerStatus> = inputs
        .brokers
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .collect();

    // The leader with the highest term is the authority on membership.
    let leader_answer = answers
        .iter()
        .filter(|a| a.role == "leader")
        .max_by_key(|a| a.term)
        .copied();
    let term = answers.iter().map(|a| a.term).max();
    let leader_id = leader_answer.map(|a| a.node_id).or_else(|| {
        answers
            .iter()
            .filter(|a| Some(a.term) == term)
            .find_map(|a| a.leader_id)
    });
    let membership_source =
        leader_answer.or_else(|| answers.iter().max_by_key(|a| a.term).copied());

    let answer_for = |id: u64| answers.iter().find(|a| a.node_id == id);
    let members: Vec<MemberStatus> = membership_source
        .map(|src| {
            src.members
                .iter()
                .map(|m| {
                    let answer = answer_for(m.id);
                    let lag = match (leader_answer, m.match_index) {
                        (Some(l), Some(matched)) => Some(l.commit_index.saturating_sub(matched)),
                        _ => None,
                    };
                    MemberStatus {
                        id: m.id,
                        pod: pod_for_id(cluster, m.id),
                        url: m.url.clone(),
                        role: if m.role == "learner" {
                            MemberRole::Learner
                        } else {
                            MemberRole::Voter
                        },
                        ready: answer.is_some_and(|a| a.leader_id.is_some()),
                        lag,
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let voters: Vec<&MemberStatus> = members
        .iter()
        .filter(|m| m.role == MemberRole::Voter)
        .collect();
    let voter_count = if voters.is_empty() {
        cluster.initial_replicas
    } else {
        i32::try_from(voters.len()).unwrap_or(i32::MAX)
    };
    let healthy = i32::try_from(voters.iter().filter(|m| m.ready).count()).unwrap_or(0);
    let needed = quorum(voter_count);
    let quorum_text = format!("{healthy}/{voter_count} members healthy, quorum needs {needed}");

    let available = leader_id.is_some() && healthy >= needed;
    let sts = inputs.statefulset;
    let sts_replicas = sts.map(|s| s.replicas).unwrap_or(0);
    let ready_replicas = sts.and_then(|s| s.ready_replicas).unwrap_or(0);
    let updated = sts.and_then(|s| s.updated_replicas).unwrap_or(0);

    let available_cond = if available {
        let leader = leader_id
            .map(|id| pod_for_id(cluster, id))
            .unwrap_or_default();
        condition(
            AVAILABLE,
            true,
            "QuorumHealthy",
            format!("{quorum_text}; leader {leader}"),
            inputs,
        )
    } else if leader_id.is_none() {
        condition(
            AVAILABLE,
            false,
            "NoLeader",
            format!("no Raft leader known; {quorum_text}"),
            inputs,
        )
    } else {
        condition(AVAILABLE, false, "QuorumLost", quorum_text.clone(), inputs)
    };

    let progressing_cond = if sts.is_none() {
        condition(
            PROGRESSING,
            true,
            "Creating",
            "creating the StatefulSet".to_string(),
            inputs,
        )
    } else if sts_replicas != cluster.replicas || ready_replicas < cluster.replicas {
        condition(
            PROGRESSING,
            true,
            "PodsNotReady",
            format!("{ready_replicas}/{} pods ready", cluster.replicas),
            inputs,
        )
    } else if updated < cluster.replicas {
        condition(
            PROGRESSING,
            true,
            "RollingUpdate",
            format!("{updated}/{} pods updated", cluster.replicas),
            inputs,
        )
    } else {
        condition(
            PROGRESSING,
            false,
            "Stable",
            format!("{ready_replicas}/{} pods ready", cluster.replicas),
            inputs,
        )
    };

    let unreachable: Vec<String> = inputs
        .brokers
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(ordinal, _)| cluster.pod_name(i32::try_from(ordinal).unwrap_or(0)))
        .collect();
    let degraded = !available || healthy < voter_count || !unreachable.is_empty();
    let degraded_cond = if !degraded {
        condition(
            DEGRADED,
            false,
            "AllMembersHealthy",
            quorum_text.clone(),
            inputs,
        )
    } else if !available {
        condition(DEGRADED, true, "QuorumLost", quorum_text.clone(), inputs)
    } else if unreachable.is_empty() {
        condition(
            DEGRADED,
            true,
            "MembersUnhealthy",
            quorum_text.clone(),
            inputs,
        )
    } else {
        condition(
            DEGRADED,
            true,
            "MembersUnhealthy",
            format!("{quorum_text}; not answering: {}", unreachable.join(", ")),
            inputs,
        )
    };

    let was_available = inputs.previous.and_then(|p| p.phase).is_some_and(|p| {
        matches!(
            p,
            ClusterPhase::Running | ClusterPhase::Degraded | ClusterPhase::Unavailable
        )
    });
    let phase = match (available, degraded) {
        (true, false) => ClusterPhase::Running,
        (true, true) => ClusterPhase::Degraded,
        (false, _) if was_available => ClusterPhase::Unavailable,
        (false, _) => ClusterPhase::Creating,
    };

    let previous = inputs.previous;
    ChronikClusterStatus {
        phase: Some(phase),
        replicas: sts_replicas,
        ready_replicas,
        leader: leader_id.map(|id| LeaderStatus {
            id,
            pod: pod_for_id(cluster, id),
        }),
        term,
        members,
        bootstrap_servers: Some(cluster.bootstrap_servers()),
        observed_generation: cluster.generation,
        initial_replicas: Some(
            previous
                .and_then(|p| p.initial_replicas)
                .unwrap_or(cluster.initial_replicas),
        ),
        storage: Some(
            previous
                .and_then(|p| p.storage.clone())
                .unwrap_or(RecordedStorage {
                    size: cluster.storage.size.clone(),
                    storage_class_name: cluster.storage.storage_class_name.clone(),
                }),
        ),
        conditions: vec![available_cond, progressing_cond, degraded_cond],
        operation: previous.and_then(|p| p.operation.clone()),
    }
}

/// A problem that stops the reconcile before the brokers are read.
pub struct Problem {
    /// Reason of the `Degraded` condition, e.g. `InvalidSpec`, `ApplyFailed`.
    pub reason: String,
    pub message: String,
    /// Phase to show; `None` keeps the current one.
    pub phase: Option<ClusterPhase>,
}

/// Status for a problem: `Degraded=True` with the problem's reason; every
/// other observed field is kept.
pub fn problem_status(
    previous: Option<&ChronikClusterStatus>,
    generation: Option<i64>,
    problem: &Problem,
    now: Timestamp,
) -> ChronikClusterStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let last_transition_time = previous
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == DEGRADED))
        .filter(|c| c.status == "True")
        .map(|c| c.last_transition_time.clone())
        .unwrap_or(Time(now));
    status.conditions.retain(|c| c.type_ != DEGRADED);
    status.conditions.push(Condition {
        type_: DEGRADED.to_string(),
        status: "True".to_string(),
        reason: problem.reason.clone(),
        message: problem.message.clone(),
        observed_generation: generation,
        last_transition_time,
    });
    status.conditions.sort_by_key(|c| match c.type_.as_str() {
        AVAILABLE => 0,
        PROGRESSING => 1,
        _ => 2,
    });
    if let Some(phase) = problem.phase {
        status.phase = Some(phase);
    } else if status.phase.is_none() {
        status.phase = Some(ClusterPhase::Creating);
    }
    status.observed_generation = generation;
    status
}

/// Pods that cannot run (`(pod, "reason: message")`, e.g. an image that
/// cannot be pulled) make `Degraded=True` with reason `PodsFailing` and the
/// pods' reasons in front of the quorum message: what a user must fix comes
/// first. No failure leaves the status as it is.
pub fn report_pod_failures(
    status: &mut ChronikClusterStatus,
    failures: &[(String, String)],
    generation: Option<i64>,
    now: Timestamp,
) {
    if failures.is_empty() {
        return;
    }
    let pods: Vec<String> = failures
        .iter()
        .map(|(pod, why)| format!("pod {pod} cannot run: {why}"))
        .collect();
    let mut message = pods.join("; ");
    let previous = status.conditions.iter().find(|c| c.type_ == DEGRADED);
    if let Some(p) = previous.filter(|p| !p.message.is_empty()) {
        message = format!("{message}; {}", p.message);
    }
    let last_transition_time = previous
        .filter(|p| p.status == "True")
        .map(|p| p.last_transition_time.clone())
        .unwrap_or(Time(now));
    let condition = Condition {
        type_: DEGRADED.to_string(),
        status: "True".to_string(),
        reason: "PodsFailing".to_string(),
        message,
        observed_generation: generation,
        last_transition_time,
    };
    match status.conditions.iter_mut().find(|c| c.type_ == DEGRADED) {
        Some(c) => *c = condition,
        None => status.conditions.push(condition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_pods_lead_the_degraded_message() {
        let now = Timestamp::from_second(1_800_000_000).expect("timestamp");
        let earlier = Timestamp::from_second(1_700_000_000).expect("timestamp");
        let mut status = ChronikClusterStatus {
            conditions: vec![Condition {
                type_: DEGRADED.to_string(),
                status: "True".to_string(),
                reason: "QuorumLost".to_string(),
                message: "0/1 members healthy, quorum needs 1".to_string(),
                observed_generation: Some(1),
                last_transition_time: Time(earlier),
            }],
            ..ChronikClusterStatus::default()
        };
        let unchanged = status.clone();
        report_pod_failures(&mut status, &[], Some(2), now);
        assert_eq!(status, unchanged);
        let failures = [(
            "c-0".to_string(),
            "ImagePullBackOff: image nope:1 not found".to_string(),
        )];
        report_pod_failures(&mut status, &failures, Some(2), now);
        let c = &status.conditions[0];
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "PodsFailing")
        );
        assert_eq!(
            c.message,
            "pod c-0 cannot run: ImagePullBackOff: image nope:1 not found; 0/1 members healthy, quorum needs 1"
        );
        assert_eq!(
            c.last_transition_time,
            Time(earlier),
            "still degraded: same transition"
        );
        assert_eq!(c.observed_generation, Some(2));
    }
}
