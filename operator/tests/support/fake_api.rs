//! A fake API server (tower-test `mock::pair`, the kube-rs
//! `ApiServerVerifier` pattern) that stores what is written, canned broker
//! answers and a recording membership API, shared by the mock tests.
// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chronik_api::{BrokerStatus, MemberRole, MemberStatus, Membership, RaftRole};
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::{BrokerApi, BrokerError, MemberChange};
use chronik_operator::controller::Context;
use chronik_operator::crd::ChronikCluster;
use chronik_operator::metrics::Metrics;
use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

/// One request the fake API server received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
}

impl Call {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

#[derive(Default)]
pub struct FakeState {
    pub objects: BTreeMap<String, Value>,
    pub calls: Vec<Call>,
    pub events: Vec<Value>,
    pub resource_version: u64,
    /// After a GET of this path, another writer changes the object.
    pub race_after_get: Option<String>,
    /// PATCHes of this path are refused with 422.
    pub refuse_patch: Option<String>,
    /// Paths deleted.
    pub deleted: Vec<String>,
}

/// A minimal API server: GET, server-side apply PATCH (stores the applied
/// object plus server-set fields), status PATCH, event POST.
#[derive(Clone, Default)]
pub struct FakeApi {
    pub state: Arc<Mutex<FakeState>>,
}

pub fn not_found() -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": "NotFound", "code": 404, "message": "not found"});
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

pub fn conflict() -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": "Conflict", "code": 409, "message": "conflict"});
    Response::builder()
        .status(StatusCode::CONFLICT)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

pub fn ok(value: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .body(Body::from(serde_json::to_vec(value).unwrap()))
        .unwrap()
}

/// What a real API server adds to an applied object.
pub fn add_server_fields(path: &str, value: &mut Value, rv: u64) {
    value["metadata"]["resourceVersion"] = json!(rv.to_string());
    value["metadata"]["uid"] = json!(format!("uid-{rv}"));
    if path.contains("/services/") {
        let spec = &mut value["spec"];
        if spec["clusterIP"].is_null() {
            spec["clusterIP"] = json!("10.96.0.10");
        }
        spec["sessionAffinity"] = json!("None");
        // NodePort and LoadBalancer Services get a node port per port.
        if matches!(spec["type"].as_str(), Some("NodePort" | "LoadBalancer")) {
            if let Some(ports) = spec["ports"].as_array_mut() {
                for (i, port) in ports.iter_mut().enumerate() {
                    if port["nodePort"].is_null() {
                        port["nodePort"] = json!(30000 + rv * 10 + i as u64);
                    }
                }
            }
        }
    }
    if path.contains("/statefulsets/") {
        // Defaults and normalization a real API server applies.
        if let Some(containers) = value["spec"]["template"]["spec"]["containers"].as_array_mut() {
            for c in containers {
                c["terminationMessagePath"] = json!("/dev/termination-log");
                c["terminationMessagePolicy"] = json!("File");
                for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                    if c[probe].is_object() {
                        c[probe]["successThreshold"] = json!(1);
                        c[probe]["httpGet"]["scheme"] = json!("HTTP");
                    }
                }
                if c["resources"]["requests"]["cpu"] == "1000m" {
                    c["resources"]["requests"]["cpu"] = json!("1");
                }
                if c["resources"]["requests"]["memory"] == "1024Mi" {
                    c["resources"]["requests"]["memory"] = json!("1Gi");
                }
            }
        }
        value["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        value["spec"]["template"]["spec"]["dnsPolicy"] = json!("ClusterFirst");
        value["spec"]["template"]["metadata"]["creationTimestamp"] = Value::Null;
        let replicas = value["spec"]["replicas"].clone();
        value["spec"]["revisionHistoryLimit"] = json!(10);
        value["status"] = json!({"replicas": replicas, "readyReplicas": replicas,
            "updatedReplicas": replicas, "availableReplicas": replicas});
    }
}

impl FakeApi {
    pub fn start(&self) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let state = self.state.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap();
                let path = parts.uri.path().to_string();
                let merge = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes() == b"application/merge-patch+json");
                let call = Call {
                    method: parts.method.to_string(),
                    path: path.clone(),
                    query: parts.uri.query().unwrap_or_default().to_string(),
                };
                let mut st = state.lock().unwrap();
                st.calls.push(call.clone());
                let response = match call.method.as_str() {
                    "GET" if path.ends_with("/pods") || path.ends_with("/services") => {
                        // A list: every stored pod under this path.
                        let prefix = format!("{path}/");
                        let items: Vec<Value> = st
                            .objects
                            .iter()
                            .filter(|(k, _)| k.starts_with(&prefix))
                            .map(|(_, v)| v.clone())
                            .collect();
                        ok(&json!({"kind": "List", "apiVersion": "v1",
                            "metadata": {"resourceVersion": "1"}, "items": items}))
                    }
                    "DELETE" => {
                        let removed = st.objects.remove(&path);
                        st.deleted.push(path.clone());
                        match removed {
                            Some(v) => ok(&v),
                            None => not_found(),
                        }
                    }
                    "GET" => {
                        let response = match st.objects.get(&path) {
                            Some(v) => ok(v),
                            None => not_found(),
                        };
                        if st.race_after_get.as_deref() == Some(path.as_str()) {
                            st.resource_version += 1;
                            let rv = st.resource_version;
                            if let Some(object) = st.objects.get_mut(&path) {
                                object["metadata"]["resourceVersion"] = json!(rv.to_string());
                            }
                        }
                        response
                    }
                    "PATCH" if path.ends_with("/status") => {
                        let patch: Value = serde_json::from_slice(&bytes).unwrap();
                        let main = path.trim_end_matches("/status").to_string();
                        let object = st
                            .objects
                            .get_mut(&main)
                            .expect("status of a stored object");
                        object["status"] = patch["status"].clone();
                        ok(&object.clone())
                    }
                    "PATCH" if st.refuse_patch.as_deref() == Some(path.as_str()) => {
                        let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "reason": "Invalid", "code": 422,
                            "message": "StatefulSet.apps \"orders\" is invalid: spec: Forbidden"});
                        Response::builder()
                            .status(StatusCode::UNPROCESSABLE_ENTITY)
                            .body(Body::from(serde_json::to_vec(&body).unwrap()))
                            .unwrap()
                    }
                    "PATCH" if merge => {
                        let patch: Value = serde_json::from_slice(&bytes).unwrap();
                        st.resource_version += 1;
                        let rv = st.resource_version;
                        match st.objects.get_mut(&path) {
                            Some(object) => {
                                json_patch::merge(object, &patch);
                                object["metadata"]["resourceVersion"] = json!(rv.to_string());
                                ok(&object.clone())
                            }
                            None => not_found(),
                        }
                    }
                    "PATCH" => {
                        let mut value: Value = serde_json::from_slice(&bytes).unwrap();
                        st.resource_version += 1;
                        let rv = st.resource_version;
                        add_server_fields(&path, &mut value, rv);
                        st.objects.insert(path.clone(), value.clone());
                        ok(&value)
                    }
                    "POST" if path.ends_with("/events") => {
                        let value: Value = serde_json::from_slice(&bytes).unwrap();
                        st.events.push(value.clone());
                        // Kept by name too: the recorder PATCHes a repeated
                        // event (same reason and action) as a series.
                        if let Some(name) = value["metadata"]["name"].as_str() {
                            st.objects.insert(format!("{path}/{name}"), value.clone());
                        }
                        ok(&value)
                    }
                    "POST" => {
                        let mut value: Value = serde_json::from_slice(&bytes).unwrap();
                        let name = value["metadata"]["name"].as_str().unwrap().to_string();
                        let key = format!("{path}/{name}");
                        if st.objects.contains_key(&key) {
                            conflict()
                        } else {
                            st.resource_version += 1;
                            value["metadata"]["resourceVersion"] =
                                json!(st.resource_version.to_string());
                            st.objects.insert(key, value.clone());
                            ok(&value)
                        }
                    }
                    "PUT" => {
                        let mut value: Value = serde_json::from_slice(&bytes).unwrap();
                        let current = st
                            .objects
                            .get(&path)
                            .map(|o| o["metadata"]["resourceVersion"].clone());
                        if current != Some(value["metadata"]["resourceVersion"].clone()) {
                            conflict()
                        } else {
                            st.resource_version += 1;
                            value["metadata"]["resourceVersion"] =
                                json!(st.resource_version.to_string());
                            st.objects.insert(path.clone(), value.clone());
                            ok(&value)
                        }
                    }
                    other => panic!("unexpected {other} {path}"),
                };
                send.send_response(response);
            }
        });
        Client::new(service, "default")
    }

    pub fn store_cluster(&self, cluster: &ChronikCluster) {
        let path = format!(
            "/apis/chronik.io/v1alpha1/namespaces/streams/chronikclusters/{}",
            cluster.metadata.name.as_deref().unwrap()
        );
        self.state
            .lock()
            .unwrap()
            .objects
            .insert(path, serde_json::to_value(cluster).unwrap());
    }

    pub fn cluster(&self, name: &str) -> ChronikCluster {
        let path = format!("/apis/chronik.io/v1alpha1/namespaces/streams/chronikclusters/{name}");
        serde_json::from_value(self.state.lock().unwrap().objects[&path].clone()).unwrap()
    }

    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state.lock().unwrap().calls)
    }

    pub fn object(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }
}

/// Canned `/v1/status` answers by base URL, and a record of the membership
/// changes asked for instead of carrying them out.
#[derive(Default)]
pub struct FakeBrokers {
    pub answers: Arc<Mutex<HashMap<String, Result<BrokerStatus, BrokerError>>>>,
    /// `(member asked first, change)`, in order.
    pub changes: Mutex<Vec<(u64, MemberChange)>>,
    /// The brokers' users and ACLs, and the calls made to them.
    pub security: Arc<Mutex<super::fake_security::FakeSecurity>>,
    /// The brokers' dynamic config, and the calls made to it.
    pub config: Arc<Mutex<super::fake_config::FakeConfig>>,
}

impl FakeBrokers {
    /// Another fake with the same answers and a record of its own (one per
    /// operator context, as a restarted operator starts afresh).
    pub fn sharing_answers(&self) -> Arc<Self> {
        Arc::new(Self {
            answers: self.answers.clone(),
            changes: Mutex::default(),
            security: self.security.clone(),
            config: self.config.clone(),
        })
    }
}

impl BrokerApi for FakeBrokers {
    fn status(&self, base_url: String) -> BoxFuture<'static, Result<BrokerStatus, BrokerError>> {
        let answer = self
            .answers
            .lock()
            .unwrap()
            .get(&base_url)
            .cloned()
            .unwrap_or_else(|| {
                Err(BrokerError::Unreachable {
                    method: "GET",
                    url: format!("{base_url}/v1/status"),
                    message: "connection refused".to_string(),
                })
            });
        Box::pin(async move { answer })
    }

    fn change(
        &self,
        _members: Arc<dyn MemberAddresses>,
        via: u64,
        change: MemberChange,
    ) -> BoxFuture<'static, Result<Membership, BrokerError>> {
        self.changes.lock().unwrap().push((via, change));
        Box::pin(async move {
            Ok(Membership {
                leader_id: via,
                members: Vec::new(),
            })
        })
    }
}

/// A broker's `/v1/status` answer: `members` = (id, role, match index),
/// match indexes shown only by the leader.
pub fn broker_answer(
    id: u64,
    leader: u64,
    term: u64,
    commit: u64,
    members: &[(u64, MemberRole, u64)],
) -> BrokerStatus {
    let is_leader = id == leader;
    let mut status = BrokerStatus::initial(
        id,
        "6f1c1c9e-1111-2222-3333-444455556666",
        &format!("inc-{id}"),
        0,
    );
    status.role = if is_leader {
        RaftRole::Leader
    } else {
        RaftRole::Follower
    };
    status.leader_id = leader;
    status.term = term;
    status.commit_index = commit;
    status.applied_index = commit;
    status.members = members
        .iter()
        .map(|(m, role, matched)| MemberStatus {
            id: *m,
            url: raft_url(*m),
            role: *role,
            match_index: is_leader.then_some(*matched),
            incarnation: format!("inc-{m}"),
            rejoining: None,
        })
        .collect();
    status
}

/// The admin API URL of pod `ordinal` (https: clusters run peer mTLS by default).
pub fn base_url(ordinal: u64) -> String {
    format!("https://orders-{ordinal}.orders-headless.streams.svc.cluster.local:8443")
}

pub fn raft_url(id: u64) -> String {
    format!(
        "http://orders-{}.orders-headless.streams.svc.cluster.local:5001",
        id - 1
    )
}

/// Answers of a 3-node cluster led by node `leader`; `down` nodes do not answer.
pub fn three_node_answers(brokers: &FakeBrokers, leader: u64, down: &[u64]) {
    let members: Vec<(u64, MemberRole, u64)> = (1..=3u64)
        .map(|m| (m, MemberRole::Voter, if m == 3 { 7 } else { 10 }))
        .collect();
    let mut answers = brokers.answers.lock().unwrap();
    answers.clear();
    for id in (1..=3u64).filter(|id| !down.contains(id)) {
        answers.insert(
            base_url(id - 1),
            Ok(broker_answer(id, leader, 3, 10, &members)),
        );
    }
}

/// What a mock-API test starts from: the fake API server, fake broker
/// answers and a reconcile context wired to both.
pub struct Harness {
    pub api: FakeApi,
    pub client: Client,
    pub brokers: Arc<FakeBrokers>,
    pub ctx: Arc<Context>,
    pub metrics: Arc<Metrics>,
    /// The membership changes this context asked for.
    pub membership: Arc<FakeBrokers>,
}

impl Harness {
    /// No broker answers; `with_leader` adds those of a healthy 3-node cluster.
    pub fn new() -> Self {
        let api = FakeApi::default();
        let client = api.start();
        let brokers = Arc::new(FakeBrokers::default());
        let (ctx, metrics, membership) = context_with_membership(client.clone(), brokers.clone());
        Self {
            api,
            client,
            brokers,
            ctx,
            metrics,
            membership,
        }
    }

    /// Brokers answer as a healthy 3-node cluster led by `leader`.
    pub fn with_leader(leader: u64) -> Self {
        let h = Self::new();
        three_node_answers(&h.brokers, leader, &[]);
        h
    }
}

pub fn context(client: Client, brokers: Arc<FakeBrokers>) -> (Arc<Context>, Arc<Metrics>) {
    let (ctx, metrics, _) = context_with_membership(client, brokers);
    (ctx, metrics)
}

/// A context whose brokers answer from `brokers`' answers; the returned fake
/// records the membership changes of this context only.
pub fn context_with_membership(
    client: Client,
    brokers: Arc<FakeBrokers>,
) -> (Arc<Context>, Arc<Metrics>, Arc<FakeBrokers>) {
    let metrics = Arc::new(Metrics::new());
    let membership = brokers.sharing_answers();
    let ctx = Context::new(client, membership.clone(), metrics.clone());
    (Arc::new(ctx), metrics, membership)
}

pub const NS: &str = "/namespaces/streams";
