//! The `ChronikCluster` custom resource (group `chronik.io`, version `v1alpha1`).
//!
//! Every field carries a doc comment: they become the OpenAPI descriptions that
//! `kubectl explain chronikcluster.spec --recursive` prints.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod security;

pub use security::{
    AuthorizationSpec, AuthorizationType, CaSpec, CertManagerSpec, ClusterTlsSpec, IssuerRef,
    ListenerAuthType, ListenerAuthentication, ListenerSpec, ListenerType,
};

/// API group of the custom resource.
pub const GROUP: &str = "chronik.io";
/// API version of the custom resource.
pub const VERSION: &str = "v1alpha1";

/// Desired state of a Raft-replicated, Kafka-compatible Chronik cluster.
// Several `printcolumn(type_ = ...)` entries look like duplicated attributes to clippy.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "chronik.io",
    version = "v1alpha1",
    kind = "ChronikCluster",
    plural = "chronikclusters",
    singular = "chronikcluster",
    namespaced,
    status = "ChronikClusterStatus",
    derive = "PartialEq",
    shortname = "chronik",
    shortname = "ck",
    category = "chronik",
    doc = "A Chronik cluster: a Raft-replicated, Kafka-compatible broker run as a StatefulSet.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas"
    ),
    printcolumn(
        name = "Replicas",
        type_ = "integer",
        description = "Desired number of brokers",
        json_path = ".spec.replicas"
    ),
    printcolumn(
        name = "Ready",
        type_ = "integer",
        description = "Brokers whose pods are Ready",
        json_path = ".status.readyReplicas"
    ),
    printcolumn(
        name = "Leader",
        type_ = "string",
        description = "Pod of the current Raft leader",
        json_path = ".status.leader.pod"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        description = "Summary of the cluster's state",
        json_path = ".status.phase"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ChronikClusterSpec {
    /// Number of brokers (Raft voters). Must be odd, between 1 and 9, so that a
    /// majority quorum exists: 3 brokers tolerate one failure, 5 tolerate two.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 9))]
    #[x_kube(validation = Rule::new("self % 2 == 1").message("replicas must be odd (1, 3, 5, 7 or 9) so that a majority quorum exists"))]
    pub replicas: i32,

    /// Container image of the broker, e.g. `chronik-broker:0.1.0`.
    #[serde(default = "default_image")]
    pub image: String,

    /// When the kubelet pulls the image: `Always`, `IfNotPresent` (default) or `Never`.
    #[serde(default)]
    pub image_pull_policy: ImagePullPolicy,

    /// CPU and memory requests and limits of the broker container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// Persistent storage of each broker (one PersistentVolumeClaim per pod).
    #[serde(default)]
    pub storage: StorageSpec,

    /// Ports the broker listens on.
    #[serde(default)]
    pub ports: PortsSpec,

    /// Kafka listeners of every broker (Strimzi's `spec.kafka.listeners`).
    /// When empty, one listener `plain`: internal, on `spec.ports.kafka`,
    /// without TLS or authentication.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[x_kube(validation = Rule::new("self.all(l, self.exists_one(m, m.name == l.name))").message("listener names must be unique"))]
    #[x_kube(validation = Rule::new("self.all(l, self.exists_one(m, m.port == l.port))").message("listener ports must be unique"))]
    pub listeners: Vec<ListenerSpec>,

    /// Authorization of Kafka requests; every request is allowed when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<AuthorizationSpec>,

    /// The cluster's certificate authority and mutual TLS between brokers
    /// (on by default).
    #[serde(default)]
    pub tls: ClusterTlsSpec,

    /// DNS domain of the Kubernetes cluster, used to build the brokers' peer
    /// and advertised addresses. Default `cluster.local`.
    #[serde(default = "default_cluster_domain")]
    pub cluster_domain: String,

    /// Kafka broker configs as `key: value` strings, e.g. `num.partitions: "6"`
    /// or `log.retention.ms: "86400000"`. Only the broker configs of the table
    /// in docs/kafka.md, section "Configuration" (name, type, default, dynamic
    /// or not) are accepted: an unknown key or a value of the wrong type or
    /// range makes the cluster Degraded with reason InvalidConfig naming the
    /// key, and nothing is applied (no pod restarts) until it is fixed.
    /// Static keys (auto.create.topics.enable, default.replication.factor,
    /// fetch.max.bytes, num.partitions, offsets.retention.minutes) are written
    /// to /etc/chronik/broker.conf, and changing one restarts the pods one at
    /// a time. Dynamic keys (the log.*, compression.type, message.max.bytes
    /// and min.insync.replicas configs) are applied to the running cluster
    /// through the brokers' admin API without a restart; the operator keeps
    /// the cluster's dynamic broker configs equal to these, so a broker
    /// config changed with a Kafka admin client is reverted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,

    /// Overrides applied to the broker pods (scheduling, labels, service account).
    #[serde(default, skip_serializing_if = "PodOverrides::is_empty")]
    pub pod: PodOverrides,

    /// Stop every change to the workload (default `false`). While paused the
    /// operator neither changes Raft membership, nor scales or updates the
    /// StatefulSet, nor restarts pods; it keeps reading the brokers and
    /// updating `status`. An operation in flight (`status.operation`) resumes
    /// where it stopped once this is set back to `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

/// When the kubelet pulls the broker image.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ImagePullPolicy {
    /// Pull on every pod start.
    Always,
    /// Pull only when the image is not on the node yet.
    #[default]
    IfNotPresent,
    /// Never pull; the image must already be on the node.
    Never,
}

impl ImagePullPolicy {
    /// The value as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// Persistent storage of each broker.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Size of each broker's data volume as a Kubernetes quantity, e.g. `10Gi`.
    /// Immutable after creation.
    #[serde(default = "default_storage_size")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("storage.size is immutable after creation"))]
    pub size: String,

    /// StorageClass of the data volumes; the cluster default when unset.
    /// Immutable after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("storage.storageClassName is immutable after creation"))]
    pub storage_class_name: Option<String>,

    /// Delete a broker's PersistentVolumeClaim when the cluster scales down
    /// past it (default `false`: the claim and its data are kept).
    #[serde(default)]
    pub delete_claims_on_scale_down: bool,

    /// Delete every PersistentVolumeClaim when the ChronikCluster is deleted
    /// (default `false`: the claims and their data are kept).
    #[serde(default)]
    pub delete_claims_on_delete: bool,
}

impl Default for StorageSpec {
    fn default() -> Self {
        Self {
            size: default_storage_size(),
            storage_class_name: None,
            delete_claims_on_scale_down: false,
            delete_claims_on_delete: false,
        }
    }
}

/// Ports the broker listens on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortsSpec {
    /// Kafka protocol port for clients (default 9092).
    #[serde(default = "default_kafka_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub kafka: i32,
    /// Raft transport port between brokers (default 5001).
    #[serde(default = "default_raft_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub raft: i32,
    /// Plain HTTP port for probes, metrics and `GET /v1/status` (default
    /// 8080); with `tls.peerMtls: false` it serves the whole admin API.
    #[serde(default = "default_http_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub http: i32,
    /// Mutual-TLS admin API port (default 8443), used with `tls.peerMtls`:
    /// membership, leader transfer, topics, users and ACLs, for the
    /// operator and the brokers only.
    #[serde(default = "default_admin_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub admin: i32,
}

impl Default for PortsSpec {
    fn default() -> Self {
        Self {
            kafka: default_kafka_port(),
            raft: default_raft_port(),
            http: default_http_port(),
            admin: default_admin_port(),
        }
    }
}

/// Overrides applied to the broker pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodOverrides {
    /// Extra labels on the broker pods (the operator's own labels win on conflict).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on the broker pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Affinity of the broker pods; replaces the default preferred
    /// anti-affinity that spreads brokers across nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Tolerations of the broker pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Node selector of the broker pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Topology spread constraints of the broker pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// PriorityClass of the broker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// ServiceAccount the broker pods run as (the namespace's `default` when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

impl PodOverrides {
    /// True when no override is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Observed state of a Chronik cluster, filled by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChronikClusterStatus {
    /// Summary of the cluster's state: `Creating`, `Running`, `Degraded`,
    /// `Unavailable` or `Invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ClusterPhase>,
    /// Number of broker pods (from the StatefulSet).
    #[serde(default)]
    pub replicas: i32,
    /// Number of broker pods that are Ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// The current Raft leader, when one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<LeaderStatus>,
    /// Current Raft term, as reported by the brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// Raft members as reported by the brokers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<ClusterMember>,
    /// Kafka bootstrap address for clients: the client Service's DNS name and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap_servers: Option<String>,
    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Number of voters the cluster was bootstrapped with. Recorded once; the
    /// `--peers` list of the pod template is always built from it, so scaling
    /// never changes (and never restarts) existing pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_replicas: Option<i32>,
    /// Storage the cluster was created with, recorded once to refuse later changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<RecordedStorage>,
    /// Conditions `Available`, `Progressing` and `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The lifecycle step in flight (scale or roll), recorded before the step
    /// is carried out so that a restarted operator resumes or completes it
    /// instead of repeating or skipping it. Absent when the cluster matches
    /// its spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationStatus>,
    /// True once the brokers reported a formed cluster (a leader, and every
    /// initial voter a member following it). A one-way latch: never cleared.
    /// Until it is set the brokers start with `--initial-cluster-state new`
    /// (an initial voter with an empty disk bootstraps the cluster), and
    /// with `existing` afterwards (an empty disk waits for the leader).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[x_kube(validation = Rule::new("self || !oldSelf").message("status.bootstrapped is a one-way latch: once true it stays true"))]
    pub bootstrapped: bool,
}

/// What kind of lifecycle operation is in flight.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OperationKind {
    /// Raft membership and the StatefulSet grow or shrink towards `spec.replicas`.
    Scale,
    /// Pods are restarted one at a time onto a new pod template (image,
    /// resources or configuration changed).
    Roll,
}

/// One step of a lifecycle operation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OperationStep {
    /// Add the member as a Raft learner through the leader's admin API.
    AddLearner,
    /// Grow the StatefulSet so that the new member's pod starts.
    GrowStatefulSet,
    /// Wait until the learner's pod is Ready and its log reached the leader's commit index.
    CatchUp,
    /// Promote the caught-up learner to voter.
    Promote,
    /// Move Raft leadership off a member that leaves or restarts.
    TransferLeadership,
    /// Remove the member from Raft (committed before its pod goes away).
    RemoveMember,
    /// Shrink the StatefulSet past members already removed from Raft.
    ShrinkStatefulSet,
    /// Delete the pod so that the StatefulSet recreates it from the new template.
    RestartPod,
    /// Wait until the restarted pod is Ready and caught up.
    WaitReady,
}

/// The lifecycle step in flight.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    /// `Scale` or `Roll`.
    pub kind: OperationKind,
    /// Number of brokers the operation is heading for (`spec.replicas` when it was recorded).
    pub target_replicas: i32,
    /// The step being carried out.
    pub step: OperationStep,
    /// Raft node id of the member being changed or restarted, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<u64>,
    /// Pod being changed or restarted, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// StatefulSet revision a roll moves pods to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// When this step was first recorded (RFC 3339); a restarted pod that is
    /// not Ready long after this stops the roll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Human-readable description, e.g. `adding member 4 as learner`.
    #[serde(default)]
    pub message: String,
}

/// Summary of a cluster's state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ClusterPhase {
    /// Objects created, no quorum yet.
    Creating,
    /// A leader exists and every member is healthy.
    Running,
    /// A leader exists but some members are unhealthy.
    Degraded,
    /// No quorum: the cluster does not serve writes.
    Unavailable,
    /// The spec is invalid; nothing was changed.
    Invalid,
}

impl ClusterPhase {
    /// The phase as it appears in the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "Creating",
            Self::Running => "Running",
            Self::Degraded => "Degraded",
            Self::Unavailable => "Unavailable",
            Self::Invalid => "Invalid",
        }
    }
}

/// The Raft leader.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderStatus {
    /// Raft node id of the leader (pod ordinal + 1).
    pub id: u64,
    /// Name of the leader's pod.
    pub pod: String,
}

/// Storage recorded at creation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordedStorage {
    /// Size of each data volume.
    pub size: String,
    /// StorageClass of the data volumes, if one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

/// Role of a Raft member, as `status.members` shows it (the broker's
/// [`chronik_api::MemberRole`] with a schema).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ClusterMemberRole {
    /// Votes in elections and counts towards quorum.
    Voter,
    /// Receives the log but does not vote yet.
    Learner,
}

impl From<chronik_api::MemberRole> for ClusterMemberRole {
    fn from(role: chronik_api::MemberRole) -> Self {
        match role {
            chronik_api::MemberRole::Voter => Self::Voter,
            chronik_api::MemberRole::Learner => Self::Learner,
        }
    }
}

/// One Raft member.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMember {
    /// Raft node id (pod ordinal + 1).
    pub id: u64,
    /// Name of the member's pod.
    pub pod: String,
    /// Raft URL of the member.
    pub url: String,
    /// `voter` or `learner`.
    pub role: ClusterMemberRole,
    /// True when the member answered the operator and knows the leader.
    pub ready: bool,
    /// Entries the member is behind the leader's commit index, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<u64>,
}

/// The CRD as YAML, exactly what `chronik-operator crd` prints and `crds/chronikcluster.yaml` holds.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&ChronikCluster::crd())
}

fn default_replicas() -> i32 {
    3
}
fn default_image() -> String {
    "chronik-broker:latest".to_string()
}
fn default_storage_size() -> String {
    "10Gi".to_string()
}
fn default_kafka_port() -> i32 {
    9092
}
fn default_raft_port() -> i32 {
    5001
}
fn default_http_port() -> i32 {
    8080
}
fn default_admin_port() -> i32 {
    8443
}
fn default_cluster_domain() -> String {
    "cluster.local".to_string()
}
