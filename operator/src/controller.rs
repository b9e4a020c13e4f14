//! The reconcile loop: validate → build → apply → status.

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
use crate::build::{build_all, DesiredObjects, INITIAL_REPLICAS_ANNOTATION, MANAGED_BY};
use crate::crd::{ChronikCluster, ChronikClusterStatus, ClusterPhase, GROUP, VERSION};
use crate::metrics::Metrics;
use crate::status::{
    compute_status, fetch_all, problem_status, BrokerStatusSource, Problem, StatusInputs, DEGRADED,
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

    if cluster
        .status
        .as_ref()
        .and_then(|s| s.initial_replicas)
        .is_none()
    {
        // No latch in status (new cluster, or status lost): an existing
        // StatefulSet remembers the initial membership.
        if let Some(n) = recorded_initial_replicas(ctx, &namespace, &name).await? {
            validated.initial_replicas = n;
        }
    }
    let desired = build_all(&validated);
    let statefulset = match apply_all(ctx, &desired, &namespace, &name).await {
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

    let pods = statefulset
        .status
        .as_ref()
        .map(|s| s.replicas)
        .unwrap_or(0)
        .max(validated.replicas);
    let answers = fetch_all(ctx.brokers.as_ref(), &validated, pods).await;
    let status = compute_status(&StatusInputs {
        cluster: &validated,
        statefulset: statefulset.status.as_ref(),
        brokers: &answers,
        previous: cluster.status.as_ref(),
        now: Timestamp::now(),
    });
    let healthy = status
        .conditions
        .iter()
        .any(|c| c.type_ == DEGRADED && c.status == "False");
    write_status(ctx, cluster, &namespace, &name, status).await?;
    Ok(Action::requeue(if healthy {
        ctx.healthy_requeue
    } else {
        ctx.unhealthy_requeue
    }))
}

/// Apply every desired object in order; returns the live StatefulSet.
async fn apply_all(
    ctx: &Context,
    desired: &DesiredObjects,
    namespace: &str,
    name: &str,
) -> Result<StatefulSet, ApplyError> {
    let mut changed = Vec::new();
    let mut note = |kind: &str, outcome: ApplyOutcome| {
        if outcome == ApplyOutcome::Applied {
            changed.push(kind.to_string());
        }
    };
    note("ConfigMap", ctx.applier.apply(&desired.config_map).await?.1);
    note(
        "Service",
        ctx.applier.apply(&desired.headless_service).await?.1,
    );
    note(
        "Service",
        ctx.applier.apply(&desired.client_service).await?.1,
    );
    let (statefulset, outcome) = ctx.applier.apply(&desired.statefulset).await?;
    note("StatefulSet", outcome);
    note(
        "PodDisruptionBudget",
        ctx.applier.apply(&desired.pdb).await?.1,
    );
    if !changed.is_empty() {
        info!(cluster = %name, %namespace, applied = ?changed, "applied objects");
    }
    Ok(statefulset)
}

/// The initial voter count annotated on an existing StatefulSet.
async fn recorded_initial_replicas(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<i32>, ReconcileError> {
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), namespace);
    let existing = api
        .get_opt(name)
        .await
        .map_err(|source| ReconcileError::Read {
            what: format!("StatefulSet {namespace}/{name}"),
            source,
        })?;
    Ok(existing
        .and_then(|sts| {
            sts.annotations()
                .get(INITIAL_REPLICAS_ANNOTATION)
                .and_then(|v| v.parse::<i32>().ok())
        })
        .filter(|n| (1..=9).contains(n)))
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
        ctx.recorder
            .publish(&event, &cluster.object_ref(&()))
            .await
            .map_err(|source| ReconcileError::Event {
                namespace: namespace.to_string(),
                name: name.to_string(),
                source,
            })?;
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
