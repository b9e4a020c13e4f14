//! The security part of a pass: read the certificate Secrets and the
//! external Services, sign what the certificate planner says, and pick the
//! broker client of the cluster (https with the operator's certificate when
//! it runs peer mTLS).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Secret, Service};
use kube::api::ListParams;
use kube::Api;
use tracing::info;

use super::observe::Workload;
use super::{ClusterRef, Context, ReconcileError};
use crate::brokers::BrokerApi;
use crate::build::{advertised_addresses, external_hosts, Advertised, MANAGED_BY};
use crate::certs::cluster::{cluster_certs, secrets_to_read, CertInputs, ClusterCerts};
use crate::certs::plan::CaStep;
use crate::validate::ValidatedCluster;

/// What the security part of a pass found and decided.
pub(super) struct SecurityObserved {
    pub certs: ClusterCerts,
    pub advertised: Vec<Advertised>,
    /// The broker API of this cluster.
    pub api: Arc<dyn BrokerApi>,
    /// Broker pods that need a certificate and external Services.
    pub pods: u32,
}

/// Read, plan and sign; see the module doc.
pub(super) async fn observe(
    ctx: &Context,
    target: &ClusterRef<'_>,
    cluster: &ValidatedCluster,
    workload: &Workload,
) -> Result<SecurityObserved, ReconcileError> {
    let pods = workload.pods(cluster);
    let secrets = read_secrets(ctx, cluster, pods).await?;
    let services = external_services(ctx, cluster).await?;
    let advertised = advertised_addresses(cluster, &services, &workload.pods);
    let now = jiff_now();
    let certs = cluster_certs(&CertInputs {
        cluster,
        secrets: &secrets,
        pods,
        external_hosts: &external_hosts(&advertised),
        now,
        propagation_secs: i64::try_from(ctx.cert_propagation.as_secs()).unwrap_or(i64::MAX),
    })
    .map_err(|source| ReconcileError::Certificates {
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        source,
    })?;
    for (ca, plan) in [
        ("cluster", &certs.cluster_plan),
        ("clients", &certs.clients_plan),
    ] {
        if !plan.is_quiet() {
            let step = match &plan.step {
                CaStep::Wait { .. } | CaStep::Keep => "none".to_string(),
                other => format!("{other:?}"),
            };
            info!(cluster = %target.name, namespace = %target.namespace, ca, step, issue = ?plan.issue, remove = ?plan.remove, "certificates");
        }
    }
    let tls = certs
        .operator_tls
        .as_ref()
        .filter(|_| cluster.security.peer_mtls);
    let api = ctx
        .brokers
        .for_cluster(tls)
        .map_err(|source| ReconcileError::BrokerClient {
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            source,
        })?;
    Ok(SecurityObserved {
        certs,
        advertised,
        api,
        pods,
    })
}

fn jiff_now() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

/// GET the Secrets the certificates are made from (see
/// [`secrets_to_read`]); absent ones are left out.
async fn read_secrets(
    ctx: &Context,
    cluster: &ValidatedCluster,
    pods: u32,
) -> Result<BTreeMap<String, Secret>, ReconcileError> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &cluster.namespace);
    let mut found = BTreeMap::new();
    for name in secrets_to_read(cluster, pods) {
        let secret = api
            .get_opt(&name)
            .await
            .map_err(|source| ReconcileError::Read {
                what: format!("Secret {}/{name}", cluster.namespace),
                source,
            })?;
        if let Some(secret) = secret {
            found.insert(name, secret);
        }
    }
    Ok(found)
}

/// The cluster's Services, when it has external listeners.
async fn external_services(
    ctx: &Context,
    cluster: &ValidatedCluster,
) -> Result<Vec<Service>, ReconcileError> {
    if cluster.security.external_listeners().next().is_none() {
        return Ok(Vec::new());
    }
    let api: Api<Service> = Api::namespaced(ctx.client.clone(), &cluster.namespace);
    let selector = format!(
        "app.kubernetes.io/instance={},app.kubernetes.io/managed-by={MANAGED_BY}",
        cluster.name
    );
    api.list(&ListParams::default().labels(&selector))
        .await
        .map(|list| list.items)
        .map_err(|source| ReconcileError::Read {
            what: format!("Services of {}/{}", cluster.namespace, cluster.name),
            source,
        })
}
