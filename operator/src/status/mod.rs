//! The ChronikCluster status from what one reconcile saw and planned.
//!
//! [`build_status`] is pure: the brokers' `/v1/status` answers (read through
//! [`crate::brokers`]), the StatefulSet's status, the pods, the planned step
//! and the stored status go in; the status to write comes out, its
//! conditions decided in [`conditions`]. [`problem_status`] is the status of
//! a reconcile stopped by a [`Problem`] (invalid spec, refused apply).

pub mod bootstrap;
pub mod conditions;
mod health;

use k8s_openapi::api::apps::v1::StatefulSetStatus;
use k8s_openapi::jiff::Timestamp;

pub use conditions::{ConditionStatus, ConditionType, PodFailure};
pub use health::Health;

use crate::brokers::Answers;
use crate::crd::{ChronikClusterStatus, ClusterPhase, RecordedStorage};
use crate::lifecycle::{Plan, WorkloadView};
use crate::validate::ValidatedCluster;

/// Everything [`build_status`] looks at.
pub struct StatusInputs<'a> {
    pub cluster: &'a ValidatedCluster,
    /// The StatefulSet's status, if it exists yet.
    pub statefulset: Option<&'a StatefulSetStatus>,
    /// One answer per pod, by ordinal.
    pub answers: &'a Answers,
    /// The pods as observed (their failures show in `Degraded`).
    pub workload: &'a WorkloadView,
    /// The planned lifecycle step (recorded in `operation`); `None` leaves
    /// the recorded operation as it is.
    pub plan: Option<&'a Plan>,
    /// The status currently stored (for transition times and latches).
    pub previous: Option<&'a ChronikClusterStatus>,
    /// Why the brokers refused the dynamic keys of `spec.config`, if they
    /// did (`Degraded`, reason `InvalidConfig`).
    pub config_refused: Option<&'a str>,
    pub now: Timestamp,
}

/// The status that the inputs describe.
pub fn build_status(inputs: &StatusInputs<'_>) -> ChronikClusterStatus {
    let cluster = inputs.cluster;
    let previous = inputs.previous;
    let health = Health::of(cluster, inputs.answers);
    let pod_failures: Vec<PodFailure> = inputs
        .workload
        .pods
        .iter()
        .filter_map(|p| {
            Some(PodFailure {
                pod: cluster.addresses.pod_name(p.ordinal),
                why: p.failure.clone()?,
            })
        })
        .collect();
    let verdicts = conditions::decide(&conditions::ConditionInputs {
        health: &health,
        statefulset: inputs.statefulset,
        desired_replicas: cluster.replicas,
        pod_failures: &pod_failures,
        plan: inputs.plan,
        config_refused: inputs.config_refused,
    });
    let previous_conditions = previous.map(|p| p.conditions.as_slice()).unwrap_or(&[]);
    let sts = inputs.statefulset;
    ChronikClusterStatus {
        phase: Some(phase(&health, previous)),
        replicas: sts.map(|s| s.replicas).unwrap_or(0),
        ready_replicas: sts.and_then(|s| s.ready_replicas).unwrap_or(0),
        leader: health.leader.clone(),
        term: health.term,
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
        conditions: conditions::stamp(
            verdicts,
            previous_conditions,
            cluster.generation,
            inputs.now,
        ),
        operation: match inputs.plan {
            Some(plan) => plan.operation.clone(),
            None => previous.and_then(|p| p.operation.clone()),
        },
        members: health.members,
        bootstrapped: bootstrap::latch(
            previous,
            cluster.bootstrapped,
            inputs.answers,
            cluster.initial_replicas,
        ),
    }
}

/// `Running` or `Degraded` while available; once it was, `Unavailable`
/// when it is no more, else still `Creating`.
fn phase(health: &Health, previous: Option<&ChronikClusterStatus>) -> ClusterPhase {
    let was_available = previous.and_then(|p| p.phase).is_some_and(|p| {
        matches!(
            p,
            ClusterPhase::Running | ClusterPhase::Degraded | ClusterPhase::Unavailable
        )
    });
    match (health.available(), health.degraded()) {
        (true, false) => ClusterPhase::Running,
        (true, true) => ClusterPhase::Degraded,
        (false, _) if was_available => ClusterPhase::Unavailable,
        (false, _) => ClusterPhase::Creating,
    }
}

/// A problem that stops the reconcile before the brokers are read.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    status.conditions = conditions::with_problem(&status.conditions, problem, generation, now);
    if let Some(phase) = problem.phase {
        status.phase = Some(phase);
    } else if status.phase.is_none() {
        status.phase = Some(ClusterPhase::Creating);
    }
    status.observed_generation = generation;
    status
}
