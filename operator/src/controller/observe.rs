//! Observing a cluster: its StatefulSet and pods through kube, then every
//! broker's `/v1/status` through [`crate::brokers`].

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use super::{ClusterRef, Context, ReconcileError};
use crate::brokers::{ask_all, Answers, BrokerApi};
use crate::build::{APP_NAME, BOOTSTRAPPED_ANNOTATION, INITIAL_REPLICAS_ANNOTATION};
use crate::lifecycle::{workload_view, WorkloadView};
use crate::validate::ValidatedCluster;

/// The live StatefulSet (if any) and the planner's view of it and its pods.
pub(super) struct Workload {
    pub statefulset: Option<StatefulSet>,
    /// The cluster's pods as listed (their node addresses advertise NodePorts).
    pub pods: Vec<Pod>,
    pub view: WorkloadView,
}

impl Workload {
    /// The initial voter count annotated on an existing StatefulSet.
    pub fn initial_replicas(&self) -> Option<i32> {
        self.statefulset
            .as_ref()
            .and_then(|sts| {
                sts.annotations()
                    .get(INITIAL_REPLICAS_ANNOTATION)
                    .and_then(|v| v.parse::<i32>().ok())
            })
            .filter(|n| (1..=9).contains(n))
    }

    /// Whether an existing StatefulSet remembers the `status.bootstrapped`
    /// latch (it stands in for a lost status).
    pub fn bootstrapped(&self) -> bool {
        self.statefulset.as_ref().is_some_and(|sts| {
            sts.annotations()
                .get(BOOTSTRAPPED_ANNOTATION)
                .is_some_and(|v| v == "true")
        })
    }

    /// Pods to ask (and to sign certificates for): every pod that exists
    /// or should exist.
    pub fn pods(&self, cluster: &ValidatedCluster) -> u32 {
        // Pods up to the highest ordinal that exists.
        let highest_pod = self.view.pods.iter().map(|p| p.ordinal + 1).max();
        let replicas = self
            .view
            .statefulset_replicas
            .unwrap_or(0)
            .max(cluster.replicas);
        u32::try_from(replicas)
            .unwrap_or(0)
            .max(highest_pod.unwrap_or(0))
    }
}

/// GET the StatefulSet and list the cluster's pods.
pub(super) async fn workload(
    ctx: &Context,
    target: &ClusterRef<'_>,
) -> Result<Workload, ReconcileError> {
    let (namespace, name) = (target.namespace.as_str(), target.name.as_str());
    let sts_api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), namespace);
    let statefulset = sts_api
        .get_opt(name)
        .await
        .map_err(|source| ReconcileError::Read {
            what: format!("StatefulSet {namespace}/{name}"),
            source,
        })?;
    let pods = match &statefulset {
        // No StatefulSet, no pods of ours.
        None => Vec::new(),
        Some(_) => {
            let pod_api: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
            let selector =
                format!("app.kubernetes.io/name={APP_NAME},app.kubernetes.io/instance={name}");
            pod_api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|source| ReconcileError::Read {
                    what: format!("pods of {namespace}/{name}"),
                    source,
                })?
                .items
        }
    };
    let view = workload_view(name, statefulset.as_ref(), &pods);
    Ok(Workload {
        statefulset,
        pods,
        view,
    })
}

/// Ask every pod that exists or should exist for its `/v1/status`.
pub(super) async fn brokers(
    brokers: &dyn BrokerApi,
    cluster: &ValidatedCluster,
    workload: &Workload,
) -> Answers {
    ask_all(
        brokers,
        &cluster.broker_api_addresses(),
        workload.pods(cluster),
    )
    .await
}
