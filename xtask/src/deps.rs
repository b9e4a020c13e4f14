//! Installs, idempotently, what the tests and demos need from the package
//! registries: Debian packages and the Python Kafka clients.

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

/// Python modules the client tests import, with their PyPI names.
const PYTHON: &[(&str, &str)] = &[
    ("kafka", "kafka-python"),
    ("confluent_kafka", "confluent-kafka"),
];

/// Installs whatever is missing.
pub fn ensure_all() -> Result<()> {
    ensure_debian()?;
    ensure_python()?;
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
    eprintln!("installing Debian packages: {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn ensure_python() -> Result<()> {
    let missing: Vec<&str> = PYTHON
        .iter()
        .filter(|(module, _)| {
            !Command::new("python3")
                .args(["-c", &format!("import {module}")])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing Python packages: {}", missing.join(" "));
    run(Command::new("python3")
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .args(&missing))
}
