//! Tests against a mocked API server (tower-test `mock::pair`, the kube-rs
//! `ApiServerVerifier` pattern) that stores what is written, so that a second
//! pass sees the first pass's result: reconcile and leader election.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chronik_operator::controller::{reconcile, Context};
use chronik_operator::crd::{ChronikCluster, ClusterPhase, MemberRole};
use chronik_operator::leader::{LeaderElector, LeaseConfig};
use chronik_operator::lifecycle::admin::AdminError;
use chronik_operator::lifecycle::executor::{Executed, MembershipApi};
use chronik_operator::lifecycle::{Action, Addresses};
use chronik_operator::metrics::Metrics;
use chronik_operator::status::{BrokerError, BrokerMember, BrokerStatus, BrokerStatusSource};
use futures::future::BoxFuture;
use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

/// One request the fake API server received.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    query: String,
}

impl Call {
    fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

#[derive(Default)]
struct FakeState {
    objects: BTreeMap<String, Value>,
    calls: Vec<Call>,
    events: Vec<Value>,
    resource_version: u64,
    /// After a GET of this path, another writer changes the object.
    race_after_get: Option<String>,
    /// PATCHes of this path are refused with 422.
    refuse_patch: Option<String>,
    /// Paths deleted.
    deleted: Vec<String>,
}

/// A minimal API server: GET, server-side apply PATCH (stores the applied
/// object plus server-set fields), status PATCH, event POST.
#[derive(Clone, Default)]
struct FakeApi {
    state: Arc<Mutex<FakeState>>,
}

fn not_found() -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": "NotFound", "code": 404, "message": "not found"});
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn conflict() -> Response<Body> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": "Conflict", "code": 409, "message": "conflict"});
    Response::builder()
        .status(StatusCode::CONFLICT)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn ok(value: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .body(Body::from(serde_json::to_vec(value).unwrap()))
        .unwrap()
}

/// What a real API server adds to an applied object.
fn add_server_fields(path: &str, value: &mut Value, rv: u64) {
    value["metadata"]["resourceVersion"] = json!(rv.to_string());
    value["metadata"]["uid"] = json!(format!("uid-{rv}"));
    if path.contains("/services/") {
        let spec = &mut value["spec"];
        if spec["clusterIP"].is_null() {
            spec["clusterIP"] = json!("10.96.0.10");
        }
        spec["sessionAffinity"] = json!("None");
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
    fn start(&self) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let state = self.state.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap();
                let path = parts.uri.path().to_string();
                let call = Call {
                    method: parts.method.to_string(),
                    path: path.clone(),
                    query: parts.uri.query().unwrap_or_default().to_string(),
                };
                let mut st = state.lock().unwrap();
                st.calls.push(call.clone());
                let response = match call.method.as_str() {
                    "GET" if path.ends_with("/pods") => {
                        // A list: every stored pod under this path.
                        let prefix = format!("{path}/");
                        let items: Vec<Value> = st
                            .objects
                            .iter()
                            .filter(|(k, _)| k.starts_with(&prefix))
                            .map(|(_, v)| v.clone())
                            .collect();
                        ok(&json!({"kind": "PodList", "apiVersion": "v1",
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

    fn store_cluster(&self, cluster: &ChronikCluster) {
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

    fn cluster(&self, name: &str) -> ChronikCluster {
        let path = format!("/apis/chronik.io/v1alpha1/namespaces/streams/chronikclusters/{name}");
        serde_json::from_value(self.state.lock().unwrap().objects[&path].clone()).unwrap()
    }

    fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state.lock().unwrap().calls)
    }

    fn object(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }
}

/// Canned `/v1/status` answers by base URL.
#[derive(Default)]
struct FakeBrokers {
    answers: Mutex<HashMap<String, Result<BrokerStatus, BrokerError>>>,
}

impl BrokerStatusSource for FakeBrokers {
    fn fetch(&self, base_url: String) -> BoxFuture<'static, Result<BrokerStatus, BrokerError>> {
        let answer = self
            .answers
            .lock()
            .unwrap()
            .get(&base_url)
            .cloned()
            .unwrap_or_else(|| {
                Err(BrokerError::Unreachable {
                    url: format!("{base_url}/v1/status"),
                    message: "connection refused".to_string(),
                })
            });
        Box::pin(async move { answer })
    }
}

fn base_url(ordinal: u64) -> String {
    format!("http://orders-{ordinal}.orders-headless.streams.svc.cluster.local:8080")
}

fn raft_url(id: u64) -> String {
    format!(
        "http://orders-{}.orders-headless.streams.svc.cluster.local:5001",
        id - 1
    )
}

/// Answers of a 3-node cluster led by node `leader`; `down` nodes do not answer.
fn three_node_answers(brokers: &FakeBrokers, leader: u64, down: &[u64]) {
    let mut answers = brokers.answers.lock().unwrap();
    answers.clear();
    for id in 1..=3u64 {
        if down.contains(&id) {
            continue;
        }
        let is_leader = id == leader;
        let members = (1..=3u64)
            .map(|m| BrokerMember {
                id: m,
                url: raft_url(m),
                role: "voter".into(),
                match_index: is_leader.then_some(if m == 3 { 7 } else { 10 }),
                incarnation: Some(format!("inc-{m}")),
            })
            .collect();
        answers.insert(
            base_url(id - 1),
            Ok(BrokerStatus {
                node_id: id,
                cluster_id: Some("6f1c1c9e-1111-2222-3333-444455556666".into()),
                incarnation: Some(format!("inc-{id}")),
                role: if is_leader { "leader" } else { "follower" }.into(),
                leader_id: Some(leader),
                term: 3,
                commit_index: 10,
                applied_index: 10,
                members,
                leader_url: None,
                groups: None,
            }),
        );
    }
}

/// Records membership actions instead of calling brokers.
#[derive(Default)]
struct FakeMembership {
    actions: Mutex<Vec<(u64, Action)>>,
}

impl MembershipApi for FakeMembership {
    fn execute(
        &self,
        _addresses: Arc<dyn Addresses>,
        leader: u64,
        action: Action,
    ) -> BoxFuture<'static, Result<Executed, AdminError>> {
        self.actions.lock().unwrap().push((leader, action));
        Box::pin(async { Ok(Executed::NotABrokerAction) })
    }
}

fn context(client: Client, brokers: Arc<FakeBrokers>) -> (Arc<Context>, Arc<Metrics>) {
    let (ctx, metrics, _) = context_with_membership(client, brokers);
    (ctx, metrics)
}

fn context_with_membership(
    client: Client,
    brokers: Arc<FakeBrokers>,
) -> (Arc<Context>, Arc<Metrics>, Arc<FakeMembership>) {
    let metrics = Arc::new(Metrics::new());
    let membership = Arc::new(FakeMembership::default());
    let mut ctx = Context::new(client, brokers, metrics.clone());
    ctx.membership = membership.clone();
    (Arc::new(ctx), metrics, membership)
}

const NS: &str = "/namespaces/streams";

#[tokio::test]
async fn create_then_idempotent_second_pass_makes_zero_writes() {
    let api = FakeApi::default();
    let client = api.start();
    let brokers = Arc::new(FakeBrokers::default());
    three_node_answers(&brokers, 2, &[]);
    let (ctx, metrics) = context(client, brokers.clone());
    let cluster = common::cluster("orders", 3);
    api.store_cluster(&cluster);

    reconcile(Arc::new(cluster), ctx.clone())
        .await
        .expect("first reconcile");
    let calls = api.take_calls();
    let writes: Vec<_> = calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(
        writes,
        vec![
            format!("/api/v1{NS}/configmaps/orders-config"),
            format!("/api/v1{NS}/services/orders-headless"),
            format!("/api/v1{NS}/services/orders"),
            format!("/apis/apps/v1{NS}/statefulsets/orders"),
            format!("/apis/policy/v1{NS}/poddisruptionbudgets/orders"),
            format!("/apis/chronik.io/v1alpha1{NS}/chronikclusters/orders/status"),
        ]
    );
    for call in calls.iter().filter(|c| c.method == "PATCH") {
        assert!(
            call.query.contains("fieldManager=chronik-operator"),
            "{call:?}"
        );
        assert!(call.query.contains("force=true"), "{call:?}");
    }
    let sts = api
        .object(&format!("/apis/apps/v1{NS}/statefulsets/orders"))
        .unwrap();
    assert_eq!(sts["spec"]["serviceName"], "orders-headless");
    assert_eq!(
        sts["metadata"]["ownerReferences"][0]["kind"],
        "ChronikCluster"
    );

    // The second pass sees the stored objects and status: nothing to write.
    let stored = api.cluster("orders");
    assert!(stored.status.is_some());
    reconcile(Arc::new(stored), ctx.clone())
        .await
        .expect("second reconcile");
    let calls = api.take_calls();
    let writes: Vec<_> = calls.iter().filter(|c| c.is_write()).collect();
    assert!(writes.is_empty(), "second pass wrote: {writes:?}");
    assert_eq!(
        calls.len(),
        7,
        "the StatefulSet and pod list for planning, then one GET per owned object: {calls:?}"
    );

    let text = metrics.encode().unwrap();
    assert!(
        text.contains("chronik_operator_reconciles_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn drift_is_corrected() {
    let api = FakeApi::default();
    let client = api.start();
    let brokers = Arc::new(FakeBrokers::default());
    three_node_answers(&brokers, 1, &[]);
    let (ctx, _) = context(client, brokers);
    let cluster = common::cluster("orders", 3);
    api.store_cluster(&cluster);
    reconcile(Arc::new(cluster), ctx.clone()).await.unwrap();
    api.take_calls();

    let path = format!("/apis/apps/v1{NS}/statefulsets/orders");
    api.state.lock().unwrap().objects.get_mut(&path).unwrap()["spec"]["replicas"] = json!(1);
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let writes: Vec<_> = api
        .take_calls()
        .into_iter()
        .filter(Call::is_write)
        .map(|c| c.path)
        .collect();
    assert_eq!(writes[0], path);
    assert_eq!(api.object(&path).unwrap()["spec"]["replicas"], 3);
}

#[tokio::test]
async fn status_comes_from_broker_answers() {
    let api = FakeApi::default();
    let client = api.start();
    let brokers = Arc::new(FakeBrokers::default());
    three_node_answers(&brokers, 2, &[]);
    let (ctx, _) = context(client, brokers.clone());
    api.store_cluster(&common::cluster("orders", 3));
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();

    let status = api.cluster("orders").status.unwrap();
    assert_eq!(status.phase, Some(ClusterPhase::Running));
    let leader = status.leader.clone().unwrap();
    assert_eq!((leader.id, leader.pod.as_str()), (2, "orders-1"));
    assert_eq!(status.term, Some(3));
    assert_eq!(status.replicas, 3);
    assert_eq!(status.ready_replicas, 3);
    assert_eq!(status.initial_replicas, Some(3));
    assert_eq!(
        status.bootstrap_servers.as_deref(),
        Some("orders.streams.svc.cluster.local:9092")
    );
    assert_eq!(status.members.len(), 3);
    let m3 = &status.members[2];
    assert_eq!(
        (m3.id, m3.pod.as_str(), m3.role, m3.ready, m3.lag),
        (3, "orders-2", MemberRole::Voter, true, Some(3))
    );
    assert_eq!(m3.url, raft_url(3));
    let cond = |t: &str| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
            .clone()
    };
    assert_eq!(cond("Available").status, "True");
    assert!(
        cond("Available")
            .message
            .contains("3/3 members healthy, quorum needs 2"),
        "{:?}",
        cond("Available")
    );
    assert_eq!(cond("Degraded").status, "False");
    assert_eq!(cond("Progressing").status, "False");

    // One broker stops answering: still available, degraded, with quorum wording.
    three_node_answers(&brokers, 2, &[3]);
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    let status = api.cluster("orders").status.unwrap();
    let cond = |t: &str| {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
            .clone()
    };
    assert_eq!(status.phase, Some(ClusterPhase::Degraded));
    assert_eq!(cond("Available").status, "True");
    assert_eq!(cond("Degraded").status, "True");
    assert!(
        cond("Degraded")
            .message
            .contains("2/3 members healthy, quorum needs 2"),
        "{:?}",
        cond("Degraded")
    );
    assert!(cond("Degraded").message.contains("orders-2"));

    // Two down: quorum lost.
    three_node_answers(&brokers, 2, &[1, 3]);
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let status = api.cluster("orders").status.unwrap();
    let available = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Available")
        .unwrap();
    assert_eq!(status.phase, Some(ClusterPhase::Unavailable));
    assert_eq!(available.status, "False");
    assert_eq!(available.reason, "QuorumLost");
    assert!(available
        .message
        .contains("1/3 members healthy, quorum needs 2"));
}

#[tokio::test]
async fn invalid_spec_sets_degraded_and_warns_once_without_touching_the_workload() {
    let api = FakeApi::default();
    let client = api.start();
    let brokers = Arc::new(FakeBrokers::default());
    let (ctx, metrics) = context(client, brokers);
    let cluster = common::cluster("orders", 4);
    api.store_cluster(&cluster);

    let action = reconcile(Arc::new(cluster), ctx.clone()).await;
    assert!(
        action.is_ok(),
        "an invalid spec is not a reconcile error (no crash loop)"
    );
    let calls = api.take_calls();
    let writes: Vec<_> = calls
        .iter()
        .filter(|c| c.is_write())
        .map(|c| (c.method.clone(), c.path.clone()))
        .collect();
    assert_eq!(
        writes,
        vec![
            (
                "POST".to_string(),
                format!("/apis/events.k8s.io/v1{NS}/events")
            ),
            (
                "PATCH".to_string(),
                format!("/apis/chronik.io/v1alpha1{NS}/chronikclusters/orders/status")
            ),
        ]
    );
    let event = api.state.lock().unwrap().events[0].clone();
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["reason"], "InvalidSpec");
    assert!(event["note"].as_str().unwrap().contains("must be odd"));

    let status = api.cluster("orders").status.unwrap();
    assert_eq!(status.phase, Some(ClusterPhase::Invalid));
    let degraded = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Degraded")
        .unwrap();
    assert_eq!(
        (degraded.status.as_str(), degraded.reason.as_str()),
        ("True", "InvalidSpec")
    );
    assert!(degraded.message.contains("spec.replicas is 4"));
    assert!(metrics.encode().unwrap().contains("error=\"InvalidSpec\""));

    // Same invalid spec again: no new event, no status write.
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let writes: Vec<_> = api
        .take_calls()
        .into_iter()
        .filter(Call::is_write)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

fn elector(client: Client, identity: &str) -> LeaderElector {
    LeaderElector::new(
        client,
        LeaseConfig {
            name: "chronik-operator-leader".into(),
            namespace: "chronik-system".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_interval: Duration::from_millis(10),
        },
    )
}

const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/chronik-system/leases/chronik-operator-leader";

#[tokio::test]
async fn only_one_replica_holds_the_lease() {
    let api = FakeApi::default();
    let client = api.start();
    let a = elector(client.clone(), "operator-a");
    let b = elector(client, "operator-b");

    assert!(
        a.try_acquire_or_renew().await.unwrap(),
        "a creates the Lease"
    );
    assert!(
        !b.try_acquire_or_renew().await.unwrap(),
        "b must wait while a renews"
    );
    assert!(a.try_acquire_or_renew().await.unwrap(), "a renews");
    let lease = api.object(LEASE).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "operator-a");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 15);

    // a's Lease expires (no renewal for longer than its duration): b takes over.
    api.state.lock().unwrap().objects.get_mut(LEASE).unwrap()["spec"]["renewTime"] =
        json!("2020-01-01T00:00:00.000000Z");
    assert!(b.try_acquire_or_renew().await.unwrap());
    let lease = api.object(LEASE).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "operator-b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    assert!(!a.try_acquire_or_renew().await.unwrap(), "a lost it");

    // b releases on shutdown: a gets it at once.
    b.release().await;
    assert!(a.try_acquire_or_renew().await.unwrap());
}

#[tokio::test]
async fn a_write_based_on_a_stale_read_loses_the_race() {
    let api = FakeApi::default();
    let client = api.start();
    let a = elector(client.clone(), "operator-a");
    let b = elector(client, "operator-b");
    assert!(a.try_acquire_or_renew().await.unwrap());
    api.state.lock().unwrap().objects.get_mut(LEASE).unwrap()["spec"]["renewTime"] =
        json!("2020-01-01T00:00:00.000000Z");
    // Between b's read and b's write, someone else writes the Lease: b's
    // replace carries a stale resourceVersion and must not win.
    api.state.lock().unwrap().race_after_get = Some(LEASE.to_string());
    api.take_calls();
    assert!(!b.try_acquire_or_renew().await.unwrap());
    let calls = api.take_calls();
    assert_eq!(
        calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(),
        ["GET", "PUT"]
    );
    assert_eq!(
        api.object(LEASE).unwrap()["spec"]["holderIdentity"],
        "operator-a"
    );
}

#[tokio::test]
async fn lost_status_does_not_change_the_peer_list() {
    let api = FakeApi::default();
    let client = api.start();
    let brokers = Arc::new(FakeBrokers::default());
    three_node_answers(&brokers, 1, &[]);
    let (ctx, _, membership) = context_with_membership(client, brokers);
    api.store_cluster(&common::cluster("orders", 3));
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .unwrap();
    let path = format!("/apis/apps/v1{NS}/statefulsets/orders");
    let template_before = api.object(&path).unwrap()["spec"]["template"].clone();
    assert_eq!(
        api.object(&path).unwrap()["metadata"]["annotations"]["chronik.io/initial-replicas"],
        "3"
    );

    // The status is lost (e.g. a restore without status) and replicas changed.
    let mut cluster = api.cluster("orders");
    cluster.status = None;
    cluster.spec.replicas = 5;
    api.store_cluster(&cluster);
    reconcile(Arc::new(cluster), ctx).await.unwrap();
    let sts = api.object(&path).unwrap();
    assert_eq!(
        sts["spec"]["template"], template_before,
        "pod template must not change"
    );
    // Scaling starts with a learner; the StatefulSet grows after it.
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(
        membership.actions.lock().unwrap().clone(),
        vec![(
            1,
            Action::AddLearner {
                id: 4,
                url: raft_url(4)
            }
        )]
    );
    assert_eq!(
        api.cluster("orders").status.unwrap().initial_replicas,
        Some(3)
    );
}

#[tokio::test]
async fn a_refused_apply_is_reported_on_the_resource_and_retried() {
    let api = FakeApi::default();
    let client = api.start();
    let brokers = Arc::new(FakeBrokers::default());
    let (ctx, metrics) = context(client, brokers);
    api.store_cluster(&common::cluster("orders", 3));
    let sts_path = format!("/apis/apps/v1{NS}/statefulsets/orders");
    api.state.lock().unwrap().refuse_patch = Some(sts_path.clone());

    let result = reconcile(Arc::new(api.cluster("orders")), ctx.clone()).await;
    let error = result.expect_err("the controller retries with backoff");
    assert!(
        error
            .to_string()
            .contains("applying StatefulSet streams/orders"),
        "{error}"
    );
    let writes: Vec<_> = api
        .take_calls()
        .into_iter()
        .filter(Call::is_write)
        .map(|c| c.path)
        .collect();
    assert_eq!(writes[3], sts_path);
    assert_eq!(writes[4], format!("/apis/events.k8s.io/v1{NS}/events"));
    assert_eq!(
        writes[5],
        format!("/apis/chronik.io/v1alpha1{NS}/chronikclusters/orders/status")
    );
    assert_eq!(
        writes.len(),
        6,
        "no PDB after a failed StatefulSet: {writes:?}"
    );

    let status = api.cluster("orders").status.unwrap();
    let degraded = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Degraded")
        .unwrap();
    assert_eq!(
        (degraded.status.as_str(), degraded.reason.as_str()),
        ("True", "ApplyFailed")
    );
    assert!(
        degraded.message.contains("Forbidden"),
        "{}",
        degraded.message
    );
    assert!(metrics.encode().unwrap().contains("error=\"Apply\""));

    // Once the API server accepts it again, the next pass heals the status.
    api.state.lock().unwrap().refuse_patch = None;
    let brokers = FakeBrokers::default();
    three_node_answers(&brokers, 1, &[]);
    let (ctx, _) = context(ctx.client.clone(), Arc::new(brokers));
    reconcile(Arc::new(api.cluster("orders")), ctx)
        .await
        .unwrap();
    let status = api.cluster("orders").status.unwrap();
    let degraded = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Degraded")
        .unwrap();
    assert_eq!(degraded.status, "False");
    assert_eq!(status.phase, Some(ClusterPhase::Running));
}
