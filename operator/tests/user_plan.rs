//! The ChronikUser controller's pure parts: validation into principals and
//! ACL bindings, the ACL difference, when a SCRAM credential is sent, how
//! clients connect, the Secret's contents, and the Ready condition.

use chronik_api::security::{
    AclBinding, AclOperation, AclPermission, PatternType, Principal, ResourceType, ScramInfo,
    ScramMechanism, UserCredentials,
};
use chronik_operator::user::crd::{AuthenticationType, ChronikUser};
use chronik_operator::user::credentials::Material;
use chronik_operator::user::plan::{
    connection, diff_acls, password_digest, plan_brokers, Connection, PlanInput,
};
use chronik_operator::user::secret::{build_secret, client_properties, secret_text};
use chronik_operator::user::status::{not_ready_status, ready_status, NotReady};
use chronik_operator::user::validate::{validate_user, UserValidationError, ValidatedUser};
use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;
use serde_json::{json, Value};

fn user(name: &str, spec: Value) -> ChronikUser {
    ChronikUser {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("streams".to_string()),
            uid: Some("u-1".to_string()),
            generation: Some(3),
            ..ObjectMeta::default()
        },
        spec: serde_json::from_value(spec).expect("spec"),
        status: None,
    }
}

fn validated(auth: &str, acls: Value) -> Result<ValidatedUser, UserValidationError> {
    validate_user(&user(
        "alice",
        json!({"cluster": "orders", "authentication": {"type": auth},
               "authorization": {"acls": acls}}),
    ))
}

fn binding(principal: &Principal, name: &str, op: AclOperation) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: name.to_string(),
        pattern_type: PatternType::Literal,
        principal: principal.clone(),
        host: "*".to_string(),
        operation: op,
        permission: AclPermission::Allow,
    }
}

#[test]
fn rules_become_one_binding_per_operation_for_the_principal() {
    let acls = json!([
        {"resource": {"type": "topic", "name": "orders"}, "operations": ["Read", "Write"]},
        {"resource": {"type": "topic", "name": "orders"}, "operations": ["Read"]},
        {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"], "type": "deny", "host": "10.1.1.1"}
    ]);
    let scram = validated("scram-sha-512", acls.clone()).expect("valid");
    assert_eq!(scram.principal.to_string(), "User:alice");
    assert_eq!(scram.acls.len(), 3, "the repeated Read is one binding");
    let cluster = scram
        .acls
        .iter()
        .find(|b| b.resource_type == ResourceType::Cluster)
        .expect("cluster binding");
    assert_eq!(
        (
            cluster.resource_name.as_str(),
            cluster.host.as_str(),
            cluster.permission
        ),
        ("kafka-cluster", "10.1.1.1", AclPermission::Deny)
    );
    let tls = validated("tls", acls).expect("valid");
    assert_eq!(tls.principal.to_string(), "User:CN=alice");
    assert!(tls.acls.iter().all(|b| b.principal == tls.principal));
    assert_eq!(tls.authentication, AuthenticationType::Tls);
}

#[test]
fn invalid_rules_and_names_are_refused_naming_the_field() {
    let group_write = validated(
        "scram-sha-512",
        json!([{"resource": {"type": "group", "name": "g"}, "operations": ["Write"]}]),
    );
    assert!(matches!(
        group_write,
        Err(UserValidationError::InvalidAcl { index: 0, .. })
    ));
    let nameless = validated(
        "scram-sha-512",
        json!([{"resource": {"type": "topic", "name": "t"}, "operations": ["Read"]},
               {"resource": {"type": "topic"}, "operations": ["Read"]}]),
    );
    let message = nameless.expect_err("no name").to_string();
    assert!(
        message.starts_with("spec.authorization.acls[1]: resource.name is required"),
        "{message}"
    );
    let prefixed_cluster = validated(
        "scram-sha-512",
        json!([{"resource": {"type": "cluster", "patternType": "prefixed"}, "operations": ["Create"]}]),
    );
    assert!(prefixed_cluster.is_err());
    let no_ops = validated(
        "scram-sha-512",
        json!([{"resource": {"type": "topic", "name": "t"}, "operations": []}]),
    );
    assert!(no_ops.is_err());
    let bad_name = validate_user(&user(
        "Alice_1",
        json!({"cluster": "orders", "authentication": {"type": "tls"}}),
    ));
    assert!(matches!(bad_name, Err(UserValidationError::InvalidName(_))));
}

#[test]
fn the_acl_difference_touches_only_the_principal() {
    let alice = Principal::user("alice");
    let bob = Principal::user("bob");
    let desired = vec![
        binding(&alice, "a", AclOperation::Read),
        binding(&alice, "b", AclOperation::Read),
    ];
    let live = vec![
        binding(&alice, "a", AclOperation::Read),
        binding(&alice, "c", AclOperation::Write),
        binding(&bob, "b", AclOperation::Read),
        binding(&bob, "z", AclOperation::All),
    ];
    let diff = diff_acls(&desired, &live, &alice);
    assert_eq!(diff.create, vec![binding(&alice, "b", AclOperation::Read)]);
    assert_eq!(diff.delete, vec![binding(&alice, "c", AclOperation::Write)]);
    assert!(diff_acls(&desired, &desired, &alice).is_empty());
}

#[test]
fn a_scram_credential_is_sent_unless_recorded_and_listed() {
    let alice = Principal::user("alice");
    let material = Material::Scram {
        password: "p".to_string(),
        fresh: false,
    };
    let listed = |mechanism| {
        vec![UserCredentials {
            user: "alice".to_string(),
            credentials: vec![ScramInfo {
                mechanism,
                iterations: 4096,
            }],
        }]
    };
    let has = listed(ScramMechanism::ScramSha512);
    let other = listed(ScramMechanism::ScramSha256);
    let digest = password_digest("p");
    assert_eq!(
        digest,
        "148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940"
    );
    let upsert = |material: &Material, sent: Option<&str>, users: &[UserCredentials]| {
        plan_brokers(&PlanInput {
            user: "alice",
            principal: &alice,
            material,
            sent,
            scram_users: users,
            desired: &[],
            live: &[],
        })
        .upsert_scram
    };
    assert!(
        !upsert(&material, Some(&digest), &has),
        "recorded and listed"
    );
    assert!(upsert(&material, None, &has), "never recorded as sent");
    assert!(
        upsert(&material, Some(&password_digest("old")), &has),
        "the Secret's password changed"
    );
    assert!(
        upsert(&material, Some(&digest), &other),
        "no SHA-512 credential"
    );
    assert!(upsert(&material, Some(&digest), &[]), "a recreated cluster");
    let tls = Material::Tls {
        cert: String::new(),
        key: String::new(),
        fresh: true,
    };
    assert!(!upsert(&tls, None, &[]));
}

#[test]
fn clients_connect_through_the_first_matching_listener() {
    let host = "orders.streams.svc.cluster.local";
    let none = connection(
        &json!({"replicas": 3}),
        AuthenticationType::ScramSha512,
        host,
    );
    assert_eq!(
        none,
        Connection {
            bootstrap: None,
            tls: true
        }
    );
    let spec = json!({"listeners": [
        {"name": "ext", "port": 9094, "type": "nodeport", "tls": true, "authentication": {"type": "scram-sha-512"}},
        {"name": "in", "port": 9093, "tls": false, "authentication": {"type": "scram-sha-512"}},
        {"name": "certs", "port": 9095, "type": "internal", "tls": true, "authentication": {"type": "tls"}}
    ]});
    let external = connection(&spec, AuthenticationType::ScramSha512, host);
    assert_eq!(
        external,
        Connection {
            bootstrap: None,
            tls: true
        },
        "a NodePort address is not known from the spec"
    );
    let tls = connection(&spec, AuthenticationType::Tls, host);
    assert_eq!(
        tls.bootstrap.as_deref(),
        Some("orders.streams.svc.cluster.local:9095")
    );
    let plain = json!({"listeners": [
        {"name": "in", "port": 9093, "authentication": {"type": "scram-sha-512"}}]});
    let plain = connection(&plain, AuthenticationType::ScramSha512, host);
    assert_eq!(
        (plain.bootstrap.as_deref(), plain.tls),
        (Some("orders.streams.svc.cluster.local:9093"), false)
    );
}

#[test]
fn the_scram_secret_holds_password_jaas_and_properties() {
    let alice = validated("scram-sha-512", json!([])).expect("valid");
    let material = Material::Scram {
        password: "pw".to_string(),
        fresh: false,
    };
    let plain = Connection {
        bootstrap: Some("orders.streams.svc:9093".to_string()),
        tls: false,
    };
    let secret = build_secret(&alice, &material, &plain, None);
    let data = secret_text(Some(&secret));
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["client.properties", "password", "sasl.jaas.config"]
    );
    assert_eq!(data["password"], "pw");
    let jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"pw\";";
    assert_eq!(data["sasl.jaas.config"], jaas);
    assert_eq!(
        data["client.properties"],
        format!(
            "bootstrap.servers=orders.streams.svc:9093\nsecurity.protocol=SASL_PLAINTEXT\n\
             sasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config={jaas}\n"
        )
    );
    let meta = &secret.metadata;
    assert_eq!(meta.name.as_deref(), Some("alice"));
    assert_eq!(
        meta.annotations.as_ref().expect("annotations")["chronik.io/scram-password-sha256"],
        password_digest("pw")
    );
    let owner = &meta.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("ChronikUser", "u-1", Some(true))
    );
    let labels = meta.labels.as_ref().expect("labels");
    assert_eq!(labels["chronik.io/user"], "alice");
    assert_eq!(labels["app.kubernetes.io/instance"], "orders");

    // Over TLS the cluster CA goes in as ca.crt and as the truststore.
    let ca = "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n";
    let tls = Connection {
        bootstrap: None,
        tls: true,
    };
    let data = secret_text(Some(&build_secret(&alice, &material, &tls, Some(ca))));
    assert_eq!(data["ca.crt"], ca);
    let properties = &data["client.properties"];
    assert!(
        properties.starts_with("security.protocol=SASL_SSL\n"),
        "{properties}"
    );
    assert!(properties.ends_with(
        "ssl.truststore.type=PEM\nssl.truststore.certificates=-----BEGIN CERTIFICATE----- \\\n  \
         AAAA \\\n  BBBB \\\n  -----END CERTIFICATE-----\n"
    ));
}

#[test]
fn the_tls_secret_holds_certificate_key_and_cluster_ca() {
    let app = validated("tls", json!([])).expect("valid");
    let material = Material::Tls {
        cert: "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n".to_string(),
        key: "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n".to_string(),
        fresh: true,
    };
    let ca = "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n";
    let secret = build_secret(
        &app,
        &material,
        &Connection {
            bootstrap: None,
            tls: true,
        },
        Some(ca),
    );
    let data = secret_text(Some(&secret));
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["ca.crt", "client.properties", "user.crt", "user.key"]
    );
    let properties = client_properties(
        "alice",
        &material,
        &Connection {
            bootstrap: Some("b:9095".to_string()),
            tls: true,
        },
        Some(ca),
    );
    assert_eq!(
        properties,
        "bootstrap.servers=b:9095\nsecurity.protocol=SSL\nssl.keystore.type=PEM\n\
         ssl.keystore.certificate.chain=-----BEGIN CERTIFICATE----- \\\n  C \\\n  -----END CERTIFICATE-----\n\
         ssl.keystore.key=-----BEGIN PRIVATE KEY----- \\\n  K \\\n  -----END PRIVATE KEY-----\n\
         ssl.truststore.type=PEM\n\
         ssl.truststore.certificates=-----BEGIN CERTIFICATE----- \\\n  A \\\n  -----END CERTIFICATE-----\n"
    );
}

#[test]
fn ready_keeps_its_transition_time_until_it_flips() {
    let alice = validated("scram-sha-512", json!([])).expect("valid");
    let t1 = Timestamp::from_second(1_800_000_000).expect("time");
    let t2 = Timestamp::from_second(1_800_000_100).expect("time");
    let waiting = not_ready_status(
        None,
        Some(3),
        NotReady::ClusterNotReady,
        "waiting".to_string(),
        t1,
    );
    let c = &waiting.conditions[0];
    assert_eq!(
        (c.type_.as_str(), c.status.as_str(), c.reason.as_str()),
        ("Ready", "False", "ClusterNotReady")
    );
    let failing = not_ready_status(
        Some(&waiting),
        Some(3),
        NotReady::BrokerError,
        "down".to_string(),
        t2,
    );
    assert_eq!(failing.conditions[0].last_transition_time.0, t1);
    let ready = ready_status(&alice, Some(&failing), t2);
    let c = &ready.conditions[0];
    assert_eq!((c.status.as_str(), c.last_transition_time.0), ("True", t2));
    assert_eq!(ready.observed_generation, Some(3));
    assert_eq!(ready.principal.as_deref(), Some("User:alice"));
}
