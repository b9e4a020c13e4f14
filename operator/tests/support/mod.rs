//! Helpers shared by the integration tests.
// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use chronik_operator::crd::{ChronikCluster, ChronikClusterSpec, ChronikClusterStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::ObjectMeta;

/// A ChronikCluster as the API server would hand it to the controller.
pub fn cluster(name: &str, replicas: i32) -> ChronikCluster {
    cluster_with(name, serde_json::json!({ "replicas": replicas }))
}

/// A ChronikCluster with the given spec (JSON, defaults filled in).
pub fn cluster_with(name: &str, spec: serde_json::Value) -> ChronikCluster {
    let spec: ChronikClusterSpec = serde_json::from_value(spec).expect("spec");
    ChronikCluster {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("streams".to_string()),
            uid: Some("6f1c1c9e-1111-2222-3333-444455556666".to_string()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    }
}

/// The condition of `type_` in `status` (panics naming it when missing).
pub fn condition<'a>(status: &'a ChronikClusterStatus, type_: &str) -> &'a Condition {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {:?}", status.conditions))
}

pub mod brokers_http;
pub mod fake_api;
pub mod fake_config;
pub mod fake_security;
