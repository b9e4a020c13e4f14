//! Spec validation: a `ChronikCluster` in, a [`ValidatedCluster`] (the single
//! input of every builder) or a typed [`ValidationError`] out.
//!
//! The CRD's schema and CEL rules already refuse most bad specs; this module
//! checks them again (the controller may face an API server that does not
//! evaluate CEL, and `render` has no API server at all) plus what a schema
//! cannot see, such as changes against the values recorded in `status`.

use chronik_api::PodAddresses;
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;

use crate::crd::{ChronikCluster, PodOverrides, GROUP, VERSION};

mod config;
mod security;

pub use config::{same_value, validate_config, BrokerConfig};
pub use security::{CaSettings, Listener, Security};

/// Longest ChronikCluster name: the StatefulSet's pods carry a
/// `controller-revision-hash` label of `<name>-<10 chars>` that must fit in 63.
pub const MAX_NAME_LEN: usize = 52;

/// Why a spec was refused. Every message names the field and the fix.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ValidationError {
    #[error("metadata.name is missing")]
    MissingName,
    #[error("metadata.namespace is missing")]
    MissingNamespace,
    #[error("metadata.uid is missing (the object was not read from an API server)")]
    MissingUid,
    #[error(
        "metadata.name {name:?} is longer than {MAX_NAME_LEN} characters or not a DNS-1035 label"
    )]
    InvalidName { name: String },
    #[error("spec.replicas is {replicas}: must be between 1 and 9")]
    ReplicasOutOfRange { replicas: i32 },
    #[error("spec.replicas is {replicas}: must be odd (1, 3, 5, 7 or 9) so that a majority quorum exists")]
    EvenReplicas { replicas: i32 },
    #[error("spec.image is empty")]
    EmptyImage,
    #[error("spec.storage.size {size:?} is not a valid quantity: {reason}")]
    InvalidStorageSize { size: String, reason: String },
    #[error("spec.storage.{field} is immutable after creation: was {old:?}, now {new:?}; revert it (to change storage, create a new cluster)")]
    StorageChanged {
        field: &'static str,
        old: String,
        new: String,
    },
    #[error("spec.ports.{name} is {port}: must be between 1 and 65535")]
    InvalidPort { name: &'static str, port: i32 },
    #[error("spec.ports: {first} and {second} both use port {port}")]
    DuplicatePort {
        first: &'static str,
        second: &'static str,
        port: i32,
    },
    #[error("spec.clusterDomain {domain:?} is not a DNS name")]
    InvalidClusterDomain { domain: String },
    #[error("spec.config value of {key} must not contain a line break")]
    InvalidConfigValue { key: String },
    #[error(
        "spec.config: {0} (the broker configs are listed in docs/kafka.md, section Configuration)"
    )]
    InvalidConfig(#[from] chronik_api::config::ConfigError),
    #[error("spec.listeners: listener name {name:?} must be 1-11 lowercase letters, digits or single '-', start with a letter, and not be raft, http or admin")]
    InvalidListenerName { name: String },
    #[error("spec.listeners: listener {name:?} port {port} must be between 1 and 65535")]
    InvalidListenerPort { name: String, port: i32 },
    #[error("spec.listeners: listener {name:?} uses port {port}, already spec.{other}")]
    ListenerPortTaken {
        name: String,
        port: i32,
        other: &'static str,
    },
    #[error("spec.listeners: listeners {first:?} and {second:?} share a name or a port")]
    DuplicateListener { first: String, second: String },
    #[error("spec.listeners: listener {name:?} has authentication.type tls (mutual TLS) but tls: false; set tls: true")]
    MutualTlsWithoutTls { name: String },
    #[error("spec.authorization.superUsers entry {user:?} must be non-empty and contain no ';' or line break")]
    InvalidSuperUser { user: String },
    #[error("the external listener's Service name {name:?} is longer than 63 characters; shorten the cluster or listener name")]
    ExternalNameTooLong { name: String },
    #[error("spec.tls.ca: set secretName or certManager, not both")]
    ConflictingCaSources,
    #[error("spec.tls.ca: renewalDays ({renewal}) must be at least 1 and smaller than validityDays ({validity})")]
    InvalidCaDays { validity: i32, renewal: i32 },
    #[error("spec.resources.{field} {value:?} is not a valid quantity: {reason}")]
    InvalidResource {
        field: String,
        value: String,
        reason: String,
    },
}

impl ValidationError {
    /// Condition reason of a validation failure outside `spec.config`.
    pub const REASON: &'static str = "InvalidSpec";
    /// Condition reason of a refused `spec.config` entry.
    pub const CONFIG_REASON: &'static str = "InvalidConfig";

    /// The `Degraded` condition's reason for this failure: `InvalidConfig`
    /// for `spec.config`, `InvalidSpec` for the rest.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidConfig(_) | Self::InvalidConfigValue { .. } => Self::CONFIG_REASON,
            _ => Self::REASON,
        }
    }
}

/// Ports of the broker, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub kafka: i32,
    pub raft: i32,
    pub http: i32,
    /// The mutual-TLS admin API port (used with peer mTLS).
    pub admin: i32,
}

/// Storage of the broker, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub size: String,
    pub storage_class_name: Option<String>,
    pub delete_claims_on_scale_down: bool,
    pub delete_claims_on_delete: bool,
}

/// A checked cluster: everything the builders need and nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedCluster {
    pub name: String,
    pub namespace: String,
    /// `metadata.uid`, passed to the brokers as `--cluster-id`.
    pub uid: String,
    pub generation: Option<i64>,
    /// Desired number of pods.
    pub replicas: i32,
    /// Voters the cluster was bootstrapped with: the `--peers` list.
    pub initial_replicas: i32,
    pub image: String,
    pub image_pull_policy: String,
    pub resources: Option<ResourceRequirements>,
    pub storage: Storage,
    pub ports: Ports,
    /// The pods' DNS names and URLs (`spec.clusterDomain`, the Raft and
    /// HTTP ports).
    pub addresses: PodAddresses,
    /// `spec.config`, checked and split into static and dynamic keys.
    pub config: BrokerConfig,
    /// Listeners, authorization and certificates.
    pub security: Security,
    pub pod: PodOverrides,
    /// `spec.paused`: no workload change while set.
    pub paused: bool,
    /// The `status.bootstrapped` latch (the reconcile also sets it once the
    /// brokers report a formed cluster): the brokers' ConfigMap then says
    /// `--initial-cluster-state existing`.
    pub bootstrapped: bool,
}

/// Check a ChronikCluster read from the API server (or a file, for `render`).
pub fn validate(cluster: &ChronikCluster) -> Result<ValidatedCluster, ValidationError> {
    validate_with(cluster, None)
}

/// [`validate`], given the initial voter count an existing StatefulSet
/// remembers (`workload_initial_replicas`): it stands in for the latch in
/// `status` when the status has none (a new cluster, or the status was lost).
pub fn validate_with(
    cluster: &ChronikCluster,
    workload_initial_replicas: Option<i32>,
) -> Result<ValidatedCluster, ValidationError> {
    let meta = &cluster.metadata;
    let name = meta.name.clone().ok_or(ValidationError::MissingName)?;
    if name.len() > MAX_NAME_LEN || !is_dns_label(&name) {
        return Err(ValidationError::InvalidName { name });
    }
    let namespace = meta
        .namespace
        .clone()
        .ok_or(ValidationError::MissingNamespace)?;
    let uid = meta.uid.clone().ok_or(ValidationError::MissingUid)?;
    let spec = &cluster.spec;

    let replicas = spec.replicas;
    check_replicas(replicas)?;
    if spec.image.trim().is_empty() {
        return Err(ValidationError::EmptyImage);
    }

    parse_quantity(&spec.storage.size).map_err(|reason| ValidationError::InvalidStorageSize {
        size: spec.storage.size.clone(),
        reason,
    })?;
    let status = cluster.status.as_ref();
    if let Some(recorded) = status.and_then(|s| s.storage.as_ref()) {
        if !same_quantity(&recorded.size, &spec.storage.size) {
            return Err(ValidationError::StorageChanged {
                field: "size",
                old: recorded.size.clone(),
                new: spec.storage.size.clone(),
            });
        }
        if recorded.storage_class_name != spec.storage.storage_class_name {
            return Err(ValidationError::StorageChanged {
                field: "storageClassName",
                old: recorded.storage_class_name.clone().unwrap_or_default(),
                new: spec.storage.storage_class_name.clone().unwrap_or_default(),
            });
        }
    }

    let ports = Ports {
        kafka: spec.ports.kafka,
        raft: spec.ports.raft,
        http: spec.ports.http,
        admin: spec.ports.admin,
    };
    check_ports(&ports)?;
    let security = security::validate_security(&name, spec, &ports)?;

    if !is_dns_name(&spec.cluster_domain) {
        return Err(ValidationError::InvalidClusterDomain {
            domain: spec.cluster_domain.clone(),
        });
    }
    let config = validate_config(&spec.config)?;
    if let Some(resources) = &spec.resources {
        check_resources(resources)?;
    }

    // The initial membership is latched in status, else on the StatefulSet;
    // before either exists it is the spec's replica count.
    let initial_replicas = match status.and_then(|s| s.initial_replicas) {
        Some(n) => Some(n).filter(|n| (1..=9).contains(n)),
        None => workload_initial_replicas.filter(|n| (1..=9).contains(n)),
    }
    .unwrap_or(replicas);
    let port = |p: i32| u16::try_from(p).unwrap_or_default();
    let addresses = PodAddresses {
        name: name.clone(),
        namespace: namespace.clone(),
        cluster_domain: spec.cluster_domain.clone(),
        raft_port: port(ports.raft),
        http_port: port(ports.http),
    };

    Ok(ValidatedCluster {
        name,
        namespace,
        uid,
        generation: meta.generation,
        replicas,
        initial_replicas,
        image: spec.image.clone(),
        image_pull_policy: spec.image_pull_policy.as_str().to_string(),
        resources: spec.resources.clone(),
        storage: Storage {
            size: spec.storage.size.clone(),
            storage_class_name: spec.storage.storage_class_name.clone(),
            delete_claims_on_scale_down: spec.storage.delete_claims_on_scale_down,
            delete_claims_on_delete: spec.storage.delete_claims_on_delete,
        },
        ports,
        addresses,
        config,
        security,
        pod: spec.pod.clone(),
        paused: spec.paused,
        bootstrapped: status.is_some_and(|s| s.bootstrapped),
    })
}

fn check_replicas(replicas: i32) -> Result<(), ValidationError> {
    if !(1..=9).contains(&replicas) {
        return Err(ValidationError::ReplicasOutOfRange { replicas });
    }
    if replicas % 2 == 0 {
        return Err(ValidationError::EvenReplicas { replicas });
    }
    Ok(())
}

fn check_ports(ports: &Ports) -> Result<(), ValidationError> {
    let named = [
        ("kafka", ports.kafka),
        ("raft", ports.raft),
        ("http", ports.http),
        ("admin", ports.admin),
    ];
    for (name, port) in named {
        if !(1..=65535).contains(&port) {
            return Err(ValidationError::InvalidPort { name, port });
        }
    }
    for (i, (first, a)) in named.iter().enumerate() {
        for (second, b) in &named[i + 1..] {
            if a == b {
                return Err(ValidationError::DuplicatePort {
                    first,
                    second,
                    port: *a,
                });
            }
        }
    }
    Ok(())
}

fn check_resources(resources: &ResourceRequirements) -> Result<(), ValidationError> {
    let maps = [
        ("limits", &resources.limits),
        ("requests", &resources.requests),
    ];
    for (kind, map) in maps {
        for (key, value) in map.iter().flatten() {
            parse_quantity(&value.0).map_err(|reason| ValidationError::InvalidResource {
                field: format!("{kind}.{key}"),
                value: value.0.clone(),
                reason,
            })?;
        }
    }
    Ok(())
}

impl ValidatedCluster {
    /// Name of the client (bootstrap) Service.
    pub fn client_service_name(&self) -> String {
        self.name.clone()
    }
    /// Name of the broker ConfigMap.
    pub fn config_map_name(&self) -> String {
        format!("{}-config", self.name)
    }
    /// Name of the ConfigMap of advertised external addresses.
    pub fn advertised_config_map_name(&self) -> String {
        format!("{}-advertised", self.name)
    }
    /// The `--advertised-host` value, expanded by the kubelet from `POD_NAME`.
    pub fn advertised_host_arg(&self) -> String {
        format!(
            "$(POD_NAME).{}.{}",
            self.addresses.headless_service_name(),
            self.addresses.svc_suffix()
        )
    }
    /// Kafka bootstrap address of the client Service: its first internal
    /// listener's port (the first listener's when all are external).
    pub fn bootstrap_servers(&self) -> String {
        let listeners = &self.security.listeners;
        let port = listeners
            .iter()
            .find(|l| !l.is_external())
            .or(listeners.first())
            .map_or(self.ports.kafka, |l| l.port);
        format!(
            "{}.{}:{}",
            self.client_service_name(),
            self.addresses.svc_suffix(),
            port
        )
    }
    /// Where the operator reaches the brokers' HTTP API: the mutual-TLS
    /// admin port over https with peer mTLS, else the plain HTTP port.
    pub fn broker_api_addresses(&self) -> crate::addresses::BrokerApiAddresses {
        crate::addresses::BrokerApiAddresses {
            pods: self.addresses.clone(),
            admin_port: self
                .security
                .peer_mtls
                .then(|| u16::try_from(self.ports.admin).unwrap_or_default()),
        }
    }
    /// The owner reference every built object carries.
    pub fn owner_reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: format!("{GROUP}/{VERSION}"),
            kind: <ChronikCluster as Resource>::kind(&()).to_string(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
}

/// Majority of `voters`: how many must be up for the cluster to commit.
pub fn quorum(voters: i32) -> i32 {
    voters / 2 + 1
}

fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Parse a Kubernetes quantity (`10Gi`, `500m`, `1e3`, `1.5G`) into its value.
pub fn parse_quantity(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty".to_string());
    }
    const SUFFIXES: [(&str, f64); 14] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    let (number, factor) = SUFFIXES
        .iter()
        .find_map(|(suffix, factor)| s.strip_suffix(suffix).map(|n| (n, *factor)))
        .or_else(|| s.strip_suffix('E').map(|n| (n, 1e18)))
        .unwrap_or((s, 1.0));
    let valid_chars = number
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-' | 'e' | 'E'));
    if !valid_chars {
        return Err(format!("unknown unit in {s:?}"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{number:?} is not a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err("must be a finite, non-negative number".to_string());
    }
    Ok(value * factor)
}

/// True when both strings are quantities of the same value (`1Gi` == `1024Mi`).
pub fn same_quantity(a: &str, b: &str) -> bool {
    match (parse_quantity(a), parse_quantity(b)) {
        (Ok(x), Ok(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}
