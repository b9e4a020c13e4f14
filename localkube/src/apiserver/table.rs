//! `meta.k8s.io/v1` Table output for `kubectl get`: a CRD's
//! additionalPrinterColumns, or a few columns per built-in kind.

use serde_json::{json, Value};

use crate::apiserver::cluster::Target;
use crate::apiserver::jsonpath;
use crate::apiserver::time::age_of;

struct Column {
    name: String,
    type_: String,
    priority: i64,
    description: String,
    cell: Cell,
}

enum Cell {
    Path(String, bool),
    Func(fn(&Value) -> Value),
}

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn n(o: &Value, ptr: &str) -> i64 {
    o.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn name(o: &Value) -> Value {
    json!(s(o, "/metadata/name"))
}

fn age(o: &Value) -> Value {
    json!(age_of(s(o, "/metadata/creationTimestamp")))
}

fn none_if_empty(x: String) -> Value {
    json!(if x.is_empty() {
        "<none>".to_string()
    } else {
        x
    })
}

fn pod_ready(o: &Value) -> Value {
    let statuses = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    let total = o
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = statuses.map_or(0, |a| {
        a.iter().filter(|c| c["ready"] == json!(true)).count()
    });
    json!(format!("{ready}/{total}"))
}

fn pod_status(o: &Value) -> Value {
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        return json!("Terminating");
    }
    let waiting = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str));
    json!(waiting.unwrap_or(match s(o, "/status/phase") {
        "" => "Pending",
        p => p,
    }))
}

fn pod_restarts(o: &Value) -> Value {
    let total: i64 = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
        .sum();
    json!(total)
}

fn sts_ready(o: &Value) -> Value {
    json!(format!(
        "{}/{}",
        n(o, "/status/readyReplicas"),
        n(o, "/spec/replicas")
    ))
}

fn images(o: &Value) -> Value {
    let list: Vec<&str> = o
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .collect();
    json!(list.join(","))
}

fn svc_ports(o: &Value) -> Value {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let node = p
                .get("nodePort")
                .map(|n| format!(":{n}"))
                .unwrap_or_default();
            format!(
                "{}{node}/{}",
                p["port"],
                p["protocol"].as_str().unwrap_or("TCP")
            )
        })
        .collect();
    none_if_empty(ports.join(","))
}

/// `EXTERNAL-IP` as kubectl prints it: load balancer addresses, `<pending>`
/// for a LoadBalancer without one, `<none>` otherwise.
fn svc_external(o: &Value) -> Value {
    let ips: Vec<&str> = o
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("ip").or_else(|| i.get("hostname")))
        .filter_map(Value::as_str)
        .collect();
    match (
        ips.is_empty(),
        o.pointer("/spec/type").and_then(Value::as_str),
    ) {
        (true, Some("LoadBalancer")) => json!("<pending>"),
        _ => none_if_empty(ips.join(",")),
    }
}

/// `POD-SELECTOR` of a NetworkPolicy: its matchLabels as `k=v,...`.
fn netpol_selector(o: &Value) -> Value {
    let labels: Vec<String> = o
        .pointer("/spec/podSelector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    none_if_empty(labels.join(","))
}

fn data_count(o: &Value) -> Value {
    let count = |k: &str| o.get(k).and_then(Value::as_object).map_or(0, |m| m.len());
    json!(count("data") + count("binaryData"))
}

fn event_object(o: &Value) -> Value {
    let r = o
        .get("involvedObject")
        .or_else(|| o.get("regarding"))
        .cloned()
        .unwrap_or(json!({}));
    json!(format!(
        "{}/{}",
        s(&r, "/kind").to_lowercase(),
        s(&r, "/name")
    ))
}

fn event_message(o: &Value) -> Value {
    json!(o
        .get("message")
        .or_else(|| o.get("note"))
        .and_then(Value::as_str)
        .unwrap_or(""))
}

fn col(name: &str, type_: &str, priority: i64, f: fn(&Value) -> Value) -> Column {
    Column {
        name: name.into(),
        type_: type_.into(),
        priority,
        description: String::new(),
        cell: Cell::Func(f),
    }
}

fn path(name: &str, type_: &str, priority: i64, p: &str) -> Column {
    Column {
        name: name.into(),
        type_: type_.into(),
        priority,
        description: String::new(),
        cell: Cell::Path(p.into(), false),
    }
}

fn builtin_columns(t: &Target) -> Vec<Column> {
    let nm = col("Name", "string", 0, name);
    let ag = col("Age", "string", 0, age);
    match t.ty.plural.as_str() {
        "pods" => vec![
            nm,
            col("Ready", "string", 0, pod_ready),
            col("Status", "string", 0, pod_status),
            col("Restarts", "integer", 0, pod_restarts),
            ag,
            path("IP", "string", 1, ".status.podIP"),
            path("Node", "string", 1, ".spec.nodeName"),
        ],
        "statefulsets" => vec![
            nm,
            col("Ready", "string", 0, sts_ready),
            ag,
            col("Images", "string", 1, images),
        ],
        "deployments" => vec![
            nm,
            col("Ready", "string", 0, sts_ready),
            path("Up-to-date", "integer", 0, ".status.updatedReplicas"),
            path("Available", "integer", 0, ".status.availableReplicas"),
            ag,
            col("Images", "string", 1, images),
        ],
        "services" => vec![
            nm,
            path("Type", "string", 0, ".spec.type"),
            path("Cluster-IP", "string", 0, ".spec.clusterIP"),
            col("External-IP", "string", 0, svc_external),
            col("Port(s)", "string", 0, svc_ports),
            ag,
        ],
        "namespaces" => vec![nm, path("Status", "string", 0, ".status.phase"), ag],
        "persistentvolumeclaims" => vec![
            nm,
            path("Status", "string", 0, ".status.phase"),
            path("Volume", "string", 0, ".spec.volumeName"),
            path("Capacity", "string", 0, ".status.capacity.storage"),
            ag,
        ],
        "configmaps" => vec![nm, col("Data", "integer", 0, data_count), ag],
        "secrets" => vec![
            nm,
            path("Type", "string", 0, ".type"),
            col("Data", "integer", 0, data_count),
            ag,
        ],
        "poddisruptionbudgets" => vec![
            nm,
            path("Min Available", "string", 0, ".spec.minAvailable"),
            path("Max Unavailable", "string", 0, ".spec.maxUnavailable"),
            path(
                "Allowed Disruptions",
                "integer",
                0,
                ".status.disruptionsAllowed",
            ),
            ag,
        ],
        "networkpolicies" => vec![nm, col("Pod-Selector", "string", 0, netpol_selector), ag],
        "leases" => vec![nm, path("Holder", "string", 0, ".spec.holderIdentity"), ag],
        "events" => vec![
            col("Last Seen", "string", 0, age),
            path("Type", "string", 0, ".type"),
            path("Reason", "string", 0, ".reason"),
            col("Object", "string", 0, event_object),
            col("Message", "string", 0, event_message),
        ],
        "customresourcedefinitions" => vec![
            nm,
            path("Created At", "date", 0, ".metadata.creationTimestamp"),
        ],
        _ => vec![nm, ag],
    }
}

fn columns(t: &Target) -> Vec<Column> {
    if !t.ty.is_custom() {
        return builtin_columns(t);
    }
    let mut cols = vec![col("Name", "string", 0, name)];
    match t.ty.printer_columns(&t.version) {
        Some(pcs) => cols.extend(pcs.iter().map(|c| Column {
            name: c.name.clone(),
            type_: c.type_.clone(),
            priority: c.priority,
            description: c.description.clone(),
            cell: Cell::Path(c.json_path.clone(), c.type_ == "date"),
        })),
        None => cols.push(col("Age", "date", 0, age)),
    }
    cols
}

fn cell(c: &Column, o: &Value) -> Value {
    match &c.cell {
        Cell::Func(f) => f(o),
        Cell::Path(p, is_date) => match jsonpath::first(o, p) {
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(x)) if *is_date => json!(age_of(x)),
            Some(v) if c.type_ == "string" && !v.is_string() => json!(v.to_string()),
            Some(v) => v.clone(),
        },
    }
}

/// A Table of the given objects.
pub fn table(
    t: &Target,
    objects: &[Value],
    resource_version: u64,
    continue_token: Option<&str>,
) -> Value {
    let cols = columns(t);
    let defs: Vec<Value> = cols
        .iter()
        .map(|c| {
            let (type_, format) = match c.type_.as_str() {
                "date" => ("string", "date"),
                other => (other, if c.name == "Name" { "name" } else { "" }),
            };
            json!({"name": c.name, "type": type_, "format": format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            json!({
                "cells": cols.iter().map(|c| cell(c, o)).collect::<Vec<_>>(),
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": o.get("metadata").cloned().unwrap_or(json!({}))},
            })
        })
        .collect();
    let mut meta = json!({"resourceVersion": resource_version.to_string()});
    if let Some(c) = continue_token {
        meta["continue"] = json!(c);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs, "rows": rows})
}
