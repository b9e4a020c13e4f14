//! The security objects through the controller against the fake API
//! server: external Services and the advertised addresses following what
//! the Services and pods say, the certificate Secrets kept across passes,
//! and the broker client chosen per cluster (the operator's certificate
//! with peer mTLS, plain HTTP without).

mod support;

use std::sync::{Arc, Mutex};

use chronik_operator::brokers::{BrokerApi, BrokerClients, BrokerError, ClientTls};
use chronik_operator::controller::{reconcile, Context};
use chronik_operator::metrics::Metrics;
use serde_json::json;
use support::fake_api::*;

fn external_cluster() -> chronik_operator::crd::ChronikCluster {
    support::cluster_with(
        "orders",
        json!({"replicas": 3, "listeners": [
            {"name": "tls", "port": 9093, "tls": true, "authentication": {"type": "scram-sha-512"}},
            {"name": "external", "port": 9094, "type": "nodeport"}]}),
    )
}

fn store_pod(api: &FakeApi, ordinal: u64, host_ip: &str) {
    let name = format!("orders-{ordinal}");
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "streams"},
        "status": {"hostIP": host_ip,
            "conditions": [{"type": "Ready", "status": "True"}]}});
    api.state
        .lock()
        .unwrap()
        .objects
        .insert(format!("/api/v1{NS}/pods/{name}"), pod);
}

fn advertised(api: &FakeApi) -> String {
    let cm = api
        .object(&format!("/api/v1{NS}/configmaps/orders-advertised"))
        .expect("advertised ConfigMap");
    cm["data"]["advertised-listeners"]
        .as_str()
        .unwrap()
        .to_string()
}

fn node_port(api: &FakeApi, service: &str) -> u64 {
    api.object(&format!("/api/v1{NS}/services/{service}"))
        .unwrap()["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .unwrap()
}

fn writes(api: &FakeApi) -> Vec<String> {
    api.take_calls()
        .into_iter()
        .filter(Call::is_write)
        .map(|c| c.path)
        .collect()
}

#[tokio::test]
async fn node_port_addresses_are_advertised_and_follow_the_pods() {
    let Harness { api, ctx, .. } = Harness::with_leader(1);
    api.store_cluster(&external_cluster());
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .expect("first pass");
    let first = writes(&api);
    for service in [
        "orders-external-bootstrap",
        "orders-0-external",
        "orders-1-external",
        "orders-2-external",
    ] {
        let path = format!("/api/v1{NS}/services/{service}");
        assert!(first.contains(&path), "{path} not written: {first:?}");
    }
    // No pod has a node yet: nothing to advertise.
    assert_eq!(advertised(&api), "");

    for ordinal in 0..3 {
        store_pod(&api, ordinal, &format!("10.0.0.{}", ordinal + 1));
    }
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .expect("second pass");
    let expected: String = (0..3u64)
        .map(|o| {
            let port = node_port(&api, &format!("orders-{o}-external"));
            format!("{} external 10.0.0.{}:{port}\n", o + 1, o + 1)
        })
        .collect();
    assert_eq!(advertised(&api), expected);
    // The certificates name the node addresses too.
    let brokers = api
        .object(&format!("/api/v1{NS}/secrets/orders-brokers"))
        .unwrap();
    let pem = brokers["data"]["orders-1.crt"].as_str().unwrap();
    let pem = String::from_utf8(base64_decode(pem)).unwrap();
    let leaf = chronik_operator::certs::pem::leaf_facts("orders-1", &pem).unwrap();
    assert!(leaf.sans.contains("ip:10.0.0.2"), "{:?}", leaf.sans);
    assert!(
        leaf.sans.contains("dns:orders-1-external.streams.svc"),
        "{:?}",
        leaf.sans
    );

    api.take_calls();
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .expect("third pass");
    assert!(writes(&api).is_empty(), "nothing changed, nothing written");

    // orders-1 is rescheduled to another node: its line changes, and so
    // does its certificate; the pod template does not.
    let sts_before = api.object(&format!("/apis/apps/v1{NS}/statefulsets/orders"));
    store_pod(&api, 1, "10.0.0.9");
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .expect("fourth pass");
    let written = writes(&api);
    assert!(advertised(&api).contains("2 external 10.0.0.9:"));
    assert!(written.contains(&format!("/api/v1{NS}/configmaps/orders-advertised")));
    assert!(written.contains(&format!("/api/v1{NS}/secrets/orders-brokers")));
    assert!(
        !written.iter().any(|w| w.contains("statefulsets")),
        "{written:?}"
    );
    assert_eq!(
        api.object(&format!("/apis/apps/v1{NS}/statefulsets/orders")),
        sts_before
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// Records the identity each cluster is reached with.
struct RecordingClients {
    brokers: Arc<FakeBrokers>,
    seen: Mutex<Vec<Option<ClientTls>>>,
}

impl BrokerClients for RecordingClients {
    fn for_cluster(&self, tls: Option<&ClientTls>) -> Result<Arc<dyn BrokerApi>, BrokerError> {
        self.seen.lock().unwrap().push(tls.cloned());
        Ok(self.brokers.clone())
    }
}

async fn identity_used(spec: serde_json::Value) -> (Option<ClientTls>, FakeApi) {
    let api = FakeApi::default();
    let client = api.start();
    let clients = Arc::new(RecordingClients {
        brokers: Arc::new(FakeBrokers::default()),
        seen: Mutex::default(),
    });
    let ctx = Context::with_clients(client, clients.clone(), Arc::new(Metrics::new()));
    api.store_cluster(&support::cluster_with("orders", spec));
    reconcile(Arc::new(api.cluster("orders")), Arc::new(ctx))
        .await
        .expect("reconcile");
    let seen = clients.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    (seen[0].clone(), api)
}

#[tokio::test]
async fn brokers_are_reached_with_the_operator_certificate_unless_peer_mtls_is_off() {
    let (tls, api) = identity_used(json!({"replicas": 3})).await;
    let tls = tls.expect("peer mTLS: the operator's certificate");
    let operator = api
        .object(&format!("/api/v1{NS}/secrets/orders-operator"))
        .unwrap();
    let cert =
        String::from_utf8(base64_decode(operator["data"]["tls.crt"].as_str().unwrap())).unwrap();
    assert_eq!(tls.cert_pem, cert);
    let bundle = api
        .object(&format!("/api/v1{NS}/secrets/orders-cluster-ca-cert"))
        .unwrap();
    let bundle =
        String::from_utf8(base64_decode(bundle["data"]["ca.crt"].as_str().unwrap())).unwrap();
    assert_eq!(tls.ca_pem, bundle);

    let (tls, _) = identity_used(json!({"replicas": 3, "tls": {"peerMtls": false}})).await;
    assert!(tls.is_none(), "plain HTTP without peer mTLS");
}

#[tokio::test]
async fn a_missing_user_ca_stops_the_pass_before_any_workload_is_written() {
    let Harness { api, ctx, .. } = Harness::with_leader(1);
    api.store_cluster(&support::cluster_with(
        "orders",
        json!({"replicas": 3, "tls": {"ca": {"secretName": "corp-ca"}}}),
    ));
    let error = reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .expect_err("no CA to sign with");
    assert!(error.to_string().contains("corp-ca"), "{error}");
    let written = writes(&api);
    assert!(
        written
            .iter()
            .all(|w| w.contains("/events") || w.ends_with("/status")),
        "only the report is written: {written:?}"
    );
    let status = api.cluster("orders").status.unwrap();
    let degraded = support::condition(&status, "Degraded");
    assert_eq!(
        (degraded.status.as_str(), degraded.reason.as_str()),
        ("True", "CertificatesFailed")
    );
    assert!(degraded.message.contains("spec.tls.ca.secretName"));
}

#[tokio::test]
async fn with_cert_manager_certificates_are_applied_and_no_ca_key_is_made() {
    let Harness { api, ctx, .. } = Harness::with_leader(1);
    api.store_cluster(&support::cluster_with(
        "orders",
        json!({"replicas": 3, "tls": {"ca": {"certManager": {"issuerRef": {"name": "corp"}}}}}),
    ));
    reconcile(Arc::new(api.cluster("orders")), ctx.clone())
        .await
        .expect("reconcile");
    let written = writes(&api);
    for name in ["orders-0-cert", "orders-2-cert", "orders-operator-cert"] {
        let path = format!("/apis/cert-manager.io/v1{NS}/certificates/{name}");
        assert!(written.contains(&path), "{path} missing: {written:?}");
    }
    assert!(!written.contains(&format!("/api/v1{NS}/secrets/orders-cluster-ca")));
    let certificate = api
        .object(&format!(
            "/apis/cert-manager.io/v1{NS}/certificates/orders-1-cert"
        ))
        .unwrap();
    assert_eq!(certificate["spec"]["issuerRef"]["kind"], "Issuer");
    assert_eq!(certificate["spec"]["uris"][0], "urn:chronik:node:2");
}
