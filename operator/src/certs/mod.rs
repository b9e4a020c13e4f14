//! The certificates of a cluster, operator-managed with rcgen.
//!
//! Two CAs, each in a Secret with its key and a Secret with only the trust
//! bundle for others to mount: `<c>-cluster-ca` / `<c>-cluster-ca-cert`
//! (signs the brokers' and the operator's certificates; Kafka clients trust
//! it for TLS listeners) and `<c>-clients-ca` / `<c>-clients-ca-cert`
//! (verifies mutual-TLS Kafka clients; ChronikUser certificates are signed
//! with it). Leaves: `<c>-brokers` (`<pod>.crt`, `<pod>.key` per broker pod,
//! URI SAN `urn:chronik:node:<ordinal+1>` and the pod's DNS names) and
//! `<c>-operator` (the operator's client certificate, URI SAN
//! `urn:chronik:operator`, with `ca.crt`).
//!
//! Each pass ([`cluster::cluster_certs`]): [`secrets::CaState`] reads the
//! Secrets into facts, [`plan::plan_ca`] (pure) decides,
//! [`secrets::carry_out`] signs what the plan says, and the Secrets are
//! built from the result; everything not planned is written back unchanged.
//! With `spec.tls.ca.certManager`, cert-manager issues the leaves instead
//! ([`cert_manager`]) and the operator copies them into the same Secrets.

pub mod cert_manager;
pub mod cluster;
pub mod pem;
pub mod plan;
pub mod secrets;

use std::collections::{BTreeMap, BTreeSet};

use chronik_api::security::{node_uri, OPERATOR_URI};
use chronik_api::NodeId;

use crate::validate::ValidatedCluster;

/// Name of the operator's leaf among the cluster CA's leaves.
pub const OPERATOR_LEAF: &str = "operator";
/// Annotation on a CA Secret: when its last CA step was written (Unix seconds).
pub const STEP_AT_ANNOTATION: &str = "chronik.io/ca-step-at";

/// The Secret names of one cluster (the shared names of issue 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNames {
    pub cluster_ca: String,
    pub cluster_ca_cert: String,
    pub clients_ca: String,
    pub clients_ca_cert: String,
    pub brokers: String,
    pub operator: String,
}

impl SecretNames {
    /// The names for cluster `name`.
    pub fn of(name: &str) -> Self {
        Self {
            cluster_ca: format!("{name}-cluster-ca"),
            cluster_ca_cert: format!("{name}-cluster-ca-cert"),
            clients_ca: format!("{name}-clients-ca"),
            clients_ca_cert: format!("{name}-clients-ca-cert"),
            brokers: format!("{name}-brokers"),
            operator: format!("{name}-operator"),
        }
    }
}

/// `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<domain>` as DNS SANs.
fn service_sans(out: &mut BTreeSet<String>, service: &str, cluster: &ValidatedCluster) {
    let ns = &cluster.namespace;
    let domain = &cluster.addresses.cluster_domain;
    for name in [
        service.to_string(),
        format!("{service}.{ns}"),
        format!("{service}.{ns}.svc"),
        format!("{service}.{ns}.svc.{domain}"),
    ] {
        out.insert(format!("dns:{name}"));
    }
}

/// The SANs of broker pod `ordinal`: its node URI, its headless DNS names
/// (full and short), the bootstrap Services, its per-broker external
/// Services and the external addresses it advertises.
pub fn broker_sans(
    cluster: &ValidatedCluster,
    ordinal: u32,
    external_hosts: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut sans = BTreeSet::from([format!("uri:{}", node_uri(NodeId::from_ordinal(ordinal).0))]);
    let pod = cluster.addresses.pod_name(ordinal);
    let headless = cluster.addresses.headless_service_name();
    service_sans(&mut sans, &format!("{pod}.{headless}"), cluster);
    service_sans(&mut sans, &cluster.client_service_name(), cluster);
    for listener in cluster.security.external_listeners() {
        let names = crate::build::ExternalNames::of(cluster, listener);
        service_sans(&mut sans, &names.broker(ordinal), cluster);
        service_sans(&mut sans, &names.bootstrap, cluster);
    }
    for host in external_hosts {
        let kind = if host.parse::<std::net::IpAddr>().is_ok() {
            "ip"
        } else {
            "dns"
        };
        sans.insert(format!("{kind}:{host}"));
    }
    sans
}

/// The leaves the cluster CA signs: one per broker pod `0..pods`, and the
/// operator's.
pub fn cluster_leaves(
    cluster: &ValidatedCluster,
    pods: u32,
    external_hosts: &BTreeMap<u32, BTreeSet<String>>,
) -> BTreeMap<String, BTreeSet<String>> {
    let none = BTreeSet::new();
    let mut leaves: BTreeMap<String, BTreeSet<String>> = (0..pods)
        .map(|ordinal| {
            let hosts = external_hosts.get(&ordinal).unwrap_or(&none);
            (
                cluster.addresses.pod_name(ordinal),
                broker_sans(cluster, ordinal, hosts),
            )
        })
        .collect();
    leaves.insert(
        OPERATOR_LEAF.to_string(),
        BTreeSet::from([format!("uri:{OPERATOR_URI}")]),
    );
    leaves
}
