//! Applying the desired objects, in order, with server-side apply.

use k8s_openapi::api::apps::v1::StatefulSet;
use tracing::info;

use super::{ClusterRef, Context};
use crate::apply::{ApplyError, ApplyOutcome};
use crate::build::DesiredObjects;

/// Apply every desired object in order; returns the live StatefulSet.
/// With `frozen` (paused), the ConfigMap and StatefulSet are not written and
/// `frozen` is returned as the live StatefulSet.
pub(super) async fn apply_all(
    ctx: &Context,
    target: &ClusterRef<'_>,
    desired: &DesiredObjects,
    frozen: Option<&StatefulSet>,
) -> Result<StatefulSet, ApplyError> {
    let mut changed = Vec::new();
    let mut note = |kind: &str, outcome: ApplyOutcome| {
        if outcome == ApplyOutcome::Applied {
            changed.push(kind.to_string());
        }
    };
    // Certificates first (renewal goes on while paused: it restarts
    // nothing), then the addresses the brokers advertise.
    let security = &desired.security;
    for certificate in &security.certificates {
        note("Certificate", ctx.applier.apply(certificate).await?.1);
    }
    for secret in &security.secrets {
        note("Secret", ctx.applier.apply(secret).await?.1);
    }
    if let Some(advertised) = &security.advertised {
        note("ConfigMap", ctx.applier.apply(advertised).await?.1);
    }
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
    for service in &security.external_services {
        note("Service", ctx.applier.apply(service).await?.1);
    }
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
    note(
        "NetworkPolicy",
        ctx.applier.apply(&security.network_policy).await?.1,
    );
    if !changed.is_empty() {
        info!(cluster = %target.name, namespace = %target.namespace, applied = ?changed, "applied objects");
    }
    Ok(statefulset)
}
