//! The conditions `Available`, `Progressing` and `Degraded`: decided here,
//! each once per reconcile, and nowhere else.
//!
//! [`decide`] is pure: the brokers' [`Health`], the StatefulSet, the pods
//! that cannot run and the planned step go in, one [`Verdict`] per condition
//! comes out; [`stamp`] turns the verdicts into Kubernetes conditions,
//! keeping a condition's transition time while its status does not flip.
//! [`with_problem`] is the other outcome of a reconcile: a problem stopped it
//! before the brokers were read (`Degraded=True`, the rest kept). A
//! ChronikUser's one condition, `Ready`, is stamped with [`condition`] too.

use k8s_openapi::api::apps::v1::StatefulSetStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::health::Health;
use super::Problem;
use crate::lifecycle::{Plan, PlanState};
use crate::validate::ValidationError;

/// The conditions the operator sets, in the order `status` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionType {
    /// A leader is known and healthy voters reach quorum.
    Available,
    /// The workload or membership is changing.
    Progressing,
    /// Something needs attention: a member down, a pod failing, a stopped
    /// roll, an invalid spec, a refused apply.
    Degraded,
    /// A ChronikUser's credentials, ACLs and Secret match its spec.
    Ready,
}

impl ConditionType {
    /// The name in `status.conditions[].type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "Available",
            Self::Progressing => "Progressing",
            Self::Degraded => "Degraded",
            Self::Ready => "Ready",
        }
    }

    /// Position in `status.conditions`; conditions of other types go last.
    fn rank(type_: &str) -> usize {
        [Self::Available, Self::Progressing, Self::Degraded]
            .iter()
            .position(|t| t.as_str() == type_)
            .unwrap_or(usize::MAX)
    }
}

/// `status.conditions[].status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    /// Not decided (never set by this operator; a stored value it does not
    /// know reads as this).
    Unknown,
}

impl ConditionStatus {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }

    /// Read a stored status; anything but `True`/`False` is `Unknown`.
    pub fn parse(s: &str) -> Self {
        match s {
            "True" => Self::True,
            "False" => Self::False,
            _ => Self::Unknown,
        }
    }

    fn of(yes: bool) -> Self {
        if yes {
            Self::True
        } else {
            Self::False
        }
    }
}

/// What one condition says, before it is stamped with times and generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: ConditionStatus,
    /// CamelCase reason, e.g. `QuorumHealthy`, `RollStopped`.
    pub reason: String,
    /// One line for the user.
    pub message: String,
}

impl Verdict {
    fn new(status: ConditionStatus, reason: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// The three verdicts of one reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdicts {
    pub available: Verdict,
    pub progressing: Verdict,
    pub degraded: Verdict,
}

/// A pod whose broker cannot run, and why (`reason: message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFailure {
    /// The pod's name.
    pub pod: String,
    /// The container's waiting reason and the kubelet's message.
    pub why: String,
}

/// Everything the conditions are decided from.
pub struct ConditionInputs<'a> {
    pub health: &'a Health,
    /// The StatefulSet's status, if it exists yet.
    pub statefulset: Option<&'a StatefulSetStatus>,
    /// `spec.replicas`.
    pub desired_replicas: i32,
    pub pod_failures: &'a [PodFailure],
    /// The planned lifecycle step; `None` is the same as a plan that is done.
    pub plan: Option<&'a Plan>,
    /// Why the brokers refused the dynamic keys of `spec.config`, if they did.
    pub config_refused: Option<&'a str>,
}

/// Decide the three conditions.
pub fn decide(inputs: &ConditionInputs<'_>) -> Verdicts {
    Verdicts {
        available: available(inputs.health),
        progressing: progressing(inputs),
        degraded: degraded(inputs),
    }
}

fn available(health: &Health) -> Verdict {
    let quorum = health.quorum_text();
    match &health.leader {
        Some(leader) if health.available() => Verdict::new(
            ConditionStatus::True,
            "QuorumHealthy",
            format!("{quorum}; leader {}", leader.pod),
        ),
        None => Verdict::new(
            ConditionStatus::False,
            "NoLeader",
            format!("no Raft leader known; {quorum}"),
        ),
        Some(_) => Verdict::new(ConditionStatus::False, "QuorumLost", quorum),
    }
}

/// A step in flight or paused shows in `Progressing`; otherwise the
/// StatefulSet's rollout does.
fn progressing(inputs: &ConditionInputs<'_>) -> Verdict {
    if let Some(plan) = inputs.plan.filter(|p| p.state != PlanState::Done) {
        let status = ConditionStatus::of(plan.state == PlanState::Progressing);
        return Verdict::new(status, &plan.reason, plan.message.clone());
    }
    let replicas = inputs.desired_replicas;
    let Some(sts) = inputs.statefulset else {
        return Verdict::new(
            ConditionStatus::True,
            "Creating",
            "creating the StatefulSet",
        );
    };
    let ready = sts.ready_replicas.unwrap_or(0);
    let updated = sts.updated_replicas.unwrap_or(0);
    if sts.replicas != replicas || ready < replicas {
        Verdict::new(
            ConditionStatus::True,
            "PodsNotReady",
            format!("{ready}/{replicas} pods ready"),
        )
    } else if updated < replicas {
        Verdict::new(
            ConditionStatus::True,
            "RollingUpdate",
            format!("{updated}/{replicas} pods updated"),
        )
    } else {
        Verdict::new(
            ConditionStatus::False,
            "Stable",
            format!("{ready}/{replicas} pods ready"),
        )
    }
}

/// In order of what a user must see first: a stopped roll, a refused
/// `spec.config`, pods that cannot run (in front of the quorum wording),
/// then the members' health.
fn degraded(inputs: &ConditionInputs<'_>) -> Verdict {
    if let Some(plan) = inputs.plan.filter(|p| p.state == PlanState::Blocked) {
        return Verdict::new(ConditionStatus::True, &plan.reason, plan.message.clone());
    }
    if let Some(message) = inputs.config_refused {
        return Verdict::new(
            ConditionStatus::True,
            ValidationError::CONFIG_REASON,
            message,
        );
    }
    let health = inputs.health;
    let quorum = health.quorum_text();
    let members = if !health.degraded() {
        Verdict::new(ConditionStatus::False, "AllMembersHealthy", quorum)
    } else if !health.available() {
        Verdict::new(ConditionStatus::True, "QuorumLost", quorum)
    } else if health.silent_pods.is_empty() {
        Verdict::new(ConditionStatus::True, "MembersUnhealthy", quorum)
    } else {
        Verdict::new(
            ConditionStatus::True,
            "MembersUnhealthy",
            format!("{quorum}; not answering: {}", health.silent_pods.join(", ")),
        )
    };
    if inputs.pod_failures.is_empty() {
        return members;
    }
    let pods: Vec<String> = inputs
        .pod_failures
        .iter()
        .map(|f| format!("pod {} cannot run: {}", f.pod, f.why))
        .collect();
    Verdict::new(
        ConditionStatus::True,
        "PodsFailing",
        format!("{}; {}", pods.join("; "), members.message),
    )
}

/// The stored condition of `type_`, if any.
pub fn find(conditions: &[Condition], type_: ConditionType) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == type_.as_str())
}

/// The status of the stored condition of `type_` (`Unknown` when absent).
pub fn status_of(conditions: &[Condition], type_: ConditionType) -> ConditionStatus {
    find(conditions, type_).map_or(ConditionStatus::Unknown, |c| {
        ConditionStatus::parse(&c.status)
    })
}

/// When a condition last flipped: kept from `previous` while the status is
/// the same, else now.
fn transition_time(
    previous: &[Condition],
    type_: ConditionType,
    status: ConditionStatus,
    now: Timestamp,
) -> Time {
    find(previous, type_)
        .filter(|c| c.status == status.as_str())
        .map(|c| c.last_transition_time.clone())
        .unwrap_or(Time(now))
}

/// The condition `type_` says `verdict` about `generation`; its transition
/// time kept from `previous` while its status does not flip.
pub fn condition(
    type_: ConditionType,
    verdict: Verdict,
    previous: &[Condition],
    generation: Option<i64>,
    now: Timestamp,
) -> Condition {
    Condition {
        type_: type_.as_str().to_string(),
        status: verdict.status.as_str().to_string(),
        last_transition_time: transition_time(previous, type_, verdict.status, now),
        reason: verdict.reason,
        message: verdict.message,
        observed_generation: generation,
    }
}

/// The verdicts as Kubernetes conditions of `generation`.
pub fn stamp(
    verdicts: Verdicts,
    previous: &[Condition],
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    vec![
        condition(
            ConditionType::Available,
            verdicts.available,
            previous,
            generation,
            now,
        ),
        condition(
            ConditionType::Progressing,
            verdicts.progressing,
            previous,
            generation,
            now,
        ),
        condition(
            ConditionType::Degraded,
            verdicts.degraded,
            previous,
            generation,
            now,
        ),
    ]
}

/// The conditions after `problem`: `Degraded=True` with its reason, every
/// other condition as it was.
pub fn with_problem(
    previous: &[Condition],
    problem: &Problem,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let degraded = Verdict::new(
        ConditionStatus::True,
        &problem.reason,
        problem.message.clone(),
    );
    let mut conditions: Vec<Condition> = previous
        .iter()
        .filter(|c| c.type_ != ConditionType::Degraded.as_str())
        .cloned()
        .collect();
    conditions.push(condition(
        ConditionType::Degraded,
        degraded,
        previous,
        generation,
        now,
    ));
    conditions.sort_by_key(|c| ConditionType::rank(&c.type_));
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::OperationStatus;

    /// One voter that does not answer: no leader, quorum lost.
    fn lost() -> Health {
        Health {
            leader: None,
            term: None,
            members: Vec::new(),
            voters: 1,
            healthy: 0,
            silent_pods: Vec::new(),
        }
    }

    fn degraded_of(failures: &[PodFailure], plan: Option<&Plan>) -> Verdict {
        let health = lost();
        decide(&ConditionInputs {
            health: &health,
            statefulset: None,
            desired_replicas: 1,
            pod_failures: failures,
            plan,
            config_refused: None,
        })
        .degraded
    }

    #[test]
    fn failing_pods_lead_the_degraded_message() {
        let now = Timestamp::from_second(1_800_000_000).expect("timestamp");
        let earlier = Timestamp::from_second(1_700_000_000).expect("timestamp");
        let quorum_lost = degraded_of(&[], None);
        assert_eq!(
            (quorum_lost.reason.as_str(), quorum_lost.message.as_str()),
            ("QuorumLost", "0/1 members healthy, quorum needs 1")
        );
        let failures = [PodFailure {
            pod: "c-0".to_string(),
            why: "ImagePullBackOff: image nope:1 not found".to_string(),
        }];
        let failing = degraded_of(&failures, None);
        assert_eq!(
            (failing.status, failing.reason.as_str()),
            (ConditionStatus::True, "PodsFailing")
        );
        assert_eq!(
            failing.message,
            "pod c-0 cannot run: ImagePullBackOff: image nope:1 not found; 0/1 members healthy, quorum needs 1"
        );
        let previous = [Condition {
            type_: "Degraded".to_string(),
            status: "True".to_string(),
            reason: "QuorumLost".to_string(),
            message: quorum_lost.message,
            observed_generation: Some(1),
            last_transition_time: Time(earlier),
        }];
        let stamped = condition(ConditionType::Degraded, failing, &previous, Some(2), now);
        assert_eq!(
            stamped.last_transition_time,
            Time(earlier),
            "still degraded: same transition"
        );
        assert_eq!(stamped.observed_generation, Some(2));
    }

    #[test]
    fn a_stopped_roll_is_the_one_degraded_verdict() {
        let plan = Plan {
            action: None,
            statefulset_replicas: Some(1),
            operation: None::<OperationStatus>,
            pdb_min_available: 1,
            state: PlanState::Blocked,
            reason: "RollStopped".to_string(),
            message: "roll stopped".to_string(),
        };
        let failures = [PodFailure {
            pod: "c-0".to_string(),
            why: "CrashLoopBackOff".to_string(),
        }];
        let degraded = degraded_of(&failures, Some(&plan));
        assert_eq!(
            (degraded.status, degraded.reason.as_str()),
            (ConditionStatus::True, "RollStopped")
        );
        let health = lost();
        let progressing = decide(&ConditionInputs {
            health: &health,
            statefulset: None,
            desired_replicas: 1,
            pod_failures: &[],
            plan: Some(&plan),
            config_refused: None,
        })
        .progressing;
        assert_eq!(progressing.status, ConditionStatus::False);
    }

    #[test]
    fn a_refused_config_comes_after_a_stopped_roll_and_before_failing_pods() {
        let health = lost();
        let failures = [PodFailure {
            pod: "c-0".to_string(),
            why: "CrashLoopBackOff".to_string(),
        }];
        let refused = "the brokers refused the dynamic keys of spec.config: log.roll.ms";
        let degraded = |plan: Option<&Plan>| {
            decide(&ConditionInputs {
                health: &health,
                statefulset: None,
                desired_replicas: 1,
                pod_failures: &failures,
                plan,
                config_refused: Some(refused),
            })
            .degraded
        };
        let verdict = degraded(None);
        assert_eq!(
            (
                verdict.status,
                verdict.reason.as_str(),
                verdict.message.as_str()
            ),
            (ConditionStatus::True, "InvalidConfig", refused)
        );
        let stopped = Plan {
            action: None,
            statefulset_replicas: Some(1),
            operation: None::<OperationStatus>,
            pdb_min_available: 1,
            state: PlanState::Blocked,
            reason: "RollStopped".to_string(),
            message: "roll stopped".to_string(),
        };
        assert_eq!(degraded(Some(&stopped)).reason, "RollStopped");
    }

    #[test]
    fn stored_statuses_parse() {
        for status in [
            ConditionStatus::True,
            ConditionStatus::False,
            ConditionStatus::Unknown,
        ] {
            assert_eq!(ConditionStatus::parse(status.as_str()), status);
        }
        assert_eq!(ConditionStatus::parse("maybe"), ConditionStatus::Unknown);
    }
}
