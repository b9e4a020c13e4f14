//! What the security settings add to the broker pod: the TLS directories
//! (projected volumes of the certificate Secrets), the advertised-listeners
//! file, and the broker flags that use them.
//!
//! The volumes name Secrets, never their contents, so a renewed certificate
//! changes no pod template and restarts nothing: the kubelet updates the
//! files and the brokers reload them.

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, KeyToPath, ProjectedVolumeSource, SecretProjection, Volume, VolumeMount,
    VolumeProjection,
};

use crate::certs::SecretNames;
use crate::validate::ValidatedCluster;

/// Where the peer TLS files are (`--peer-tls-dir`): `<pod>.crt`, `<pod>.key`, `ca.crt` (cluster CA).
pub const PEER_TLS_DIR: &str = "/etc/chronik-tls/peer";
/// Where the Kafka TLS files are (`--kafka-tls-dir`): `<pod>.crt`, `<pod>.key`, `ca.crt` (clients CA).
pub const KAFKA_TLS_DIR: &str = "/etc/chronik-tls/kafka";
/// Where the `<c>-advertised` ConfigMap is mounted.
pub const ADVERTISED_DIR: &str = "/etc/chronik-advertised";
/// Key of the advertised listeners in `<c>-advertised` (`--advertised-listeners-file`).
pub const ADVERTISED_KEY: &str = "advertised-listeners";

const PEER_TLS_VOLUME: &str = "peer-tls";
const KAFKA_TLS_VOLUME: &str = "kafka-tls";
const ADVERTISED_VOLUME: &str = "advertised";

/// The broker flags of the security settings, after the base flags.
pub fn security_args(cluster: &ValidatedCluster) -> Vec<String> {
    let security = &cluster.security;
    let mut args = Vec::new();
    if security.peer_mtls {
        args.push(format!("--peer-tls-dir={PEER_TLS_DIR}"));
        args.push(format!("--admin-addr=0.0.0.0:{}", cluster.ports.admin));
    }
    if security.kafka_tls() {
        args.push(format!("--kafka-tls-dir={KAFKA_TLS_DIR}"));
    }
    if security.explicit_listeners {
        for listener in &security.listeners {
            args.push(format!("--listener={}", listener.broker_arg()));
        }
    }
    if security.external_listeners().next().is_some() {
        args.push(format!(
            "--advertised-listeners-file={ADVERTISED_DIR}/{ADVERTISED_KEY}"
        ));
    }
    if let Some(super_users) = security.super_users_arg() {
        args.push("--authorizer=simple".to_string());
        if !super_users.is_empty() {
            args.push(format!("--super-users={super_users}"));
        }
    }
    args
}

/// A directory of every broker's `<pod>.crt`/`<pod>.key` plus `ca.crt` of `ca_secret`.
fn tls_dir(name: &str, brokers: &str, ca_secret: &str) -> Volume {
    let secret = |name: &str, items: Option<Vec<KeyToPath>>| VolumeProjection {
        secret: Some(SecretProjection {
            name: name.to_string(),
            items,
            optional: Some(false),
        }),
        ..VolumeProjection::default()
    };
    let ca = KeyToPath {
        key: "ca.crt".to_string(),
        path: "ca.crt".to_string(),
        ..KeyToPath::default()
    };
    Volume {
        name: name.to_string(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![
                secret(brokers, None),
                secret(ca_secret, Some(vec![ca])),
            ]),
            default_mode: Some(0o440),
            ..ProjectedVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// The volumes the security settings need.
pub fn security_volumes(cluster: &ValidatedCluster) -> Vec<Volume> {
    let names = SecretNames::of(&cluster.name);
    let security = &cluster.security;
    let mut volumes = Vec::new();
    if security.peer_mtls {
        volumes.push(tls_dir(
            PEER_TLS_VOLUME,
            &names.brokers,
            &names.cluster_ca_cert,
        ));
    }
    if security.kafka_tls() {
        volumes.push(tls_dir(
            KAFKA_TLS_VOLUME,
            &names.brokers,
            &names.clients_ca_cert,
        ));
    }
    if security.external_listeners().next().is_some() {
        volumes.push(Volume {
            name: ADVERTISED_VOLUME.to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: cluster.advertised_config_map_name(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    volumes
}

/// The mounts of [`security_volumes`], read-only.
pub fn security_mounts(cluster: &ValidatedCluster) -> Vec<VolumeMount> {
    security_volumes(cluster)
        .iter()
        .map(|v| VolumeMount {
            name: v.name.clone(),
            mount_path: match v.name.as_str() {
                PEER_TLS_VOLUME => PEER_TLS_DIR,
                KAFKA_TLS_VOLUME => KAFKA_TLS_DIR,
                _ => ADVERTISED_DIR,
            }
            .to_string(),
            read_only: Some(true),
            ..VolumeMount::default()
        })
        .collect()
}
