//! `cargo xtask cluster up|down`: the local cluster, `chronik-localkube
//! --runner podman` running in the background, and optionally the operator.
//!
//! State lives in `target/localkube/<prefix>/`: `pid`, `localkube.log`,
//! `kubeconfig` (the path the cluster's kubeconfig was written to) and
//! `work/` (ConfigMap/Secret volume files). The prefix names the runner's
//! podman containers `<prefix>-<ns>-<pod>`, volumes and network
//! `<prefix>-net`, so several clusters can run side by side.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::images::{build_images, build_static, engine_command, ImageOptions};
use crate::kube::{poll, Kube};
use crate::operator::OperatorInstall;
use crate::run::root;

/// Default runner prefix.
pub const DEFAULT_PREFIX: &str = "localkube";

/// Label the runner puts on its containers, volumes and network.
const RUNNER_LABEL: &str = "io.chronik.localkube";

/// `cargo xtask cluster …`.
#[derive(clap::Subcommand)]
pub enum ClusterCmd {
    /// Start the local cluster in the background (returns once the API answers).
    Up(UpArgs),
    /// Stop the local cluster and remove its containers, volumes and network.
    Down(DownArgs),
}

/// `cargo xtask cluster up`.
#[derive(clap::Args)]
pub struct UpArgs {
    /// Write the cluster's kubeconfig here.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Also build the images and install the operator from the Helm chart.
    #[arg(long)]
    with_operator: bool,
    /// Name prefix of the runner's containers, volumes and network.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    prefix: String,
    /// Tag of the images built and installed.
    #[arg(long, default_value = "latest")]
    tag: String,
}

/// `cargo xtask cluster down`.
#[derive(clap::Args)]
pub struct DownArgs {
    /// Prefix the cluster was started with.
    #[arg(long, default_value = DEFAULT_PREFIX)]
    prefix: String,
}

/// Runs `cargo xtask cluster …`.
pub fn run(cmd: ClusterCmd) -> Result<()> {
    match cmd {
        ClusterCmd::Up(a) => {
            crate::deps::ensure_all()?;
            let cluster = LocalCluster::new(&a.prefix);
            let kubeconfig = std::path::absolute(&a.kubeconfig)?;
            cluster.up(&kubeconfig)?;
            if a.with_operator {
                cluster.install_operator(&kubeconfig, &a.tag, true)?;
            }
            println!(
                "cluster {} is up: kubectl --kubeconfig {} get ns",
                a.prefix,
                kubeconfig.display()
            );
            println!(
                "stop it with: cargo xtask cluster down --prefix {}",
                a.prefix
            );
            Ok(())
        }
        ClusterCmd::Down(a) => LocalCluster::new(&a.prefix).down(),
    }
}

/// One local cluster, identified by its runner prefix.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    /// Runner prefix.
    pub prefix: String,
    dir: PathBuf,
}

impl LocalCluster {
    /// The cluster with this prefix (running or not).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            dir: root().join("target").join("localkube").join(prefix),
        }
    }

    /// `target/localkube/<prefix>/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }

    /// The emulator's log.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("localkube.log")
    }

    fn kubeconfig_record(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The containers.conf the runner and the fault injection use.
    pub fn containers_conf() -> PathBuf {
        root().join("localkube").join("containers.conf")
    }

    /// pid of the running emulator, if the pid file names a live
    /// `chronik-localkube` process.
    pub fn running_pid(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        (alive(pid) && String::from_utf8_lossy(&cmdline).contains("chronik-localkube"))
            .then_some(pid)
    }

    /// Starts the emulator with the podman runner unless it runs; returns
    /// once `kubectl get ns` answers.
    pub fn up(&self, kubeconfig: &Path) -> Result<()> {
        let kube = Kube::file(kubeconfig);
        if let Some(pid) = self.running_pid() {
            let written = PathBuf::from(fs::read_to_string(self.kubeconfig_record())?.trim());
            if written != kubeconfig {
                if let Some(parent) = kubeconfig.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::copy(&written, kubeconfig).with_context(|| {
                    format!("copying the cluster's kubeconfig {}", written.display())
                })?;
            }
            println!(
                "local cluster {} already running (pid {pid}); kubeconfig {}",
                self.prefix,
                kubeconfig.display()
            );
            return self.wait_api(&kube, pid);
        }
        let binary = build_static("chronik-localkube", false)?;
        // A previous instance that died without cleaning up leaves containers
        // whose names the new runner would collide with.
        let stale = self.remove_leftovers()?;
        if !stale.is_empty() {
            println!(
                "removed leftovers of a previous {}: {}",
                self.prefix,
                stale.join(", ")
            );
        }
        fs::create_dir_all(self.dir.join("work"))?;
        if let Some(parent) = kubeconfig.parent() {
            fs::create_dir_all(parent)?;
        }
        let _ = fs::remove_file(kubeconfig);
        let log = fs::File::create(self.log_file())?;
        let mut cmd = Command::new(&binary);
        cmd.args([
            "--listen",
            "127.0.0.1:0",
            "--runner",
            "podman",
            "--runner-prefix",
        ])
        .arg(&self.prefix)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--containers-conf")
        .arg(Self::containers_conf())
        .arg("--work-dir")
        .arg(self.dir.join("work"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
        // Its own process group: a Ctrl-C of this command does not stop it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().context("starting chronik-localkube")?;
        let pid = child.id();
        fs::write(self.pid_file(), pid.to_string())?;
        fs::write(
            self.kubeconfig_record(),
            kubeconfig.to_string_lossy().as_bytes(),
        )?;
        println!(
            "started chronik-localkube (pid {pid}, prefix {}); log {}",
            self.prefix,
            self.log_file().display()
        );
        self.wait_api(&kube, pid)
    }

    fn wait_api(&self, kube: &Kube, pid: u32) -> Result<()> {
        let log = self.log_file();
        poll(
            "the API server to answer",
            Duration::from_secs(60),
            Duration::from_millis(300),
            || {
                if !alive(pid) {
                    bail!(
                        "chronik-localkube exited; last lines of {}:\n{}",
                        log.display(),
                        tail(&log, 20)
                    );
                }
                let ready = kube.kubeconfig.as_ref().is_some_and(|k| k.is_file()) && kube.answers();
                Ok(ready.then_some(()))
            },
        )
    }

    /// Builds the images (unless `build` is false) and installs the CRDs and
    /// the operator chart; returns once the operator is Available.
    pub fn install_operator(&self, kubeconfig: &Path, tag: &str, build: bool) -> Result<()> {
        if build {
            build_images(&ImageOptions {
                tag: tag.to_string(),
                release: false,
                ..ImageOptions::default()
            })?;
        }
        crate::operator::install(
            &Kube::file(kubeconfig),
            &OperatorInstall {
                tag: tag.to_string(),
                ..OperatorInstall::default()
            },
        )
    }

    /// Stops the emulator (which removes its containers, volumes and
    /// network), then removes whatever is left with the runner's label.
    pub fn down(&self) -> Result<()> {
        match self.running_pid() {
            Some(pid) => {
                println!(
                    "stopping chronik-localkube (pid {pid}, prefix {})",
                    self.prefix
                );
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status();
                let gone = poll(
                    "chronik-localkube to exit",
                    Duration::from_secs(120),
                    Duration::from_millis(300),
                    || Ok((!alive(pid)).then_some(())),
                );
                if gone.is_err() {
                    eprintln!("chronik-localkube did not exit in 120 s; killing it");
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                }
            }
            None => println!("local cluster {} is not running", self.prefix),
        }
        let _ = fs::remove_file(self.pid_file());
        let leftovers = self.remove_leftovers()?;
        if leftovers.is_empty() {
            println!("no container, volume or network of {} is left", self.prefix);
        } else {
            println!(
                "removed leftovers of {}: {}",
                self.prefix,
                leftovers.join(", ")
            );
        }
        Ok(())
    }

    /// Removes containers, volumes and the network labelled with this prefix;
    /// returns what was left.
    fn remove_leftovers(&self) -> Result<Vec<String>> {
        let filter = format!("label={RUNNER_LABEL}={}", self.prefix);
        let list = |args: &[&str]| -> Result<Vec<String>> {
            let out = engine_command()
                .args(args)
                .env("CONTAINERS_CONF", Self::containers_conf())
                .output()
                .context("running podman")?;
            Ok(String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect())
        };
        let containers = list(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])?;
        let volumes = list(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"])?;
        let networks = list(&[
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.Name}}",
        ])?;
        let remove = |kind: &[&str], names: &[String]| {
            if !names.is_empty() {
                let _ = engine_command()
                    .args(kind)
                    .args(names)
                    .env("CONTAINERS_CONF", Self::containers_conf())
                    .output();
            }
        };
        remove(&["rm", "-f"], &containers);
        remove(&["volume", "rm", "-f"], &volumes);
        remove(&["network", "rm", "-f"], &networks);
        Ok(containers
            .into_iter()
            .chain(volumes)
            .chain(networks)
            .collect())
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Whether process `pid` is running. An exited child of this very process
/// (`xtask e2e` starts and stops the cluster itself, without waiting on the
/// child) stays in `/proc` as a zombie until this process exits: state `Z`.
fn alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state ...`; comm may contain spaces and parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z') | Some('X') | None)
}
