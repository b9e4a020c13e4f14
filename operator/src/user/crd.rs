//! The `ChronikUser` custom resource (group `chronik.io`, version
//! `v1alpha1`): a Kafka user of one ChronikCluster, shaped like Strimzi's
//! `KafkaUser`.
//!
//! Every field carries a doc comment: they become the OpenAPI descriptions
//! that `kubectl explain chronikuser.spec --recursive` prints. CEL rules
//! refuse what a schema cannot express (a resource name missing, an
//! operation the resource type does not have); [`super::validate`](mod@super::validate) checks the
//! same again for API servers without CEL.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Kafka user of a Chronik cluster: its credentials, its ACLs and a Secret
/// with what a client needs to connect as it.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "chronik.io",
    version = "v1alpha1",
    kind = "ChronikUser",
    plural = "chronikusers",
    singular = "chronikuser",
    namespaced,
    status = "ChronikUserStatus",
    derive = "PartialEq",
    shortname = "cku",
    category = "chronik",
    doc = "A Kafka user of a ChronikCluster: SCRAM-SHA-512 or TLS client-certificate credentials, ACLs, and a Secret named after the user.",
    printcolumn(
        name = "Cluster",
        type_ = "string",
        description = "ChronikCluster the user belongs to",
        json_path = ".spec.cluster"
    ),
    printcolumn(
        name = "Authentication",
        type_ = "string",
        description = "scram-sha-512 or tls",
        json_path = ".spec.authentication.type"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        description = "Credentials, ACLs and Secret match the spec",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ChronikUserSpec {
    /// Name of the ChronikCluster (in the same namespace) whose brokers know
    /// this user. Immutable: to move a user, create a new ChronikUser.
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.cluster is immutable"))]
    #[schemars(length(min = 1, max = 63))]
    pub cluster: String,

    /// How the user proves who it is.
    pub authentication: UserAuthentication,

    /// What the user may do. Without it the user has no ACLs (what it may
    /// do then depends on the cluster's authorizer settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<UserAuthorization>,
}

/// How the user authenticates.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UserAuthentication {
    /// `scram-sha-512`: the operator generates a password (kept in the
    /// user's Secret) and gives the brokers its salted SCRAM credential;
    /// the Kafka principal is `User:<name>`. `tls`: the operator issues a
    /// client certificate with common name `<name>` from the cluster's
    /// clients CA; the principal is `User:CN=<name>`. Immutable.
    #[serde(rename = "type")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.authentication.type is immutable: delete and recreate the user to change it"))]
    pub type_: AuthenticationType,
}

/// The user's authentication mechanism.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AuthenticationType {
    /// SASL SCRAM-SHA-512 with a generated password.
    #[serde(rename = "scram-sha-512")]
    ScramSha512,
    /// A TLS client certificate (mutual TLS).
    #[serde(rename = "tls")]
    Tls,
}

impl AuthenticationType {
    /// The value as the resource spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScramSha512 => "scram-sha-512",
            Self::Tls => "tls",
        }
    }
}

/// What the user may do.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAuthorization {
    /// Kafka ACLs of the user's principal. The operator makes the brokers'
    /// ACLs of this principal exactly these: missing ones are created,
    /// others deleted.
    #[serde(default)]
    #[schemars(length(max = 1000))]
    pub acls: Vec<AclRule>,
}

/// One ACL rule: `type` (allow or deny) the `operations` on the resources
/// `resource` selects, from `host`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.resource.type != 'topic' || self.operations.all(o, o in ['Read', 'Write', 'Create', 'Delete', 'Alter', 'Describe', 'DescribeConfigs', 'AlterConfigs', 'All'])").message("a topic ACL allows only Read, Write, Create, Delete, Alter, Describe, DescribeConfigs, AlterConfigs and All"),
    validation = Rule::new("self.resource.type != 'group' || self.operations.all(o, o in ['Read', 'Describe', 'Delete', 'All'])").message("a group ACL allows only Read, Describe, Delete and All"),
    validation = Rule::new("self.resource.type != 'cluster' || self.operations.all(o, o in ['Create', 'Alter', 'Describe', 'ClusterAction', 'DescribeConfigs', 'AlterConfigs', 'IdempotentWrite', 'All'])").message("a cluster ACL allows only Create, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite and All"),
    validation = Rule::new("self.resource.type != 'transactionalId' || self.operations.all(o, o in ['Write', 'Describe', 'All'])").message("a transactionalId ACL allows only Write, Describe and All"),
)]
pub struct AclRule {
    /// The resources the rule applies to.
    pub resource: AclResource,
    /// Kafka operations the rule allows or denies (at least one).
    #[schemars(length(min = 1, max = 11))]
    pub operations: Vec<AclOperationName>,
    /// Host the client connects from; `*` (default) is every host.
    #[serde(default = "any_host")]
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// `allow` (default) or `deny`. A deny rule wins over every allow rule.
    #[serde(rename = "type", default)]
    pub type_: AclRuleType,
}

/// The resources an ACL rule applies to.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.type == 'cluster' || has(self.name)").message("resource.name is required for topic, group and transactionalId resources"),
    validation = Rule::new("self.type != 'cluster' || self.patternType == 'literal'").message("a cluster resource takes patternType literal"),
)]
pub struct AclResource {
    /// `topic`, `group`, `cluster` or `transactionalId`.
    #[serde(rename = "type")]
    pub type_: AclResourceType,
    /// Name of the resource, or its prefix with `patternType: prefixed`; `*`
    /// with `literal` is every resource of the type. Not used for `cluster`
    /// (Kafka's cluster resource is `kafka-cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 249))]
    pub name: Option<String>,
    /// `literal` (default): the name exactly (or `*`); `prefixed`: every
    /// resource whose name starts with it.
    #[serde(default)]
    pub pattern_type: AclPatternType,
}

/// Kafka's ACL resource types.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AclResourceType {
    /// A topic.
    Topic,
    /// A consumer group.
    Group,
    /// The cluster itself (creating topics, idempotent writes, cluster actions).
    Cluster,
    /// A transactional id of a transactional producer.
    TransactionalId,
}

/// How an ACL's resource name matches.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AclPatternType {
    /// The name exactly; `*` matches every resource of the type.
    #[default]
    Literal,
    /// Every resource whose name starts with the name.
    Prefixed,
}

/// Kafka's ACL operations, as Kafka names them.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub enum AclOperationName {
    /// Consume from a topic, join a group.
    Read,
    /// Produce to a topic, use a transactional id.
    Write,
    /// Create topics (on a topic or the cluster).
    Create,
    /// Delete topics, groups or records.
    Delete,
    /// Change partitions or ACLs.
    Alter,
    /// Read metadata, offsets, group and ACL descriptions.
    Describe,
    /// Inter-broker actions.
    ClusterAction,
    /// Read configurations.
    DescribeConfigs,
    /// Change configurations.
    AlterConfigs,
    /// Produce idempotently (on the cluster).
    IdempotentWrite,
    /// Every operation.
    All,
}

/// Whether an ACL rule allows or denies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AclRuleType {
    /// The operations are allowed (unless a deny rule matches).
    #[default]
    Allow,
    /// The operations are denied, whatever allow rules say.
    Deny,
}

/// Observed state of a user, filled by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChronikUserStatus {
    /// The Kafka user name: the SCRAM user name, or the client
    /// certificate's common name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The Kafka principal the ACLs are bound to (`User:<name>` or
    /// `User:CN=<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Name of the Secret holding the credentials and `client.properties`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Number of ACL bindings the brokers hold for the principal (one per
    /// rule and operation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acls: Option<u32>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Condition `Ready`: `True` once the credentials, ACLs and Secret match
    /// the spec; otherwise its reason says why (`ClusterNotFound`,
    /// `ClusterNotReady`, `InvalidSpec`, `BrokerError`, `SecretError`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

fn any_host() -> String {
    "*".to_string()
}

/// The ChronikUser CRD as YAML, exactly what `chronik-operator user-crd`
/// prints and `crds/chronikuser.yaml` holds.
pub fn user_crd_yaml() -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&ChronikUser::crd())
}
