//! The StatefulSet `<name>` running the brokers.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapKeySelector, ConfigMapVolumeSource, Container,
    ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction, ObjectFieldSelector,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile, SecurityContext, Volume,
    VolumeMount, VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use chronik_api::identity::format_peers;

use super::tls::{security_args, security_mounts, security_volumes};
use super::{
    broker_conf, config_hash, labels, owned_meta, selector_labels, BROKER_CONF_KEY,
    INITIAL_CLUSTER_STATE_KEY,
};
use crate::validate::ValidatedCluster;

/// Name of the broker container.
pub const CONTAINER_NAME: &str = "broker";
/// Name of the data volume claim template.
pub const DATA_VOLUME: &str = "data";
/// Where the data volume is mounted (`--data-dir`).
pub const DATA_DIR: &str = "/var/lib/chronik";
/// Where the ConfigMap is mounted.
pub const CONFIG_DIR: &str = "/etc/chronik";
/// Pod-template annotation holding the hash of `broker.conf`.
pub const CONFIG_HASH_ANNOTATION: &str = "chronik.io/config-hash";
/// StatefulSet annotation recording the initial voter count, so that the
/// `--peers` list survives a lost `status.initialReplicas`.
pub const INITIAL_REPLICAS_ANNOTATION: &str = "chronik.io/initial-replicas";
/// StatefulSet annotation recording the `status.bootstrapped` latch, so that
/// it survives a lost status (the pods read the state from the ConfigMap).
pub const BOOTSTRAPPED_ANNOTATION: &str = "chronik.io/bootstrapped";
/// Long enough for a leader to transfer leadership and exit on SIGTERM.
pub const TERMINATION_GRACE_SECONDS: i64 = 30;
/// User and group the broker runs as.
pub const BROKER_UID: i64 = 65532;

/// Build the StatefulSet. The pod template depends on `initial_replicas`, not
/// on `replicas`, so scaling never restarts existing pods.
pub fn build_statefulset(cluster: &ValidatedCluster, config_map: &ConfigMap) -> StatefulSet {
    let conf_hash = config_map
        .data
        .as_ref()
        .and_then(|d| d.get(BROKER_CONF_KEY))
        .map(|text| config_hash(text))
        .unwrap_or_else(|| config_hash(&broker_conf(&cluster.config.static_config)));

    let mut pod_labels = cluster.pod.labels.clone();
    pod_labels.extend(labels(cluster));
    let mut pod_annotations = cluster.pod.annotations.clone();
    pod_annotations.insert(CONFIG_HASH_ANNOTATION.to_string(), conf_hash);

    let retention = |delete: bool| if delete { "Delete" } else { "Retain" }.to_string();
    let mut metadata = owned_meta(cluster, cluster.name.clone());
    let mut annotations = BTreeMap::from([(
        INITIAL_REPLICAS_ANNOTATION.to_string(),
        cluster.initial_replicas.to_string(),
    )]);
    if cluster.bootstrapped {
        annotations.insert(BOOTSTRAPPED_ANNOTATION.to_string(), "true".to_string());
    }
    metadata.annotations = Some(annotations);
    StatefulSet {
        metadata,
        spec: StatefulSetSpec {
            replicas: Some(cluster.replicas),
            service_name: Some(cluster.addresses.headless_service_name()),
            pod_management_policy: Some("Parallel".to_string()),
            selector: LabelSelector {
                match_labels: Some(selector_labels(cluster)),
                ..LabelSelector::default()
            },
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".to_string()),
                ..StatefulSetUpdateStrategy::default()
            }),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(retention(cluster.storage.delete_claims_on_delete)),
                    when_scaled: Some(retention(cluster.storage.delete_claims_on_scale_down)),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(pod_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(cluster)),
            },
            volume_claim_templates: Some(vec![data_claim(cluster)]),
            ..StatefulSetSpec::default()
        },
        ..StatefulSet::default()
    }
}

fn pod_spec(cluster: &ValidatedCluster) -> PodSpec {
    let overrides = &cluster.pod;
    let non_empty_map = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| m.clone());
    PodSpec {
        containers: vec![broker_container(cluster)],
        termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(BROKER_UID),
            run_as_group: Some(BROKER_UID),
            fs_group: Some(BROKER_UID),
            fs_group_change_policy: Some("OnRootMismatch".to_string()),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        affinity: Some(
            overrides
                .affinity
                .clone()
                .unwrap_or_else(|| default_affinity(cluster)),
        ),
        tolerations: (!overrides.tolerations.is_empty()).then(|| overrides.tolerations.clone()),
        node_selector: non_empty_map(&overrides.node_selector),
        topology_spread_constraints: (!overrides.topology_spread_constraints.is_empty())
            .then(|| overrides.topology_spread_constraints.clone()),
        priority_class_name: overrides.priority_class_name.clone(),
        service_account_name: overrides.service_account_name.clone(),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        volumes: Some(
            [
                Volume {
                    name: "config".to_string(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: cluster.config_map_name(),
                        ..ConfigMapVolumeSource::default()
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: "tmp".to_string(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Volume::default()
                },
            ]
            .into_iter()
            .chain(security_volumes(cluster))
            .collect(),
        ),
        ..PodSpec::default()
    }
}

/// Preferred (not required) anti-affinity: spread brokers across nodes when
/// possible, still schedule on a single-node cluster.
fn default_affinity(cluster: &ValidatedCluster) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        topology_key: "kubernetes.io/hostname".to_string(),
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector_labels(cluster)),
                            ..LabelSelector::default()
                        }),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: field_path.to_string(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// `CHRONIK_INITIAL_CLUSTER_STATE` from the ConfigMap: the template stays
/// the same when the latch flips, so a formed cluster is not rolled; a pod
/// (re)started afterwards reads `existing`.
fn initial_cluster_state_env(cluster: &ValidatedCluster) -> EnvVar {
    EnvVar {
        name: "CHRONIK_INITIAL_CLUSTER_STATE".to_string(),
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: cluster.config_map_name(),
                key: INITIAL_CLUSTER_STATE_KEY.to_string(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String("http".to_string()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        container_port: port,
        protocol: Some("TCP".to_string()),
        ..ContainerPort::default()
    }
}

/// The broker's command line, in the order the broker documents its flags,
/// then the security flags ([`security_args`]).
pub fn broker_args(cluster: &ValidatedCluster) -> Vec<String> {
    let ports = &cluster.ports;
    let initial_voters = u32::try_from(cluster.initial_replicas).unwrap_or_default();
    let mut args = vec![
        format!("--cluster-id={}", cluster.uid),
        format!(
            "--peers={}",
            format_peers(&cluster.addresses.initial_peers(initial_voters))
        ),
        format!("--raft-addr=0.0.0.0:{}", ports.raft),
        format!("--http-addr=0.0.0.0:{}", ports.http),
        format!("--kafka-addr=0.0.0.0:{}", ports.kafka),
        format!("--data-dir={DATA_DIR}"),
        format!("--advertised-host={}", cluster.advertised_host_arg()),
        "--log-format=json".to_string(),
        format!("--config={CONFIG_DIR}/{BROKER_CONF_KEY}"),
    ];
    args.extend(security_args(cluster));
    args
}

/// Container ports: every listener, Raft, plain HTTP and, with peer mTLS, admin.
fn container_ports(cluster: &ValidatedCluster) -> Vec<ContainerPort> {
    let ports = &cluster.ports;
    let mut out: Vec<ContainerPort> = cluster
        .security
        .listeners
        .iter()
        .map(|l| container_port(&l.port_name, l.port))
        .collect();
    out.push(container_port("raft", ports.raft));
    out.push(container_port("http", ports.http));
    if cluster.security.peer_mtls {
        out.push(container_port("admin", ports.admin));
    }
    out
}

fn broker_container(cluster: &ValidatedCluster) -> Container {
    Container {
        name: CONTAINER_NAME.to_string(),
        image: Some(cluster.image.clone()),
        image_pull_policy: Some(cluster.image_pull_policy.clone()),
        command: Some(vec!["/chronik-broker".to_string()]),
        args: Some(broker_args(cluster)),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("CHRONIK_POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
            initial_cluster_state_env(cluster),
        ]),
        ports: Some(container_ports(cluster)),
        // The broker answers /livez within milliseconds of its start and
        // fails it only when its loop or storage recovery stops making
        // progress, however long recovery of a large disk takes; /readyz
        // waits for recovery and replay (docs/broker.md, "Starting with a
        // large data directory").
        readiness_probe: Some(http_probe("/readyz", 5, 3)),
        liveness_probe: Some(http_probe("/livez", 10, 6)),
        startup_probe: Some(http_probe("/livez", 2, 60)),
        resources: cluster.resources.clone(),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(BROKER_UID),
            run_as_group: Some(BROKER_UID),
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            privileged: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_string()]),
                ..Capabilities::default()
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                ..SeccompProfile::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(
            [
                VolumeMount {
                    name: DATA_VOLUME.to_string(),
                    mount_path: DATA_DIR.to_string(),
                    ..VolumeMount::default()
                },
                VolumeMount {
                    name: "config".to_string(),
                    mount_path: CONFIG_DIR.to_string(),
                    read_only: Some(true),
                    ..VolumeMount::default()
                },
                VolumeMount {
                    name: "tmp".to_string(),
                    mount_path: "/tmp".to_string(),
                    ..VolumeMount::default()
                },
            ]
            .into_iter()
            .chain(security_mounts(cluster))
            .collect(),
        ),
        ..Container::default()
    }
}

fn data_claim(cluster: &ValidatedCluster) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.to_string()),
            labels: Some(selector_labels(cluster)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: cluster.storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(cluster.storage.size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}
