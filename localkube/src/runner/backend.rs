//! What the runner needs from a container engine, and an in-memory fake.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Why a container operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The engine command could not run or failed.
    #[error("{command}: {message}")]
    Command {
        /// The command line (program and first arguments).
        command: String,
        /// stderr or the spawn error.
        message: String,
    },
    /// The image is not in the engine's local store (nothing is pulled).
    #[error("image {image} is not present locally (chronik-localkube never pulls images)")]
    ImageNotPresent {
        /// The image reference.
        image: String,
    },
}

/// A bind mount or named volume.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    /// Named volume, or an absolute host path for bind mounts.
    pub source: String,
    /// Path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Everything needed to run one pod's container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// Engine-level container name (unique per runner).
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Entrypoint override (Kubernetes `command`), already `$(VAR)`-expanded.
    pub command: Vec<String>,
    /// Arguments (Kubernetes `args`), already expanded.
    pub args: Vec<String>,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// Hostname (the pod name).
    pub hostname: String,
    /// DNS names other containers reach this one by (at creation; the
    /// runner changes them later with [`Backend::set_aliases`]).
    pub aliases: Vec<String>,
    /// Volumes.
    pub mounts: Vec<Mount>,
    /// `readOnlyRootFilesystem`.
    pub read_only_root: bool,
    /// `runAsUser[:runAsGroup]`.
    pub user: Option<String>,
    /// Labels identifying the pod (`namespace/name`).
    pub pod: String,
}

/// Observed state of a container.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerState {
    /// Running (not exited, not paused).
    pub running: bool,
    /// Paused (frozen).
    pub paused: bool,
    /// Exit code when exited.
    pub exit_code: Option<i64>,
    /// IP address on the runner's network.
    pub ip: Option<String>,
    /// DNS aliases on the runner's network; `None` while the container is
    /// not attached to it (exited, or disconnected from outside).
    pub aliases: Option<Vec<String>>,
}

/// A container engine.
pub trait Backend: Send + Sync {
    /// Create and start a container (replacing a stopped one of the same name).
    fn run(&self, spec: &ContainerSpec) -> Result<(), BackendError>;
    /// Stop a container (SIGTERM, then SIGKILL after `grace_secs`).
    fn stop(&self, name: &str, grace_secs: u64) -> Result<(), BackendError>;
    /// Start an exited container again.
    fn restart(&self, name: &str) -> Result<(), BackendError>;
    /// State of a container, `None` when it does not exist.
    fn state(&self, name: &str) -> Result<Option<ContainerState>, BackendError>;
    /// Replace the DNS aliases of an attached container, keeping its address.
    fn set_aliases(&self, name: &str, aliases: &[String]) -> Result<(), BackendError>;
    /// Remove a container (missing is fine).
    fn remove(&self, name: &str) -> Result<(), BackendError>;
    /// Names of all containers this runner created.
    fn containers(&self) -> Result<Vec<String>, BackendError>;
    /// Remove a named volume (missing is fine).
    fn remove_volume(&self, name: &str) -> Result<(), BackendError>;
    /// Names of all volumes this runner created.
    fn volumes(&self) -> Result<Vec<String>, BackendError>;
    /// Prefix of container and volume names of this runner.
    fn prefix(&self) -> &str;
    /// The container's output (stdout and stderr), optionally only the last lines.
    fn logs(&self, _name: &str, _tail: Option<u64>) -> Result<String, BackendError> {
        Ok(String::new())
    }
}

/// An in-memory engine for tests: containers "run" as soon as they are created.
#[derive(Debug, Clone, Default)]
pub struct FakeBackend {
    inner: Arc<Mutex<FakeState>>,
}

/// The fake engine's state, inspectable by tests.
#[derive(Debug, Default)]
pub struct FakeState {
    /// Containers by name.
    pub containers: BTreeMap<String, (ContainerSpec, ContainerState)>,
    /// Named volumes.
    pub volumes: Vec<String>,
    /// Number of `run` and `restart` calls.
    pub starts: usize,
    /// Number of `set_aliases` calls.
    pub alias_changes: usize,
    /// Images `run` refuses as not present locally.
    pub missing_images: Vec<String>,
}

impl FakeBackend {
    /// Lock the state (tests kill containers through it).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for FakeBackend {
    fn run(&self, spec: &ContainerSpec) -> Result<(), BackendError> {
        let mut s = self.lock();
        if s.missing_images.contains(&spec.image) {
            return Err(BackendError::ImageNotPresent {
                image: spec.image.clone(),
            });
        }
        s.starts += 1;
        let ip = format!("10.88.0.{}", s.starts % 250 + 2);
        for m in &spec.mounts {
            if !m.source.starts_with('/') && !s.volumes.contains(&m.source) {
                s.volumes.push(m.source.clone());
            }
        }
        let state = ContainerState {
            running: true,
            paused: false,
            exit_code: None,
            ip: Some(ip),
            aliases: Some(spec.aliases.clone()),
        };
        s.containers
            .insert(spec.name.clone(), (spec.clone(), state));
        Ok(())
    }

    fn stop(&self, name: &str, _grace_secs: u64) -> Result<(), BackendError> {
        if let Some((_, st)) = self.lock().containers.get_mut(name) {
            st.running = false;
            st.exit_code = Some(0);
        }
        Ok(())
    }

    fn restart(&self, name: &str) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.starts += 1;
        if let Some((_, st)) = s.containers.get_mut(name) {
            st.running = true;
            st.exit_code = None;
        }
        Ok(())
    }

    fn state(&self, name: &str) -> Result<Option<ContainerState>, BackendError> {
        Ok(self.lock().containers.get(name).map(|(_, st)| st.clone()))
    }

    fn set_aliases(&self, name: &str, aliases: &[String]) -> Result<(), BackendError> {
        let mut s = self.lock();
        s.alias_changes += 1;
        match s.containers.get_mut(name) {
            Some((_, st)) if st.aliases.is_some() => {
                st.aliases = Some(aliases.to_vec());
                Ok(())
            }
            _ => Err(BackendError::Command {
                command: format!("network connect {name}"),
                message: "not attached".into(),
            }),
        }
    }

    fn remove(&self, name: &str) -> Result<(), BackendError> {
        self.lock().containers.remove(name);
        Ok(())
    }

    fn containers(&self) -> Result<Vec<String>, BackendError> {
        Ok(self.lock().containers.keys().cloned().collect())
    }

    fn remove_volume(&self, name: &str) -> Result<(), BackendError> {
        self.lock().volumes.retain(|v| v != name);
        Ok(())
    }

    fn volumes(&self) -> Result<Vec<String>, BackendError> {
        Ok(self.lock().volumes.clone())
    }

    fn prefix(&self) -> &str {
        "fake"
    }
}
