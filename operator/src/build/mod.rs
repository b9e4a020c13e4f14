//! Pure builders: a [`ValidatedCluster`] in, the Kubernetes objects the
//! operator applies out. No I/O here, so every field is unit-testable.

mod config;
mod external;
mod network_policy;
mod pdb;
mod service;
mod statefulset;
mod tls;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use config::{
    broker_conf, build_config_map, config_hash, BROKER_CONF_KEY, INITIAL_CLUSTER_STATE_KEY,
};
pub use external::{
    advertised_addresses, build_advertised_config_map, build_external_services, external_hosts,
    Advertised, ExternalNames, POD_NAME_LABEL,
};
pub use network_policy::{build_network_policy, OperatorPods};
pub use pdb::build_pdb;
pub use service::{build_client_service, build_headless_service};
pub use statefulset::{
    broker_args, build_statefulset, BOOTSTRAPPED_ANNOTATION, CONFIG_DIR, CONFIG_HASH_ANNOTATION,
    CONTAINER_NAME, DATA_DIR, DATA_VOLUME, INITIAL_REPLICAS_ANNOTATION, TERMINATION_GRACE_SECONDS,
};
pub use tls::{security_args, ADVERTISED_DIR, ADVERTISED_KEY, KAFKA_TLS_DIR, PEER_TLS_DIR};

use crate::validate::ValidatedCluster;

/// Label keys and values every object carries.
pub const APP_NAME: &str = "chronik";
pub const MANAGED_BY: &str = "chronik-operator";

/// Labels that select a cluster's broker pods (immutable in a StatefulSet).
pub fn selector_labels(cluster: &ValidatedCluster) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            cluster.name.clone(),
        ),
    ])
}

/// Labels of every object owned by a cluster.
pub fn labels(cluster: &ValidatedCluster) -> BTreeMap<String, String> {
    let mut labels = selector_labels(cluster);
    labels.insert(
        "app.kubernetes.io/component".to_string(),
        "broker".to_string(),
    );
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        MANAGED_BY.to_string(),
    );
    labels
}

/// Metadata of an owned object: name, namespace, labels, owner reference.
pub(crate) fn owned_meta(cluster: &ValidatedCluster, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(cluster.namespace.clone()),
        labels: Some(labels(cluster)),
        owner_references: Some(vec![cluster.owner_reference()]),
        ..ObjectMeta::default()
    }
}

/// Every object the operator applies for one cluster, in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObjects {
    pub config_map: ConfigMap,
    pub headless_service: Service,
    pub client_service: Service,
    pub statefulset: StatefulSet,
    pub pdb: PodDisruptionBudget,
    pub security: SecurityObjects,
}

/// The objects of the security settings, applied before the workload.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityObjects {
    /// The certificate Secrets (signed by the controller, see
    /// [`crate::certs`]); empty from [`build_all`].
    pub secrets: Vec<Secret>,
    /// cert-manager `Certificate`s (with `spec.tls.ca.certManager`).
    pub certificates: Vec<crate::certs::cert_manager::Certificate>,
    /// `<c>-advertised`, with external listeners.
    pub advertised: Option<ConfigMap>,
    /// Per-broker and bootstrap Services of external listeners.
    pub external_services: Vec<Service>,
    pub network_policy: NetworkPolicy,
}

/// Build every object of a cluster: external Services for `spec.replicas`
/// pods, no external address known yet, the chart's operator pods in the
/// NetworkPolicy, and no Secrets (the controller adds what it observed).
pub fn build_all(cluster: &ValidatedCluster) -> DesiredObjects {
    let config_map = build_config_map(cluster);
    let external = cluster.security.external_listeners().next().is_some();
    let pods = u32::try_from(cluster.replicas).unwrap_or_default();
    DesiredObjects {
        headless_service: build_headless_service(cluster),
        client_service: build_client_service(cluster),
        statefulset: build_statefulset(cluster, &config_map),
        pdb: build_pdb(cluster),
        config_map,
        security: SecurityObjects {
            secrets: Vec::new(),
            certificates: Vec::new(),
            advertised: external.then(|| build_advertised_config_map(cluster, &[])),
            external_services: build_external_services(cluster, pods),
            network_policy: build_network_policy(cluster, &OperatorPods::default()),
        },
    }
}

impl DesiredObjects {
    /// Apply the lifecycle planner's decisions: the StatefulSet's replicas
    /// follow Raft membership (`None` keeps `spec.replicas`), and the PDB's
    /// `minAvailable` follows the current voters.
    pub fn set_lifecycle(&mut self, statefulset_replicas: Option<i32>, pdb_min_available: i32) {
        if let Some(replicas) = statefulset_replicas {
            self.statefulset.spec.replicas = Some(replicas);
        }
        if let Some(spec) = self.pdb.spec.as_mut() {
            spec.min_available = Some(
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(pdb_min_available),
            );
        }
    }

    /// The objects as JSON values in apply order (for `render`; the
    /// Secrets, which hold private keys, are left out).
    pub fn to_values(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        let mut values = vec![serde_json::to_value(&self.config_map)?];
        if let Some(advertised) = &self.security.advertised {
            values.push(serde_json::to_value(advertised)?);
        }
        values.push(serde_json::to_value(&self.headless_service)?);
        values.push(serde_json::to_value(&self.client_service)?);
        for service in &self.security.external_services {
            values.push(serde_json::to_value(service)?);
        }
        values.push(serde_json::to_value(&self.statefulset)?);
        values.push(serde_json::to_value(&self.pdb)?);
        values.push(serde_json::to_value(&self.security.network_policy)?);
        Ok(values)
    }
}
