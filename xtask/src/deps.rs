//! Installs, idempotently, what the tests and demos need: Debian packages
//! (among them Go with the sarama and kafka-go sources the Go client
//! programs build against), the project's Python environment (see
//! [`crate::python`]), kafkajs (see [`crate::node`]), helm and kubectl.

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
    ("node", "nodejs"),
    ("npm", "npm"),
    // The Go client programs of kafka/tests/clients/go (GOPATH mode).
    ("go", "golang-go"),
    ("unzip", "unzip"),
    // openssl-sys finds the static OpenSSL of the Kafka client through it.
    ("pkg-config", "pkg-config"),
];

/// (file to look for, Debian package providing it) for what is not on PATH.
/// Podman's own networking: without netavark and aardvark-dns, Debian's
/// podman falls back to CNI without DNS, and pods cannot resolve each other's
/// names (`localkube/containers.conf` selects netavark). OpenSSL's headers
/// and static libraries: the Kafka client image's librdkafka links them (TLS
/// and SASL/SCRAM). The Go client libraries: Debian ships their sources
/// under `/usr/share/gocode`, the GOPATH entry the Go programs of
/// `kafka/tests/clients/go` build against.
const DEBIAN_FILES: &[(&str, &str)] = &[
    (
        "/usr/share/gocode/src/github.com/Shopify/sarama/sarama.go",
        "golang-github-shopify-sarama-dev",
    ),
    (
        "/usr/share/gocode/src/github.com/segmentio/kafka-go/conn.go",
        "golang-github-segmentio-kafka-go-dev",
    ),
    ("/usr/include/openssl/ssl.h", "libssl-dev"),
    ("/usr/lib/podman/netavark", "netavark"),
    ("/usr/lib/podman/aardvark-dns", "aardvark-dns"),
];

/// Installs whatever is missing.
pub fn ensure_all() -> Result<()> {
    ensure_debian()?;
    crate::python::ensure()?;
    crate::node::ensure()?;
    crate::tools::install_tools().map(|_| ())
}

fn ensure_debian() -> Result<()> {
    let missing: Vec<&str> = DEBIAN
        .iter()
        .filter(|(bin, _)| !have(bin))
        .chain(
            DEBIAN_FILES
                .iter()
                .filter(|(file, _)| !std::path::Path::new(file).exists()),
        )
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
