//! The workload runner: makes StatefulSets real. It runs the StatefulSet
//! controller ([`statefulset`]), a minimal Deployment controller
//! ([`deployment`]), binds PersistentVolumeClaims, runs every Pod's
//! container through a [`backend::Backend`] (podman, or a fake for tests),
//! restarts failed containers, runs readiness and liveness probes and
//! reports Pod status; containers of deleted pods and volumes of deleted
//! claims are removed.
//!
//! It works in ticks on a thread of its own; engine calls happen outside the
//! cluster lock. Probes run every tick (`periodSeconds` is not honoured);
//! `failureThreshold` is.

pub mod api;
pub mod backend;
pub mod deployment;
pub mod nodeports;
pub mod podman;
pub mod pods;
mod probes;
pub mod statefulset;
pub mod volumes;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::apiserver::http::AppState;
use crate::apiserver::time::now_rfc3339;
use backend::Backend;
use backend::BackendError;
use pods::{Lookup, PodFacts, StartError};
use statefulset::Action;

/// Settings of the runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Time between ticks.
    pub interval: Duration,
    /// Directory for ConfigMap/Secret/emptyDir volume files.
    pub work_dir: PathBuf,
    /// A kubeconfig (on the host) mounted into every pod at
    /// [`POD_KUBECONFIG`], with `KUBECONFIG` pointing at it unless the pod
    /// sets it: how in-pod clients (the operator) reach the API server.
    pub pod_kubeconfig: Option<PathBuf>,
    /// The node's address besides loopback (the podman network's gateway,
    /// which both the host and the pods reach): pods' `status.hostIP`, the
    /// Node's `InternalIP`, and where node ports listen besides 127.0.0.1.
    /// `None`: 127.0.0.1.
    pub node_ip: Option<std::net::Ipv4Addr>,
}

impl RunnerConfig {
    /// The node's address as pods and the Node object report it.
    pub fn host_ip(&self) -> String {
        self.node_ip
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST)
            .to_string()
    }
}

/// Name of the single node.
pub const NODE: &str = "localkube";

/// Where pods find the API server's kubeconfig.
pub const POD_KUBECONFIG: &str = "/var/run/chronik-localkube/kubeconfig";

struct PodRuntime {
    uid: String,
    facts: PodFacts,
    live_failures: u64,
    ready_failures: u64,
    started: Instant,
    last_start: Instant,
}

/// The runner's state between ticks.
pub struct Runner {
    state: AppState,
    backend: Arc<dyn Backend>,
    config: RunnerConfig,
    pods: BTreeMap<String, PodRuntime>,
    /// Failed container starts in a row, by pod uid (for back-off reasons).
    start_failures: BTreeMap<String, u32>,
    terminating: Arc<std::sync::Mutex<BTreeSet<String>>>,
    forwarder: nodeports::Forwarder,
}

/// A runner thread; [`RunnerHandle::stop`] ends it.
pub struct RunnerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Runner>>,
}

impl RunnerHandle {
    /// Stop the thread and, when `cleanup`, remove every container and volume it created.
    pub fn stop(mut self, cleanup: bool) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            if let Ok(runner) = t.join() {
                // Nobody finishes graceful deletions any more.
                runner.state.lock().graceful_pods = false;
                if cleanup {
                    runner.cleanup();
                }
            }
        }
    }
}

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn key_of(o: &Value) -> String {
    format!("{}/{}", s(o, "/metadata/namespace"), s(o, "/metadata/name"))
}

impl Runner {
    /// A runner over this cluster state and engine.
    pub fn new(state: AppState, backend: Arc<dyn Backend>, config: RunnerConfig) -> Self {
        Runner {
            state,
            backend,
            config,
            pods: BTreeMap::new(),
            start_failures: BTreeMap::new(),
            terminating: Arc::default(),
            forwarder: nodeports::Forwarder::default(),
        }
    }

    /// A `pods/log` source reading from this runner's engine.
    pub fn log_source(&self) -> crate::apiserver::http::LogSource {
        let backend = self.backend.clone();
        Arc::new(move |ns: &str, pod: &str, tail: Option<u64>| {
            backend
                .logs(&pods::container_name(backend.prefix(), ns, pod), tail)
                .map_err(|e| e.to_string())
        })
    }

    /// Run ticks on a new thread until stopped (and serve `pods/log` from its engine).
    pub fn spawn_serving_logs(self) -> RunnerHandle {
        self.state.set_log_source(self.log_source());
        self.spawn()
    }

    /// Run ticks on a new thread until stopped.
    pub fn spawn(mut self) -> RunnerHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        self.register_node();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                self.tick();
                std::thread::sleep(self.config.interval);
            }
            self
        });
        RunnerHandle {
            stop,
            thread: Some(thread),
        }
    }

    /// The one Node pods are scheduled on, Ready; pods finish deleting gracefully.
    fn register_node(&self) {
        let mut c = self.state.lock();
        c.graceful_pods = true;
        let node = json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux"}}});
        let status = json!({
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "chronik-localkube workload runner is running"}],
            "addresses": [{"type": "Hostname", "address": NODE}, {"type": "InternalIP", "address": self.config.host_ip()}],
            "nodeInfo": {"kubeletVersion": "v1.34.0-chronik-localkube", "containerRuntimeVersion": "podman",
                         "operatingSystem": "linux", "architecture": "amd64"},
        });
        let created = api::create(&mut c, "nodes", "", node)
            .and_then(|_| api::patch_status(&mut c, "nodes", "", NODE, status));
        if let Err(e) = created {
            tracing::warn!(error = %e, "registering the node failed");
        }
    }

    /// Remove every container and volume this runner created.
    pub fn cleanup(&self) {
        for c in self.backend.containers().unwrap_or_default() {
            let _ = self.backend.remove(&c);
        }
        for v in self.backend.volumes().unwrap_or_default() {
            let _ = self.backend.remove_volume(&v);
        }
    }

    /// One pass: StatefulSets, claims, pods, garbage containers and volumes.
    pub fn tick(&mut self) {
        self.statefulsets();
        self.deployments();
        self.claims();
        self.run_pods();
        self.node_ports();
    }

    /// Node ports and load balancer addresses forward to the ready pods.
    fn node_ports(&mut self) {
        let (services, pods) = {
            let c = self.state.lock();
            (api::list(&c, "services"), api::list(&c, "pods"))
        };
        let routes = nodeports::routes(&services, &pods, self.config.node_ip);
        self.forwarder.sync(routes);
    }

    fn statefulsets(&self) {
        let mut c = self.state.lock();
        let sets = api::list(&c, "statefulsets.apps");
        let pods = api::list(&c, "pods");
        let claims = api::list(&c, "persistentvolumeclaims");
        for sts in sets {
            if sts.pointer("/metadata/deletionTimestamp").is_some() {
                continue;
            }
            let (name, ns, uid) = api::ident(&sts);
            let owned: Vec<Value> = pods
                .iter()
                .filter(|p| s(p, "/metadata/namespace") == ns)
                .filter(|p| {
                    p.pointer("/metadata/ownerReferences")
                        .and_then(Value::as_array)
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == json!(uid)))
                })
                .cloned()
                .collect();
            let claim_names: BTreeSet<String> = claims
                .iter()
                .filter(|p| s(p, "/metadata/namespace") == ns)
                .map(|p| s(p, "/metadata/name").to_string())
                .collect();
            for action in statefulset::reconcile(&sts, &owned, &claim_names) {
                let result = match action {
                    Action::CreatePod(p) => api::create(&mut c, "pods", &ns, p),
                    Action::DeletePod(n) => api::delete(&mut c, "pods", &ns, &n),
                    Action::CreateClaim(p) => api::create(&mut c, "persistentvolumeclaims", &ns, p),
                    Action::DeleteClaim(n) => {
                        api::delete(&mut c, "persistentvolumeclaims", &ns, &n)
                    }
                    Action::Status(st) => {
                        api::patch_status(&mut c, "statefulsets.apps", &ns, &name, st)
                    }
                };
                if let Err(e) = result {
                    tracing::warn!(statefulset = %format!("{ns}/{name}"), error = %e, "runner action failed");
                }
            }
        }
    }

    fn deployments(&self) {
        let mut c = self.state.lock();
        let deployments = api::list(&c, "deployments.apps");
        let pods = api::list(&c, "pods");
        for d in deployments {
            if d.pointer("/metadata/deletionTimestamp").is_some() {
                continue;
            }
            let (name, ns, uid) = api::ident(&d);
            let owned: Vec<Value> = pods
                .iter()
                .filter(|p| {
                    p.pointer("/metadata/ownerReferences")
                        .and_then(Value::as_array)
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == json!(uid)))
                })
                .cloned()
                .collect();
            for action in deployment::reconcile(&d, &owned) {
                let result = match action {
                    Action::CreatePod(p) => api::create(&mut c, "pods", &ns, p),
                    Action::DeletePod(n) => api::delete(&mut c, "pods", &ns, &n),
                    Action::Status(st) => {
                        api::patch_status(&mut c, "deployments.apps", &ns, &name, st)
                    }
                    Action::CreateClaim(_) | Action::DeleteClaim(_) => Ok(()),
                };
                if let Err(e) = result {
                    tracing::warn!(deployment = %format!("{ns}/{name}"), error = %e, "runner action failed");
                }
            }
        }
    }

    fn claims(&self) {
        let claims = {
            let mut c = self.state.lock();
            let claims = api::list(&c, "persistentvolumeclaims");
            for pvc in &claims {
                if s(pvc, "/status/phase") == "Bound" {
                    continue;
                }
                let (name, ns, _) = api::ident(pvc);
                let size = pvc
                    .pointer("/spec/resources/requests/storage")
                    .cloned()
                    .unwrap_or(json!("1Gi"));
                let access = pvc
                    .pointer("/spec/accessModes")
                    .cloned()
                    .unwrap_or(json!(["ReadWriteOnce"]));
                let status =
                    json!({"phase": "Bound", "capacity": {"storage": size}, "accessModes": access});
                if let Err(e) =
                    api::patch_status(&mut c, "persistentvolumeclaims", &ns, &name, status)
                {
                    tracing::warn!(claim = %name, error = %e, "binding claim failed");
                }
                let _ = api::patch(
                    &mut c,
                    "persistentvolumeclaims",
                    &ns,
                    &name,
                    json!({"spec": {"volumeName": format!("pvc-{}", s(pvc, "/metadata/uid"))}}),
                );
            }
            claims
        };
        // Volumes of deleted claims (only when no container uses them: the engine refuses otherwise).
        let wanted: BTreeSet<String> = claims
            .iter()
            .map(|p| {
                pods::volume_name(
                    self.backend.prefix(),
                    s(p, "/metadata/namespace"),
                    s(p, "/metadata/name"),
                )
            })
            .collect();
        for v in self.backend.volumes().unwrap_or_default() {
            if !wanted.contains(&v) {
                let _ = self.backend.remove_volume(&v);
            }
        }
    }

    fn lookup(&self) -> (Vec<Value>, Lookup) {
        let c = self.state.lock();
        let by_key = |key: &str| {
            api::list(&c, key)
                .into_iter()
                .map(|o| (key_of(&o), o))
                .collect()
        };
        let lookup = Lookup {
            config_maps: by_key("configmaps"),
            secrets: by_key("secrets"),
            services: api::list(&c, "services"),
            host_ip: self.config.host_ip(),
        };
        (api::list(&c, "pods"), lookup)
    }

    fn run_pods(&mut self) {
        let (pods, lookup) = self.lookup();
        let prefix = self.backend.prefix().to_string();
        let live: BTreeSet<String> = pods.iter().map(key_of).collect();
        // Containers of pods that are gone.
        let gone: Vec<String> = self
            .pods
            .keys()
            .filter(|k| !live.contains(*k))
            .cloned()
            .collect();
        for k in gone {
            self.pods.remove(&k);
        }
        let uids: BTreeSet<&str> = pods.iter().map(|p| s(p, "/metadata/uid")).collect();
        self.start_failures
            .retain(|uid, _| uids.contains(uid.as_str()));
        let wanted: BTreeSet<String> = pods
            .iter()
            .map(|p| {
                pods::container_name(&prefix, s(p, "/metadata/namespace"), s(p, "/metadata/name"))
            })
            .collect();
        for c in self.backend.containers().unwrap_or_default() {
            if !wanted.contains(&c) {
                let _ = self.backend.remove(&c);
            }
        }
        let mut statuses = Vec::new();
        for pod in &pods {
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                self.terminate(pod, &prefix);
                continue;
            }
            let facts = self.run_pod(pod, &lookup, &prefix);
            let new_status = pods::status(pod, &facts, &lookup.host_ip);
            if pod.get("status") != Some(&new_status) {
                statuses.push((key_of(pod), new_status));
            }
        }
        let mut c = self.state.lock();
        for pod in pods
            .iter()
            .filter(|p| p.pointer("/spec/nodeName").is_none())
        {
            // Scheduling: everything runs on the one node.
            let (name, ns, _) = api::ident(pod);
            let _ = api::patch(
                &mut c,
                "pods",
                &ns,
                &name,
                json!({"spec": {"nodeName": NODE}}),
            );
        }
        for (key, st) in statuses {
            let (ns, name) = key.split_once('/').unwrap_or(("", &key));
            if let Err(e) = api::patch_status(&mut c, "pods", ns, name, st) {
                tracing::debug!(pod = %key, error = %e, "pod status not written");
            }
        }
    }

    /// Stop a deleted pod's container within its grace period, then remove
    /// the pod (on a thread of its own, so that other pods keep being served).
    fn terminate(&self, pod: &Value, prefix: &str) {
        let key = key_of(pod);
        {
            let mut busy = self.terminating.lock().unwrap_or_else(|p| p.into_inner());
            if !busy.insert(key.clone()) {
                return;
            }
        }
        let (name, ns, _) = api::ident(pod);
        let container = pods::container_name(prefix, &ns, &name);
        let grace = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(30);
        let backend = self.backend.clone();
        let state = self.state.clone();
        let busy = self.terminating.clone();
        std::thread::spawn(move || {
            if let Err(e) = backend.stop(&container, grace) {
                tracing::debug!(container = %container, error = %e, "stop failed");
            }
            let _ = backend.remove(&container);
            if let Err(e) = api::delete_now(&mut state.lock(), "pods", &ns, &name) {
                tracing::warn!(pod = %key, error = %e, "finishing pod deletion failed");
            }
            busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        });
    }

    fn run_pod(&mut self, pod: &Value, lookup: &Lookup, prefix: &str) -> PodFacts {
        let key = key_of(pod);
        let uid = s(pod, "/metadata/uid").to_string();
        let name = pods::container_name(
            prefix,
            s(pod, "/metadata/namespace"),
            s(pod, "/metadata/name"),
        );
        let stale = self.pods.get(&key).is_some_and(|r| r.uid != uid);
        if stale {
            let _ = self.backend.remove(&name);
            self.pods.remove(&key);
        }
        let dir = self
            .config
            .work_dir
            .join(s(pod, "/metadata/namespace"))
            .join(s(pod, "/metadata/name"));
        if !self.pods.contains_key(&key) {
            let mut facts = PodFacts::default();
            match pods::container_spec(prefix, pod, lookup, &dir) {
                Ok(Some(mut spec)) => {
                    if let Some(kc) = &self.config.pod_kubeconfig {
                        spec.mounts.push(backend::Mount {
                            source: kc.to_string_lossy().into_owned(),
                            target: POD_KUBECONFIG.into(),
                            read_only: true,
                        });
                        if !spec.env.iter().any(|(k, _)| k == "KUBECONFIG") {
                            spec.env.push(("KUBECONFIG".into(), POD_KUBECONFIG.into()));
                        }
                    }
                    let _ = self.backend.remove(&name);
                    match self.backend.run(&spec) {
                        Ok(()) => {
                            facts.started_at = now_rfc3339();
                            self.start_failures.remove(&uid);
                        }
                        Err(e) => {
                            let failures = self.start_failures.entry(uid.clone()).or_insert(0);
                            *failures += 1;
                            facts.error = Some(start_error(&e, *failures));
                        }
                    }
                }
                Ok(None) => {
                    facts.error = Some(StartError {
                        reason: "CreateContainerConfigError".into(),
                        message: "pod has no containers".into(),
                    })
                }
                Err(e @ volumes::VolumeError::Missing { .. }) => {
                    // The kubelet waits for the volume's objects.
                    facts.error = Some(StartError {
                        reason: "ContainerCreating".into(),
                        message: e.to_string(),
                    })
                }
                Err(e) => {
                    facts.error = Some(StartError {
                        reason: "CreateContainerConfigError".into(),
                        message: e.to_string(),
                    })
                }
            }
            let now = Instant::now();
            self.pods.insert(
                key.clone(),
                PodRuntime {
                    uid,
                    facts,
                    live_failures: 0,
                    ready_failures: 0,
                    started: now,
                    last_start: now,
                },
            );
        }
        let Some(rt) = self.pods.get_mut(&key) else {
            return PodFacts::default();
        };
        if rt.facts.error.is_some() {
            // Retry a failed start every few seconds.
            if rt.last_start.elapsed() > Duration::from_secs(5) {
                self.pods.remove(&key);
            }
            return self
                .pods
                .get(&key)
                .map(|r| r.facts.clone())
                .unwrap_or_default();
        }
        let state = match self.backend.state(&name) {
            Ok(Some(st)) => st,
            Ok(None) => {
                // The container vanished (removed behind our back): start over.
                self.pods.remove(&key);
                return PodFacts::default();
            }
            Err(e) => {
                tracing::debug!(container = %name, error = %e, "inspect failed");
                return rt.facts.clone();
            }
        };
        rt.facts.state = state.clone();
        // Mounted ConfigMaps and Secrets follow their objects.
        volumes::refresh(pod, lookup, &dir);
        let restart_policy = s(pod, "/spec/restartPolicy");
        let backoff = Duration::from_secs((1u64 << rt.facts.restarts.min(4)).min(10));
        if !state.running
            && restart_policy != "Never"
            && !(restart_policy == "OnFailure" && state.exit_code == Some(0))
            && rt.last_start.elapsed() >= backoff
        {
            if self.backend.restart(&name).is_ok() {
                rt.facts.restarts += 1;
                rt.facts.started_at = now_rfc3339();
                rt.last_start = Instant::now();
                rt.started = Instant::now();
                rt.live_failures = 0;
            }
            rt.facts.ready = false;
            return rt.facts.clone();
        }
        if !state.running || state.paused {
            rt.facts.ready = false;
            let facts = rt.facts.clone();
            self.sync_aliases(pod, lookup, &name, &state, false);
            return facts;
        }
        let Some(ip) = state.ip.clone() else {
            // Disconnected from the network (a partition made from outside):
            // probes cannot reach it, so it is not Ready, but it is not
            // restarted either (the kubelet does not probe through the pod
            // network).
            rt.facts.ready = false;
            return rt.facts.clone();
        };
        let ready = match probes::run(rt, self.backend.as_ref(), pod, &ip, &key, &name) {
            probes::Probed::Restarted => return rt.facts.clone(),
            probes::Probed::Ready(ready) => ready,
        };
        rt.facts.ready = ready;
        let facts = rt.facts.clone();
        self.sync_aliases(pod, lookup, &name, &state, ready);
        facts
    }

    /// Make the container's DNS aliases follow readiness (Service names of
    /// ready pods only) and Services created after the pod. A container
    /// disconnected from the network (a partition made from outside) is left
    /// alone; once reconnected, it gets its aliases back.
    fn sync_aliases(
        &self,
        pod: &Value,
        lookup: &Lookup,
        name: &str,
        state: &backend::ContainerState,
        ready: bool,
    ) {
        let Some(current) = &state.aliases else {
            return;
        };
        let mut wanted = pods::aliases(pod, lookup, ready && !state.paused);
        wanted.sort();
        wanted.dedup();
        let have: BTreeSet<&String> = current.iter().collect();
        if have == wanted.iter().collect::<BTreeSet<_>>() {
            return;
        }
        tracing::debug!(container = %name, ready, "updating DNS aliases");
        if let Err(e) = self.backend.set_aliases(name, &wanted) {
            tracing::warn!(container = %name, error = %e, "updating DNS aliases failed");
        }
    }
}

/// The waiting state of a container that could not start: a missing image
/// reads as the kubelet's failed pull (`ErrImagePull`, then
/// `ImagePullBackOff`), anything else as `CreateContainerError`.
fn start_error(error: &BackendError, failures: u32) -> StartError {
    let reason = match error {
        BackendError::ImageNotPresent { .. } if failures <= 1 => "ErrImagePull",
        BackendError::ImageNotPresent { .. } => "ImagePullBackOff",
        BackendError::Command { .. } => "CreateContainerError",
    };
    StartError {
        reason: reason.into(),
        message: error.to_string(),
    }
}
