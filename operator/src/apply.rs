//! Server-side apply with one field manager, writing only when needed.
//!
//! Before applying, the live object is read and compared with the desired
//! one: when every field the operator sets already has the desired value,
//! nothing is written. A second reconcile with nothing changed therefore
//! makes zero writes, while drift in any field the operator owns is
//! corrected on the next pass.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::validate::same_quantity;

/// The one field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "chronik-operator";

/// Why an apply failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("reading {kind} {namespace}/{name}: {source}")]
    Get {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("applying {kind} {namespace}/{name}: {source}")]
    Patch {
        kind: String,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("serializing {kind}: {source}")]
    Serialize {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("desired {kind} has no name")]
    NoName { kind: String },
}

/// What an apply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The live object already matched; nothing was written.
    Unchanged,
    /// The object was created or updated.
    Applied,
}

/// Applies namespaced objects with the operator's field manager.
#[derive(Clone)]
pub struct Applier {
    client: Client,
}

impl Applier {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Make the live object match `desired`; returns the live object.
    pub async fn apply<K>(&self, desired: &K) -> Result<(K, ApplyOutcome), ApplyError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
    {
        let kind = K::kind(&()).to_string();
        let name = desired
            .meta()
            .name
            .clone()
            .ok_or_else(|| ApplyError::NoName { kind: kind.clone() })?;
        let namespace = desired.namespace().unwrap_or_default();
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let existing = api.get_opt(&name).await.map_err(|source| ApplyError::Get {
            kind: kind.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
        let desired_value =
            serde_json::to_value(desired).map_err(|source| ApplyError::Serialize {
                kind: kind.clone(),
                source,
            })?;
        if let Some(live) = existing {
            let live_value =
                serde_json::to_value(&live).map_err(|source| ApplyError::Serialize {
                    kind: kind.clone(),
                    source,
                })?;
            if is_subset(&desired_value, &live_value) {
                return Ok((live, ApplyOutcome::Unchanged));
            }
        }
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = api
            .patch(&name, &params, &Patch::Apply(&desired_value))
            .await
            .map_err(|source| ApplyError::Patch {
                kind,
                namespace,
                name,
                source,
            })?;
        Ok((applied, ApplyOutcome::Applied))
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// True when every field set in `desired` has the same value in `live`.
///
/// Fields the API server adds (defaults, status, metadata) are ignored; empty
/// values in `desired` match absent ones; quantities compare by value
/// (`1Gi` == `1024Mi`) because the API server normalizes them; lists compare
/// element by element and must have the same length.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(key, dv)| match l.get(key) {
            Some(lv) => is_subset(dv, lv),
            None => is_empty_value(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| is_subset(dv, lv))
        }
        (Value::String(d), Value::String(l)) => d == l || same_quantity(d, l),
        (Value::Number(d), Value::String(l)) | (Value::String(l), Value::Number(d)) => {
            same_quantity(&d.to_string(), l)
        }
        (d, Value::Null) => is_empty_value(d),
        (d, l) => d == l,
    }
}

#[cfg(test)]
mod tests {
    use super::is_subset;
    use serde_json::json;

    #[test]
    fn subset_ignores_server_defaults() {
        let desired = json!({"spec": {"ports": [{"name": "kafka", "port": 9092}]}});
        let live = json!({"spec": {"ports": [{"name": "kafka", "port": 9092, "protocol": "TCP"}],
            "clusterIP": "10.0.0.1"}, "status": {}});
        assert!(is_subset(&desired, &live));
    }

    #[test]
    fn subset_detects_drift_and_length_change() {
        let desired = json!({"spec": {"replicas": 3, "ports": [1, 2]}});
        assert!(!is_subset(
            &desired,
            &json!({"spec": {"replicas": 5, "ports": [1, 2]}})
        ));
        assert!(!is_subset(
            &desired,
            &json!({"spec": {"replicas": 3, "ports": [1]}})
        ));
        assert!(!is_subset(&desired, &json!({"spec": {}})));
    }

    #[test]
    fn subset_normalizes_quantities_and_empties() {
        let desired = json!({"cpu": "1000m", "mem": "1024Mi", "tolerations": [], "x": {}});
        let live = json!({"cpu": "1", "mem": "1Gi"});
        assert!(is_subset(&desired, &live));
        assert!(!is_subset(&json!({"mem": "2Gi"}), &live));
    }
}
