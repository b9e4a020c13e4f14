//! What a reconcile tells the user: the status subresource, Events, and the
//! two together for a problem that stopped the reconcile.

use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource};

use super::{ClusterRef, Context, ReconcileError};
use crate::apply::FIELD_MANAGER;
use crate::crd::{ChronikCluster, ChronikClusterStatus, GROUP, VERSION};
use crate::lifecycle::{Plan, PlanState};
use crate::status::conditions::{self, ConditionType};
use crate::status::{problem_status, Problem};
use crate::validate::ValidationError;

/// One Event per new lifecycle step: Normal, or Warning when it is stopped.
pub(super) async fn step_event(
    ctx: &Context,
    target: &ClusterRef<'_>,
    plan: &Plan,
) -> Result<(), ReconcileError> {
    let event = Event {
        type_: if plan.state == PlanState::Blocked {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: plan.reason.clone(),
        note: Some(plan.message.clone()),
        action: "Lifecycle".to_string(),
        secondary: None,
    };
    publish(ctx, target, &event).await
}

/// A Normal Event `DynamicConfigApplied`. Its note names no value: the
/// recorder repeats an Event of the same reason as a series that keeps the
/// first note, which must not go stale (the keys are in the log).
pub(super) async fn config_applied(
    ctx: &Context,
    target: &ClusterRef<'_>,
) -> Result<(), ReconcileError> {
    let event = Event {
        type_: EventType::Normal,
        reason: "DynamicConfigApplied".to_string(),
        note: Some(
            "the dynamic keys of spec.config were applied to the running brokers without a restart"
                .to_string(),
        ),
        action: "Configure".to_string(),
        secondary: None,
    };
    publish(ctx, target, &event).await
}

/// A Warning Event `InvalidConfig` when the brokers refused the dynamic
/// keys, once per distinct message (the stored `Degraded` condition says
/// whether it was told already).
pub(super) async fn config_refused(
    ctx: &Context,
    target: &ClusterRef<'_>,
    message: &str,
) -> Result<(), ReconcileError> {
    let reason = ValidationError::CONFIG_REASON;
    let already_reported = target
        .cluster
        .status
        .as_ref()
        .and_then(|s| conditions::find(&s.conditions, ConditionType::Degraded))
        .is_some_and(|c| c.reason == reason && c.message == message);
    if already_reported {
        return Ok(());
    }
    let event = Event {
        type_: EventType::Warning,
        reason: reason.to_string(),
        note: Some(message.to_string()),
        action: "Configure".to_string(),
        secondary: None,
    };
    publish(ctx, target, &event).await
}

/// Publishes an Event about the cluster.
async fn publish(
    ctx: &Context,
    target: &ClusterRef<'_>,
    event: &Event,
) -> Result<(), ReconcileError> {
    ctx.recorder
        .publish(event, &target.cluster.object_ref(&()))
        .await
        .map_err(|source| ReconcileError::Event {
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            source,
        })
}

/// Write the status when it differs from the stored one.
pub(super) async fn write_status(
    ctx: &Context,
    target: &ClusterRef<'_>,
    status: ChronikClusterStatus,
) -> Result<(), ReconcileError> {
    if target.cluster.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<ChronikCluster> = Api::namespaced(ctx.client.clone(), &target.namespace);
    let body = serde_json::json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": ChronikCluster::kind(&()),
        "status": status,
    });
    api.patch_status(
        &target.name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|source| ReconcileError::Status {
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        source,
    })?;
    Ok(())
}

/// A problem: a Warning Event (once per distinct reason and message) and
/// `Degraded=True` with the problem's reason. The workload is left as it is.
pub(super) async fn problem(
    ctx: &Context,
    target: &ClusterRef<'_>,
    problem: &Problem,
) -> Result<(), ReconcileError> {
    let previous = target.cluster.status.as_ref();
    let already_reported = previous
        .and_then(|s| conditions::find(&s.conditions, ConditionType::Degraded))
        .is_some_and(|c| c.reason == problem.reason && c.message == problem.message);
    if !already_reported {
        let event = Event {
            type_: EventType::Warning,
            reason: problem.reason.clone(),
            note: Some(problem.message.clone()),
            action: "Reconcile".to_string(),
            secondary: None,
        };
        publish(ctx, target, &event).await?;
    }
    let status = problem_status(
        previous,
        target.cluster.metadata.generation,
        problem,
        Timestamp::now(),
    );
    write_status(ctx, target, status).await
}
