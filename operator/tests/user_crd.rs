//! The ChronikUser CRD: the checked-in YAML (and the chart's copy) is the
//! generated one, it has its names, columns and status subresource, every
//! field is documented, and its CEL rules refuse what they should.

use std::path::{Path, PathBuf};

use chronik_operator::user::crd::user_crd_yaml;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_path_buf()
}

const REGENERATE: &str =
    "regenerate with `cargo run -q -p chronik-operator -- user-crd > crds/chronikuser.yaml \
     && cp crds/chronikuser.yaml charts/chronik-operator/crds/`";

#[test]
fn crd_files_are_the_output_of_the_user_crd_command() {
    let generated = user_crd_yaml().expect("CRD");
    for path in [
        "crds/chronikuser.yaml",
        "charts/chronik-operator/crds/chronikuser.yaml",
    ] {
        let on_disk = std::fs::read_to_string(repo().join(path)).unwrap_or_default();
        assert!(
            generated == on_disk,
            "{path} differs from `chronik-operator user-crd`; {REGENERATE}"
        );
    }
}

#[test]
fn crd_has_names_columns_and_status() {
    let crd: CustomResourceDefinition =
        serde_yaml::from_str(&user_crd_yaml().expect("CRD")).expect("CRD");
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("chronikusers.chronik.io")
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.short_names, Some(vec!["cku".to_string()]));
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(version
        .subresources
        .as_ref()
        .and_then(|s| s.status.as_ref())
        .is_some());
    let columns: Vec<_> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| (c.name.as_str(), c.json_path.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("Cluster", ".spec.cluster"),
            ("Authentication", ".spec.authentication.type"),
            ("Ready", ".status.conditions[?(@.type==\"Ready\")].status"),
            ("Age", ".metadata.creationTimestamp"),
        ]
    );
}

#[test]
fn every_field_is_documented() {
    let crd: Value = serde_yaml::from_str(&user_crd_yaml().expect("CRD")).expect("CRD");
    let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    fn walk(path: String, schema: &Value, missing: &mut Vec<String>) {
        if let Some(props) = schema["properties"].as_object() {
            for (name, child) in props {
                let child_path = format!("{path}.{name}");
                let meta =
                    path.is_empty() && ["apiVersion", "kind", "metadata"].contains(&name.as_str());
                if child["description"].as_str().unwrap_or("").is_empty() && !meta {
                    missing.push(child_path.clone());
                }
                walk(child_path, child, missing);
            }
        }
        if schema["items"].is_object() {
            walk(format!("{path}[]"), &schema["items"], missing);
        }
    }
    let mut missing = Vec::new();
    walk(String::new(), root, &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:#?}"
    );
}

fn schema() -> Value {
    let crd: Value = serde_yaml::from_str(&user_crd_yaml().expect("CRD")).expect("CRD");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn user(spec: Value) -> Value {
    json!({"apiVersion": "chronik.io/v1alpha1", "kind": "ChronikUser",
           "metadata": {"name": "alice", "namespace": "streams"}, "spec": spec})
}

fn with_acls(acls: Value) -> Value {
    user(
        json!({"cluster": "orders", "authentication": {"type": "scram-sha-512"},
                "authorization": {"acls": acls}}),
    )
}

/// The CEL messages for `object` (empty when it passes).
fn refusal(object: &Value, old: Option<&Value>) -> String {
    match kube_cel::validate(&schema(), object, old) {
        Ok(()) => String::new(),
        Err(errors) => format!("{errors:?}"),
    }
}

#[test]
fn cel_rules_refuse_acls_kafka_would_not_have() {
    let good = with_acls(json!([
        {"resource": {"type": "topic", "name": "orders", "patternType": "literal"},
         "operations": ["Read", "Write", "Describe"]},
        {"resource": {"type": "group", "name": "orders-", "patternType": "prefixed"},
         "operations": ["Read"]},
        {"resource": {"type": "cluster"}, "operations": ["IdempotentWrite"]},
        {"resource": {"type": "transactionalId", "name": "tx"}, "operations": ["Write"],
         "host": "10.0.0.1", "type": "deny"}
    ]));
    assert_eq!(refusal(&good, None), "");
    for (acl, message) in [
        (
            json!({"resource": {"type": "group", "name": "g"}, "operations": ["Write"]}),
            "a group ACL allows only",
        ),
        (
            json!({"resource": {"type": "topic"}, "operations": ["Read"]}),
            "resource.name is required",
        ),
        (
            json!({"resource": {"type": "cluster", "patternType": "prefixed"}, "operations": ["Create"]}),
            "patternType literal",
        ),
        (
            json!({"resource": {"type": "cluster"}, "operations": ["Read"]}),
            "a cluster ACL allows only",
        ),
        (
            json!({"resource": {"type": "transactionalId", "name": "t"}, "operations": ["Read"]}),
            "a transactionalId ACL allows only",
        ),
    ] {
        let text = refusal(&with_acls(json!([acl])), None);
        assert!(text.contains(message), "{acl}: {text:?}");
    }
}

#[test]
fn cluster_and_authentication_are_immutable() {
    let old = with_acls(json!([]));
    let moved = user(json!({"cluster": "other", "authentication": {"type": "scram-sha-512"}}));
    assert!(refusal(&moved, Some(&old)).contains("spec.cluster is immutable"));
    let switched = user(json!({"cluster": "orders", "authentication": {"type": "tls"}}));
    assert!(refusal(&switched, Some(&old)).contains("authentication.type is immutable"));
    let more_acls =
        with_acls(json!([{"resource": {"type": "topic", "name": "t"}, "operations": ["Read"]}]));
    assert_eq!(refusal(&more_acls, Some(&old)), "");
}

#[test]
fn the_examples_are_valid_users() {
    for (file, principal, bindings) in [
        ("examples/chronikuser-scram.yaml", "User:orders-app", 6),
        ("examples/chronikuser-tls.yaml", "User:CN=auditor", 4),
    ] {
        let text = std::fs::read_to_string(repo().join(file)).expect("example");
        let object: Value = serde_yaml::from_str(&text).expect("YAML");
        assert_eq!(refusal(&object, None), "", "{file}");
        let mut user: chronik_operator::user::crd::ChronikUser =
            serde_json::from_value(object).expect("ChronikUser");
        user.metadata.namespace = Some("streams".to_string());
        user.metadata.uid = Some("u".to_string());
        let validated = chronik_operator::user::validate::validate_user(&user).expect(file);
        assert_eq!(validated.principal.to_string(), principal, "{file}");
        assert_eq!(validated.acls.len(), bindings, "{file}");
    }
}
