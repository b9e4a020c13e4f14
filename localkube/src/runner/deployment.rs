//! A minimal Deployment controller, as pure functions: pods
//! `<deployment>-<template hash>-<suffix>` owned directly by the Deployment
//! (no ReplicaSets), replaced when the template changes (new pods first, old
//! ones deleted once the new ones are Ready), and the status `kubectl rollout
//! status` reads.

use serde_json::{json, Value};

use super::statefulset::{pod_ready, Action};

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

/// The `pod-template-hash` of a Deployment's template.
pub fn template_hash(d: &Value) -> String {
    let text = d
        .pointer("/spec/template")
        .map(Value::to_string)
        .unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

fn build_pod(d: &Value, hash: &str) -> Value {
    let name = s(d, "/metadata/name");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..5];
    let mut meta = d
        .pointer("/spec/template/metadata")
        .cloned()
        .unwrap_or(json!({}));
    meta["name"] = json!(format!("{name}-{hash}-{suffix}"));
    meta["namespace"] = json!(s(d, "/metadata/namespace"));
    if !meta.get("labels").is_some_and(Value::is_object) {
        meta["labels"] = json!({});
    }
    meta["labels"]["pod-template-hash"] = json!(hash);
    meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
        "uid": s(d, "/metadata/uid"), "controller": true, "blockOwnerDeletion": true}]);
    let spec = d
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or(json!({}));
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
}

/// The actions that move a Deployment towards its spec, given its pods.
pub fn reconcile(d: &Value, pods: &[Value]) -> Vec<Action> {
    let replicas = d
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1) as usize;
    let hash = template_hash(d);
    let (new, old): (Vec<&Value>, Vec<&Value>) = pods
        .iter()
        .partition(|p| s(p, "/metadata/labels/pod-template-hash") == hash);
    let mut actions = Vec::new();
    for _ in new.len()..replicas {
        actions.push(Action::CreatePod(build_pod(d, &hash)));
    }
    for p in new.iter().skip(replicas) {
        actions.push(Action::DeletePod(s(p, "/metadata/name").to_string()));
    }
    let new_ready = new.iter().filter(|p| pod_ready(p)).count();
    if new_ready >= replicas.min(new.len()) && new.len() >= replicas {
        for p in &old {
            actions.push(Action::DeletePod(s(p, "/metadata/name").to_string()));
        }
    }
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let available = ready >= replicas;
    let status = json!({
        "observedGeneration": d.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        "replicas": pods.len(),
        "updatedReplicas": new.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": replicas.saturating_sub(ready),
        "conditions": [
            {"type": "Available", "status": if available { "True" } else { "False" },
             "reason": if available { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" }},
            {"type": "Progressing", "status": "True",
             "reason": if new.len() >= replicas && old.is_empty() { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" }},
        ],
    });
    if d.get("status") != Some(&status) {
        actions.push(Action::Status(status));
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_pods_when_the_template_changes() {
        let d = json!({"metadata": {"name": "op", "namespace": "ns", "uid": "u", "generation": 1},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "op"}}, "spec": {"containers": [{"name": "c", "image": "op:1"}]}}}});
        let a = reconcile(&d, &[]);
        let Some(Action::CreatePod(p)) = a.first() else {
            panic!("{a:?}")
        };
        assert!(s(p, "/metadata/name").starts_with(&format!("op-{}-", template_hash(&d))));
        let mut ready = p.clone();
        ready["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
        let mut d2 = d.clone();
        d2["spec"]["template"]["spec"]["containers"][0]["image"] = json!("op:2");
        let a = reconcile(&d2, std::slice::from_ref(&ready));
        assert!(a.iter().any(|x| matches!(x, Action::CreatePod(_))));
        assert!(
            !a.iter().any(|x| matches!(x, Action::DeletePod(_))),
            "old pod kept until the new one is ready"
        );
    }
}
