//! Helpers shared by the integration tests.
#![allow(dead_code)]

use chronik_operator::crd::{ChronikCluster, ChronikClusterSpec};
use kube::api::ObjectMeta;

/// A ChronikCluster as the API server would hand it to the controller.
pub fn cluster(name: &str, replicas: i32) -> ChronikCluster {
    let spec: ChronikClusterSpec =
        serde_json::from_value(serde_json::json!({ "replicas": replicas })).expect("spec");
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
pub mod fake_api;
