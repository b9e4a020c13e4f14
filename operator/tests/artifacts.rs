//! Checked-in artifacts match the code: the CRD YAML, the chart's copy of
//! it, and the Helm chart (lint + every rendered object parses into its
//! k8s-openapi type).

use std::path::{Path, PathBuf};
use std::process::Command;

use chronik_operator::crd::crd_yaml;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
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

#[test]
fn helm_chart_lints_and_renders_typed_objects() {
    helm_run(&["lint", "--strict", "charts/chronik-operator"]);
    let rendered = helm_run(&[
        "template",
        "chronik",
        "charts/chronik-operator",
        "--namespace",
        "chronik-system",
        "--include-crds",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "watchNamespace=streams",
    ]);
    let mut kinds = Vec::new();
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
            "Deployment" => {
                let d: Deployment = parse(&doc);
                let pod = d.spec.template.spec.unwrap();
                let c = &pod.containers[0];
                let args = c.args.clone().unwrap();
                assert_eq!(args[0], "run");
                assert!(
                    args.contains(&"--namespace=streams".to_string()),
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
            "ServiceAccount" => drop(parse::<ServiceAccount>(&doc)),
            "Service" => drop(parse::<Service>(&doc)),
            "Role" => drop(parse::<Role>(&doc)),
            "RoleBinding" => drop(parse::<RoleBinding>(&doc)),
            "ClusterRoleBinding" => drop(parse::<ClusterRoleBinding>(&doc)),
            "ClusterRole" => {
                let role: ClusterRole = parse(&doc);
                for rule in role.rules.unwrap() {
                    let resources = rule.resources.clone().unwrap_or_default();
                    for verb in &rule.verbs {
                        // Only pods may be deleted (one at a time, for rolls).
                        let allowed = ["get", "list", "watch", "patch", "create"]
                            .contains(&verb.as_str())
                            || (verb == "delete" && resources == ["pods"]);
                        assert!(allowed, "unexpected verb {verb} on {resources:?}");
                    }
                    assert!(!rule.verbs.contains(&"*".to_string()));
                    assert!(!rule
                        .resources
                        .unwrap_or_default()
                        .contains(&"*".to_string()));
                }
            }
            "ServiceMonitor" => {
                assert_eq!(doc["apiVersion"].as_str(), Some("monitoring.coreos.com/v1"));
                assert_eq!(
                    doc["spec"]["endpoints"][0]["path"].as_str(),
                    Some("/metrics")
                );
            }
            other => panic!("unexpected kind {other} in helm template output"),
        }
        kinds.push(kind);
    }
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
            kinds.iter().any(|k| k == expected),
            "{expected} missing from {kinds:?}"
        );
    }
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
}
