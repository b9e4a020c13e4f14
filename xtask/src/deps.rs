//! Installs, idempotently, what the tests and demos need: Debian packages,
//! the project's Python environment (see [`crate::python`]), helm and
//! kubectl.

use crate::run::{have, run};
use anyhow::Result;
use std::process::Command;

/// (program to look for, Debian package providing it).
const DEBIAN: &[(&str, &str)] = &[
    ("etcd", "etcd-server"),
    ("etcdctl", "etcd-client"),
    ("kcat", "kcat"),
    ("curl", "curl"),
    ("ip", "iproute2"),
    ("podman", "podman"),
    ("runc", "runc"),
    ("npm", "npm"),
    ("unzip", "unzip"),
];

/// Installs whatever is missing.
pub fn ensure_all() -> Result<()> {
    ensure_debian()?;
    crate::python::ensure()?;
    crate::tools::install_tools().map(|_| ())
}

fn ensure_debian() -> Result<()> {
    let missing: Vec<&str> = DEBIAN
        .iter()
        .filter(|(bin, _)| !have(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    install_debian(&missing)
}

/// `apt-get install` of `packages`.
pub fn install_debian(packages: &[&str]) -> Result<()> {
    eprintln!("installing Debian packages: {}", packages.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
