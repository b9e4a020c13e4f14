//! Carrying out a planned step: a membership change on the leader through
//! [`crate::brokers`], or a pod deletion through kube.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;
use kube::Api;

use super::{Context, ReconcileError};
use crate::brokers::{BrokerApi, BrokerError};
use crate::lifecycle::Action;
use crate::validate::ValidatedCluster;

/// Carry out `action`, asking the member `leader` first. A change refused
/// because another one is pending is not an error: the next pass looks
/// again. A pod already gone is not one either.
pub(super) async fn carry_out(
    ctx: &Context,
    brokers: &dyn BrokerApi,
    cluster: &ValidatedCluster,
    leader: u64,
    action: &Action,
) -> Result<(), ReconcileError> {
    let Some(change) = action.member_change() else {
        let Action::DeletePod { pod } = action else {
            return Ok(());
        };
        return delete_pod(ctx, cluster, pod).await;
    };
    let members = Arc::new(cluster.broker_api_addresses());
    match brokers.change(members, leader, change).await {
        Ok(_) | Err(BrokerError::Pending { .. }) => Ok(()),
        Err(source) => Err(ReconcileError::Membership {
            namespace: cluster.namespace.clone(),
            name: cluster.name.clone(),
            source,
        }),
    }
}

async fn delete_pod(
    ctx: &Context,
    cluster: &ValidatedCluster,
    pod: &str,
) -> Result<(), ReconcileError> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &cluster.namespace);
    match api.delete(pod, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(source) => Err(ReconcileError::DeletePod {
            namespace: cluster.namespace.clone(),
            pod: pod.to_string(),
            source,
        }),
    }
}
