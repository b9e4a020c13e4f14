//! In-process access to the cluster state for the workload runner (it acts
//! like a controller, through the same write paths as API clients).

use serde_json::{json, Value};

use crate::apiserver::cluster::{Cluster, Target};
use crate::apiserver::delete::DeleteOptions;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::write::{PatchType, WriteOptions};

/// Field manager recorded for the runner's writes.
pub const MANAGER: &str = "chronik-localkube-runner";

fn target(
    c: &Cluster,
    key: &str,
    ns: &str,
    name: Option<&str>,
    sub: Option<&str>,
) -> ApiResult<Target> {
    let ty = c
        .registry
        .by_key(key)
        .cloned()
        .ok_or_else(|| ApiError::Internal(format!("resource {key} is not registered")))?;
    Ok(Target {
        version: ty.versions[0].clone(),
        ty,
        namespace: Some(ns.to_string()),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    })
}

/// Every object of a resource (all namespaces).
pub fn list(c: &Cluster, key: &str) -> Vec<Value> {
    c.store.list(key, None).map(|(_, o)| o.clone()).collect()
}

/// Name, namespace and uid of an object.
pub fn ident(o: &Value) -> (String, String, String) {
    let s = |p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (
        s("/metadata/name"),
        s("/metadata/namespace"),
        s("/metadata/uid"),
    )
}

/// Create an object (AlreadyExists is not an error).
pub fn create(c: &mut Cluster, key: &str, ns: &str, body: Value) -> ApiResult<()> {
    let t = target(c, key, ns, None, None)?;
    let opts = WriteOptions {
        field_manager: Some(MANAGER.into()),
        ..WriteOptions::default()
    };
    match c.create(&t, body, &opts) {
        Ok(_) | Err(ApiError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Replace `.status` through the status subresource (or the object when it has none).
pub fn patch_status(
    c: &mut Cluster,
    key: &str,
    ns: &str,
    name: &str,
    status: Value,
) -> ApiResult<()> {
    let mut t = target(c, key, ns, Some(name), None)?;
    if t.ty.has_status {
        t.subresource = Some("status".into());
    }
    let ops = json!([{"op": "add", "path": "/status", "value": status}]);
    c.patch(&t, PatchType::Json, ops, &WriteOptions::default())
        .map(|_| ())
}

/// Merge-patch an object.
pub fn patch(c: &mut Cluster, key: &str, ns: &str, name: &str, patch: Value) -> ApiResult<()> {
    let t = target(c, key, ns, Some(name), None)?;
    c.patch(&t, PatchType::Merge, patch, &WriteOptions::default())
        .map(|_| ())
}

/// Delete an object (NotFound is not an error).
pub fn delete(c: &mut Cluster, key: &str, ns: &str, name: &str) -> ApiResult<()> {
    let t = target(c, key, ns, Some(name), None)?;
    match c.delete(&t, &DeleteOptions::default()) {
        Ok(_) | Err(ApiError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Finish a pod's graceful deletion: remove it now.
pub fn delete_now(c: &mut Cluster, key: &str, ns: &str, name: &str) -> ApiResult<()> {
    let t = target(c, key, ns, Some(name), None)?;
    let opts = DeleteOptions {
        grace: Some(0),
        ..DeleteOptions::default()
    };
    match c.delete(&t, &opts) {
        Ok(_) | Err(ApiError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
