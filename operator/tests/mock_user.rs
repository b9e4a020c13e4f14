//! The ChronikUser controller against the fake API server and fake brokers
//! that keep users and ACLs: create (finalizer, Secret, credential, ACLs),
//! an idempotent second pass, an ACL update, deletion through the
//! finalizer, a TLS user, and a missing, unready or failing cluster.

mod support;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chronik_api::security::{
    AclBinding, AclOperation, AclPermission, PatternType, Principal, ResourceType, ScramMechanism,
};
use chronik_operator::brokers::BrokerError;
use chronik_operator::user::act::FINALIZER;
use chronik_operator::user::crd::{ChronikUser, ChronikUserStatus};
use chronik_operator::user::reconcile;
use chronik_operator::user::scram::salted_password;
use kube::api::ObjectMeta;
use serde_json::{json, Value};
use support::fake_api::*;

const USERS: &str = "/apis/chronik.io/v1alpha1/namespaces/streams/chronikusers";
const SECRETS: &str = "/api/v1/namespaces/streams/secrets";

/// A ChronikUser as the API server hands it over.
fn user(name: &str, spec: Value) -> ChronikUser {
    ChronikUser {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("streams".to_string()),
            uid: Some(format!("uid-of-{name}")),
            generation: Some(1),
            resource_version: Some("1".to_string()),
            ..ObjectMeta::default()
        },
        spec: serde_json::from_value(spec).expect("spec"),
        status: None,
    }
}

fn scram_spec(acls: Value) -> Value {
    json!({"cluster": "orders", "authentication": {"type": "scram-sha-512"},
           "authorization": {"acls": acls}})
}

fn store_user(h: &Harness, user: &ChronikUser) {
    let path = format!("{USERS}/{}", user.metadata.name.as_deref().expect("name"));
    let value = serde_json::to_value(user).expect("user");
    h.api.state.lock().unwrap().objects.insert(path, value);
}

fn stored_user(h: &Harness, name: &str) -> ChronikUser {
    let value = h
        .api
        .object(&format!("{USERS}/{name}"))
        .expect("stored user");
    serde_json::from_value(value).expect("user")
}

/// A healthy cluster `orders` led by node 2, with a SCRAM listener and a
/// TLS listener in its spec, and the operator's certificate Secret.
fn store_ready_cluster(h: &Harness) {
    let cluster = support::cluster("orders", 3);
    let mut value = serde_json::to_value(&cluster).expect("cluster");
    value["spec"]["listeners"] = json!([
        {"name": "plain", "port": 9092, "type": "internal", "tls": false,
         "authentication": {"type": "none"}},
        {"name": "scram", "port": 9094, "type": "internal", "tls": true,
         "authentication": {"type": "scram-sha-512"}},
        {"name": "mtls", "port": 9095, "type": "internal", "tls": true,
         "authentication": {"type": "tls"}}
    ]);
    value["status"] = json!({"leader": {"id": 2, "pod": "orders-1"}, "conditions": [
        {"type": "Available", "status": "True", "reason": "QuorumHealthy", "message": "",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
    let path = "/apis/chronik.io/v1alpha1/namespaces/streams/chronikclusters/orders";
    h.api
        .state
        .lock()
        .unwrap()
        .objects
        .insert(path.to_string(), value);
    // The cluster runs peer mTLS (the default): the operator reaches its
    // brokers with the identity in `<cluster>-operator`.
    store_secret(
        h,
        "orders-operator",
        &[("ca.crt", "CA"), ("tls.crt", "CERT"), ("tls.key", "KEY")],
    );
}

fn store_secret(h: &Harness, name: &str, data: &[(&str, &str)]) {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), json!(STANDARD.encode(v))))
        .collect();
    let value = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "streams", "resourceVersion": "1"},
        "data": data});
    h.api
        .state
        .lock()
        .unwrap()
        .objects
        .insert(format!("{SECRETS}/{name}"), value);
}

/// The Secret's keys, decoded.
fn secret(h: &Harness, name: &str) -> serde_json::Map<String, Value> {
    let value = h.api.object(&format!("{SECRETS}/{name}")).expect("secret");
    value["data"]
        .as_object()
        .expect("data")
        .iter()
        .map(|(k, v)| {
            let bytes = STANDARD
                .decode(v.as_str().expect("base64"))
                .expect("base64");
            (k.clone(), json!(String::from_utf8(bytes).expect("utf-8")))
        })
        .collect()
}

fn ready(status: &ChronikUserStatus) -> (String, String) {
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready condition");
    (c.status.clone(), c.reason.clone())
}

/// Two passes: the first adds the finalizer, the second does the work.
async fn create(h: &Harness, name: &str) -> ChronikUser {
    reconcile(Arc::new(stored_user(h, name)), h.ctx.clone())
        .await
        .expect("finalizer pass");
    let with_finalizer = stored_user(h, name);
    assert_eq!(
        with_finalizer.metadata.finalizers,
        Some(vec![FINALIZER.to_string()])
    );
    reconcile(Arc::new(with_finalizer), h.ctx.clone())
        .await
        .expect("create pass");
    stored_user(h, name)
}

/// A CA certificate and key (PEM), as the operator keeps them in Secrets.
fn ca(name: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("CA");
    (cert.pem(), key.serialize_pem())
}

fn binding(user: &str, resource_type: ResourceType, name: &str, op: AclOperation) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.to_string(),
        pattern_type: PatternType::Literal,
        principal: Principal::user(user),
        host: "*".to_string(),
        operation: op,
        permission: AclPermission::Allow,
    }
}

#[tokio::test]
async fn a_scram_user_gets_its_secret_credential_and_acls_then_nothing_more() {
    let h = Harness::new();
    store_ready_cluster(&h);
    // Another principal's ACL is never touched.
    let bob = binding("bob", ResourceType::Topic, "orders", AclOperation::Read);
    h.brokers.security.lock().unwrap().acls.insert(bob.clone());
    let acls = json!([
        {"resource": {"type": "topic", "name": "orders"}, "operations": ["Read", "Write", "Describe"]},
        {"resource": {"type": "group", "name": "orders-", "patternType": "prefixed"}, "operations": ["Read"]}
    ]);
    store_user(&h, &user("alice", scram_spec(acls)));
    let alice = create(&h, "alice").await;

    let data = secret(&h, "alice");
    let password = data["password"].as_str().expect("password").to_string();
    assert_eq!(password.len(), 32);
    let jaas = format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"{password}\";"
    );
    assert_eq!(data["sasl.jaas.config"], json!(jaas));
    let properties = data["client.properties"].as_str().expect("properties");
    assert!(properties.contains("bootstrap.servers=orders.streams.svc.cluster.local:9094\n"));
    assert!(properties.contains("security.protocol=SASL_SSL\n"));
    assert!(properties.contains("sasl.mechanism=SCRAM-SHA-512\n"));
    assert!(properties.contains(&format!("sasl.jaas.config={jaas}\n")));
    let stored = h.api.object(&format!("{SECRETS}/alice")).expect("secret");
    assert_eq!(
        stored["metadata"]["ownerReferences"][0]["kind"],
        "ChronikUser"
    );
    assert_eq!(
        stored["metadata"]["ownerReferences"][0]["uid"],
        "uid-of-alice"
    );

    // The brokers got a salted credential of that password, not the password.
    {
        let security = h.brokers.security.lock().unwrap();
        let credential = &security.scram["alice"][&ScramMechanism::ScramSha512];
        assert_eq!(credential.iterations, 4096);
        let salt = STANDARD.decode(&credential.salt).expect("salt");
        let expected = salted_password(ScramMechanism::ScramSha512, &password, &salt, 4096);
        assert_eq!(credential.salted_password, STANDARD.encode(expected));
        let principal = Principal::user("alice");
        let mine: Vec<_> = security
            .acls
            .iter()
            .filter(|b| b.principal == principal)
            .collect();
        assert_eq!(mine.len(), 4, "{mine:#?}");
        assert!(mine.iter().any(|b| b.resource_type == ResourceType::Group
            && b.pattern_type == PatternType::Prefixed
            && b.resource_name == "orders-"));
        assert!(security.acls.contains(&bob));
    }

    let status = alice.status.clone().expect("status");
    assert_eq!(ready(&status), ("True".to_string(), "Ready".to_string()));
    assert_eq!(status.principal.as_deref(), Some("User:alice"));
    assert_eq!(status.secret.as_deref(), Some("alice"));
    assert_eq!(
        (status.acls, status.observed_generation),
        (Some(4), Some(1))
    );

    // Second pass: reads only.
    h.api.take_calls();
    h.brokers.security.lock().unwrap().take_calls();
    reconcile(Arc::new(alice), h.ctx.clone())
        .await
        .expect("second pass");
    let writes: Vec<_> = h
        .api
        .take_calls()
        .into_iter()
        .filter(|c| c.is_write())
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    let calls = h.brokers.security.lock().unwrap().take_calls();
    assert_eq!(calls, ["GET /v1/users", "GET /v1/acls"]);
    assert_eq!(
        secret(&h, "alice")["password"],
        json!(password),
        "password kept"
    );
}

#[tokio::test]
async fn changed_acls_are_created_and_deleted_exactly_and_a_lost_credential_is_sent_again() {
    let h = Harness::new();
    store_ready_cluster(&h);
    let acls =
        json!([{"resource": {"type": "topic", "name": "orders"}, "operations": ["Read", "Write"]}]);
    store_user(&h, &user("alice", scram_spec(acls)));
    let mut alice = create(&h, "alice").await;
    let password = secret(&h, "alice")["password"].clone();

    alice.spec = serde_json::from_value(scram_spec(json!([
        {"resource": {"type": "topic", "name": "orders"}, "operations": ["Read"]},
        {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"]}
    ])))
    .expect("spec");
    alice.metadata.generation = Some(2);
    store_user(&h, &alice);
    // The brokers lost the credential (a recreated cluster).
    {
        let mut security = h.brokers.security.lock().unwrap();
        security.scram.clear();
        security.take_calls();
    }
    reconcile(Arc::new(alice), h.ctx.clone())
        .await
        .expect("update");
    let calls = h.brokers.security.lock().unwrap().take_calls();
    assert_eq!(
        calls,
        [
            "GET /v1/users",
            "GET /v1/acls",
            "PUT /v1/users/alice/scram",
            "POST /v1/acls (1 bindings)",
            "POST /v1/acls/delete (1 exact)",
        ]
    );
    {
        let security = h.brokers.security.lock().unwrap();
        let mut ops: Vec<_> = security
            .acls
            .iter()
            .map(|b| (b.resource_type, b.resource_name.clone(), b.operation))
            .collect();
        ops.sort();
        assert_eq!(
            ops,
            [
                (
                    ResourceType::Topic,
                    "orders".to_string(),
                    AclOperation::Read
                ),
                (
                    ResourceType::Cluster,
                    "kafka-cluster".to_string(),
                    AclOperation::IdempotentWrite
                ),
            ]
        );
    }
    assert_eq!(secret(&h, "alice")["password"], password, "same password");
    let status = stored_user(&h, "alice").status.expect("status");
    assert_eq!(status.observed_generation, Some(2));
}

#[tokio::test]
async fn deleting_a_user_removes_its_credential_and_acls_then_the_finalizer() {
    let h = Harness::new();
    store_ready_cluster(&h);
    let bob = binding("bob", ResourceType::Topic, "orders", AclOperation::Read);
    h.brokers.security.lock().unwrap().acls.insert(bob.clone());
    let acls =
        json!([{"resource": {"type": "topic", "name": "orders"}, "operations": ["Read", "Write"]}]);
    store_user(&h, &user("alice", scram_spec(acls)));
    let mut alice = create(&h, "alice").await;
    h.brokers.security.lock().unwrap().take_calls();

    // A broker failure keeps the finalizer and says why.
    alice.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    store_user(&h, &alice);
    let unreachable = BrokerError::Unreachable {
        method: "DELETE",
        url: "http://orders-1".to_string(),
        message: "connection refused".to_string(),
    };
    h.brokers.security.lock().unwrap().fail = Some(unreachable);
    reconcile(Arc::new(alice.clone()), h.ctx.clone())
        .await
        .expect_err("brokers down");
    let kept = stored_user(&h, "alice");
    assert_eq!(kept.metadata.finalizers, Some(vec![FINALIZER.to_string()]));
    let status = kept.status.clone().expect("status");
    assert_eq!(
        ready(&status),
        ("False".to_string(), "BrokerError".to_string())
    );

    h.brokers.security.lock().unwrap().fail = None;
    h.brokers.security.lock().unwrap().take_calls();
    reconcile(Arc::new(kept), h.ctx.clone())
        .await
        .expect("cleanup");
    {
        let security = h.brokers.security.lock().unwrap();
        assert_eq!(
            security.calls,
            [
                "DELETE /v1/users/alice/scram/SCRAM-SHA-512",
                "POST /v1/acls/delete (principal User:alice)",
            ]
        );
        assert!(security.scram.is_empty());
        assert_eq!(security.acls.iter().collect::<Vec<_>>(), [&bob]);
    }
    let gone = stored_user(&h, "alice");
    assert_eq!(gone.metadata.finalizers, Some(Vec::new()));
}

#[tokio::test]
async fn a_tls_user_gets_a_certificate_of_the_clients_ca() {
    let h = Harness::new();
    store_ready_cluster(&h);
    let clients_ca = ca("orders-clients-ca");
    let cluster_ca = ca("orders-cluster-ca");
    let spec = json!({"cluster": "orders", "authentication": {"type": "tls"},
        "authorization": {"acls": [{"resource": {"type": "topic", "name": "orders"}, "operations": ["Read"]}]}});
    store_user(&h, &user("app", spec.clone()));
    // Without the clients CA the user waits.
    let app = create(&h, "app").await;
    let status = app.status.clone().expect("status");
    assert_eq!(
        ready(&status),
        ("False".to_string(), "ClusterNotReady".to_string())
    );

    store_secret(
        &h,
        "orders-clients-ca",
        &[("ca.crt", &clients_ca.0), ("ca.key", &clients_ca.1)],
    );
    store_secret(&h, "orders-cluster-ca-cert", &[("ca.crt", &cluster_ca.0)]);
    reconcile(Arc::new(app), h.ctx.clone())
        .await
        .expect("issue");
    let data = secret(&h, "app");
    let cert = data["user.crt"].as_str().expect("user.crt");
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert.as_bytes()).expect("pem");
    let parsed = pem.parse_x509().expect("x509");
    assert_eq!(parsed.subject().to_string(), "CN=app");
    assert_eq!(parsed.issuer().to_string(), "CN=orders-clients-ca");
    assert!(data["user.key"]
        .as_str()
        .expect("key")
        .contains("PRIVATE KEY"));
    assert_eq!(data["ca.crt"], json!(cluster_ca.0));
    let properties = data["client.properties"].as_str().expect("properties");
    assert!(properties.contains("bootstrap.servers=orders.streams.svc.cluster.local:9095\n"));
    assert!(properties.contains("security.protocol=SSL\n"));
    assert!(properties.contains("ssl.keystore.certificate.chain=-----BEGIN CERTIFICATE----- \\\n"));
    assert!(properties.contains("ssl.truststore.certificates=-----BEGIN CERTIFICATE----- \\\n"));
    {
        let security = h.brokers.security.lock().unwrap();
        assert!(
            security.scram.is_empty(),
            "no SCRAM credential for a tls user"
        );
        assert_eq!(
            security
                .acls
                .iter()
                .map(|b| b.principal.to_string())
                .collect::<Vec<_>>(),
            ["User:CN=app"]
        );
    }
    let status = stored_user(&h, "app").status.expect("status");
    assert_eq!(ready(&status), ("True".to_string(), "Ready".to_string()));

    // The certificate is kept on the next pass.
    reconcile(Arc::new(stored_user(&h, "app")), h.ctx.clone())
        .await
        .expect("again");
    assert_eq!(secret(&h, "app")["user.crt"], json!(cert));
}

#[tokio::test]
async fn a_missing_or_unready_cluster_or_failing_brokers_show_in_ready() {
    let h = Harness::new();
    store_user(&h, &user("alice", scram_spec(json!([]))));
    let alice = create(&h, "alice").await;
    let status = alice.status.clone().expect("status");
    assert_eq!(
        ready(&status),
        ("False".to_string(), "ClusterNotFound".to_string())
    );
    assert!(h.brokers.security.lock().unwrap().calls.is_empty());
    assert!(h.api.object(&format!("{SECRETS}/alice")).is_none());

    h.api.store_cluster(&support::cluster("orders", 3));
    reconcile(Arc::new(alice), h.ctx.clone())
        .await
        .expect("unready");
    let alice = stored_user(&h, "alice");
    let status = alice.status.clone().expect("status");
    assert_eq!(
        ready(&status),
        ("False".to_string(), "ClusterNotReady".to_string())
    );

    store_ready_cluster(&h);
    h.brokers.security.lock().unwrap().fail = Some(BrokerError::NoLeader {
        method: "GET",
        url: "http://orders-1/v1/users".to_string(),
    });
    reconcile(Arc::new(alice), h.ctx.clone())
        .await
        .expect_err("brokers fail");
    let status = stored_user(&h, "alice").status.expect("status");
    assert_eq!(
        ready(&status),
        ("False".to_string(), "BrokerError".to_string())
    );
    let failures = h.metrics.encode().expect("metrics");
    assert!(failures.contains("error=\"UserBroker\""), "{failures}");
    assert!(failures.contains("error=\"ClusterNotFound\""), "{failures}");
}

#[tokio::test]
async fn an_invalid_spec_is_reported_and_nothing_is_done() {
    let h = Harness::new();
    store_ready_cluster(&h);
    let acls = json!([{"resource": {"type": "group", "name": "g"}, "operations": ["Write"]}]);
    store_user(&h, &user("alice", scram_spec(acls)));
    let alice = create(&h, "alice").await;
    let status = alice.status.expect("status");
    assert_eq!(
        ready(&status),
        ("False".to_string(), "InvalidSpec".to_string())
    );
    let message = &status.conditions[0].message;
    assert!(
        message.contains("acls[0]") && message.contains("Write"),
        "{message}"
    );
    assert!(h.brokers.security.lock().unwrap().calls.is_empty());
}

/// The salted password the brokers hold for `user` matches `password`.
fn brokers_have_password(h: &Harness, user: &str, password: &str) -> bool {
    let security = h.brokers.security.lock().unwrap();
    let Some(credential) = security
        .scram
        .get(user)
        .and_then(|m| m.get(&ScramMechanism::ScramSha512))
    else {
        return false;
    };
    let salt = STANDARD.decode(&credential.salt).expect("salt");
    let salted = salted_password(
        ScramMechanism::ScramSha512,
        password,
        &salt,
        credential.iterations,
    );
    credential.salted_password == STANDARD.encode(salted)
}

#[tokio::test]
async fn a_password_is_handed_out_only_once_the_brokers_took_it_and_edits_are_sent() {
    let h = Harness::new();
    store_ready_cluster(&h);
    store_user(&h, &user("alice", scram_spec(json!([]))));
    reconcile(Arc::new(stored_user(&h, "alice")), h.ctx.clone())
        .await
        .expect("finalizer pass");
    h.brokers.security.lock().unwrap().fail = Some(BrokerError::NoLeader {
        method: "PUT",
        url: "http://orders-1/v1/users/alice/scram".to_string(),
    });
    reconcile(Arc::new(stored_user(&h, "alice")), h.ctx.clone())
        .await
        .expect_err("brokers refuse");
    assert!(
        h.api.object(&format!("{SECRETS}/alice")).is_none(),
        "no Secret with a password the brokers do not know"
    );

    h.brokers.security.lock().unwrap().fail = None;
    reconcile(Arc::new(stored_user(&h, "alice")), h.ctx.clone())
        .await
        .expect("brokers back");
    let password = secret(&h, "alice")["password"]
        .as_str()
        .expect("password")
        .to_string();
    assert!(brokers_have_password(&h, "alice", &password));

    // Someone sets the password in the Secret: the brokers get it.
    let path = format!("{SECRETS}/alice");
    {
        let mut st = h.api.state.lock().unwrap();
        let stored = st.objects.get_mut(&path).expect("secret");
        stored["data"]["password"] = json!(STANDARD.encode("chosen-by-hand"));
    }
    reconcile(Arc::new(stored_user(&h, "alice")), h.ctx.clone())
        .await
        .expect("edited password");
    assert!(brokers_have_password(&h, "alice", "chosen-by-hand"));
    let data = secret(&h, "alice");
    assert_eq!(data["password"], json!("chosen-by-hand"));
    assert!(data["sasl.jaas.config"]
        .as_str()
        .expect("jaas")
        .contains("password=\"chosen-by-hand\""));
}

#[tokio::test]
async fn a_user_of_a_cluster_that_is_gone_is_deleted_without_broker_calls() {
    let h = Harness::new();
    let mut carol = user("carol", scram_spec(json!([])));
    carol.spec.cluster = "gone".to_string();
    carol.metadata.finalizers = Some(vec![FINALIZER.to_string()]);
    carol.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    store_user(&h, &carol);
    reconcile(Arc::new(carol), h.ctx.clone())
        .await
        .expect("finalize");
    assert_eq!(
        stored_user(&h, "carol").metadata.finalizers,
        Some(Vec::new())
    );
    assert!(h.brokers.security.lock().unwrap().calls.is_empty());
}

/// Under peer mTLS the brokers serve users and ACLs only on the admin
/// port: the controller must call `https://<pod>:<admin>`, not the plain
/// HTTP port (which answers 403).
#[tokio::test]
async fn under_peer_mtls_the_users_api_is_called_on_the_admin_port() {
    let h = Harness::new();
    store_ready_cluster(&h);
    let path = "/apis/chronik.io/v1alpha1/namespaces/streams/chronikclusters/orders";
    {
        let mut state = h.api.state.lock().unwrap();
        let cluster = state.objects.get_mut(path).expect("cluster");
        cluster["spec"]["tls"] = json!({"peerMtls": true});
    }
    store_user(&h, &user("alice", scram_spec(json!([]))));
    create(&h, "alice").await;
    let urls = h.brokers.security.lock().unwrap().urls.clone();
    assert!(!urls.is_empty(), "GET /v1/users was not called");
    for url in urls {
        assert_eq!(
            url, "https://orders-1.orders-headless.streams.svc.cluster.local:8443",
            "the users API must be called on the leader's admin port"
        );
    }
}
