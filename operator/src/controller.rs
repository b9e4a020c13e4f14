//! The reconcile loop: validate → observe → plan → build → apply → status
//! (the planned step recorded) → carry out the step.

mod observe;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use tracing::{info, warn};

use crate::apply::{Applier, ApplyError, ApplyOutcome, FIELD_MANAGER};
use crate::build::{build_all, DesiredObjects, MANAGED_BY};
use crate::crd::{ChronikCluster, ChronikClusterStatus, ClusterPhase, GROUP, VERSION};
use crate::lifecycle::admin::AdminError;
use crate::lifecycle::conditions::{apply_plan, is_news};
use crate::lifecycle::executor::{Executor, MembershipApi};
use crate::lifecycle::{
    plan, raft_view, workload_view, Plan, PlanInput, PlanState, PlannerSettings,
};
use crate::metrics::Metrics;
use crate::status::{
    compute_status, fetch_all, problem_status, report_pod_failures, BrokerStatusSource, Problem,
    StatusInputs, DEGRADED,
};
use crate::validate::{validate, ValidationError};

/// Shared state of every reconcile.
pub struct Context {
    pub client: Client,
    pub applier: Applier,
    pub brokers: Arc<dyn BrokerStatusSource>,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    /// Requeue interval while the cluster is healthy (status polling).
    pub healthy_requeue: Duration,
    /// Requeue interval while it is not.
    pub unhealthy_requeue: Duration,
    /// Requeue interval right after a lifecycle step was carried out.
    pub step_requeue: Duration,
    /// Carries out membership changes (the brokers' HTTP admin API).
    pub membership: Arc<dyn MembershipApi>,
    /// Tunables of the lifecycle planner.
    pub planner: PlannerSettings,
}

impl Context {
    pub fn new(
        client: Client,
        brokers: Arc<dyn BrokerStatusSource>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_string(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            applier: Applier::new(client.clone()),
            recorder: Recorder::new(client.clone(), reporter),
            client,
            brokers,
            metrics,
            healthy_requeue: Duration::from_secs(30),
            unhealthy_requeue: Duration::from_secs(5),
            step_requeue: Duration::from_secs(2),
            membership: Arc::new(Executor::new(Duration::from_secs(10))),
            planner: PlannerSettings::default(),
        }
    }
}

/// Why a reconcile failed (the variant name is the metrics label).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("updating status of {namespace}/{name}: {source}")]
    Status {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("publishing event for {namespace}/{name}: {source}")]
    Event {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("reading {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("ChronikCluster has no namespace")]
    NoNamespace,
    #[error("membership change on {namespace}/{name}: {source}")]
    Membership {
        namespace: String,
        name: String,
        #[source]
        source: AdminError,
    },
    #[error("deleting pod {namespace}/{pod} for a roll: {source}")]
    DeletePod {
        namespace: String,
        pod: String,
        #[source]
        source: kube::Error,
    },
}

impl ReconcileError {
    /// Short kind for the failure metric.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Apply(_) => "Apply",
            Self::Status { .. } => "Status",
            Self::Event { .. } => "Event",
            Self::Read { .. } => "Read",
            Self::NoNamespace => "NoNamespace",
            Self::Membership { .. } => "Membership",
            Self::DeletePod { .. } => "DeletePod",
        }
    }
}

/// Reconcile one ChronikCluster, recording metrics.
pub async fn reconcile(
    cluster: Arc<ChronikCluster>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    ctx.metrics.reconciles.inc();
    let result = reconcile_inner(&cluster, &ctx).await;
    ctx.metrics
        .duration
        .observe(started.elapsed().as_secs_f64());
    if let Err(error) = &result {
        ctx.metrics.failure(error.kind());
    }
    result
}

/// What the controller does after a failed reconcile: retry soon.
pub fn error_policy(
    cluster: Arc<ChronikCluster>,
    error: &ReconcileError,
    _ctx: Arc<Context>,
) -> Action {
    warn!(cluster = %cluster.name_any(), namespace = ?cluster.namespace(), %error, "reconcile failed");
    Action::requeue(Duration::from_secs(10))
}

async fn reconcile_inner(
    cluster: &ChronikCluster,
    ctx: &Context,
) -> Result<Action, ReconcileError> {
    let namespace = cluster.namespace().ok_or(ReconcileError::NoNamespace)?;
    let name = cluster.name_any();
    let mut validated = match validate(cluster) {
        Ok(v) => v,
        Err(error) => {
            ctx.metrics.failure(ValidationError::REASON);
            warn!(cluster = %name, %namespace, %error, "invalid spec");
            let problem = Problem {
                reason: ValidationError::REASON.to_string(),
                message: error.to_string(),
                phase: Some(ClusterPhase::Invalid),
            };
            report_problem(cluster, ctx, &namespace, &name, &problem).await?;
            // A spec change triggers the next reconcile; no crash loop.
            return Ok(Action::requeue(Duration::from_secs(300)));
        }
    };

    let live = observe::live_workload(ctx, &namespace, &name).await?;
    if cluster
        .status
        .as_ref()
        .and_then(|s| s.initial_replicas)
        .is_none()
    {
        // No latch in status (new cluster, or status lost): an existing
        // StatefulSet remembers the initial membership.
        if let Some(n) = observe::recorded_initial_replicas(live.statefulset.as_ref()) {
            validated.initial_replicas = n;
        }
    }

    // Ask every pod that exists or should exist.
    let workload = workload_view(&name, live.statefulset.as_ref(), &live.pods);
    let highest_pod = workload
        .pods
        .iter()
        .map(|p| p.ordinal + 1)
        .max()
        .unwrap_or(0);
    let pods = workload
        .statefulset_replicas
        .unwrap_or(0)
        .max(validated.replicas)
        .max(highest_pod);
    let answers = fetch_all(ctx.brokers.as_ref(), &validated, pods).await;
    let raft = raft_view(&answers);
    let recorded = cluster.status.as_ref().and_then(|s| s.operation.as_ref());
    let now = Timestamp::now();
    let plan = plan(&PlanInput {
        desired_replicas: validated.replicas,
        paused: validated.paused,
        addresses: &validated,
        workload: &workload,
        raft: raft.as_ref(),
        recorded,
        settings: &ctx.planner,
        now,
    });

    let mut desired = build_all(&validated);
    desired.set_lifecycle(plan.statefulset_replicas, plan.pdb_min_available);
    // Paused: the workload (StatefulSet and the configuration its pods read)
    // stays as it is once it exists.
    let freeze_workload = plan.state == PlanState::Paused && live.statefulset.is_some();
    let statefulset = match apply_all(
        ctx,
        &desired,
        live.statefulset.as_ref().filter(|_| freeze_workload),
        &namespace,
        &name,
    )
    .await
    {
        Ok(sts) => sts,
        Err(error) => {
            // Make the failure visible on the resource, then retry with backoff.
            let problem = Problem {
                reason: "ApplyFailed".to_string(),
                message: error.to_string(),
                phase: None,
            };
            if let Err(report) = report_problem(cluster, ctx, &namespace, &name, &problem).await {
                warn!(cluster = %name, %namespace, error = %report, "reporting the apply failure");
            }
            return Err(error.into());
        }
    };

    let mut status = compute_status(&StatusInputs {
        cluster: &validated,
        statefulset: statefulset.status.as_ref(),
        brokers: &answers,
        previous: cluster.status.as_ref(),
        now,
    });
    let failures: Vec<(String, String)> = workload
        .pods
        .iter()
        .filter_map(|p| Some((validated.pod_name(p.ordinal), p.failure.clone()?)))
        .collect();
    report_pod_failures(&mut status, &failures, validated.generation, now);
    apply_plan(&mut status, &plan, validated.generation, now);
    if is_news(recorded, &plan) {
        publish(ctx, cluster, &namespace, &name, &plan).await?;
    }
    let healthy = plan.state == PlanState::Done
        && status
            .conditions
            .iter()
            .any(|c| c.type_ == DEGRADED && c.status == "False");
    // The step is recorded before it is carried out.
    write_status(ctx, cluster, &namespace, &name, status).await?;

    if let (Some(action), Some(raft)) = (&plan.action, &raft) {
        info!(cluster = %name, %namespace, step = %plan.message, "lifecycle step");
        observe::carry_out(ctx, &validated, raft.leader_id, action).await?;
        return Ok(Action::requeue(ctx.step_requeue));
    }
    Ok(Action::requeue(if healthy {
        ctx.healthy_requeue
    } else {
        ctx.unhealthy_requeue
    }))
}

/// One Event per new lifecycle step: Normal, or Warning when it is stopped.
async fn publish(
    ctx: &Context,
    cluster: &ChronikCluster,
    namespace: &str,
    name: &str,
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
    record(ctx, cluster, namespace, name, &event).await
}

/// Publishes an Event about the cluster.
async fn record(
    ctx: &Context,
    cluster: &ChronikCluster,
    namespace: &str,
    name: &str,
    event: &Event,
) -> Result<(), ReconcileError> {
    ctx.recorder
        .publish(event, &cluster.object_ref(&()))
        .await
        .map_err(|source| ReconcileError::Event {
            namespace: namespace.to_string(),
            name: name.to_string(),
            source,
        })
}

/// Apply every desired object in order; returns the live StatefulSet.
/// With `frozen` (paused), the ConfigMap and StatefulSet are not written and
/// `frozen` is returned as the live StatefulSet.
async fn apply_all(
    ctx: &Context,
    desired: &DesiredObjects,
    frozen: Option<&StatefulSet>,
    namespace: &str,
    name: &str,
) -> Result<StatefulSet, ApplyError> {
    let mut changed = Vec::new();
    let mut note = |kind: &str, outcome: ApplyOutcome| {
        if outcome == ApplyOutcome::Applied {
            changed.push(kind.to_string());
        }
    };
    if frozen.is_none() {
        note("ConfigMap", ctx.applier.apply(&desired.config_map).await?.1);
    }
    note(
        "Service",
        ctx.applier.apply(&desired.headless_service).await?.1,
    );
    note(
        "Service",
        ctx.applier.apply(&desired.client_service).await?.1,
    );
    let statefulset = match frozen {
        Some(live) => live.clone(),
        None => {
            let (statefulset, outcome) = ctx.applier.apply(&desired.statefulset).await?;
            note("StatefulSet", outcome);
            statefulset
        }
    };
    note(
        "PodDisruptionBudget",
        ctx.applier.apply(&desired.pdb).await?.1,
    );
    if !changed.is_empty() {
        info!(cluster = %name, %namespace, applied = ?changed, "applied objects");
    }
    Ok(statefulset)
}

/// Write the status when it differs from the stored one.
async fn write_status(
    ctx: &Context,
    cluster: &ChronikCluster,
    namespace: &str,
    name: &str,
    status: ChronikClusterStatus,
) -> Result<(), ReconcileError> {
    if cluster.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<ChronikCluster> = Api::namespaced(ctx.client.clone(), namespace);
    let body = serde_json::json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": ChronikCluster::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|source| ReconcileError::Status {
        namespace: namespace.to_string(),
        name: name.to_string(),
        source,
    })?;
    Ok(())
}

/// A problem: a Warning Event (once per distinct reason and message) and
/// `Degraded=True` with the problem's reason. The workload is left as it is.
async fn report_problem(
    cluster: &ChronikCluster,
    ctx: &Context,
    namespace: &str,
    name: &str,
    problem: &Problem,
) -> Result<(), ReconcileError> {
    let already_reported = cluster.status.as_ref().is_some_and(|s| {
        s.conditions.iter().any(|c| {
            c.type_ == DEGRADED && c.reason == problem.reason && c.message == problem.message
        })
    });
    if !already_reported {
        let event = Event {
            type_: EventType::Warning,
            reason: problem.reason.clone(),
            note: Some(problem.message.clone()),
            action: "Reconcile".to_string(),
            secondary: None,
        };
        record(ctx, cluster, namespace, name, &event).await?;
    }
    let status = problem_status(
        cluster.status.as_ref(),
        cluster.metadata.generation,
        problem,
        Timestamp::now(),
    );
    write_status(ctx, cluster, namespace, name, status).await
}

/// Run the controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let clusters: Api<ChronikCluster> = match &namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    fn owned<K>(client: &Client, namespace: &Option<String>) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
    let owned_cfg =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGED_BY}"));
    Controller::new(clusters, watcher::Config::default())
        .owns(owned::<StatefulSet>(&client, &namespace), owned_cfg.clone())
        .owns(owned::<Service>(&client, &namespace), owned_cfg.clone())
        .owns(owned::<ConfigMap>(&client, &namespace), owned_cfg.clone())
        .owns(owned::<PodDisruptionBudget>(&client, &namespace), owned_cfg)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(%object, "reconciled"),
                Err(error) => tracing::debug!(%error, "controller event"),
            }
        })
        .await;
}
