//! Talking to a cluster with the real `kubectl` (and rendering with `helm`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::tools::tools_bin_dir;

/// `$CHRONIK_<NAME>` (e.g. `CHRONIK_KUBECTL`), else `.tools/bin/<name>`.
pub fn tool(name: &str) -> PathBuf {
    std::env::var_os(format!("CHRONIK_{}", name.to_uppercase()))
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_bin_dir().join(name))
}

/// Which cluster `kubectl` talks to: a kubeconfig file, a context of the
/// default kubeconfig, or both.
#[derive(Debug, Clone, Default)]
pub struct Kube {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
}

impl Kube {
    /// The cluster of a kubeconfig file.
    pub fn file(kubeconfig: &Path) -> Self {
        Self {
            kubeconfig: Some(kubeconfig.to_path_buf()),
            context: None,
        }
    }

    /// The flags selecting the cluster, as they would be typed.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(k) = &self.kubeconfig {
            flags.push(format!("--kubeconfig={}", k.display()));
        }
        if let Some(c) = &self.context {
            flags.push(format!("--context={c}"));
        }
        flags
    }

    /// A `kubectl` command for this cluster.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(tool("kubectl"));
        cmd.args(self.flags());
        cmd
    }

    /// Runs kubectl with `args`, echoing the command; fails unless it exits 0.
    pub fn run(&self, args: &[&str]) -> Result<()> {
        crate::run::run(self.kubectl().args(args))
    }

    /// Runs kubectl with `args` quietly and returns its output.
    pub fn output(&self, args: &[&str]) -> Result<Output> {
        self.kubectl()
            .args(args)
            .output()
            .with_context(|| format!("running kubectl {}", args.join(" ")))
    }

    /// stdout of a kubectl command that must succeed.
    pub fn stdout(&self, args: &[&str]) -> Result<String> {
        let out = self.output(args)?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl apply [extra] -f -` of `manifest`.
    pub fn apply_stdin(&self, extra: &[&str], manifest: &str) -> Result<()> {
        eprintln!(
            "$ kubectl {} apply {} -f -",
            self.flags().join(" "),
            extra.join(" ")
        );
        let mut child = self
            .kubectl()
            .arg("apply")
            .args(extra)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .context("starting kubectl apply")?;
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(manifest.as_bytes())
            .context("writing the manifest to kubectl")?;
        let status = child.wait().context("waiting for kubectl apply")?;
        if !status.success() {
            bail!("kubectl apply -f - failed with {status}");
        }
        Ok(())
    }

    /// Whether the API server answers (`kubectl get ns`).
    pub fn answers(&self) -> bool {
        self.kubectl()
            .args(["get", "ns", "--request-timeout=3s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// Polls `check` every `every` until it returns `Some`, or fails after
/// `timeout` with `what`.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(every);
    }
}
