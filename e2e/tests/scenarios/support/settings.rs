//! What the scenarios run against, from the environment `cargo xtask e2e`
//! sets.

use std::path::PathBuf;

/// How faults are injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultMode {
    /// The local cluster: pods are podman containers `<prefix>-<ns>-<pod>`
    /// on the network `<prefix>-net`.
    Podman {
        /// The runner's name prefix.
        prefix: String,
        /// `containers.conf` exported to podman.
        conf: PathBuf,
    },
    /// Any other cluster: only what kubectl can do (pod deletion).
    Kubectl,
}

/// The scenarios' settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `CHRONIK_E2E_KUBECONFIG`: a cluster with the operator and CRDs installed.
    pub kubeconfig: PathBuf,
    /// `CHRONIK_E2E_FAULTS` (`podman` or `kubectl`).
    pub faults: FaultMode,
    /// `CHRONIK_E2E_CLIENT_IMAGE`: the Kafka client image.
    pub client_image: String,
    /// `CHRONIK_E2E_BROKER_IMAGE`: the broker image clusters run.
    pub broker_image: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    /// Read the environment; panics with what is missing.
    pub fn from_env() -> Settings {
        let kubeconfig = var("CHRONIK_E2E_KUBECONFIG").unwrap_or_else(|| {
            panic!(
                "CHRONIK_E2E_KUBECONFIG is not set: these scenarios need a cluster with the \
                 Chronik operator installed; run them with `cargo xtask e2e`"
            )
        });
        let prefix = var("CHRONIK_E2E_PODMAN_PREFIX");
        let mode = var("CHRONIK_E2E_FAULTS").unwrap_or_else(|| {
            if prefix.is_some() {
                "podman"
            } else {
                "kubectl"
            }
            .into()
        });
        let faults = match mode.as_str() {
            "podman" => FaultMode::Podman {
                prefix: prefix.unwrap_or_else(|| {
                    panic!("CHRONIK_E2E_FAULTS=podman needs CHRONIK_E2E_PODMAN_PREFIX")
                }),
                conf: var("CONTAINERS_CONF")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| {
                        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                            .join("../localkube/containers.conf")
                    }),
            },
            "kubectl" => FaultMode::Kubectl,
            other => panic!("CHRONIK_E2E_FAULTS={other}: expected podman or kubectl"),
        };
        Settings {
            kubeconfig: PathBuf::from(kubeconfig),
            faults,
            client_image: var("CHRONIK_E2E_CLIENT_IMAGE")
                .unwrap_or_else(|| "chronik-kafka-client:latest".into()),
            broker_image: var("CHRONIK_E2E_BROKER_IMAGE")
                .unwrap_or_else(|| "chronik-broker:latest".into()),
        }
    }
}
