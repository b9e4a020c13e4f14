//! The controller's lifecycle I/O: reading the live workload, carrying out
//! a planned step through the broker admin API or kube.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};

use super::{Context, ReconcileError};
use crate::build::{APP_NAME, INITIAL_REPLICAS_ANNOTATION};
use crate::lifecycle::admin::AdminError;
use crate::lifecycle::Action;
use crate::validate::ValidatedCluster;

/// The live StatefulSet (if any) and the cluster's pods.
pub(super) struct LiveWorkload {
    pub statefulset: Option<StatefulSet>,
    pub pods: Vec<Pod>,
}

pub(super) async fn live_workload(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<LiveWorkload, ReconcileError> {
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
    Ok(LiveWorkload { statefulset, pods })
}

/// The initial voter count annotated on an existing StatefulSet.
pub(super) fn recorded_initial_replicas(statefulset: Option<&StatefulSet>) -> Option<i32> {
    statefulset
        .and_then(|sts| {
            sts.annotations()
                .get(INITIAL_REPLICAS_ANNOTATION)
                .and_then(|v| v.parse::<i32>().ok())
        })
        .filter(|n| (1..=9).contains(n))
}

/// Carry out `action`: membership through the leader's admin API, pod
/// deletion through kube. A change refused because another one is pending
/// is not an error: the next pass looks again.
pub(super) async fn carry_out(
    ctx: &Context,
    cluster: &ValidatedCluster,
    leader: u64,
    action: &Action,
) -> Result<(), ReconcileError> {
    if let Action::DeletePod { pod } = action {
        let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &cluster.namespace);
        return match api.delete(pod, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
            Err(source) => Err(ReconcileError::DeletePod {
                namespace: cluster.namespace.clone(),
                pod: pod.clone(),
                source,
            }),
        };
    }
    let addresses = Arc::new(cluster.clone());
    match ctx
        .membership
        .execute(addresses, leader, action.clone())
        .await
    {
        Ok(_) | Err(AdminError::Pending { .. }) => Ok(()),
        Err(source) => Err(ReconcileError::Membership {
            namespace: cluster.namespace.clone(),
            name: cluster.name.clone(),
            source,
        }),
    }
}
