//! External access (`nodeport` and `loadbalancer` listeners): a Service per
//! broker and a bootstrap Service per listener, and the ConfigMap
//! `<c>-advertised` telling each broker the address its Service gives it
//! (lines `NODE_ID LISTENER HOST:PORT`, read through
//! `--advertised-listeners-file` and re-read by the broker when it changes).

use std::collections::{BTreeMap, BTreeSet};

use chronik_api::NodeId;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service, ServiceSpec};

use super::service::port;
use super::tls::ADVERTISED_KEY;
use super::{owned_meta, selector_labels};
use crate::crd::ListenerType;
use crate::validate::{Listener, ValidatedCluster};

/// The label the StatefulSet controller puts on each pod with its name.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// The Service names of one external listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalNames {
    /// `<c>-<listener>-bootstrap`.
    pub bootstrap: String,
    cluster: String,
    listener: String,
}

impl ExternalNames {
    /// The names for `listener` of `cluster`.
    pub fn of(cluster: &ValidatedCluster, listener: &Listener) -> Self {
        Self {
            bootstrap: format!("{}-{}-bootstrap", cluster.name, listener.name),
            cluster: cluster.name.clone(),
            listener: listener.name.clone(),
        }
    }

    /// `<c>-<ordinal>-<listener>`: the Service of broker pod `ordinal`.
    pub fn broker(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}-{}", self.cluster, self.listener)
    }
}

fn service_type(listener: &Listener) -> &'static str {
    match listener.type_ {
        ListenerType::Loadbalancer => "LoadBalancer",
        _ => "NodePort",
    }
}

fn external_service(
    cluster: &ValidatedCluster,
    listener: &Listener,
    name: String,
    pod: Option<String>,
) -> Service {
    let mut selector = selector_labels(cluster);
    if let Some(pod) = pod {
        selector.insert(POD_NAME_LABEL.to_string(), pod);
    }
    Service {
        metadata: owned_meta(cluster, name),
        spec: Some(ServiceSpec {
            type_: Some(service_type(listener).to_string()),
            selector: Some(selector),
            ports: Some(vec![port(&listener.port_name, listener.port)]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// For each external listener: its bootstrap Service and one Service per
/// broker pod `0..pods`.
pub fn build_external_services(cluster: &ValidatedCluster, pods: u32) -> Vec<Service> {
    let mut services = Vec::new();
    for listener in cluster.security.external_listeners() {
        let names = ExternalNames::of(cluster, listener);
        services.push(external_service(
            cluster,
            listener,
            names.bootstrap.clone(),
            None,
        ));
        for ordinal in 0..pods {
            services.push(external_service(
                cluster,
                listener,
                names.broker(ordinal),
                Some(cluster.addresses.pod_name(ordinal)),
            ));
        }
    }
    services
}

/// One broker's external address on one listener.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Advertised {
    pub node_id: u64,
    pub listener: String,
    pub host: String,
    pub port: i32,
}

impl Advertised {
    /// `HOST:PORT`, brackets around an IPv6 host.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The external addresses the live Services and pods give: a NodePort
/// listener's node port on the pod's node (`status.hostIP`), a
/// LoadBalancer listener's ingress address (IP, else hostname) and port.
/// Brokers whose address is not known yet are left out.
pub fn advertised_addresses(
    cluster: &ValidatedCluster,
    services: &[Service],
    pods: &[Pod],
) -> Vec<Advertised> {
    let service = |name: &str| {
        services
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
    };
    let mut out = Vec::new();
    for listener in cluster.security.external_listeners() {
        let names = ExternalNames::of(cluster, listener);
        for pod in pods {
            let Some(id) = pod.metadata.name.as_deref().and_then(NodeId::from_pod_name) else {
                continue;
            };
            let Some(ordinal) = id.ordinal() else {
                continue;
            };
            let Some(svc) = service(&names.broker(ordinal)) else {
                continue;
            };
            let address = match listener.type_ {
                ListenerType::Loadbalancer => load_balancer_address(svc, listener.port),
                _ => node_port_address(svc, pod),
            };
            if let Some((host, port)) = address {
                out.push(Advertised {
                    node_id: id.0,
                    listener: listener.name.clone(),
                    host,
                    port,
                });
            }
        }
    }
    out.sort();
    out
}

fn node_port_address(svc: &Service, pod: &Pod) -> Option<(String, i32)> {
    let node_port = svc.spec.as_ref()?.ports.as_ref()?.first()?.node_port?;
    let host = pod.status.as_ref()?.host_ip.clone()?;
    Some((host, node_port))
}

fn load_balancer_address(svc: &Service, port: i32) -> Option<(String, i32)> {
    let ingress = svc
        .status
        .as_ref()?
        .load_balancer
        .as_ref()?
        .ingress
        .as_ref()?
        .first()?;
    let host = ingress.ip.clone().or_else(|| ingress.hostname.clone())?;
    Some((host, port))
}

/// The external hosts of each broker pod, by ordinal (for its certificate).
pub fn external_hosts(advertised: &[Advertised]) -> BTreeMap<u32, BTreeSet<String>> {
    let mut hosts: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for a in advertised {
        if let Some(ordinal) = NodeId(a.node_id).ordinal() {
            hosts.entry(ordinal).or_default().insert(a.host.clone());
        }
    }
    hosts
}

/// `<c>-advertised`: one `NODE_ID LISTENER HOST:PORT` line per address.
pub fn build_advertised_config_map(
    cluster: &ValidatedCluster,
    advertised: &[Advertised],
) -> ConfigMap {
    let mut text = String::new();
    for a in advertised {
        text.push_str(&format!("{} {} {}\n", a.node_id, a.listener, a.address()));
    }
    ConfigMap {
        metadata: owned_meta(cluster, cluster.advertised_config_map_name()),
        data: Some(BTreeMap::from([(ADVERTISED_KEY.to_string(), text)])),
        ..ConfigMap::default()
    }
}
