//! The `ChronikUser` controller: a Kafka user of a ChronikCluster, its
//! credentials and ACLs on the brokers, and a Secret for its clients.
//!
//! One pass: validate ([`validate`](mod@validate)) → observe the cluster, its CA Secrets
//! and the user's Secret (`observe`) → credentials ([`credentials`]:
//! the kept password or certificate, else a new one) → plan the broker
//! calls ([`plan`], pure) → carry them out ([`act`], through
//! [`crate::brokers::SecurityApi`]) → the Secret ([`secret`], written once
//! the brokers took the credential) → status ([`status`]).
//! Deleting a user runs the cleanup first, held by a finalizer.

pub mod act;
pub mod crd;
pub mod credentials;
mod observe;
pub mod plan;
pub mod scram;
pub mod secret;
pub mod status;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tracing::{info, warn};

use crate::apply::ApplyError;
use crate::brokers::BrokerError;
use crate::controller::Context;
use crate::status::conditions::{status_of, ConditionStatus, ConditionType};
use crate::validate::validate;
use act::Target;
use crd::{AuthenticationType, ChronikUser};
use credentials::{CaPem, CredentialError, Material};
use status::NotReady;
use validate::{validate_user, ValidatedUser};

/// Requeue while the user waits for its cluster.
const WAIT_REQUEUE: Duration = Duration::from_secs(10);
/// Requeue after an invalid spec (a spec change triggers a pass sooner).
const INVALID_REQUEUE: Duration = Duration::from_secs(300);

/// Why a ChronikUser pass failed (the variant name is the metrics label,
/// prefixed `User`).
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("ChronikUser has no namespace")]
    NoNamespace,
    #[error("reading {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("decoding {what}: {message}")]
    Decode { what: String, message: String },
    #[error("updating the finalizers of ChronikUser {name}: {source}")]
    Finalizer {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("updating status of ChronikUser {name}: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error("{what}: {source}")]
    Broker {
        what: String,
        #[source]
        source: BrokerError,
    },
}

impl UserError {
    /// Short kind for the failure metric.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoNamespace => "UserNoNamespace",
            Self::Read { .. } => "UserRead",
            Self::Decode { .. } => "UserDecode",
            Self::Finalizer { .. } => "UserFinalizer",
            Self::Status { .. } => "UserStatus",
            Self::Apply(_) => "UserApply",
            Self::Credentials(_) => "UserCredentials",
            Self::Broker { .. } => "UserBroker",
        }
    }

    /// The `Ready` reason a failure shows as.
    fn not_ready(&self) -> NotReady {
        match self {
            Self::Broker { .. } => NotReady::BrokerError,
            _ => NotReady::SecretError,
        }
    }
}

/// Reconcile one ChronikUser, recording metrics.
pub async fn reconcile(user: Arc<ChronikUser>, ctx: Arc<Context>) -> Result<Action, UserError> {
    ctx.metrics.reconciles.inc();
    let result = reconcile_inner(&user, &ctx).await;
    if let Err(error) = &result {
        ctx.metrics.failure(error.kind());
    }
    result
}

/// After a failed pass: retry soon.
pub fn error_policy(user: Arc<ChronikUser>, error: &UserError, _ctx: Arc<Context>) -> Action {
    warn!(user = %user.name_any(), namespace = ?user.namespace(), %error, "ChronikUser reconcile failed");
    Action::requeue(Duration::from_secs(10))
}

/// The user's cluster, once it can take the user: its brokers and the
/// pieces of its spec and Secrets the user's Secret is built from.
struct ReadyCluster {
    target: Target,
    connection: plan::Connection,
    cluster_ca: Option<String>,
    clients_ca: Option<CaPem>,
}

/// A pass stopped by the state of the world, not by a failure.
struct Stop {
    reason: NotReady,
    message: String,
}

async fn reconcile_inner(user: &ChronikUser, ctx: &Context) -> Result<Action, UserError> {
    let namespace = user.namespace().ok_or(UserError::NoNamespace)?;
    let api: Api<ChronikUser> = Api::namespaced(ctx.client.clone(), &namespace);
    if user.metadata.deletion_timestamp.is_some() {
        return finalize(ctx, &api, user, &namespace).await;
    }
    if !act::has_finalizer(user) {
        // The patch triggers the next pass, which finds the finalizer.
        act::add_finalizer(&api, user).await?;
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let validated = match validate_user(user) {
        Ok(validated) => validated,
        Err(error) => {
            let stop = Stop {
                reason: NotReady::InvalidSpec,
                message: error.to_string(),
            };
            return report_stop(ctx, &api, user, stop, INVALID_REQUEUE).await;
        }
    };
    let cluster = match ready_cluster(ctx, &validated).await? {
        Ok(cluster) => cluster,
        Err(stop) => return report_stop(ctx, &api, user, stop, WAIT_REQUEUE).await,
    };
    match converge(ctx, &validated, &cluster).await {
        Ok(()) => {
            let status = status::ready_status(&validated, user.status.as_ref(), Timestamp::now());
            act::write_status(&api, user, status).await?;
            Ok(Action::requeue(ctx.healthy_requeue))
        }
        Err(error) => {
            let status = status::not_ready_status(
                user.status.as_ref(),
                validated.generation,
                error.not_ready(),
                error.to_string(),
                Timestamp::now(),
            );
            if let Err(report) = act::write_status(&api, user, status).await {
                warn!(user = %validated.name, error = %report, "reporting the failure");
            }
            Err(error)
        }
    }
}

/// Credentials → broker plan → broker calls → Secret.
///
/// The Secret is written after the brokers took the credential, recording
/// its password as sent: a fresh password lost to a crash before the write
/// is never handed out (the next pass generates and sends another), and a
/// password in the Secret that the brokers may not have (a failed send, an
/// edited Secret) is sent again.
async fn converge(
    ctx: &Context,
    user: &ValidatedUser,
    cluster: &ReadyCluster,
) -> Result<(), UserError> {
    let existing = observe::secret(ctx, &user.namespace, &user.name).await?;
    let kept = secret::secret_text(existing.as_ref());
    let material = match (user.authentication, &cluster.clients_ca) {
        (AuthenticationType::ScramSha512, _) => {
            credentials::scram_material(&kept).map_err(CredentialError::from)?
        }
        (AuthenticationType::Tls, Some(ca)) => {
            credentials::tls_material(&user.name, &kept, ca, time::OffsetDateTime::now_utc())?
        }
        (AuthenticationType::Tls, None) => {
            return Err(CredentialError::Ca("no clients CA".to_string()).into())
        }
    };
    match &material {
        Material::Scram { fresh: true, .. } => {
            info!(user = %user.name, namespace = %user.namespace, "generated a password")
        }
        Material::Tls { fresh: true, .. } => {
            info!(user = %user.name, namespace = %user.namespace, "issued a client certificate")
        }
        _ => {}
    }
    let target = &cluster.target;
    let scram_users = match user.authentication {
        AuthenticationType::ScramSha512 => target
            .api
            .list_scram_users(target.members.clone(), target.via)
            .await
            .map_err(|source| UserError::Broker {
                what: "listing SCRAM users".to_string(),
                source,
            })?,
        AuthenticationType::Tls => Vec::new(),
    };
    let live = target
        .api
        .list_acls(target.members.clone(), target.via)
        .await
        .map_err(|source| UserError::Broker {
            what: "listing ACLs".to_string(),
            source,
        })?;
    let planned = plan::plan_brokers(&plan::PlanInput {
        user: &user.name,
        principal: &user.principal,
        material: &material,
        sent: secret::sent_digest(existing.as_ref()),
        scram_users: &scram_users,
        desired: &user.acls,
        live: &live.acls,
    });
    if planned.upsert_scram || !planned.acls.is_empty() {
        info!(user = %user.name, namespace = %user.namespace, scram = planned.upsert_scram,
            create = planned.acls.create.len(), delete = planned.acls.delete.len(), "updating the brokers");
    }
    act::carry_out(target, &user.name, &material, &planned).await?;
    let desired = secret::build_secret(
        user,
        &material,
        &cluster.connection,
        cluster.cluster_ca.as_deref(),
    );
    ctx.applier.apply(&desired).await?;
    Ok(())
}

/// The user's cluster if it can take the user now, else why not.
async fn ready_cluster(
    ctx: &Context,
    user: &ValidatedUser,
) -> Result<Result<ReadyCluster, Stop>, UserError> {
    let (namespace, name) = (&user.namespace, &user.cluster);
    let stop = |reason, message: String| Stop { reason, message };
    let Some(object) = observe::cluster(ctx, namespace, name).await? else {
        let message = format!("ChronikCluster {name} not found in namespace {namespace}");
        return Ok(Err(stop(NotReady::ClusterNotFound, message)));
    };
    let cluster = match validate(&object.cluster) {
        Ok(cluster) => cluster,
        Err(error) => {
            return Ok(Err(stop(
                NotReady::ClusterNotReady,
                format!("ChronikCluster {name} is invalid: {error}"),
            )))
        }
    };
    let stored = object.cluster.status.as_ref();
    let available = stored.is_some_and(|s| {
        status_of(&s.conditions, ConditionType::Available) == ConditionStatus::True
    });
    if !available {
        let message = format!("ChronikCluster {name} is not available yet (no Raft leader)");
        return Ok(Err(stop(NotReady::ClusterNotReady, message)));
    }
    let cluster_ca_secret =
        observe::secret(ctx, namespace, &format!("{name}-cluster-ca-cert")).await?;
    let cluster_ca = observe::key_text(cluster_ca_secret.as_ref(), credentials::keys::CA_CRT);
    let clients_ca = match user.authentication {
        AuthenticationType::ScramSha512 => None,
        AuthenticationType::Tls => {
            let secret_name = format!("{name}-clients-ca");
            let secret = observe::secret(ctx, namespace, &secret_name).await?;
            let cert = observe::key_text(secret.as_ref(), "ca.crt");
            let key = observe::key_text(secret.as_ref(), "ca.key");
            let (Some(cert), Some(key)) = (cert, key) else {
                let message = format!("Secret {secret_name} with ca.crt and ca.key not found: the cluster has no clients CA yet");
                return Ok(Err(stop(NotReady::ClusterNotReady, message)));
            };
            Some(CaPem { cert, key })
        }
    };
    let Some(api) = observe::broker_api(ctx, namespace, &cluster).await? else {
        let message = format!("Secret {name}-operator (the operator's certificate for the brokers) is not complete yet");
        return Ok(Err(stop(NotReady::ClusterNotReady, message)));
    };
    let service_host = format!(
        "{}.{}",
        cluster.client_service_name(),
        cluster.addresses.svc_suffix()
    );
    Ok(Ok(ReadyCluster {
        target: Target {
            api,
            members: Arc::new(cluster.broker_api_addresses()),
            via: stored.and_then(|s| s.leader.as_ref()).map_or(1, |l| l.id),
        },
        connection: plan::connection(&object.spec, user.authentication, &service_host),
        cluster_ca,
        clients_ca,
    }))
}

/// Report a stop as `Ready=False` and look again after `requeue`.
async fn report_stop(
    ctx: &Context,
    api: &Api<ChronikUser>,
    user: &ChronikUser,
    stop: Stop,
    requeue: Duration,
) -> Result<Action, UserError> {
    ctx.metrics.failure(stop.reason.as_str());
    let status = status::not_ready_status(
        user.status.as_ref(),
        user.metadata.generation,
        stop.reason,
        stop.message,
        Timestamp::now(),
    );
    act::write_status(api, user, status).await?;
    Ok(Action::requeue(requeue))
}

/// A deleted user: remove its credentials and ACLs from the brokers, then
/// the finalizer. Nothing to remove when its cluster is gone or going.
async fn finalize(
    ctx: &Context,
    api: &Api<ChronikUser>,
    user: &ChronikUser,
    namespace: &str,
) -> Result<Action, UserError> {
    if !act::has_finalizer(user) {
        return Ok(Action::await_change());
    }
    let name = user.name_any();
    let cluster = observe::cluster(ctx, namespace, &user.spec.cluster).await?;
    let live = cluster
        .filter(|c| c.cluster.metadata.deletion_timestamp.is_none())
        .and_then(|c| Some((validate(&c.cluster).ok()?, c.cluster.status)));
    if let Some((cluster, stored)) = live {
        let brokers = observe::broker_api(ctx, namespace, &cluster)
            .await?
            .ok_or_else(|| UserError::Broker {
                what: format!("the operator's certificate for {}", cluster.name),
                source: crate::brokers::BrokerError::Client {
                    message: format!("Secret {}-operator is not complete", cluster.name),
                },
            })?;
        let target = Target {
            api: brokers,
            members: Arc::new(cluster.broker_api_addresses()),
            via: stored.and_then(|s| s.leader).map_or(1, |l| l.id),
        };
        let authentication = user.spec.authentication.type_;
        let principal = validate::principal_of(&name, authentication);
        if let Err(error) = act::clean_up(&target, &name, authentication, &principal).await {
            let status = status::not_ready_status(
                user.status.as_ref(),
                user.metadata.generation,
                NotReady::BrokerError,
                format!("deleting: {error}"),
                Timestamp::now(),
            );
            if let Err(report) = act::write_status(api, user, status).await {
                warn!(user = %name, error = %report, "reporting the cleanup failure");
            }
            return Err(error);
        }
        info!(user = %name, %namespace, cluster = %cluster.name, "removed the user's credentials and ACLs");
    }
    act::remove_finalizer(api, user).await?;
    Ok(Action::await_change())
}

/// Run the ChronikUser controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    // The users' Secrets are not watched: that would need list and watch on
    // every Secret the operator can reach (RBAC cannot narrow them to a
    // label); the periodic pass puts back a Secret deleted by hand.
    let users: Api<ChronikUser> = match &namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    Controller::new(users, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(%object, "reconciled ChronikUser"),
                Err(error) => tracing::debug!(%error, "ChronikUser controller event"),
            }
        })
        .await;
}
