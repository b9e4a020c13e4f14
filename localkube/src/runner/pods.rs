//! From a Pod object to a container specification (environment with the
//! downward API, `$(VAR)` expansion, volumes, DNS aliases), probes, and the
//! Pod status the runner reports.
//!
//! Only the first container of a pod is run; init containers and sidecars are
//! ignored. `status.podIP` in the downward API is empty (the address is only
//! known once the container runs); `status.hostIP` is the node's address
//! (the podman network's gateway, where node ports listen).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::backend::{ContainerSpec, ContainerState, Mount};
use super::volumes::{self, VolumeError};

/// The cluster DNS domain pods get aliases in.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// Objects a pod's spec refers to, by `namespace/name`.
#[derive(Debug, Default)]
pub struct Lookup {
    /// ConfigMaps.
    pub config_maps: BTreeMap<String, Value>,
    /// Secrets.
    pub secrets: BTreeMap<String, Value>,
    /// Services (for per-service DNS aliases).
    pub services: Vec<Value>,
    /// The node's address (`status.hostIP`).
    pub host_ip: String,
}

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

/// Engine name of a pod's container.
pub fn container_name(prefix: &str, ns: &str, pod: &str) -> String {
    format!("{prefix}-{ns}-{pod}")
}

/// Engine name of a claim's volume.
pub fn volume_name(prefix: &str, ns: &str, claim: &str) -> String {
    format!("{prefix}-{ns}-{claim}")
}

/// Expand `$(VAR)` references like the kubelet: defined names are replaced,
/// undefined ones are left as written, `$$` escapes a `$`.
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(') {
            match r.find(')') {
                Some(end) => {
                    let name = &r[..end];
                    match env.iter().rev().find(|(k, _)| k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &r[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = r;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn base64_decode(text: &str) -> String {
    String::from_utf8_lossy(&volumes::base64_decode(text)).into_owned()
}

fn field_ref(pod: &Value, path: &str, host_ip: &str) -> String {
    let bracket = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(str::to_string)
    };
    if let Some(k) = bracket("metadata.labels['") {
        return pod
            .pointer("/metadata/labels")
            .and_then(|l| l.get(&k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into();
    }
    if let Some(k) = bracket("metadata.annotations['") {
        return pod
            .pointer("/metadata/annotations")
            .and_then(|l| l.get(&k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .into();
    }
    match path {
        "spec.nodeName" => "localkube".into(),
        "status.hostIP" => host_ip.into(),
        other => s(pod, &format!("/{}", other.replace('.', "/"))).into(),
    }
}

fn key_ref(lookup: &Lookup, ns: &str, r: &Value, secret: bool) -> Option<String> {
    let name = format!("{ns}/{}", s(r, "/name"));
    let key = s(r, "/key");
    if secret {
        let obj = lookup.secrets.get(&name)?;
        obj.pointer("/data")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .map(base64_decode)
    } else {
        let obj = lookup.config_maps.get(&name)?;
        obj.pointer("/data")
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

fn environment(pod: &Value, c: &Value, lookup: &Lookup) -> Vec<(String, String)> {
    let ns = s(pod, "/metadata/namespace");
    let mut env: Vec<(String, String)> = Vec::new();
    for from in c
        .get("envFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prefix = s(from, "/prefix");
        let (obj, secret) = if let Some(r) = from.get("configMapRef") {
            (
                lookup.config_maps.get(&format!("{ns}/{}", s(r, "/name"))),
                false,
            )
        } else if let Some(r) = from.get("secretRef") {
            (lookup.secrets.get(&format!("{ns}/{}", s(r, "/name"))), true)
        } else {
            continue;
        };
        for (k, v) in obj
            .and_then(|o| o.get("data"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let v = v.as_str().unwrap_or_default();
            let v = if secret {
                base64_decode(v)
            } else {
                v.to_string()
            };
            env.push((format!("{prefix}{k}"), v));
        }
    }
    for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
        let name = s(e, "/name").to_string();
        let value = if let Some(v) = e.get("value").and_then(Value::as_str) {
            expand(v, &env)
        } else if let Some(f) = e
            .pointer("/valueFrom/fieldRef/fieldPath")
            .and_then(Value::as_str)
        {
            field_ref(pod, f, &lookup.host_ip)
        } else if let Some(r) = e.pointer("/valueFrom/configMapKeyRef") {
            key_ref(lookup, ns, r, false).unwrap_or_default()
        } else if let Some(r) = e.pointer("/valueFrom/secretKeyRef") {
            key_ref(lookup, ns, r, true).unwrap_or_default()
        } else if let Some(r) = e
            .pointer("/valueFrom/resourceFieldRef/resource")
            .and_then(Value::as_str)
        {
            c.pointer(&format!("/resources/{}", r.replace('.', "/")))
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default()
        } else {
            String::new()
        };
        env.push((name, value));
    }
    env
}

/// DNS aliases of a pod: its name and `<hostname>.<subdomain>` names always
/// (the headless names Chronik's peers need before they are Ready), and
/// `<service>.<ns>[.svc[.cluster.local]]` for every Service selecting the
/// pod, only while the pod is `ready` unless the Service sets
/// `publishNotReadyAddresses` (Kubernetes puts not-ready pods in the
/// Service's endpoints only then).
pub fn aliases(pod: &Value, lookup: &Lookup, ready: bool) -> Vec<String> {
    let ns = s(pod, "/metadata/namespace");
    let name = s(pod, "/metadata/name");
    let host = match s(pod, "/spec/hostname") {
        "" => name,
        h => h,
    };
    let mut out = vec![name.to_string()];
    if let Some(sub) = pod.pointer("/spec/subdomain").and_then(Value::as_str) {
        for suffix in ["", ".svc", &format!(".svc.{CLUSTER_DOMAIN}")] {
            out.push(format!("{host}.{sub}.{ns}{suffix}"));
        }
        out.push(format!("{host}.{sub}"));
    }
    let labels = pod.pointer("/metadata/labels").and_then(Value::as_object);
    for svc in &lookup.services {
        if s(svc, "/metadata/namespace") != ns
            || svc.pointer("/metadata/deletionTimestamp").is_some()
        {
            continue;
        }
        let Some(sel) = svc.pointer("/spec/selector").and_then(Value::as_object) else {
            continue;
        };
        let matches = !sel.is_empty()
            && sel
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        let published = ready
            || svc
                .pointer("/spec/publishNotReadyAddresses")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        if matches && published {
            let svc_name = s(svc, "/metadata/name");
            out.push(format!("{svc_name}.{ns}.svc.{CLUSTER_DOMAIN}"));
            out.push(format!("{svc_name}.{ns}.svc"));
            out.push(format!("{svc_name}.{ns}"));
        }
    }
    out
}

/// Where a volume of the pod comes from: a claim's named volume, or a
/// directory under `files_dir` (ConfigMap, Secret, projected, emptyDir).
fn mounts(
    prefix: &str,
    pod: &Value,
    c: &Value,
    lookup: &Lookup,
    files_dir: &Path,
) -> Result<Vec<Mount>, VolumeError> {
    let ns = s(pod, "/metadata/namespace");
    let volumes: BTreeMap<&str, &Value> = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| (s(v, "/name"), v))
        .collect();
    let mut out = Vec::new();
    for m in c
        .get("volumeMounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(v) = volumes.get(s(m, "/name")) else {
            continue;
        };
        let read_only = m.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
        let source = match volumes::prepare(v, ns, lookup, files_dir)? {
            Some(dir) => dir.to_string_lossy().into_owned(),
            None => volume_name(prefix, ns, s(v, "/persistentVolumeClaim/claimName")),
        };
        out.push(Mount {
            source,
            target: s(m, "/mountPath").to_string(),
            read_only,
        });
    }
    Ok(out)
}

/// The container specification of a pod's first container.
pub fn container_spec(
    prefix: &str,
    pod: &Value,
    lookup: &Lookup,
    files_dir: &Path,
) -> Result<Option<ContainerSpec>, VolumeError> {
    let Some(c) = pod.pointer("/spec/containers/0") else {
        return Ok(None);
    };
    let env = environment(pod, c, lookup);
    let strings = |k: &str| -> Vec<String> {
        c.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|x| expand(x, &env))
            .collect()
    };
    let sc = |k: &str| {
        c.pointer(&format!("/securityContext/{k}"))
            .or_else(|| pod.pointer(&format!("/spec/securityContext/{k}")))
            .cloned()
    };
    let user = sc("runAsUser").and_then(|u| u.as_i64()).map(|u| {
        match sc("runAsGroup").and_then(|g| g.as_i64()) {
            Some(g) => format!("{u}:{g}"),
            None => u.to_string(),
        }
    });
    let ns = s(pod, "/metadata/namespace");
    let name = s(pod, "/metadata/name");
    Ok(Some(ContainerSpec {
        name: container_name(prefix, ns, name),
        image: s(c, "/image").to_string(),
        command: strings("command"),
        args: strings("args"),
        hostname: match s(pod, "/spec/hostname") {
            "" => name.to_string(),
            h => h.to_string(),
        },
        aliases: aliases(pod, lookup, false),
        mounts: mounts(prefix, pod, c, lookup, files_dir)?,
        read_only_root: sc("readOnlyRootFilesystem")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        user,
        pod: format!("{ns}/{name}"),
        env,
    }))
}

/// Result of one probe.
pub fn probe(pod: &Value, probe: &Value, ip: &str) -> bool {
    let c = pod
        .pointer("/spec/containers/0")
        .cloned()
        .unwrap_or(json!({}));
    let port_of = |p: &Value| -> Option<u16> {
        match p {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(name) => c
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|x| x["name"] == json!(name))
                .and_then(|x| x["containerPort"].as_u64())
                .and_then(|n| u16::try_from(n).ok()),
            _ => None,
        }
    };
    let timeout = Duration::from_secs(
        probe
            .get("timeoutSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(1),
    );
    let connect = |port: u16| -> Option<TcpStream> {
        let addr: SocketAddr = format!("{ip}:{port}").parse().ok()?;
        let stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
        stream.set_read_timeout(Some(timeout)).ok()?;
        stream.set_write_timeout(Some(timeout)).ok()?;
        Some(stream)
    };
    if let Some(h) = probe.get("httpGet") {
        let Some(mut stream) = h.get("port").and_then(port_of).and_then(connect) else {
            return false;
        };
        let path = match s(h, "/path") {
            "" => "/",
            p => p,
        };
        let req = format!("GET {path} HTTP/1.1\r\nHost: {ip}\r\nUser-Agent: kube-probe/1.34\r\nConnection: close\r\n\r\n");
        if stream.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        if stream.read_exact(&mut head).is_err() {
            return false;
        }
        let code: u16 = String::from_utf8_lossy(&head[9..12]).parse().unwrap_or(0);
        return (200..400).contains(&code);
    }
    if let Some(t) = probe.get("tcpSocket") {
        return t.get("port").and_then(port_of).and_then(connect).is_some();
    }
    // exec and grpc probes are not run: they count as successful.
    true
}

/// Runtime facts about a pod's container, kept by the runner.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    /// Container state.
    pub state: ContainerState,
    /// Restarts so far.
    pub restarts: u64,
    /// Readiness as last probed.
    pub ready: bool,
    /// When the container last started (RFC 3339).
    pub started_at: String,
    /// Last error starting the container (shown as the waiting state).
    pub error: Option<StartError>,
}

/// Why a pod's container could not start: a kubelet waiting reason
/// (`ErrImagePull`, `ImagePullBackOff`, `CreateContainerError`) and message.
#[derive(Debug, Clone, PartialEq)]
pub struct StartError {
    /// Waiting reason.
    pub reason: String,
    /// Human-readable cause.
    pub message: String,
}

/// The Pod status for these facts.
pub fn status(pod: &Value, f: &PodFacts, host_ip: &str) -> Value {
    let c = pod
        .pointer("/spec/containers/0")
        .cloned()
        .unwrap_or(json!({}));
    let running = f.state.running && !f.state.paused;
    let state = match (&f.error, f.state.running, f.state.exit_code) {
        (Some(e), _, _) => json!({"waiting": {"reason": e.reason, "message": e.message}}),
        (None, true, _) => json!({"running": {"startedAt": f.started_at}}),
        (None, false, Some(code)) => {
            json!({"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" }}})
        }
        (None, false, None) => json!({"waiting": {"reason": "ContainerCreating"}}),
    };
    let ready = running && f.ready;
    let restart_policy = s(pod, "/spec/restartPolicy");
    let phase = match (&f.error, f.state.running, f.state.exit_code) {
        (Some(_), _, _) => "Pending",
        (None, true, _) => "Running",
        // The container will not be restarted: the pod is done.
        (None, false, Some(0)) if restart_policy == "Never" || restart_policy == "OnFailure" => {
            "Succeeded"
        }
        (None, false, Some(_)) if restart_policy == "Never" => "Failed",
        (None, false, Some(_)) => "Running",
        (None, false, None) => "Pending",
    };
    let cond = |t: &str, ok: bool| {
        let mut c = json!({"type": t, "status": if ok { "True" } else { "False" }});
        if !ok && (phase == "Succeeded" || phase == "Failed") && t.ends_with("Ready") {
            c["reason"] = json!("PodCompleted");
        }
        c
    };
    let mut st = json!({
        "phase": phase,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "conditions": [cond("PodScheduled", true), cond("Initialized", true), cond("ContainersReady", ready), cond("Ready", ready)],
        "containerStatuses": [{
            "name": s(&c, "/name"), "image": s(&c, "/image"), "imageID": "", "ready": ready,
            "restartCount": f.restarts, "started": f.state.running, "state": state,
        }],
    });
    if let Some(ip) = &f.state.ip {
        st["podIP"] = json!(ip);
        st["podIPs"] = json!([{"ip": ip}]);
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_the_kubelet() {
        let env = vec![("POD_NAME".to_string(), "db-0".to_string())];
        assert_eq!(expand("--id=$(POD_NAME).x", &env), "--id=db-0.x");
        assert_eq!(
            expand("$(MISSING) $$(POD_NAME) $", &env),
            "$(MISSING) $(POD_NAME) $"
        );
    }

    #[test]
    fn builds_a_container_spec() {
        let pod = json!({"metadata": {"name": "db-0", "namespace": "ns", "labels": {"app": "db"}},
            "spec": {"hostname": "db-0", "subdomain": "db-h",
              "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}],
              "containers": [{"name": "c", "image": "img", "args": ["--name=$(POD_NAME)", "--ns=$(NS)"],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "securityContext": {"runAsUser": 1000, "readOnlyRootFilesystem": true}}]}});
        let lookup = Lookup {
            services: vec![
                json!({"metadata": {"name": "db", "namespace": "ns"}, "spec": {"selector": {"app": "db"}}}),
            ],
            ..Lookup::default()
        };
        let dir = std::env::temp_dir();
        let spec = container_spec("lk", &pod, &lookup, &dir).unwrap().unwrap();
        assert_eq!(spec.args, ["--name=db-0", "--ns=ns"]);
        assert!(spec.env.contains(&("APP".into(), "db".into())));
        assert!(spec
            .aliases
            .contains(&"db-0.db-h.ns.svc.cluster.local".to_string()));
        // The Service name resolves to the pod only once it is Ready.
        assert!(!spec
            .aliases
            .contains(&"db.ns.svc.cluster.local".to_string()));
        assert!(aliases(&pod, &lookup, true).contains(&"db.ns.svc.cluster.local".to_string()));
        assert_eq!(spec.mounts[0].source, "lk-ns-data-db-0");
        assert_eq!(spec.user.as_deref(), Some("1000"));
        assert!(spec.read_only_root);
        assert_eq!(base64_decode("aGVsbG8="), "hello");
    }
}
