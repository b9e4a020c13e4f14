//! Installing the operator: the CRDs from `crds/`, then the Helm chart
//! rendered with `helm template` and applied with `kubectl apply`.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::kube::{tool, Kube};
use crate::run::root;

/// Release (and Deployment) name of the chart.
pub const RELEASE: &str = "chronik-operator";

/// How the operator is installed.
#[derive(Debug, Clone)]
pub struct OperatorInstall {
    /// Namespace of the operator.
    pub namespace: String,
    /// Operator image repository (as the cluster's runtime sees it).
    pub repository: String,
    /// Operator image tag.
    pub tag: String,
    /// `imagePullPolicy` of the operator pod.
    pub pull_policy: String,
    /// How long to wait for the Deployment to become Available.
    pub timeout: Duration,
}

impl Default for OperatorInstall {
    fn default() -> Self {
        Self {
            namespace: "chronik-system".to_string(),
            repository: "chronik-operator".to_string(),
            tag: "latest".to_string(),
            pull_policy: "IfNotPresent".to_string(),
            timeout: Duration::from_secs(180),
        }
    }
}

/// The chart rendered with these values.
pub fn render(install: &OperatorInstall) -> Result<String> {
    let chart = root().join("charts").join("chronik-operator");
    let out = Command::new(tool("helm"))
        .args(["template", RELEASE])
        .arg(&chart)
        .args(["--namespace", &install.namespace])
        .args(["--set", &format!("image.repository={}", install.repository)])
        .args(["--set", &format!("image.tag={}", install.tag)])
        .args([
            "--set",
            &format!("image.pullPolicy={}", install.pull_policy),
        ])
        .output()
        .context("running helm template (install it with `cargo xtask tools`)")?;
    if !out.status.success() {
        bail!(
            "helm template failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Applies the CRDs and the chart; returns once the operator Deployment is
/// Available.
pub fn install(kube: &Kube, install: &OperatorInstall) -> Result<()> {
    let crds = root().join("crds");
    let crds = crds.to_string_lossy();
    kube.run(&["apply", "-f", &crds])?;
    kube.run(&[
        "wait",
        "--for=condition=Established",
        "-f",
        &crds,
        "--timeout=60s",
    ])?;
    kube.apply_stdin(
        &[],
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n",
            install.namespace
        ),
    )?;
    let deployment = format!("deployment/{RELEASE}");
    let existed = kube
        .output(&["get", &deployment, "-n", &install.namespace])?
        .status
        .success();
    kube.apply_stdin(&["-n", &install.namespace], &render(install)?)?;
    if existed {
        // Same tag, maybe a new image: restart so that the pods run it.
        kube.run(&["rollout", "restart", &deployment, "-n", &install.namespace])?;
    }
    kube.run(&[
        "rollout",
        "status",
        &deployment,
        "-n",
        &install.namespace,
        &format!("--timeout={}s", install.timeout.as_secs()),
    ])?;
    println!(
        "operator {}:{} is Available in namespace {}",
        install.repository, install.tag, install.namespace
    );
    Ok(())
}
