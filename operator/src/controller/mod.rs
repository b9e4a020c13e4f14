//! The reconcile loop. One pass reads top to bottom:
//! observe (StatefulSet, pods) → validate → observe (brokers) → plan →
//! build → apply → push the dynamic broker config → status (the planned
//! step recorded) → carry out the step.
//!
//! [`observe`] reads, [`objects`] applies, [`dynamic_config`] pushes the dynamic
//! keys of `spec.config`, [`report`] writes status and Events,
//! [`carry_out`] performs the step; the pure parts are
//! [`crate::validate`], [`crate::lifecycle`], [`crate::build`] and
//! [`crate::status`].

mod carry_out;
mod dynamic_config;
mod objects;
mod observe;
mod report;
mod security;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use tracing::{info, warn};

use crate::apply::{Applier, ApplyError, FIELD_MANAGER};
use crate::brokers::{Answers, BrokerApi, BrokerClients, BrokerError, SameBrokers};
use crate::build::{
    build_advertised_config_map, build_all, build_external_services, build_network_policy,
    DesiredObjects, OperatorPods, MANAGED_BY,
};
use crate::certs::pem::CertError;
use crate::crd::{ChronikCluster, ClusterPhase, OperationStatus};
use crate::lifecycle::{plan, raft_view, Plan, PlanInput, PlanState, PlannerSettings, RaftView};
use crate::metrics::Metrics;
use crate::status::conditions::{status_of, ConditionStatus, ConditionType};
use crate::status::{bootstrap, build_status, Problem, StatusInputs};
use crate::validate::{validate_with, ValidatedCluster, ValidationError};
use dynamic_config::Pushed;
use observe::Workload;

/// Shared state of every reconcile.
pub struct Context {
    pub client: Client,
    pub applier: Applier,
    /// The brokers' HTTP API (status, membership changes), per cluster.
    pub brokers: Arc<dyn BrokerClients>,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    /// Requeue interval while the cluster is healthy (status polling).
    pub healthy_requeue: Duration,
    /// Requeue interval while it is not.
    pub unhealthy_requeue: Duration,
    /// Requeue interval right after a lifecycle step was carried out.
    pub step_requeue: Duration,
    /// Tunables of the lifecycle planner.
    pub planner: PlannerSettings,
    /// Where the operator's pods are (the NetworkPolicy lets them in).
    pub operator_pods: OperatorPods,
    /// How long a Secret change needs to reach every pod: the wait between
    /// the steps of a CA renewal.
    pub cert_propagation: Duration,
}

impl Context {
    /// A context asking every cluster's brokers through `brokers` (tests'
    /// fakes), with the default intervals and planner settings.
    pub fn new(client: Client, brokers: Arc<dyn BrokerApi>, metrics: Arc<Metrics>) -> Self {
        Self::with_clients(client, Arc::new(SameBrokers(brokers)), metrics)
    }

    /// A context reaching each cluster through `clients` (plain HTTP, or
    /// https with the cluster's operator certificate).
    pub fn with_clients(
        client: Client,
        brokers: Arc<dyn BrokerClients>,
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
            planner: PlannerSettings::default(),
            operator_pods: OperatorPods::default(),
            cert_propagation: Duration::from_secs(120),
        }
    }
}

/// The cluster being reconciled, with its namespace and name checked.
pub(crate) struct ClusterRef<'a> {
    pub cluster: &'a ChronikCluster,
    pub namespace: String,
    pub name: String,
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
        source: BrokerError,
    },
    #[error("broker client of {namespace}/{name}: {source}")]
    BrokerClient {
        namespace: String,
        name: String,
        #[source]
        source: BrokerError,
    },
    #[error("certificates of {namespace}/{name}: {source}")]
    Certificates {
        namespace: String,
        name: String,
        #[source]
        source: CertError,
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
            Self::Certificates { .. } => "Certificates",
            Self::BrokerClient { .. } => "BrokerClient",
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

/// What one pass observed, checked: the input of its plan and status.
struct Observed {
    validated: ValidatedCluster,
    workload: Workload,
    /// Every pod's `/v1/status` answer; the leader found once among them.
    answers: Answers,
    /// The leader's view of Raft, `None` while no broker leads.
    raft: Option<RaftView>,
    /// Certificates, external addresses and the cluster's broker API.
    security: security::SecurityObserved,
    now: Timestamp,
}

/// One pass, in order: observe the workload → validate → observe the
/// brokers → plan → build → apply → status → carry out the step.
async fn reconcile_inner(
    cluster: &ChronikCluster,
    ctx: &Context,
) -> Result<Action, ReconcileError> {
    let target = ClusterRef {
        cluster,
        namespace: cluster.namespace().ok_or(ReconcileError::NoNamespace)?,
        name: cluster.name_any(),
    };
    let workload = observe::workload(ctx, &target).await?;
    let validated = match validate_with(cluster, workload.initial_replicas()) {
        Ok(validated) => validated,
        Err(error) => return invalid_spec(ctx, &target, &error).await,
    };
    let security = match security::observe(ctx, &target, &validated, &workload).await {
        Ok(security) => security,
        Err(error) => return Err(report_failure(ctx, &target, "CertificatesFailed", error).await),
    };
    let observed = observe_brokers(validated, workload, security).await;
    let plan = plan_step(ctx, &target, &observed);
    let desired = build(ctx, &observed, &plan);
    let statefulset = apply(ctx, &target, &desired, &observed.workload, &plan).await?;
    let pushed = push_config(ctx, &target, &observed).await?;
    let refused = pushed.refusal();
    let healthy = status(
        ctx,
        &target,
        &observed,
        &plan,
        &statefulset,
        refused.as_deref(),
    )
    .await?;
    if let (Some(action), Some(raft)) = (&plan.action, &observed.raft) {
        info!(cluster = %target.name, namespace = %target.namespace, step = %plan.message, "lifecycle step");
        let api = observed.security.api.as_ref();
        carry_out::carry_out(ctx, api, &observed.validated, raft.leader_id, action).await?;
        return Ok(Action::requeue(ctx.step_requeue));
    }
    Ok(Action::requeue(if healthy {
        ctx.healthy_requeue
    } else {
        ctx.unhealthy_requeue
    }))
}

/// Observe the brokers of a validated cluster: every pod's `/v1/status`,
/// and the leader's view of Raft from them.
async fn observe_brokers(
    validated: ValidatedCluster,
    workload: Workload,
    security: security::SecurityObserved,
) -> Observed {
    let answers = observe::brokers(security.api.as_ref(), &validated, &workload).await;
    let mut validated = validated;
    // The latch: stored in status, remembered on the StatefulSet, or formed
    // now; the ConfigMap built from it tells pods started from now on.
    validated.bootstrapped = bootstrap::latch(
        None,
        validated.bootstrapped || workload.bootstrapped(),
        &answers,
        validated.initial_replicas,
    );
    Observed {
        raft: raft_view(&answers),
        validated,
        workload,
        answers,
        security,
        now: Timestamp::now(),
    }
}

/// A failure that stops the pass, reported on the resource (`Degraded`
/// with `reason`, one Warning Event per distinct message) and returned so
/// that the controller retries with backoff.
async fn report_failure(
    ctx: &Context,
    target: &ClusterRef<'_>,
    reason: &str,
    error: ReconcileError,
) -> ReconcileError {
    let problem = Problem {
        reason: reason.to_string(),
        message: error.to_string(),
        phase: None,
    };
    if let Err(report) = report::problem(ctx, target, &problem).await {
        warn!(cluster = %target.name, namespace = %target.namespace, error = %report, "reporting a failure");
    }
    error
}

/// An invalid spec: reported on the resource (reason `InvalidConfig` for
/// `spec.config`, else `InvalidSpec`), not a reconcile error. Nothing is
/// applied and no broker is asked anything.
async fn invalid_spec(
    ctx: &Context,
    target: &ClusterRef<'_>,
    error: &ValidationError,
) -> Result<Action, ReconcileError> {
    ctx.metrics.failure(error.reason());
    warn!(cluster = %target.name, namespace = %target.namespace, %error, "invalid spec");
    let problem = Problem {
        reason: error.reason().to_string(),
        message: error.to_string(),
        phase: Some(ClusterPhase::Invalid),
    };
    report::problem(ctx, target, &problem).await?;
    // A spec change triggers the next reconcile; no crash loop.
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// Plan: the single next lifecycle step.
fn plan_step(ctx: &Context, target: &ClusterRef<'_>, observed: &Observed) -> Plan {
    plan(&PlanInput {
        desired_replicas: observed.validated.replicas,
        paused: observed.validated.paused,
        addresses: &observed.validated.addresses,
        workload: &observed.workload.view,
        raft: observed.raft.as_ref(),
        recorded: recorded_operation(target),
        settings: &ctx.planner,
        now: observed.now,
    })
}

/// The lifecycle step recorded in the stored status.
fn recorded_operation<'a>(target: &ClusterRef<'a>) -> Option<&'a OperationStatus> {
    target
        .cluster
        .status
        .as_ref()
        .and_then(|s| s.operation.as_ref())
}

/// Build: the desired objects, with the planned replicas and budget, the
/// signed Secrets, a Service per existing or planned pod and the external
/// addresses the Services gave.
fn build(ctx: &Context, observed: &Observed, plan: &Plan) -> DesiredObjects {
    let validated = &observed.validated;
    let mut desired = build_all(validated);
    desired.set_lifecycle(plan.statefulset_replicas, plan.pdb_min_available);
    let security = &mut desired.security;
    security.secrets = observed.security.certs.secrets.clone();
    security.certificates = observed.security.certs.certificates.clone();
    security.external_services = build_external_services(validated, observed.security.pods);
    if security.advertised.is_some() {
        security.advertised = Some(build_advertised_config_map(
            validated,
            &observed.security.advertised,
        ));
    }
    security.network_policy = build_network_policy(validated, &ctx.operator_pods);
    desired
}

/// Apply the desired objects; a failure is reported on the resource, then
/// returned so that the controller retries with backoff. Paused: the
/// workload (StatefulSet and the configuration its pods read) stays as it
/// is once it exists.
async fn apply(
    ctx: &Context,
    target: &ClusterRef<'_>,
    desired: &DesiredObjects,
    workload: &Workload,
    plan: &Plan,
) -> Result<StatefulSet, ReconcileError> {
    let frozen = workload
        .statefulset
        .as_ref()
        .filter(|_| plan.state == PlanState::Paused);
    match objects::apply_all(ctx, target, desired, frozen).await {
        Ok(statefulset) => Ok(statefulset),
        Err(error) => Err(report_failure(ctx, target, "ApplyFailed", error.into()).await),
    }
}

/// Push the dynamic keys of `spec.config` to the leader when the cluster's
/// differ, with an Event when they were applied (a refusal is reported with
/// the status); a failed call is logged and retried on the next pass.
async fn push_config(
    ctx: &Context,
    target: &ClusterRef<'_>,
    observed: &Observed,
) -> Result<Pushed, ReconcileError> {
    let api = observed.security.api.as_ref();
    let pushed = dynamic_config::push(api, &observed.validated, observed.raft.as_ref()).await;
    match &pushed {
        Pushed::Applied => {
            let keys = &observed.validated.config.dynamic.configs;
            info!(cluster = %target.name, namespace = %target.namespace, ?keys, "dynamic broker config applied");
            report::config_applied(ctx, target).await?;
        }
        Pushed::Refused(message) => {
            ctx.metrics.failure(ValidationError::CONFIG_REASON);
            warn!(cluster = %target.name, namespace = %target.namespace, %message, "dynamic broker config refused");
        }
        Pushed::Failed(error) => {
            ctx.metrics.failure("ConfigPush");
            warn!(cluster = %target.name, namespace = %target.namespace, %error, "pushing the dynamic broker config");
        }
        Pushed::Skipped | Pushed::InSync => {}
    }
    Ok(pushed)
}

/// Status: written (the planned step recorded before it is carried out),
/// with one Event per new step, `Degraded` (reason `InvalidConfig`) while
/// the brokers refuse the dynamic keys (`config_refused`). True when the
/// cluster is done and healthy.
async fn status(
    ctx: &Context,
    target: &ClusterRef<'_>,
    observed: &Observed,
    plan: &Plan,
    statefulset: &StatefulSet,
    config_refused: Option<&str>,
) -> Result<bool, ReconcileError> {
    let status = build_status(&StatusInputs {
        cluster: &observed.validated,
        statefulset: statefulset.status.as_ref(),
        answers: &observed.answers,
        workload: &observed.workload.view,
        plan: Some(plan),
        previous: target.cluster.status.as_ref(),
        config_refused,
        now: observed.now,
    });
    if plan.is_news(recorded_operation(target)) {
        report::step_event(ctx, target, plan).await?;
    }
    if let Some(message) = config_refused {
        report::config_refused(ctx, target, message).await?;
    }
    let healthy = plan.state == PlanState::Done
        && status_of(&status.conditions, ConditionType::Degraded) == ConditionStatus::False;
    report::write_status(ctx, target, status).await?;
    Ok(healthy)
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
