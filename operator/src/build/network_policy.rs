//! The NetworkPolicy `<name>`: who may open a connection to a broker pod.
//!
//! - Raft and admin ports: only the cluster's broker pods and the
//!   operator's pods (with peer mTLS off, the plain HTTP port serves the
//!   admin API but stays open: probes and metrics use it).
//! - Internal listeners: any pod of the Kubernetes cluster; external
//!   listeners: any source (their Services bring outside traffic in).
//! - The plain HTTP port (probes, metrics, `GET /v1/status`): any source.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{owned_meta, selector_labels};
use crate::validate::ValidatedCluster;

/// Where the operator's pods are: their namespace (any namespace when
/// unknown, e.g. an operator run outside the cluster) and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorPods {
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl Default for OperatorPods {
    /// The chart's pods: `app.kubernetes.io/name=chronik-operator`.
    fn default() -> Self {
        Self {
            namespace: None,
            labels: BTreeMap::from([(
                "app.kubernetes.io/name".to_string(),
                "chronik-operator".to_string(),
            )]),
        }
    }
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".to_string()),
        ..NetworkPolicyPort::default()
    }
}

fn selector(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels),
        ..LabelSelector::default()
    }
}

/// Build the cluster's NetworkPolicy.
pub fn build_network_policy(cluster: &ValidatedCluster, operator: &OperatorPods) -> NetworkPolicy {
    let ports = &cluster.ports;
    let brokers = NetworkPolicyPeer {
        pod_selector: Some(selector(selector_labels(cluster))),
        ..NetworkPolicyPeer::default()
    };
    let namespace = operator.namespace.as_ref().map_or_else(
        || selector(BTreeMap::new()),
        |ns| {
            selector(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                ns.clone(),
            )]))
        },
    );
    let operator_pods = NetworkPolicyPeer {
        namespace_selector: Some(namespace),
        pod_selector: Some(selector(operator.labels.clone())),
        ..NetworkPolicyPeer::default()
    };
    let mut peer_ports = vec![tcp(ports.raft)];
    if cluster.security.peer_mtls {
        peer_ports.push(tcp(ports.admin));
    }
    let mut rules = vec![
        NetworkPolicyIngressRule {
            from: Some(vec![brokers, operator_pods]),
            ports: Some(peer_ports),
        },
        NetworkPolicyIngressRule {
            from: None,
            ports: Some(vec![tcp(ports.http)]),
        },
    ];
    let (external, internal): (Vec<_>, Vec<_>) = cluster
        .security
        .listeners
        .iter()
        .partition(|l| l.is_external());
    if !internal.is_empty() {
        rules.push(NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(selector(BTreeMap::new())),
                ..NetworkPolicyPeer::default()
            }]),
            ports: Some(internal.iter().map(|l| tcp(l.port)).collect()),
        });
    }
    if !external.is_empty() {
        rules.push(NetworkPolicyIngressRule {
            from: None,
            ports: Some(external.iter().map(|l| tcp(l.port)).collect()),
        });
    }
    NetworkPolicy {
        metadata: owned_meta(cluster, cluster.name.clone()),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(selector_labels(cluster))),
            policy_types: Some(vec!["Ingress".to_string()]),
            ingress: Some(rules),
            ..NetworkPolicySpec::default()
        }),
    }
}
