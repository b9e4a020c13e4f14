//! Fault injection, chosen by `CHRONIK_E2E_FAULTS`: on the local cluster
//! pods are podman containers (kill, pause, network disconnect); on any
//! other cluster only what kubectl can do (a forced pod deletion), and the
//! other faults are skipped with a printed reason.

use std::path::PathBuf;
use std::process::Command;

use super::settings::FaultMode;
use chronik_testkit::kubectl::Kubectl;

/// Injects faults into the pods of one namespace.
pub struct Faults {
    mode: FaultMode,
    ns: String,
}

/// A fault in place; healed by [`Fault::heal`] or, should a step fail, when
/// dropped (so that a failing test leaves no frozen container behind).
pub struct Fault {
    conf: PathBuf,
    heal: Vec<String>,
    what: String,
    healed: bool,
}

fn podman(conf: &PathBuf, args: &[&str]) -> Result<(), String> {
    let out = Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", conf)
        .output()
        .map_err(|e| format!("podman {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Faults {
    /// Faults for namespace `ns`.
    pub fn new(mode: &FaultMode, ns: &str) -> Faults {
        Faults {
            mode: mode.clone(),
            ns: ns.to_string(),
        }
    }

    fn container(prefix: &str, ns: &str, pod: &str) -> String {
        format!("{prefix}-{ns}-{pod}")
    }

    /// Kill a pod's process at once: `podman kill` (the kubelet restarts
    /// the container), or a forced deletion (the StatefulSet recreates it).
    pub fn kill(&self, kubectl: &Kubectl, pod: &str) {
        match &self.mode {
            FaultMode::Podman { prefix, conf } => {
                let c = Self::container(prefix, &self.ns, pod);
                podman(conf, &["kill", &c]).unwrap_or_else(|e| panic!("{e}"));
                println!("    killed container {c}");
            }
            FaultMode::Kubectl => {
                kubectl.ok(&[
                    "-n",
                    &self.ns,
                    "delete",
                    "pod",
                    pod,
                    "--grace-period=0",
                    "--force",
                ]);
                println!("    force-deleted pod {pod}");
            }
        }
    }

    /// Whether the name of Service `service` resolves to `pod` on the pod
    /// network: the container's network aliases (local cluster only;
    /// `None` elsewhere).
    pub fn service_resolves_to(&self, service: &str, pod: &str) -> Option<bool> {
        let FaultMode::Podman { prefix, conf } = &self.mode else {
            return None;
        };
        let c = Self::container(prefix, &self.ns, pod);
        let out = Command::new("podman")
            .args(["inspect", "--type", "container", &c])
            .env("CONTAINERS_CONF", conf)
            .output()
            .expect("podman runs");
        let inspected: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("podman inspect {c}: {e}"));
        let name = format!("{service}.{}.svc.cluster.local", self.ns);
        Some(
            inspected
                .pointer(&format!("/0/NetworkSettings/Networks/{prefix}-net/Aliases"))
                .and_then(serde_json::Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(name.as_str()))),
        )
    }

    /// Freeze a pod (`podman pause`); `None` (skipped) off the local cluster.
    pub fn freeze(&self, pod: &str) -> Option<Fault> {
        let FaultMode::Podman { prefix, conf } = &self.mode else {
            println!("    SKIPPED freezing {pod}: CHRONIK_E2E_FAULTS=kubectl cannot pause a pod's processes");
            return None;
        };
        let c = Self::container(prefix, &self.ns, pod);
        podman(conf, &["pause", &c]).unwrap_or_else(|e| panic!("{e}"));
        println!("    froze container {c}");
        Some(Fault {
            conf: conf.clone(),
            heal: vec!["unpause".into(), c.clone()],
            what: format!("frozen {c}"),
            healed: false,
        })
    }

    /// Cut a pod off the network of the others (`podman network
    /// disconnect`); `None` (skipped) off the local cluster.
    pub fn partition(&self, pod: &str) -> Option<Fault> {
        let FaultMode::Podman { prefix, conf } = &self.mode else {
            println!("    SKIPPED partitioning {pod}: CHRONIK_E2E_FAULTS=kubectl has no way to cut a pod's network");
            return None;
        };
        let c = Self::container(prefix, &self.ns, pod);
        let net = format!("{prefix}-net");
        podman(conf, &["network", "disconnect", &net, &c]).unwrap_or_else(|e| panic!("{e}"));
        println!("    disconnected container {c} from {net}");
        // Reconnected without aliases: the workload runner gives the
        // container its DNS names back.
        Some(Fault {
            conf: conf.clone(),
            heal: vec!["network".into(), "connect".into(), net, c.clone()],
            what: format!("partitioned {c}"),
            healed: false,
        })
    }
}

impl Fault {
    /// Undo the fault.
    pub fn heal(mut self) {
        self.undo()
            .unwrap_or_else(|e| panic!("healing {}: {e}", self.what));
        println!("    healed: {}", self.what);
    }

    fn undo(&mut self) -> Result<(), String> {
        self.healed = true;
        let args: Vec<&str> = self.heal.iter().map(String::as_str).collect();
        podman(&self.conf, &args)
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        if !self.healed {
            if let Err(e) = self.undo() {
                eprintln!("healing {} after a failure: {e}", self.what);
            }
        }
    }
}
