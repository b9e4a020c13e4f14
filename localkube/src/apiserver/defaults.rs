//! Server-side defaults and status the API server itself sets on built-in
//! kinds (only what clients of this project look at).

use serde_json::{json, Value};

use crate::apiserver::resources::ResourceType;

/// Cluster-wide counters used for defaults.
#[derive(Debug, Default)]
pub struct Allocator {
    next_ip: u32,
}

/// A random number below `n` (`n > 0`).
pub fn random_below(n: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(n.max(1))) as u64
}

impl Allocator {
    /// The next free ClusterIP in 10.96.0.0/16.
    pub fn cluster_ip(&mut self) -> String {
        self.next_ip += 1;
        format!(
            "10.96.{}.{}",
            (self.next_ip >> 8) & 0xff,
            self.next_ip & 0xff
        )
    }

    /// A node port not in `used`, searched from a random point of the range
    /// as the API server does (two emulators on one host rarely pick the
    /// same one; a port just released is rarely reused at once).
    pub fn node_port(&mut self, used: &std::collections::BTreeSet<u64>) -> Option<u64> {
        let range = crate::apiserver::services::NODE_PORT_RANGE;
        let size = range.end() - range.start() + 1;
        let start = random_below(size);
        (0..size)
            .map(|i| range.start() + (start + i) % size)
            .find(|n| !used.contains(n))
    }
}

fn set_if_absent(obj: &mut Value, ptr: &str, value: Value) {
    if obj.pointer(ptr).is_some() {
        return;
    }
    let mut cur = obj;
    let parts: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
    for (i, p) in parts.iter().enumerate() {
        let Some(map) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == parts.len() {
            map.insert((*p).to_string(), value);
            return;
        }
        cur = map.entry((*p).to_string()).or_insert_with(|| json!({}));
    }
}

/// Defaults applied to a new object of a built-in kind.
pub fn on_create(t: &ResourceType, obj: &mut Value, alloc: &mut Allocator) {
    match (t.group.as_str(), t.plural.as_str()) {
        ("", "namespaces") => {
            obj["status"] = json!({"phase": "Active"});
        }
        ("", "services") => {
            set_if_absent(obj, "/spec/type", json!("ClusterIP"));
            set_if_absent(obj, "/spec/sessionAffinity", json!("None"));
            if obj.pointer("/spec/clusterIP").is_none() {
                let ip = alloc.cluster_ip();
                obj["spec"]["clusterIP"] = json!(ip);
                obj["spec"]["clusterIPs"] = json!([ip]);
            }
            obj["status"] = json!({"loadBalancer": {}});
        }
        ("", "pods") => {
            set_if_absent(obj, "/spec/restartPolicy", json!("Always"));
            obj["status"] = json!({"phase": "Pending"});
        }
        ("", "secrets")
            if obj
                .get("type")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty) =>
        {
            obj["type"] = json!("Opaque");
        }
        ("", "persistentvolumeclaims") => {
            obj["status"] = json!({"phase": "Pending"});
        }
        ("apps", "statefulsets") => {
            set_if_absent(obj, "/spec/replicas", json!(1));
            set_if_absent(obj, "/spec/podManagementPolicy", json!("OrderedReady"));
            set_if_absent(obj, "/spec/revisionHistoryLimit", json!(10));
            set_if_absent(
                obj,
                "/spec/updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            obj["status"] = json!({"replicas": 0, "availableReplicas": 0});
        }
        ("apps", "deployments") | ("apps", "replicasets") => {
            set_if_absent(obj, "/spec/replicas", json!(1));
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            crd_status(obj);
        }
        _ => {}
    }
}

/// A Secret's write-only `stringData` merged into `data` (base64), as the
/// API server stores it: `stringData` wins over `data` and is never stored.
pub fn secret_string_data(obj: &mut Value) {
    use base64::Engine as _;
    let Some(strings) = obj.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return;
    };
    for (k, v) in strings.as_object().into_iter().flatten() {
        let text = v.as_str().unwrap_or_default();
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        if !obj.get("data").is_some_and(Value::is_object) {
            obj["data"] = json!({});
        }
        obj["data"][k] = json!(encoded);
    }
}

/// The status of a CRD the emulator accepted: Established and NamesAccepted.
pub fn crd_status(crd: &mut Value) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let stored: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    let now = crate::apiserver::time::now_rfc3339();
    crd["status"] = json!({
        "acceptedNames": names,
        "storedVersions": stored,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    });
}
