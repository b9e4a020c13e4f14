//! Checked-in artifacts match the code: the CRD YAML, the chart's copy of
//! it, and the Helm chart (lint + every rendered object parses into its
//! k8s-openapi type).

use std::path::{Path, PathBuf};
use std::process::Command;

use chronik_operator::crd::crd_yaml;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::de::DeserializeOwned;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

const REGENERATE: &str =
    "regenerate with `cargo run -q -p chronik-operator -- crd > crds/chronikcluster.yaml \
     && cp crds/chronikcluster.yaml charts/chronik-operator/crds/`";

#[test]
fn crd_file_is_the_output_of_the_crd_command() {
    let generated = crd_yaml().unwrap();
    let path = repo().join("crds/chronikcluster.yaml");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated == on_disk,
        "{} differs from `chronik-operator crd`; {REGENERATE}",
        path.display()
    );
}

#[test]
fn chart_crds_are_identical_to_top_level_crds() {
    let top = repo().join("crds");
    let chart = repo().join("charts/chronik-operator/crds");
    let names = |dir: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&top), names(&chart), "{REGENERATE}");
    for name in names(&top) {
        let a = std::fs::read(top.join(&name)).unwrap();
        let b = std::fs::read(chart.join(&name)).unwrap();
        assert!(
            a == b,
            "charts/chronik-operator/crds/{name:?} differs from crds/; {REGENERATE}"
        );
    }
}

#[test]
fn crd_has_names_subresources_columns_and_cel_rules() {
    let crd: CustomResourceDefinition = serde_yaml::from_str(&crd_yaml().unwrap()).unwrap();
    assert_eq!(crd.spec.group, "chronik.io");
    assert_eq!(crd.spec.scope, "Namespaced");
    let short = crd.spec.names.short_names.clone().unwrap();
    assert_eq!(short, vec!["chronik".to_string(), "ck".to_string()]);
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    let sub = version.subresources.as_ref().unwrap();
    assert!(sub.status.is_some());
    let scale = sub.scale.as_ref().unwrap();
    assert_eq!(scale.spec_replicas_path, ".spec.replicas");
    assert_eq!(scale.status_replicas_path, ".status.replicas");
    let columns: Vec<_> = version
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["Replicas", "Ready", "Leader", "Phase", "Age"]);
    let text = crd_yaml().unwrap();
    assert!(text.contains("self % 2 == 1"));
    assert!(text.contains("self == oldSelf"));
    assert!(
        text.contains("self || !oldSelf"),
        "status.bootstrapped is a one-way latch"
    );
    assert!(text.contains("maximum: 9"));
}

/// The helm binary installed by `cargo xtask tools`.
fn helm() -> PathBuf {
    let path = std::env::var_os("HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/bin/helm"));
    assert!(
        path.is_file(),
        "helm not found at {}: run `cargo xtask tools` to install helm and kubectl into .tools/bin",
        path.display()
    );
    path
}

fn helm_run(args: &[&str]) -> String {
    let out = Command::new(helm())
        .args(args)
        .current_dir(repo())
        .output()
        .expect("running helm");
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn parse<K: DeserializeOwned>(doc: &serde_yaml::Value) -> K {
    serde_yaml::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc:?}"))
}

/// Only the verbs the operator uses: pods are the only thing deleted (one
/// at a time, for rolls), Secrets are read and written by name, never
/// listed or watched, and nothing is granted with `*`.
fn assert_least_privilege(rules: Vec<PolicyRule>) {
    for rule in rules {
        let resources = rule.resources.clone().unwrap_or_default();
        for verb in &rule.verbs {
            let allowed = ["get", "list", "watch", "patch", "create", "update"]
                .contains(&verb.as_str())
                || (verb == "delete" && resources == ["pods"]);
            assert!(allowed, "unexpected verb {verb} on {resources:?}");
            if resources.contains(&"secrets".to_string()) {
                assert!(
                    ["get", "patch"].contains(&verb.as_str()),
                    "{verb} on secrets"
                );
            }
        }
        assert!(!rule.verbs.contains(&"*".to_string()));
        assert!(!resources.contains(&"*".to_string()));
    }
}

/// `helm template` with `extra` values; the kinds rendered, in order, with
/// each object parsed into its k8s-openapi type.
fn render_chart(extra: &[&str]) -> Vec<(String, serde_yaml::Value)> {
    let mut args = vec![
        "template",
        "chronik",
        "charts/chronik-operator",
        "--namespace",
        "chronik-system",
        "--include-crds",
    ];
    args.extend_from_slice(extra);
    let rendered = helm_run(&args);
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&rendered) {
        let doc: serde_yaml::Value = serde::Deserialize::deserialize(document).unwrap();
        if doc.is_null() {
            continue;
        }
        let kind = doc["kind"].as_str().unwrap().to_string();
        match kind.as_str() {
            "CustomResourceDefinition" => {
                let crd: CustomResourceDefinition = parse(&doc);
                let name = crd.metadata.name.as_deref();
                assert!(
                    matches!(
                        name,
                        Some("chronikclusters.chronik.io" | "chronikusers.chronik.io")
                    ),
                    "{name:?}"
                );
            }
            "Deployment" => drop(parse::<Deployment>(&doc)),
            "ServiceAccount" => drop(parse::<ServiceAccount>(&doc)),
            "Service" => drop(parse::<Service>(&doc)),
            "Role" => assert_least_privilege(parse::<Role>(&doc).rules.unwrap()),
            "RoleBinding" => drop(parse::<RoleBinding>(&doc)),
            "ClusterRoleBinding" => drop(parse::<ClusterRoleBinding>(&doc)),
            "ClusterRole" => assert_least_privilege(parse::<ClusterRole>(&doc).rules.unwrap()),
            "ServiceMonitor" => {
                assert_eq!(doc["apiVersion"].as_str(), Some("monitoring.coreos.com/v1"));
                assert_eq!(
                    doc["spec"]["endpoints"][0]["path"].as_str(),
                    Some("/metrics")
                );
            }
            other => panic!("unexpected kind {other} in helm template output"),
        }
        out.push((kind, doc));
    }
    out
}

#[test]
fn helm_chart_lints_and_renders_typed_objects() {
    helm_run(&["lint", "--strict", "charts/chronik-operator"]);
    let all = render_chart(&["--set", "metrics.serviceMonitor.enabled=true"]);
    let kinds: Vec<_> = all.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "CustomResourceDefinition",
        "Deployment",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "ServiceMonitor",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    let deployment: Deployment = parse(&all.iter().find(|(k, _)| k == "Deployment").unwrap().1);
    let pod = deployment.spec.template.spec.unwrap();
    let c = &pod.containers[0];
    let args = c.args.clone().unwrap();
    assert_eq!(args[0], "run");
    assert!(
        args.contains(
            &"--pod-selector=app.kubernetes.io/name=chronik-operator,app.kubernetes.io/instance=chronik"
                .to_string()
        ),
        "{args:?}"
    );
    assert_eq!(
        c.security_context
            .as_ref()
            .unwrap()
            .read_only_root_filesystem,
        Some(true)
    );
}

#[test]
fn watching_one_namespace_grants_a_role_there_and_nothing_cluster_wide() {
    let one = render_chart(&["--set", "watchNamespace=streams"]);
    let kinds: Vec<_> = one.iter().map(|(k, _)| k.as_str()).collect();
    assert!(!kinds.contains(&"ClusterRole"), "{kinds:?}");
    assert!(!kinds.contains(&"ClusterRoleBinding"), "{kinds:?}");
    let in_streams: Vec<_> = one
        .iter()
        .filter(|(k, d)| {
            (k == "Role" || k == "RoleBinding")
                && d["metadata"]["namespace"].as_str() == Some("streams")
        })
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(in_streams, ["Role", "RoleBinding"]);
    let role = one
        .iter()
        .find(|(k, d)| k == "Role" && d["metadata"]["namespace"].as_str() == Some("streams"))
        .unwrap();
    let rules = parse::<Role>(&role.1).rules.unwrap();
    assert!(rules
        .iter()
        .any(|r| r.resources.as_deref() == Some(&["secrets".to_string()][..])));
    let deployment: Deployment = parse(&one.iter().find(|(k, _)| k == "Deployment").unwrap().1);
    let args = deployment.spec.template.spec.unwrap().containers[0]
        .args
        .clone()
        .unwrap();
    assert!(
        args.contains(&"--namespace=streams".to_string()),
        "{args:?}"
    );
}

/// Every field of the schema has a description, so `kubectl explain` reads well.
#[test]
fn every_crd_field_is_documented() {
    let crd: serde_json::Value = serde_yaml::from_str(&crd_yaml().unwrap()).unwrap();
    let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let mut missing = Vec::new();
    fn walk(path: String, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(props) = schema["properties"].as_object() {
            for (name, child) in props {
                let child_path = format!("{path}.{name}");
                let top_level_meta =
                    path.is_empty() && ["apiVersion", "kind", "metadata"].contains(&name.as_str());
                if child["description"].as_str().unwrap_or("").is_empty() && !top_level_meta {
                    missing.push(child_path.clone());
                }
                walk(child_path, child, missing);
            }
        }
        if schema["items"].is_object() {
            walk(format!("{path}[]"), &schema["items"], missing);
        }
    }
    walk(String::new(), root, &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:#?}"
    );
}

#[test]
fn helm_values_schema_refuses_bad_values() {
    let out = Command::new(helm())
        .args([
            "template",
            "chronik",
            "charts/chronik-operator",
            "--set",
            "logFormat=xml",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "logFormat=xml must be refused by values.schema.json"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("logFormat"), "{stderr}");
}

/// The CRD's CEL rules, evaluated client-side the way the API server does.
mod cel_rules {
    use super::crd_yaml;
    use serde_json::{json, Value};

    fn schema() -> Value {
        let crd: Value = serde_yaml::from_str(&crd_yaml().unwrap()).unwrap();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
    }

    fn cluster(spec: Value) -> Value {
        json!({"apiVersion": "chronik.io/v1alpha1", "kind": "ChronikCluster",
               "metadata": {"name": "c", "namespace": "ns"}, "spec": spec})
    }

    fn messages(result: Result<(), kube_cel::ValidationErrors>) -> String {
        match result {
            Ok(()) => String::new(),
            Err(errors) => format!("{errors:?}"),
        }
    }

    #[test]
    fn odd_replicas_pass_and_even_replicas_are_refused() {
        let schema = schema();
        for n in [1, 3, 5, 7, 9] {
            let r = kube_cel::validate(&schema, &cluster(json!({"replicas": n})), None);
            assert!(r.is_ok(), "replicas {n}: {}", messages(r));
        }
        for n in [2, 4, 6, 8] {
            let r = kube_cel::validate(&schema, &cluster(json!({"replicas": n})), None);
            let text = messages(r);
            assert!(
                text.contains("replicas must be odd"),
                "replicas {n}: {text:?}"
            );
        }
        // Omitted replicas default to 3, which passes.
        assert!(kube_cel::validate(&schema, &cluster(json!({})), None).is_ok());
    }

    #[test]
    fn storage_is_immutable_but_other_fields_are_not() {
        let schema = schema();
        let old = cluster(
            json!({"replicas": 3, "storage": {"size": "10Gi", "storageClassName": "fast"}}),
        );
        let grown =
            cluster(json!({"replicas": 3, "storage": {"size": "1Ti", "storageClassName": "fast"}}));
        let text = messages(kube_cel::validate(&schema, &grown, Some(&old)));
        assert!(text.contains("storage.size is immutable"), "{text:?}");
        let other_class = cluster(
            json!({"replicas": 3, "storage": {"size": "10Gi", "storageClassName": "slow"}}),
        );
        let text = messages(kube_cel::validate(&schema, &other_class, Some(&old)));
        assert!(text.contains("storageClassName is immutable"), "{text:?}");
        let scaled = cluster(
            json!({"replicas": 5, "storage": {"size": "10Gi", "storageClassName": "fast"},
                                     "config": {"k": "v"}}),
        );
        let r = kube_cel::validate(&schema, &scaled, Some(&old));
        assert!(r.is_ok(), "{}", messages(r));
    }

    #[test]
    fn the_bootstrapped_latch_is_one_way() {
        let schema = schema();
        let with_status = |status: Value| {
            let mut c = cluster(json!({"replicas": 3}));
            c["status"] = status;
            c
        };
        let unset = with_status(json!({"bootstrapped": false}));
        let set = with_status(json!({"bootstrapped": true}));
        let r = kube_cel::validate(&schema, &set, Some(&unset));
        assert!(r.is_ok(), "setting the latch: {}", messages(r));
        let r = kube_cel::validate(&schema, &set, Some(&set));
        assert!(r.is_ok(), "keeping the latch: {}", messages(r));
        let text = messages(kube_cel::validate(&schema, &unset, Some(&set)));
        assert!(
            text.contains("one-way latch"),
            "clearing the latch: {text:?}"
        );
    }

    #[test]
    fn listener_and_tls_rules_refuse_what_the_brokers_cannot_run() {
        let schema = schema();
        let check = |spec: Value| messages(kube_cel::validate(&schema, &cluster(spec), None));
        let ok = check(json!({"replicas": 3, "listeners": [
            {"name": "tls", "port": 9093, "tls": true, "authentication": {"type": "tls"}},
            {"name": "ext", "port": 9094, "type": "nodeport", "tls": false}],
            "authorization": {"type": "simple", "superUsers": ["admin"]},
            "tls": {"ca": {"validityDays": 365, "renewalDays": 30}}}));
        assert_eq!(ok, "");
        let text = check(json!({"replicas": 3, "listeners": [
            {"name": "m", "port": 9093, "tls": false, "authentication": {"type": "tls"}}]}));
        assert!(text.contains("needs tls: true"), "{text}");
        let text = check(json!({"replicas": 3, "listeners": [
            {"name": "a", "port": 9093, "tls": false}, {"name": "a", "port": 9094, "tls": false}]}));
        assert!(text.contains("listener names must be unique"), "{text}");
        let text = check(json!({"replicas": 3, "listeners": [
            {"name": "a", "port": 9093, "tls": false}, {"name": "b", "port": 9093, "tls": false}]}));
        assert!(text.contains("listener ports must be unique"), "{text}");
        let text = check(json!({"replicas": 3,
            "authorization": {"type": "simple", "superUsers": ["a;b"]}}));
        assert!(text.contains("must not contain ';'"), "{text}");
        let text = check(json!({"replicas": 3,
            "tls": {"ca": {"validityDays": 30, "renewalDays": 30}}}));
        assert!(text.contains("renewalDays must be smaller"), "{text}");
        let text = check(json!({"replicas": 3, "tls": {"ca": {"validityDays": 365,
            "renewalDays": 30, "secretName": "x", "certManager": {"issuerRef": {"name": "i"}}}}}));
        assert!(text.contains("not both"), "{text}");
    }
}
