//! The podman engine: one network per runner (pods reach each other by
//! their cluster DNS names through `--network-alias`), containers and named
//! volumes labelled with the runner's instance. `CONTAINERS_CONF` points at
//! the project's `containers.conf` (runc, raised ulimits).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::backend::{Backend, BackendError, ContainerSpec, ContainerState};

/// Label put on everything a runner creates (value: the instance prefix).
pub const LABEL: &str = "io.chronik.localkube";

/// Where a container is attached to the runner's network.
struct Attachment {
    ip: String,
    mac: String,
    aliases: Vec<String>,
}

/// A podman engine for one runner instance.
#[derive(Debug, Clone)]
pub struct Podman {
    prefix: String,
    network: String,
    conf: Option<PathBuf>,
}

impl Podman {
    /// An engine whose containers, volumes and network are named `<prefix>-…`.
    /// `containers_conf` is exported as `CONTAINERS_CONF` to every podman call.
    pub fn new(prefix: &str, containers_conf: Option<&Path>) -> Result<Self, BackendError> {
        let p = Podman {
            prefix: prefix.to_string(),
            network: format!("{prefix}-net"),
            conf: containers_conf.map(Path::to_path_buf),
        };
        if p.podman(&["network", "exists", &p.network]).is_err() {
            let label = format!("{LABEL}={prefix}");
            p.podman(&["network", "create", "--label", &label, &p.network])?;
        }
        p.require_dns()?;
        Ok(p)
    }

    /// Pods find each other by DNS name; podman quietly creates a network
    /// without DNS when its DNS server is missing (CNI without the dnsname
    /// plugin, or netavark without aardvark-dns), and brokers then never
    /// reach their peers. Refuse such a network with the fix.
    fn require_dns(&self) -> Result<(), BackendError> {
        let v = self.inspect_network()?;
        match v.pointer("/0/dns_enabled").and_then(Value::as_bool) {
            Some(true) => Ok(()),
            _ => Err(BackendError::Command {
                command: format!("podman network inspect {}", self.network),
                message: "the network has no DNS (dns_enabled is not true): install netavark \
                          and aardvark-dns (`cargo xtask deps` does) and select netavark in \
                          containers.conf (`[network] network_backend = \"netavark\"`)"
                    .into(),
            }),
        }
    }

    fn inspect_network(&self) -> Result<Value, BackendError> {
        let out = self.podman(&["network", "inspect", &self.network])?;
        serde_json::from_str(&out).map_err(|e| BackendError::Command {
            command: "podman network inspect".into(),
            message: e.to_string(),
        })
    }

    /// The network pods are attached to.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The network's gateway address: the host as seen from the pods.
    pub fn gateway(&self) -> Result<String, BackendError> {
        self.inspect_network()?
            .pointer("/0/subnets/0/gateway")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| BackendError::Command {
                command: "podman network inspect".into(),
                message: "the network has no gateway".into(),
            })
    }

    /// Remove the network (after all containers are gone).
    pub fn remove_network(&self) -> Result<(), BackendError> {
        self.podman(&["network", "rm", "-f", &self.network])
            .map(|_| ())
    }

    fn podman(&self, args: &[&str]) -> Result<String, BackendError> {
        let mut cmd = Command::new("podman");
        cmd.args(args);
        if let Some(c) = &self.conf {
            cmd.env("CONTAINERS_CONF", c);
        }
        let command = format!(
            "podman {}",
            args.iter().take(3).copied().collect::<Vec<_>>().join(" ")
        );
        let out = cmd.output().map_err(|e| BackendError::Command {
            command: command.clone(),
            message: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(BackendError::Command {
                command,
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `podman inspect` of a container, `None` when it does not exist.
    fn inspect(&self, name: &str) -> Result<Option<Value>, BackendError> {
        if self.podman(&["container", "exists", name]).is_err() {
            return Ok(None);
        }
        let out = self.podman(&["inspect", "--type", "container", name])?;
        let mut v: Value = serde_json::from_str(&out).map_err(|e| BackendError::Command {
            command: "podman inspect".into(),
            message: e.to_string(),
        })?;
        Ok(Some(v[0].take()))
    }

    /// The container's attachment to the runner's network, if any. podman
    /// adds the short container id as an alias of its own: it is left out.
    fn attachment(&self, inspected: &Value) -> Option<Attachment> {
        let net = inspected
            .pointer("/NetworkSettings/Networks")?
            .get(&self.network)?;
        let ip = net
            .get("IPAddress")
            .and_then(Value::as_str)
            .filter(|ip| !ip.is_empty())?;
        let id = inspected
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let aliases = net
            .get("Aliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|a| a.len() < 12 || !id.starts_with(a))
            .map(str::to_string)
            .collect();
        Some(Attachment {
            ip: ip.to_string(),
            mac: net
                .get("MacAddress")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            aliases,
        })
    }

    fn names(&self, what: &str) -> Result<Vec<String>, BackendError> {
        let filter = format!("label={LABEL}={}", self.prefix);
        let out = match what {
            "container" => {
                self.podman(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])?
            }
            _ => self.podman(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"])?,
        };
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }
}

impl Backend for Podman {
    fn run(&self, spec: &ContainerSpec) -> Result<(), BackendError> {
        let label = format!("{LABEL}={}", self.prefix);
        let pod_label = format!("io.chronik.pod={}", spec.pod);
        let mut args: Vec<String> = vec![
            "run".into(),
            "-d".into(),
            "--name".into(),
            spec.name.clone(),
            "--label".into(),
            label.clone(),
            "--label".into(),
            pod_label,
            "--network".into(),
            self.network.clone(),
            "--hostname".into(),
            spec.hostname.clone(),
        ];
        for a in &spec.aliases {
            args.extend(["--network-alias".into(), a.clone()]);
        }
        for (k, v) in &spec.env {
            args.extend(["--env".into(), format!("{k}={v}")]);
        }
        for m in &spec.mounts {
            if !m.source.starts_with('/') {
                // Create the named volume with our label so that it can be found and removed.
                if self.podman(&["volume", "exists", &m.source]).is_err() {
                    self.podman(&["volume", "create", "--label", &label, &m.source])?;
                }
            }
            let ro = if m.read_only { ":ro" } else { "" };
            args.extend(["--volume".into(), format!("{}:{}{ro}", m.source, m.target)]);
        }
        if spec.read_only_root {
            args.push("--read-only".into());
        }
        if let Some(u) = &spec.user {
            args.extend(["--user".into(), u.clone()]);
        }
        if !spec.command.is_empty() {
            let json = serde_json::to_string(&spec.command).map_err(|e| BackendError::Command {
                command: "podman run".into(),
                message: e.to_string(),
            })?;
            args.extend(["--entrypoint".into(), json]);
        }
        // Nothing is pulled: a missing image fails at once, like an image
        // pull that cannot succeed.
        args.push("--pull=never".into());
        args.push(spec.image.clone());
        args.extend(spec.args.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        match self.podman(&refs) {
            Ok(_) => Ok(()),
            Err(BackendError::Command { message, .. }) if message.contains("image not known") => {
                // `podman run` may leave a created container behind.
                let _ = self.remove(&spec.name);
                Err(BackendError::ImageNotPresent {
                    image: spec.image.clone(),
                })
            }
            Err(e) => Err(e),
        }
    }

    fn stop(&self, name: &str, grace_secs: u64) -> Result<(), BackendError> {
        let t = grace_secs.to_string();
        self.podman(&["stop", "--ignore", "-t", &t, name])
            .map(|_| ())
    }

    fn restart(&self, name: &str) -> Result<(), BackendError> {
        self.podman(&["restart", "-t", "2", name]).map(|_| ())
    }

    fn state(&self, name: &str) -> Result<Option<ContainerState>, BackendError> {
        let Some(c) = self.inspect(name)? else {
            return Ok(None);
        };
        let status = c
            .pointer("/State/Status")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let live = status == "running" || status == "paused";
        let attachment = self.attachment(&c).filter(|_| live);
        Ok(Some(ContainerState {
            running: live,
            paused: status == "paused",
            exit_code: (status == "exited" || status == "stopped").then(|| {
                c.pointer("/State/ExitCode")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            }),
            ip: attachment.as_ref().map(|a| a.ip.clone()),
            aliases: attachment.map(|a| a.aliases),
        }))
    }

    fn set_aliases(&self, name: &str, aliases: &[String]) -> Result<(), BackendError> {
        let attachment = self
            .inspect(name)?
            .and_then(|c| self.attachment(&c))
            .ok_or_else(|| BackendError::Command {
                command: format!("podman network connect {name}"),
                message: format!("not attached to {}", self.network),
            })?;
        // Reconnect with the same address and MAC: established connections
        // of the container survive, peers' ARP entries stay valid.
        self.podman(&["network", "disconnect", &self.network, name])?;
        let mut args: Vec<&str> = vec!["network", "connect"];
        for a in aliases {
            args.extend(["--alias", a.as_str()]);
        }
        let mut pinned = args.clone();
        pinned.extend(["--ip", &attachment.ip, "--mac-address", &attachment.mac]);
        pinned.extend([self.network.as_str(), name]);
        if self.podman(&pinned).is_ok() {
            return Ok(());
        }
        args.extend([self.network.as_str(), name]);
        self.podman(&args).map(|_| ())
    }

    fn remove(&self, name: &str) -> Result<(), BackendError> {
        self.podman(&["rm", "-f", "-t", "2", "--ignore", name])
            .map(|_| ())
    }

    fn containers(&self) -> Result<Vec<String>, BackendError> {
        self.names("container")
    }

    fn remove_volume(&self, name: &str) -> Result<(), BackendError> {
        if self.podman(&["volume", "exists", name]).is_err() {
            return Ok(());
        }
        self.podman(&["volume", "rm", name]).map(|_| ())
    }

    fn volumes(&self) -> Result<Vec<String>, BackendError> {
        self.names("volume")
    }

    fn prefix(&self) -> &str {
        &self.prefix
    }

    fn logs(&self, name: &str, tail: Option<u64>) -> Result<String, BackendError> {
        let tail = tail.map(|n| n.to_string());
        let mut args = vec!["logs"];
        if let Some(t) = &tail {
            args.extend(["--tail", t.as_str()]);
        }
        args.push(name);
        let mut cmd = Command::new("podman");
        cmd.args(&args);
        if let Some(c) = &self.conf {
            cmd.env("CONTAINERS_CONF", c);
        }
        let out = cmd.output().map_err(|e| BackendError::Command {
            command: "podman logs".into(),
            message: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(BackendError::Command {
                command: "podman logs".into(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        // podman replays the container's stderr on its own stderr.
        Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
