//! Deletion: preconditions, finalizers, propagation policies (Background,
//! Foreground, Orphan) and the garbage collector that removes dependents
//! whose owners are gone, empties terminating namespaces and removes the
//! objects of deleted CRDs.
//!
//! Differences from Kubernetes: collection runs synchronously after each
//! write instead of in a controller; Foreground deletion deletes dependents
//! in the background and removes the owner once none are left
//! (`blockOwnerDeletion` is not consulted); pods are removed at once (there
//! is no kubelet grace period unless the workload runner runs: then a deleted
//! pod gets `deletionTimestamp` and the runner stops its container within the
//! grace period and removes it).

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::apiserver::cluster::{Cluster, Target};
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::store::ObjKey;
use crate::apiserver::time;

const CRD_KEY: &str = "customresourcedefinitions.apiextensions.k8s.io";
const FOREGROUND: &str = "foregroundDeletion";

/// `propagationPolicy` of a DeleteOptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Delete the owner now, dependents afterwards.
    #[default]
    Background,
    /// Delete dependents first, then the owner.
    Foreground,
    /// Keep dependents, removing their ownerReference.
    Orphan,
}

/// The parts of a DeleteOptions body the emulator honours.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Propagation policy.
    pub propagation: Propagation,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `gracePeriodSeconds` (pods only; `None` = the pod's own).
    pub grace: Option<i64>,
}

impl DeleteOptions {
    /// Parse a DeleteOptions body (empty body = defaults).
    pub fn from_body(body: &Value, dry_run: bool) -> ApiResult<Self> {
        let propagation = match body.get("propagationPolicy").and_then(Value::as_str) {
            None | Some("Background") => Propagation::Background,
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "unknown propagationPolicy {other:?}"
                )))
            }
        };
        let orphan = body.get("orphanDependents").and_then(Value::as_bool) == Some(true);
        let dry = dry_run
            || body
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "All"));
        Ok(DeleteOptions {
            propagation: if orphan {
                Propagation::Orphan
            } else {
                propagation
            },
            uid: body
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(str::to_string),
            resource_version: body
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string),
            dry_run: dry,
            grace: body.get("gracePeriodSeconds").and_then(Value::as_i64),
        })
    }
}

fn uid_of(o: &Value) -> Option<&str> {
    o.pointer("/metadata/uid").and_then(Value::as_str)
}

fn finalizers(o: &Value) -> Vec<String> {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn owner_uids(o: &Value) -> Vec<String> {
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Cluster {
    /// DELETE one object; returns it as last seen (with `deletionTimestamp`
    /// when finalizers keep it alive).
    pub fn delete(&mut self, t: &Target, opts: &DeleteOptions) -> ApiResult<Value> {
        let key = t.key()?;
        let obj = self
            .store
            .get(&key)
            .cloned()
            .ok_or_else(|| t.not_found(&key.name))?;
        if let Some(uid) = &opts.uid {
            if uid_of(&obj) != Some(uid.as_str()) {
                return Err(ApiError::Conflict(format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    uid_of(&obj).unwrap_or_default()
                )));
            }
        }
        if let Some(rv) = &opts.resource_version {
            if obj
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                != Some(rv.as_str())
            {
                return Err(ApiError::Conflict(format!(
                    "Precondition failed: resourceVersion in precondition: {rv}"
                )));
            }
        }
        if opts.dry_run {
            return Ok(Self::present(t, &obj));
        }
        let out = self.delete_key(&key, opts.propagation, opts.grace);
        self.collect_garbage();
        Ok(Self::present(t, &out.unwrap_or(obj)))
    }

    /// DELETE a collection (label/field selectors from `list`).
    pub fn delete_collection(
        &mut self,
        t: &Target,
        list: &crate::apiserver::cluster::ListOptions,
        opts: &DeleteOptions,
    ) -> ApiResult<Vec<Value>> {
        let page = self.list(t, list)?;
        let mut out = Vec::new();
        for item in page.items {
            let Some(name) = item.pointer("/metadata/name").and_then(Value::as_str) else {
                continue;
            };
            let mut one = t.clone();
            one.name = Some(name.to_string());
            if let Some(ns) = item.pointer("/metadata/namespace").and_then(Value::as_str) {
                one.namespace = Some(ns.to_string());
            }
            out.push(self.delete(&one, opts)?);
        }
        Ok(out)
    }

    /// Delete (or start deleting) the object at `key`; returns its last state.
    fn delete_key(
        &mut self,
        key: &ObjKey,
        policy: Propagation,
        grace: Option<i64>,
    ) -> Option<Value> {
        let mut obj = self.store.get(key).cloned()?;
        if key.resource == "pods" && self.graceful_pods {
            let grace = grace
                .or_else(|| {
                    obj.pointer("/spec/terminationGracePeriodSeconds")
                        .and_then(Value::as_i64)
                })
                .unwrap_or(30);
            if grace > 0 {
                if obj.pointer("/metadata/deletionTimestamp").is_some() {
                    return Some(obj);
                }
                obj["metadata"]["deletionTimestamp"] =
                    json!(time::format_rfc3339(time::unix_now() + grace));
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                return Some(self.store.put(key.clone(), obj));
            }
        }
        let uid = uid_of(&obj).unwrap_or_default().to_string();
        if policy == Propagation::Orphan {
            self.orphan_dependents(&uid);
        }
        let mut fins = finalizers(&obj);
        let cascades = key.resource == "namespaces" || key.resource == CRD_KEY;
        if policy == Propagation::Foreground && !fins.iter().any(|f| f == FOREGROUND) {
            fins.push(FOREGROUND.into());
        }
        if fins.is_empty() && !cascades {
            return self.store.remove(key);
        }
        if obj.pointer("/metadata/deletionTimestamp").is_none() || policy == Propagation::Foreground
        {
            obj["metadata"]["deletionTimestamp"] = json!(time::now_rfc3339());
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if !fins.is_empty() {
                obj["metadata"]["finalizers"] = json!(fins);
            }
            if key.resource == "namespaces" {
                obj["status"]["phase"] = json!("Terminating");
            }
            let obj = self.store.put(key.clone(), obj);
            if key.resource == CRD_KEY {
                self.refresh_registry();
            }
            return Some(obj);
        }
        Some(obj)
    }

    fn orphan_dependents(&mut self, uid: &str) {
        let dependents: Vec<(ObjKey, Value)> = self
            .store
            .iter()
            .filter(|(_, o)| owner_uids(o).iter().any(|u| u == uid))
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        for (k, mut o) in dependents {
            if let Some(refs) = o
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
                if refs.is_empty() {
                    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.remove("ownerReferences");
                    }
                }
            }
            self.store.put(k, o);
        }
    }

    /// Run the garbage collector until nothing changes.
    pub fn collect_garbage(&mut self) {
        for _ in 0..64 {
            if !self.gc_pass() {
                return;
            }
        }
        tracing::warn!("garbage collection did not settle after 64 passes");
    }

    fn gc_pass(&mut self) -> bool {
        let live: HashSet<String> = self
            .store
            .iter()
            .filter_map(|(_, o)| uid_of(o).map(str::to_string))
            .collect();
        let mut to_delete = Vec::new();
        let mut to_finish = Vec::new();
        for (k, o) in self.store.iter() {
            let deleting = o.pointer("/metadata/deletionTimestamp").is_some();
            let owners = owner_uids(o);
            if !deleting && !owners.is_empty() && owners.iter().all(|u| !live.contains(u)) {
                to_delete.push(k.clone());
                continue;
            }
            if !deleting {
                continue;
            }
            if k.resource == "namespaces" {
                let busy = self.store.iter().any(|(d, _)| d.namespace == k.name);
                if !busy {
                    to_finish.push((k.clone(), None));
                } else {
                    let inside: Vec<ObjKey> = self
                        .store
                        .iter()
                        .filter(|(d, x)| {
                            d.namespace == k.name
                                && x.pointer("/metadata/deletionTimestamp").is_none()
                        })
                        .map(|(d, _)| d.clone())
                        .collect();
                    to_delete.extend(inside);
                }
                continue;
            }
            if k.resource == CRD_KEY {
                let resource = crate::apiserver::resources::from_crd(o)
                    .map(|t| t.key())
                    .unwrap_or_default();
                let mut any = false;
                for (d, x) in self.store.iter().filter(|(d, _)| d.resource == resource) {
                    any = true;
                    if x.pointer("/metadata/deletionTimestamp").is_none() {
                        to_delete.push(d.clone());
                    }
                }
                if !any {
                    to_finish.push((k.clone(), None));
                }
                continue;
            }
            let fins = finalizers(o);
            if fins.iter().any(|f| f == FOREGROUND) {
                let uid = uid_of(o).unwrap_or_default();
                let has_dependents = self
                    .store
                    .iter()
                    .any(|(_, d)| owner_uids(d).iter().any(|u| u == uid));
                if !has_dependents {
                    to_finish.push((k.clone(), Some(FOREGROUND)));
                } else {
                    let deps: Vec<ObjKey> = self
                        .store
                        .iter()
                        .filter(|(_, d)| {
                            owner_uids(d).iter().any(|u| u == uid)
                                && d.pointer("/metadata/deletionTimestamp").is_none()
                        })
                        .map(|(dk, _)| dk.clone())
                        .collect();
                    to_delete.extend(deps);
                }
            }
        }
        let changed = !to_delete.is_empty() || !to_finish.is_empty();
        for k in to_delete {
            self.delete_key(&k, Propagation::Background, None);
        }
        for (k, finalizer) in to_finish {
            let Some(mut o) = self.store.get(&k).cloned() else {
                continue;
            };
            let mut fins = finalizers(&o);
            if let Some(f) = finalizer {
                fins.retain(|x| x != f);
            }
            if fins.is_empty()
                || k.resource == "namespaces"
                || (k.resource == CRD_KEY && finalizer.is_none())
            {
                self.store.remove(&k);
                if k.resource == CRD_KEY {
                    self.refresh_registry();
                }
            } else {
                o["metadata"]["finalizers"] = json!(fins);
                self.store.put(k, o);
            }
        }
        changed
    }
}
