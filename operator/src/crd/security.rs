//! The security fields of a `ChronikCluster`, shaped like Strimzi's
//! `Kafka` resource: Kafka listeners (`spec.listeners`), authorization
//! (`spec.authorization`) and the cluster's certificates (`spec.tls`).
//!
//! Their doc comments become the schema descriptions `kubectl explain`
//! prints; the CEL rules refuse what can be refused without the operator.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One Kafka listener of every broker.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.authentication) || self.authentication.type != 'tls' || self.tls").message("authentication.type tls (mutual TLS) needs tls: true on the listener")
)]
pub struct ListenerSpec {
    /// Name of the listener: lowercase letters, digits and `-`, at most 11
    /// characters, unique in the cluster. It names the container port and,
    /// for external listeners, the Services (`<cluster>-<ordinal>-<name>`);
    /// Kafka clients see it as the listener name.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,10}$"))]
    pub name: String,

    /// Port the brokers listen on for this listener, unique among the
    /// listeners and different from `spec.ports.raft`, `http` and `admin`.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,

    /// How clients reach the listener: `internal` (default; the pods'
    /// headless DNS names inside the Kubernetes cluster), `nodeport` (a
    /// NodePort Service per broker plus a bootstrap Service; each broker
    /// advertises its node's address and its node port) or `loadbalancer`
    /// (a LoadBalancer Service per broker plus a bootstrap Service; each
    /// broker advertises its load balancer's address).
    #[serde(default, rename = "type")]
    pub type_: ListenerType,

    /// Encrypt the listener with TLS (default `false`). The brokers present
    /// a certificate of the cluster CA (Secret `<cluster>-cluster-ca-cert`
    /// holds the CA clients trust).
    #[serde(default)]
    pub tls: bool,

    /// How clients authenticate on this listener; none when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ListenerAuthentication>,
}

/// How clients reach a listener.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListenerType {
    /// Inside the Kubernetes cluster, through the pods' headless DNS names.
    #[default]
    Internal,
    /// From outside, through a NodePort Service per broker.
    Nodeport,
    /// From outside, through a LoadBalancer Service per broker.
    Loadbalancer,
}

impl ListenerType {
    /// The value as the resource spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::Nodeport => "nodeport",
            Self::Loadbalancer => "loadbalancer",
        }
    }
}

/// Client authentication on a listener.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct ListenerAuthentication {
    /// `none`, `plain` (SASL/PLAIN), `scram-sha-256`, `scram-sha-512`
    /// (SASL/SCRAM) or `tls` (mutual TLS: clients present a certificate of
    /// the clients CA, Secret `<cluster>-clients-ca`; needs `tls: true`).
    #[serde(rename = "type")]
    pub type_: ListenerAuthType,
}

/// A client authentication method.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ListenerAuthType {
    /// No authentication: every client is `User:ANONYMOUS`.
    #[serde(rename = "none")]
    None,
    /// SASL/PLAIN against the brokers' SCRAM credentials.
    #[serde(rename = "plain")]
    Plain,
    /// SASL/SCRAM-SHA-256.
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// SASL/SCRAM-SHA-512.
    #[serde(rename = "scram-sha-512")]
    ScramSha512,
    /// Mutual TLS: the client certificate's common name is the principal.
    #[serde(rename = "tls")]
    Tls,
}

impl ListenerAuthType {
    /// The broker's `auth=` value of `--listener` (Strimzi's `tls` is the
    /// broker's `mtls`).
    pub fn broker_value(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Plain => "plain",
            Self::ScramSha256 => "scram-sha-256",
            Self::ScramSha512 => "scram-sha-512",
            Self::Tls => "mtls",
        }
    }
}

/// Authorization of Kafka requests.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationSpec {
    /// `simple`: Kafka's ACL authorizer (`--authorizer simple`). Requests
    /// need an ACL allowing them (ChronikUser `spec.authorization.acls`)
    /// unless the principal is a super user.
    #[serde(rename = "type")]
    pub type_: AuthorizationType,

    /// Principals allowed everything, as Kafka's `super.users`: a user name
    /// (`admin`), a certificate subject (`CN=ops`), or a full principal
    /// (`User:admin`); names without a type get `User:`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 256)))]
    #[x_kube(validation = Rule::new("self.all(u, size(u) > 0 && !u.contains(';'))").message("superUsers entries must be non-empty and must not contain ';'"))]
    pub super_users: Vec<String>,
}

/// The authorizer of the brokers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizationType {
    /// Kafka's ACL authorizer.
    Simple,
}

/// Certificates of the cluster and mutual TLS between brokers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTlsSpec {
    /// Mutual TLS between brokers and on the admin API (default `true`):
    /// the Raft transport and the admin port (`spec.ports.admin`) accept
    /// only certificates of the cluster CA, and a broker's certificate binds
    /// its node id. `false` runs the Raft transport and the whole HTTP API
    /// in plaintext, open to anyone who can reach the pods.
    #[serde(default = "default_true")]
    pub peer_mtls: bool,

    /// The cluster CA, which signs the brokers' and the operator's
    /// certificates (and, as the clients CA, verifies mutual-TLS clients).
    #[serde(default)]
    pub ca: CaSpec,
}

impl Default for ClusterTlsSpec {
    fn default() -> Self {
        Self {
            peer_mtls: true,
            ca: CaSpec::default(),
        }
    }
}

/// Where the cluster CA comes from, and how long certificates live.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.renewalDays < self.validityDays").message("tls.ca.renewalDays must be smaller than validityDays")
)]
#[x_kube(
    validation = Rule::new("!(has(self.secretName) && has(self.certManager))").message("tls.ca: set secretName or certManager, not both")
)]
pub struct CaSpec {
    /// Days each CA and certificate the operator signs is valid (default 365).
    #[serde(default = "default_validity_days")]
    #[schemars(range(min = 2, max = 3650))]
    pub validity_days: i32,

    /// Days before expiry at which the operator renews a certificate or CA
    /// (default 30). Broker certificates are replaced in place (the brokers
    /// reload them, no restart); a CA is renewed in three steps that keep
    /// every broker trusting every other (see docs/operator.md).
    #[serde(default = "default_renewal_days")]
    #[schemars(range(min = 1, max = 3649))]
    pub renewal_days: i32,

    /// A Secret in the cluster's namespace holding the cluster CA to use
    /// (`ca.crt` and `ca.key`, PEM) instead of one the operator generates.
    /// The operator signs with it but never renews it: put a new CA in the
    /// Secret before the old one expires, and the operator rolls it out in
    /// the same three steps as a renewal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: Option<String>,

    /// Let cert-manager issue the brokers' and the operator's certificates
    /// instead of the operator: one cert-manager `Certificate` per broker
    /// pod (`<pod>-cert`) and one for the operator (`<cluster>-operator-cert`),
    /// issued by this issuer with `validityDays` and `renewalDays`. The
    /// operator copies what cert-manager issues into `<cluster>-brokers`,
    /// `<cluster>-operator` and (the issuer's `ca.crt`)
    /// `<cluster>-cluster-ca-cert`. Requires cert-manager in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_manager: Option<CertManagerSpec>,
}

impl Default for CaSpec {
    fn default() -> Self {
        Self {
            validity_days: default_validity_days(),
            renewal_days: default_renewal_days(),
            secret_name: None,
            cert_manager: None,
        }
    }
}

/// cert-manager as the cluster's certificate source.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertManagerSpec {
    /// The issuer that signs the certificates.
    pub issuer_ref: IssuerRef,
}

/// A cert-manager issuer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    /// Name of the issuer.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// `Issuer` (default, in the cluster's namespace) or `ClusterIssuer`.
    #[serde(default = "default_issuer_kind")]
    #[schemars(regex(pattern = r"^(Issuer|ClusterIssuer)$"))]
    pub kind: String,
    /// API group of the issuer (default `cert-manager.io`).
    #[serde(default = "default_issuer_group")]
    pub group: String,
}

fn default_issuer_kind() -> String {
    "Issuer".to_string()
}
fn default_issuer_group() -> String {
    "cert-manager.io".to_string()
}

fn default_true() -> bool {
    true
}
fn default_validity_days() -> i32 {
    365
}
fn default_renewal_days() -> i32 {
    30
}
