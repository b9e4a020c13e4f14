//! What a ChronikUser pass reads through kube: its ChronikCluster (typed,
//! plus the raw spec for listeners this operator version may not know) and
//! Secrets by name.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{ApiResource, DynamicObject};
use kube::Api;
use serde_json::Value;

use super::UserError;
use crate::brokers::{BrokerApi, ClientTls};
use crate::controller::Context;
use crate::crd::ChronikCluster;
use crate::validate::ValidatedCluster;
use std::sync::Arc;

/// The user's cluster: typed, and its `spec` as the API server holds it.
pub(super) struct ClusterObject {
    pub cluster: ChronikCluster,
    pub spec: Value,
}

/// GET the ChronikCluster `name`; `None` when it does not exist.
pub(super) async fn cluster(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<ClusterObject>, UserError> {
    let resource = ApiResource::erase::<ChronikCluster>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &resource);
    let what = || format!("ChronikCluster {namespace}/{name}");
    let Some(object) = api.get_opt(name).await.map_err(|source| UserError::Read {
        what: what(),
        source,
    })?
    else {
        return Ok(None);
    };
    let spec = object.data.get("spec").cloned().unwrap_or(Value::Null);
    let value = serde_json::to_value(&object).map_err(|e| UserError::Decode {
        what: what(),
        message: e.to_string(),
    })?;
    let cluster = serde_json::from_value(value).map_err(|e| UserError::Decode {
        what: what(),
        message: e.to_string(),
    })?;
    Ok(Some(ClusterObject { cluster, spec }))
}

/// GET the Secret `name`; `None` when it does not exist.
pub(super) async fn secret(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<Secret>, UserError> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    api.get_opt(name).await.map_err(|source| UserError::Read {
        what: format!("Secret {namespace}/{name}"),
        source,
    })
}

/// The text of `key` in `secret`, if present and UTF-8.
pub(super) fn key_text(secret: Option<&Secret>, key: &str) -> Option<String> {
    let bytes = secret?.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone())
        .ok()
        .filter(|t| !t.is_empty())
}

/// The cluster's brokers as the operator reaches them: over mTLS with the
/// identity in `<cluster>-operator` when the cluster runs peer mTLS (the
/// same identity the cluster controller uses), plain HTTP otherwise. `None`
/// when the cluster needs the identity and its Secret is not complete yet.
pub(super) async fn broker_api(
    ctx: &Context,
    namespace: &str,
    cluster: &ValidatedCluster,
) -> Result<Option<Arc<dyn BrokerApi>>, UserError> {
    let failed = |source| UserError::Broker {
        what: format!("a client for the brokers of {}", cluster.name),
        source,
    };
    if !cluster.security.peer_mtls {
        return ctx.brokers.for_cluster(None).map(Some).map_err(failed);
    }
    let secret = secret(ctx, namespace, &format!("{}-operator", cluster.name)).await?;
    let (Some(ca_pem), Some(cert_pem), Some(key_pem)) = (
        key_text(secret.as_ref(), "ca.crt"),
        key_text(secret.as_ref(), "tls.crt"),
        key_text(secret.as_ref(), "tls.key"),
    ) else {
        return Ok(None);
    };
    let tls = ClientTls {
        ca_pem,
        cert_pem,
        key_pem,
    };
    ctx.brokers
        .for_cluster(Some(&tls))
        .map(Some)
        .map_err(failed)
}
