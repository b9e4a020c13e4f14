//! The headless Service (stable pod DNS) and the client Service (bootstrap).

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{owned_meta, selector_labels};
use crate::validate::ValidatedCluster;

pub(super) fn port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port,
        target_port: Some(IntOrString::String(name.to_string())),
        protocol: Some("TCP".to_string()),
        ..ServicePort::default()
    }
}

/// A Service port per Kafka listener.
fn listener_ports(cluster: &ValidatedCluster) -> Vec<ServicePort> {
    cluster
        .security
        .listeners
        .iter()
        .map(|l| port(&l.port_name, l.port))
        .collect()
}

/// Listeners, Raft, HTTP and (with peer mTLS) admin.
fn headless_ports(cluster: &ValidatedCluster) -> Vec<ServicePort> {
    let mut ports = listener_ports(cluster);
    ports.push(port("raft", cluster.ports.raft));
    ports.push(port("http", cluster.ports.http));
    if cluster.security.peer_mtls {
        ports.push(port("admin", cluster.ports.admin));
    }
    ports
}

/// `<name>-headless`: `clusterIP: None` and `publishNotReadyAddresses` so that
/// peers resolve each other before they are Ready.
pub fn build_headless_service(cluster: &ValidatedCluster) -> Service {
    Service {
        metadata: owned_meta(cluster, cluster.addresses.headless_service_name()),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels(cluster)),
            ports: Some(headless_ports(cluster)),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// `<name>`: the Kafka bootstrap Service (every listener's port, for
/// clients inside the cluster), routed to Ready brokers only.
pub fn build_client_service(cluster: &ValidatedCluster) -> Service {
    Service {
        metadata: owned_meta(cluster, cluster.client_service_name()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(selector_labels(cluster)),
            ports: Some(listener_ports(cluster)),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
