//! Server-side apply (`application/apply-patch+yaml`), simplified.
//!
//! Each field manager's applied fields are recorded in
//! `metadata.managedFields` (one `Apply` entry per manager and subresource,
//! in the `FieldsV1` format). Applying:
//! 1. computes the field set of the applied configuration;
//! 2. reports a conflict when another `Apply` manager owns a field the new
//!    configuration sets to a different value (unless `force`, which moves
//!    the field to the applier);
//! 3. removes fields the manager applied before but no longer applies and no
//!    other manager owns;
//! 4. merges the configuration into the object (maps recursively, lists of
//!    maps by merge key, other lists replaced).
//!
//! Differences from Kubernetes: `Update` operations (PUT, merge/JSON/strategic
//! patches) are not recorded as managers, so they never conflict with an
//! apply; list merge keys come from field names (see [`crate::apiserver::strategic`]),
//! not from schemas; and sets of scalars are atomic.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::apiserver::strategic::merge_key;
use crate::apiserver::time::now_rfc3339;

/// One path to a managed field, e.g. `["f:spec", "f:replicas"]`.
type FieldPath = Vec<String>;

/// Inputs of one apply.
#[derive(Debug, Clone)]
pub struct ApplyRequest<'a> {
    /// The applied configuration.
    pub config: &'a Value,
    /// `fieldManager` query parameter.
    pub manager: &'a str,
    /// `force` query parameter.
    pub force: bool,
    /// `Some("status")` when applied to the status subresource.
    pub subresource: Option<&'a str>,
    /// apiVersion recorded in the managedFields entry.
    pub api_version: &'a str,
}

/// Apply `req.config` to `object` in place; `Err` lists the conflicts.
pub fn apply(object: &mut Value, req: &ApplyRequest<'_>) -> Result<(), Vec<String>> {
    let new_tree = fields_of(req.config, true);
    let new_set = leaves(&new_tree);
    let mut entries = managed_entries(object);
    let sub = req.subresource.unwrap_or("");
    let is_mine = |e: &Value| {
        e["manager"].as_str() == Some(req.manager)
            && e["operation"].as_str() == Some("Apply")
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == sub
    };
    let old_set: BTreeSet<FieldPath> = entries
        .iter()
        .find(|e| is_mine(e))
        .map(|e| leaves(&e["fieldsV1"]))
        .unwrap_or_default();

    // Conflicts with other appliers.
    let mut conflicts = Vec::new();
    for e in entries.iter_mut().filter(|e| !is_mine(e)) {
        if e["operation"].as_str() != Some("Apply") {
            continue;
        }
        let theirs = leaves(&e["fieldsV1"]);
        let mut taken = Vec::new();
        for p in new_set.intersection(&theirs) {
            if p.last().map(String::as_str) == Some(".") {
                continue;
            }
            if lookup(object, p) != lookup(req.config, p) {
                taken.push(p.clone());
            }
        }
        if taken.is_empty() {
            continue;
        }
        if req.force {
            let rest: BTreeSet<FieldPath> = theirs
                .difference(&taken.into_iter().collect())
                .cloned()
                .collect();
            e["fieldsV1"] = tree_of(&rest);
        } else {
            let who = e["manager"].as_str().unwrap_or("unknown").to_string();
            conflicts.extend(
                taken
                    .iter()
                    .map(|p| format!("conflict with \"{who}\": {}", display(p))),
            );
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    // Fields this manager stopped applying and nobody else owns.
    let others: BTreeSet<FieldPath> = entries
        .iter()
        .filter(|e| !is_mine(e))
        .flat_map(|e| leaves(&e["fieldsV1"]))
        .collect();
    let mut dropped: Vec<&FieldPath> = old_set
        .iter()
        .filter(|p| !new_set.contains(*p) && !others.contains(*p))
        .collect();
    // Deepest first, so removing a list item does not invalidate later paths.
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let kept: BTreeSet<&FieldPath> = new_set.iter().chain(&others).collect();
    for p in dropped {
        remove(object, p);
        prune_emptied_parents(object, p, &kept);
    }

    merge(object, req.config, "");

    // Record ownership; keep the old timestamp when nothing changed.
    let new_fields = tree_of(&new_set);
    entries.retain(|e| !e["fieldsV1"].as_object().is_some_and(Map::is_empty) || is_mine(e));
    match entries.iter_mut().find(|e| is_mine(e)) {
        Some(e) if e["fieldsV1"] == new_fields => {}
        Some(e) => {
            e["fieldsV1"] = new_fields;
            e["time"] = json!(now_rfc3339());
            e["apiVersion"] = json!(req.api_version);
        }
        None => {
            let mut e = json!({
                "manager": req.manager,
                "operation": "Apply",
                "apiVersion": req.api_version,
                "time": now_rfc3339(),
                "fieldsType": "FieldsV1",
                "fieldsV1": new_fields,
            });
            if let Some(s) = req.subresource {
                e["subresource"] = json!(s);
            }
            entries.push(e);
        }
    }
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("managedFields".into(), Value::Array(entries));
    }
    Ok(())
}

fn managed_entries(object: &Value) -> Vec<Value> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn display(p: &FieldPath) -> String {
    p.iter()
        .map(|s| s.strip_prefix("f:").unwrap_or(s))
        .collect::<Vec<_>>()
        .join(".")
}

fn item_key(key: &str, item: &Value) -> Option<String> {
    let mut m = Map::new();
    m.insert(key.to_string(), item.get(key)?.clone());
    Some(format!("k:{}", Value::Object(m)))
}

/// The FieldsV1 tree of a configuration.
fn fields_of(v: &Value, top: bool) -> Value {
    let mut out = Map::new();
    let Some(m) = v.as_object() else {
        return Value::Object(out);
    };
    for (k, val) in m {
        if top && (k == "apiVersion" || k == "kind") {
            continue;
        }
        if val.is_null() {
            continue;
        }
        if top && k == "metadata" {
            let mut meta = Map::new();
            for f in ["labels", "annotations", "finalizers", "ownerReferences"] {
                if let Some(x) = val.get(f) {
                    meta.insert(format!("f:{f}"), field_node(f, x));
                }
            }
            if !meta.is_empty() {
                out.insert("f:metadata".into(), Value::Object(meta));
            }
            continue;
        }
        out.insert(format!("f:{k}"), field_node(k, val));
    }
    Value::Object(out)
}

fn field_node(name: &str, val: &Value) -> Value {
    match val {
        Value::Object(m) if !m.is_empty() => fields_of(val, false),
        Value::Array(items) => {
            let key = if name == "ownerReferences" {
                Some("uid")
            } else {
                merge_key(name, items.iter())
            };
            let Some(key) = key else { return json!({}) };
            let mut out = Map::new();
            for item in items {
                if let Some(k) = item_key(key, item) {
                    let mut node = fields_of(item, false);
                    if let Some(n) = node.as_object_mut() {
                        n.insert(".".into(), json!({}));
                    }
                    out.insert(k, node);
                }
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}

/// Leaf paths of a FieldsV1 tree (empty nodes, and `.` markers of list items).
fn leaves(tree: &Value) -> BTreeSet<FieldPath> {
    fn walk(node: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        let Some(m) = node.as_object() else { return };
        if m.is_empty() {
            out.insert(path.clone());
            return;
        }
        for (k, child) in m {
            path.push(k.clone());
            if k == "." {
                out.insert(path.clone());
            } else {
                walk(child, path, out);
            }
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    if tree.as_object().is_some_and(|m| !m.is_empty()) {
        walk(tree, &mut Vec::new(), &mut out);
    }
    out
}

fn tree_of(set: &BTreeSet<FieldPath>) -> Value {
    let mut root = Value::Object(Map::new());
    for p in set {
        let mut cur = &mut root;
        for seg in p {
            let Some(m) = cur.as_object_mut() else { break };
            cur = m.entry(seg.clone()).or_insert_with(|| json!({}));
        }
    }
    root
}

fn find_item(items: &[Value], seg: &str) -> Option<usize> {
    let key: Map<String, Value> = serde_json::from_str(seg.strip_prefix("k:")?).ok()?;
    if key.is_empty() {
        return None;
    }
    items
        .iter()
        .position(|i| key.iter().all(|(k, v)| i.get(k) == Some(v)))
}

fn lookup<'a>(v: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        if let Some(f) = seg.strip_prefix("f:") {
            cur = cur.get(f)?;
        } else if seg.starts_with("k:") {
            let items = cur.as_array()?;
            cur = &items[find_item(items, seg)?];
        } else {
            return Some(cur);
        }
    }
    Some(cur)
}

fn remove(v: &mut Value, path: &FieldPath) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if last == "." {
        // The list item itself.
        let Some((item, parents)) = parents.split_last() else {
            return;
        };
        if let Some(Value::Array(items)) = lookup_mut(v, parents) {
            if let Some(i) = find_item(items, item) {
                items.remove(i);
            }
        }
        return;
    }
    match (lookup_mut(v, parents), last.strip_prefix("f:")) {
        (Some(Value::Object(m)), Some(f)) => {
            m.remove(f);
        }
        (Some(Value::Array(items)), None) => {
            if let Some(i) = find_item(items, last) {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Removes the maps above a dropped field that it left empty, as the API
/// server does when an applier stops applying a whole struct (only the
/// leaves are recorded, so `status.operation: {kind, step}` would otherwise
/// stay behind as `operation: {}`). A map some manager still owns a field
/// under, or owns itself, stays.
fn prune_emptied_parents(object: &mut Value, dropped: &FieldPath, kept: &BTreeSet<&FieldPath>) {
    for depth in (1..dropped.len()).rev() {
        let parent = &dropped[..depth];
        if !parent.last().is_some_and(|s| s.starts_with("f:")) {
            return;
        }
        if kept.iter().any(|k| k.starts_with(parent)) {
            return;
        }
        let empty =
            lookup_mut(object, parent).is_some_and(|v| v.as_object().is_some_and(Map::is_empty));
        if !empty {
            return;
        }
        remove(object, &parent.to_vec());
    }
}

fn lookup_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path {
        if let Some(f) = seg.strip_prefix("f:") {
            cur = cur.get_mut(f)?;
        } else {
            let items = cur.as_array_mut()?;
            let i = find_item(items, seg)?;
            cur = &mut items[i];
        }
    }
    Some(cur)
}

/// Merge an applied configuration into an object.
fn merge(target: &mut Value, config: &Value, field: &str) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (k, v) in c {
                if v.is_null() {
                    continue;
                }
                match t.get_mut(k) {
                    Some(existing) => merge(existing, v, k),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(c)) => {
            let key = if field == "ownerReferences" {
                Some("uid")
            } else {
                merge_key(field, c.iter().chain(t.iter()))
            };
            match key {
                Some(k) => {
                    for item in c {
                        match t.iter().position(|x| x.get(k) == item.get(k)) {
                            Some(i) => merge(&mut t[i], item, ""),
                            None => t.push(item.clone()),
                        }
                    }
                }
                None => *t = c.clone(),
            }
        }
        (t, c) => *t = c.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_as(object: &mut Value, manager: &str, config: Value) {
        let req = ApplyRequest {
            config: &config,
            manager,
            force: true,
            subresource: Some("status"),
            api_version: "chronik.io/v1alpha1",
        };
        apply(object, &req).expect("no conflicts");
    }

    #[test]
    fn a_struct_no_longer_applied_goes_away_with_its_fields() {
        let mut object = json!({"metadata": {"name": "c"}, "status": {}});
        let op = json!({"status": {"phase": "Scaling",
            "operation": {"kind": "Scale", "step": "Promote", "progress": {"done": 1}}}});
        apply_as(&mut object, "operator", op);
        assert_eq!(object["status"]["operation"]["progress"]["done"], 1);

        apply_as(
            &mut object,
            "operator",
            json!({"status": {"phase": "Running"}}),
        );
        assert_eq!(object["status"], json!({"phase": "Running"}), "{object}");
    }

    #[test]
    fn a_map_another_manager_still_fills_stays() {
        let mut object = json!({"metadata": {"name": "c"}, "status": {}});
        apply_as(&mut object, "a", json!({"status": {"shared": {"x": 1}}}));
        apply_as(&mut object, "b", json!({"status": {"shared": {"y": 2}}}));
        apply_as(&mut object, "a", json!({"status": {"phase": "Running"}}));
        assert_eq!(object["status"]["shared"], json!({"y": 2}), "{object}");
    }
}
