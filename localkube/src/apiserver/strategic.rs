//! Strategic merge patch, the subset kubectl's client-side apply and
//! `kubectl patch` send: maps merge recursively, `null` deletes, lists of maps
//! merge by a key chosen from the field name (`name`, `containerPort`,
//! `port`, `type`), and the directives `$patch` (`replace`/`delete`),
//! `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
//! `$setElementOrder/<field>` (order is ignored).
//!
//! Real Kubernetes takes the merge keys from the Go types' struct tags; the
//! table here covers the fields Chronik's objects use.

use serde_json::{Map, Value};

/// Candidate merge keys for a list field, by field name.
pub fn merge_key_candidates(field: &str) -> &'static [&'static str] {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "volumeMounts"
        | "imagePullSecrets"
        | "volumeDevices"
        | "resourceClaims" => &["name"],
        "ports" => &["containerPort", "port"],
        "conditions" => &["type"],
        "hostAliases" => &["ip"],
        "topologySpreadConstraints" => &["topologyKey"],
        _ => &[],
    }
}

/// The merge key of a list: a candidate that every map item carries.
pub fn merge_key<'a>(
    field: &str,
    items: impl Iterator<Item = &'a Value> + Clone,
) -> Option<&'static str> {
    merge_key_candidates(field).iter().copied().find(|k| {
        let mut any = false;
        let all = items.clone().all(|i| {
            if i.get("$patch").is_some() && i.as_object().is_some_and(|m| m.len() == 1) {
                return true;
            }
            any = true;
            i.get(*k).is_some()
        });
        all && any
    })
}

/// Apply a strategic merge patch to `target`.
pub fn apply(target: &mut Value, patch: &Value) {
    merge_value(target, patch, "");
}

fn merge_value(target: &mut Value, patch: &Value, field: &str) {
    match patch {
        Value::Object(p) => {
            if p.get("$patch").and_then(Value::as_str) == Some("replace") {
                let mut clean = p.clone();
                clean.remove("$patch");
                *target = Value::Object(strip_directives(&clean));
                return;
            }
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Some(t) = target.as_object_mut() {
                merge_map(t, p);
            }
        }
        Value::Array(items) => {
            let key = merge_key(
                field,
                items.iter().chain(target.as_array().into_iter().flatten()),
            );
            match (key, target.as_array_mut()) {
                (Some(k), Some(t)) => merge_list(t, items, k),
                _ => {
                    *target = Value::Array(
                        items
                            .iter()
                            .filter(|i| i.get("$patch").is_none())
                            .map(strip)
                            .collect(),
                    )
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn merge_map(t: &mut Map<String, Value>, p: &Map<String, Value>) {
    for (k, v) in p {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(f) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(del)) = (t.get_mut(f), v.as_array()) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        if v.get("$patch").and_then(Value::as_str) == Some("delete") {
            t.remove(k);
            continue;
        }
        if k == "finalizers" {
            // patchStrategy "merge" on a list of strings: union.
            if let (Some(Value::Array(cur)), Some(add)) = (t.get_mut(k), v.as_array()) {
                for a in add {
                    if !cur.contains(a) {
                        cur.push(a.clone());
                    }
                }
                continue;
            }
        }
        match t.get_mut(k) {
            Some(existing) => merge_value(existing, v, k),
            None => {
                let mut fresh = if v.is_array() {
                    Value::Array(Vec::new())
                } else {
                    Value::Null
                };
                merge_value(&mut fresh, v, k);
                t.insert(k.clone(), fresh);
            }
        }
    }
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        t.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
    }
}

fn merge_list(target: &mut Vec<Value>, items: &[Value], key: &str) {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *target = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(strip)
            .collect();
        return;
    }
    for item in items {
        let Some(id) = item.get(key) else { continue };
        let pos = target.iter().position(|t| t.get(key) == Some(id));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                target.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => merge_value(&mut target[i], item, ""),
            (None, false) => target.push(strip(item)),
        }
    }
}

fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_directives(m)),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

fn strip_directives(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| (k.clone(), strip(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_containers_by_name_and_honours_directives() {
        let mut t = json!({"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x"]},
            "spec": {"containers": [{"name": "c", "image": "i:1", "env": [{"name": "A", "value": "1"}]},
                                    {"name": "d", "image": "d:1"}]}});
        let p = json!({"metadata": {"labels": {"b": null, "c": "3"}, "finalizers": ["y"]},
            "spec": {"$setElementOrder/containers": [{"name": "c"}],
                     "containers": [{"name": "c", "image": "i:2", "env": [{"name": "B", "value": "2"}]},
                                    {"name": "d", "$patch": "delete"}]}});
        apply(&mut t, &p);
        assert_eq!(t["metadata"]["labels"], json!({"a": "1", "c": "3"}));
        assert_eq!(t["metadata"]["finalizers"], json!(["x", "y"]));
        let cs = t["spec"]["containers"].as_array().unwrap();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0]["image"], "i:2");
        assert_eq!(cs[0]["env"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn replace_retain_and_primitive_delete() {
        let mut t = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "args": ["a", "b"], "finalizers": ["f1", "f2"]}});
        let p = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "args": ["c"], "$deleteFromPrimitiveList/finalizers": ["f1"]}});
        apply(&mut t, &p);
        assert_eq!(
            t,
            json!({"spec": {"strategy": {"type": "Recreate"}, "args": ["c"], "finalizers": ["f2"]}})
        );
    }
}
