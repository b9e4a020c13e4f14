//! The StatefulSet controller, as pure functions: from a StatefulSet and its
//! pods and claims, the next actions (create/delete pods and claims by
//! ordinal, roll pods to the update revision, write status).
//!
//! Supported: `replicas`, `podManagementPolicy` (`OrderedReady` creates and
//! deletes one pod at a time, waiting for readiness; `Parallel` does not
//! wait), `updateStrategy` `RollingUpdate` (with `partition`, one pod at a
//! time from the highest ordinal, only when all pods are Ready) and
//! `OnDelete`, `volumeClaimTemplates`, and
//! `persistentVolumeClaimRetentionPolicy` (`whenScaled`/`whenDeleted`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

/// One step the runner should take.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create this Pod.
    CreatePod(Value),
    /// Delete the Pod with this name.
    DeletePod(String),
    /// Create this PersistentVolumeClaim.
    CreateClaim(Value),
    /// Delete the claim with this name.
    DeleteClaim(String),
    /// Merge this into the StatefulSet's status.
    Status(Value),
}

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

/// Is the pod Ready?
pub fn pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Ordinal of a pod named `<sts>-<n>`.
pub fn ordinal(sts_name: &str, pod_name: &str) -> Option<usize> {
    pod_name
        .strip_prefix(sts_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// `<sts>-<10 hex digits of a hash of the pod template>`.
pub fn revision(sts: &Value) -> String {
    let text = sts
        .pointer("/spec/template")
        .map(Value::to_string)
        .unwrap_or_default();
    // FNV-1a, stable across runs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{:010x}", s(sts, "/metadata/name"), h & 0xff_ffff_ffff)
}

/// Name of the claim of template `tmpl` for ordinal `i`.
pub fn claim_name(tmpl: &str, sts: &str, i: usize) -> String {
    format!("{tmpl}-{sts}-{i}")
}

fn owner(sts: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": s(sts, "/metadata/name"),
           "uid": s(sts, "/metadata/uid"), "controller": true, "blockOwnerDeletion": true})
}

fn templates(sts: &Value) -> Vec<Value> {
    sts.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The Pod for one ordinal.
pub fn build_pod(sts: &Value, i: usize) -> Value {
    let name = s(sts, "/metadata/name");
    let pod_name = format!("{name}-{i}");
    let mut meta = sts
        .pointer("/spec/template/metadata")
        .cloned()
        .unwrap_or(json!({}));
    meta["name"] = json!(pod_name);
    meta["namespace"] = json!(s(sts, "/metadata/namespace"));
    meta["ownerReferences"] = json!([owner(sts)]);
    if !meta.get("labels").is_some_and(Value::is_object) {
        meta["labels"] = json!({});
    }
    meta["labels"]["statefulset.kubernetes.io/pod-name"] = json!(pod_name);
    meta["labels"]["apps.kubernetes.io/pod-index"] = json!(i.to_string());
    meta["labels"]["controller-revision-hash"] = json!(revision(sts));
    let mut spec = sts
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or(json!({}));
    spec["hostname"] = json!(pod_name);
    if let Some(svc) = sts.pointer("/spec/serviceName").and_then(Value::as_str) {
        spec["subdomain"] = json!(svc);
    }
    for t in templates(sts) {
        let tmpl = s(&t, "/metadata/name").to_string();
        let vol = json!({"name": tmpl, "persistentVolumeClaim": {"claimName": claim_name(&tmpl, name, i)}});
        match spec.get_mut("volumes").and_then(Value::as_array_mut) {
            Some(v) => {
                v.retain(|x| x["name"] != json!(tmpl));
                v.push(vol);
            }
            None => spec["volumes"] = json!([vol]),
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
}

fn build_claim(sts: &Value, t: &Value, i: usize) -> Value {
    let name = s(sts, "/metadata/name");
    let tmpl = s(t, "/metadata/name");
    let mut meta = t.get("metadata").cloned().unwrap_or(json!({}));
    meta["name"] = json!(claim_name(tmpl, name, i));
    meta["namespace"] = json!(s(sts, "/metadata/namespace"));
    let labels = sts
        .pointer("/spec/selector/matchLabels")
        .cloned()
        .unwrap_or(json!({}));
    meta["labels"] = labels;
    if s(
        sts,
        "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted",
    ) == "Delete"
    {
        meta["ownerReferences"] = json!([owner(sts)]);
    }
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
           "spec": t.get("spec").cloned().unwrap_or(json!({}))})
}

/// The actions that move the StatefulSet towards its spec.
pub fn reconcile(sts: &Value, pods: &[Value], claims: &BTreeSet<String>) -> Vec<Action> {
    let name = s(sts, "/metadata/name");
    let replicas = sts
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1) as usize;
    let parallel = s(sts, "/spec/podManagementPolicy") == "Parallel";
    let on_delete = s(sts, "/spec/updateStrategy/type") == "OnDelete";
    let partition = sts
        .pointer("/spec/updateStrategy/rollingUpdate/partition")
        .and_then(Value::as_u64)
        .unwrap_or(0) as usize;
    let update_rev = revision(sts);
    let by_ordinal: BTreeMap<usize, &Value> = pods
        .iter()
        .filter_map(|p| ordinal(name, s(p, "/metadata/name")).map(|i| (i, p)))
        .collect();
    let mut actions = Vec::new();

    // Claims for every wanted ordinal; claims of removed ordinals per policy.
    for t in templates(sts) {
        let tmpl = s(&t, "/metadata/name");
        for i in 0..replicas {
            if !claims.contains(&claim_name(tmpl, name, i)) {
                actions.push(Action::CreateClaim(build_claim(sts, &t, i)));
            }
        }
        if s(sts, "/spec/persistentVolumeClaimRetentionPolicy/whenScaled") == "Delete" {
            for c in claims {
                let gone = c
                    .strip_prefix(&format!("{tmpl}-{name}-"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .is_some_and(|n| n >= replicas && !by_ordinal.contains_key(&n));
                if gone {
                    actions.push(Action::DeleteClaim(c.clone()));
                }
            }
        }
    }

    // Scale up: missing ordinals, in order (one at a time unless Parallel).
    let all_ready_below =
        |i: usize| (0..i).all(|j| by_ordinal.get(&j).is_some_and(|p| pod_ready(p)));
    for i in 0..replicas {
        if by_ordinal.contains_key(&i) {
            continue;
        }
        if parallel || all_ready_below(i) {
            actions.push(Action::CreatePod(build_pod(sts, i)));
        }
        if !parallel {
            break;
        }
    }
    // Scale down: highest ordinal first.
    let extra: Vec<usize> = by_ordinal
        .keys()
        .rev()
        .copied()
        .filter(|i| *i >= replicas)
        .collect();
    let everyone_ready = by_ordinal.values().all(|p| pod_ready(p));
    for i in &extra {
        if parallel || everyone_ready {
            actions.push(Action::DeletePod(format!("{name}-{i}")));
        }
        if !parallel {
            break;
        }
    }
    // Rolling update: the highest outdated ordinal >= partition, when all are Ready.
    let outdated: Vec<usize> = by_ordinal
        .iter()
        .filter(|(i, p)| {
            **i < replicas && s(p, "/metadata/labels/controller-revision-hash") != update_rev
        })
        .map(|(i, _)| *i)
        .collect();
    let complete = by_ordinal.len() == replicas && extra.is_empty();
    if !on_delete && complete && everyone_ready {
        if let Some(i) = outdated.iter().rev().find(|i| **i >= partition) {
            actions.push(Action::DeletePod(format!("{name}-{i}")));
        }
    }

    // Status.
    let stored = s(sts, "/status/currentRevision");
    let current_rev = if stored.is_empty() || (outdated.is_empty() && complete) {
        update_rev.clone()
    } else {
        stored.to_string()
    };
    let count_rev = |rev: &str| {
        by_ordinal
            .values()
            .filter(|p| s(p, "/metadata/labels/controller-revision-hash") == rev)
            .count()
    };
    let ready = by_ordinal.values().filter(|p| pod_ready(p)).count();
    let status = json!({
        "observedGeneration": sts.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
        "replicas": by_ordinal.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": count_rev(&current_rev),
        "updatedReplicas": count_rev(&update_rev),
        "currentRevision": current_rev,
        "updateRevision": update_rev,
        "collisionCount": 0,
    });
    let changed = [
        "observedGeneration",
        "replicas",
        "readyReplicas",
        "availableReplicas",
        "currentReplicas",
        "updatedReplicas",
        "currentRevision",
        "updateRevision",
    ]
    .iter()
    .any(|k| sts.pointer(&format!("/status/{k}")) != status.get(*k));
    if changed {
        actions.push(Action::Status(status));
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(replicas: u64, policy: &str) -> Value {
        json!({"metadata": {"name": "db", "namespace": "ns", "uid": "u1", "generation": 1},
               "spec": {"replicas": replicas, "serviceName": "db-h", "podManagementPolicy": policy,
                        "selector": {"matchLabels": {"app": "db"}},
                        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}},
                        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}})
    }

    fn ready(mut p: Value) -> Value {
        p["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
        p
    }

    #[test]
    fn ordered_ready_creates_one_pod_at_a_time() {
        let s3 = sts(3, "OrderedReady");
        let a = reconcile(&s3, &[], &BTreeSet::new());
        let pods: Vec<&Value> = a
            .iter()
            .filter_map(|x| {
                if let Action::CreatePod(p) = x {
                    Some(p)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0]["metadata"]["name"], "db-0");
        assert_eq!(pods[0]["spec"]["hostname"], "db-0");
        assert_eq!(pods[0]["spec"]["subdomain"], "db-h");
        assert_eq!(
            pods[0]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "data-db-0"
        );
        assert_eq!(
            a.iter()
                .filter(|x| matches!(x, Action::CreateClaim(_)))
                .count(),
            3
        );
        // db-0 not ready yet: nothing more; once ready: db-1.
        let p0 = build_pod(&s3, 0);
        assert!(!reconcile(&s3, std::slice::from_ref(&p0), &BTreeSet::new())
            .iter()
            .any(|x| matches!(x, Action::CreatePod(_))));
        let next = reconcile(&s3, &[ready(p0)], &BTreeSet::new());
        assert!(next
            .iter()
            .any(|x| matches!(x, Action::CreatePod(p) if p["metadata"]["name"] == "db-1")));
    }

    #[test]
    fn parallel_scale_down_and_rolling_update_with_partition() {
        let s1 = sts(1, "Parallel");
        let pods: Vec<Value> = (0..3).map(|i| ready(build_pod(&s1, i))).collect();
        let a = reconcile(&s1, &pods, &BTreeSet::new());
        let deleted: Vec<&String> = a
            .iter()
            .filter_map(|x| {
                if let Action::DeletePod(n) = x {
                    Some(n)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(deleted, ["db-2", "db-1"]);

        let old = sts(3, "Parallel");
        let pods: Vec<Value> = (0..3).map(|i| ready(build_pod(&old, i))).collect();
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("i:2");
        new["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 1}});
        let a = reconcile(&new, &pods, &BTreeSet::new());
        assert!(a.contains(&Action::DeletePod("db-2".into())), "{a:?}");
        // With db-2 updated, db-1 is next; db-0 is below the partition.
        let mut pods2 = pods.clone();
        pods2[2] = ready(build_pod(&new, 2));
        let a = reconcile(&new, &pods2, &BTreeSet::new());
        assert!(a.contains(&Action::DeletePod("db-1".into())));
        pods2[1] = ready(build_pod(&new, 1));
        let a = reconcile(&new, &pods2, &BTreeSet::new());
        assert!(
            !a.iter().any(|x| matches!(x, Action::DeletePod(_))),
            "{a:?}"
        );
        new["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        assert!(!reconcile(&new, &pods, &BTreeSet::new())
            .iter()
            .any(|x| matches!(x, Action::DeletePod(_))));
    }
}
