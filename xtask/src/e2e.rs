//! `cargo xtask e2e`: the end-to-end scenarios (`e2e/tests/scenarios/`)
//! against the local cluster, or against any cluster given by a kubeconfig.
//!
//! The scenarios read their cluster from the environment:
//! `CHRONIK_E2E_KUBECONFIG`, `CHRONIK_E2E_FAULTS` (`podman` on the local
//! cluster, `kubectl` elsewhere), `CHRONIK_E2E_PODMAN_PREFIX` (the local
//! runner's prefix: containers `<prefix>-<ns>-<pod>`, network `<prefix>-net`),
//! `CHRONIK_E2E_BROKER_IMAGE` and `CHRONIK_E2E_CLIENT_IMAGE` (image
//! references as the cluster's runtime sees them).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::cluster::LocalCluster;
use crate::kube::Kube;
use crate::operator::OperatorInstall;
use crate::run::{root, run as sh};

/// `cargo xtask e2e`.
#[derive(clap::Args, Debug, Clone)]
pub struct E2eArgs {
    /// Run against this cluster instead of starting a local one.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// With --kubeconfig: install the CRDs and the operator chart first.
    #[arg(long)]
    pub install_operator: bool,
    /// Leave the local cluster running afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Runner prefix of the local cluster (default: e2e-<pid>).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Tag of the images.
    #[arg(long, default_value = "latest")]
    pub tag: String,
    /// Do not build the images (they were built already).
    #[arg(long)]
    pub no_build: bool,
    /// Extra arguments for the test harness (e.g. a test name filter).
    #[arg(last = true)]
    pub filter: Vec<String>,
}

impl E2eArgs {
    /// A local run with default settings.
    pub fn local() -> Self {
        Self {
            kubeconfig: None,
            install_operator: false,
            keep: false,
            prefix: None,
            tag: "latest".to_string(),
            no_build: false,
            filter: Vec::new(),
        }
    }
}

/// The scenario file the other side of this command is.
fn scenarios_file() -> PathBuf {
    root().join("e2e/tests/scenarios/main.rs")
}

/// Runs the scenarios.
pub fn run(args: E2eArgs) -> Result<()> {
    if !scenarios_file().is_file() {
        println!(
            "no end-to-end scenarios ({} is missing); nothing to run",
            scenarios_file().display()
        );
        return Ok(());
    }
    match &args.kubeconfig {
        Some(kubeconfig) => {
            // Another cluster: only kubectl and helm are needed here.
            crate::tools::install_tools()?;
            let kubeconfig = std::path::absolute(kubeconfig)?;
            if args.install_operator {
                crate::operator::install(
                    &Kube::file(&kubeconfig),
                    &OperatorInstall {
                        tag: args.tag.clone(),
                        ..OperatorInstall::default()
                    },
                )?;
            }
            scenarios(&Target {
                kubeconfig: &kubeconfig,
                prefix: None,
                tag: &args.tag,
                filter: &args.filter,
            })
        }
        None => {
            crate::deps::ensure_all()?;
            local(&args)
        }
    }
}

fn local(args: &E2eArgs) -> Result<()> {
    let prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| format!("e2e-{}", std::process::id()));
    let cluster = LocalCluster::new(&prefix);
    let kubeconfig = cluster.dir().join("e2e.kubeconfig");
    let result = cluster.up(&kubeconfig).and_then(|()| {
        cluster.install_operator(&kubeconfig, &args.tag, !args.no_build)?;
        scenarios(&Target {
            kubeconfig: &kubeconfig,
            prefix: Some(&prefix),
            tag: &args.tag,
            filter: &args.filter,
        })
    });
    if args.keep {
        println!(
            "cluster kept: kubectl --kubeconfig {} get pods -A; stop it with \
             cargo xtask cluster down --prefix {prefix}",
            kubeconfig.display()
        );
    } else if let Err(e) = cluster.down() {
        eprintln!("stopping the local cluster {prefix}: {e:#}");
    }
    result
}

/// Where the scenarios run.
struct Target<'a> {
    kubeconfig: &'a Path,
    /// The local runner's prefix (`None` on other clusters).
    prefix: Option<&'a str>,
    tag: &'a str,
    filter: &'a [String],
}

fn scenarios(target: &Target<'_>) -> Result<()> {
    let mut cmd = crate::run::cargo();
    // `--workspace`, not `-p chronik-e2e`: resolving features for one
    // package would rebuild much of the tree the test run already built.
    cmd.args(["test", "--workspace", "--test", "scenarios", "--"])
        .args(["--ignored", "--test-threads=1"])
        .args(target.filter)
        .env("CHRONIK_E2E_KUBECONFIG", target.kubeconfig)
        .env(
            "CHRONIK_E2E_BROKER_IMAGE",
            format!("chronik-broker:{}", target.tag),
        )
        .env(
            "CHRONIK_E2E_CLIENT_IMAGE",
            format!("chronik-kafka-client:{}", target.tag),
        )
        .env("CHRONIK_KUBECTL", crate::kube::tool("kubectl"))
        .env("CHRONIK_HELM", crate::kube::tool("helm"));
    match target.prefix {
        Some(prefix) => {
            cmd.env("CHRONIK_E2E_FAULTS", "podman")
                .env("CHRONIK_E2E_PODMAN_PREFIX", prefix)
                .env("CONTAINERS_CONF", LocalCluster::containers_conf());
        }
        None => {
            cmd.env("CHRONIK_E2E_FAULTS", "kubectl");
        }
    }
    if let Err(e) = sh(&mut cmd) {
        bail!("end-to-end scenarios failed: {e:#}");
    }
    Ok(())
}
