//! The project's Python environment: the Kafka clients the tests' scripts
//! and the Kafka benchmark run (kafka-python, confluent-kafka) at the exact
//! versions of `testkit/requirements.txt`, in a virtual environment under
//! the target directory (`target/python`), independent of whatever the
//! machine's `python3` has installed.
//!
//! The environment is rebuilt when the requirements change (a hash of the
//! file is kept in it) or when it stops importing the clients. Checks run
//! from `/` in isolated mode (`-I`): from the repository root the crate
//! folder `kafka/` imports as an empty namespace package and would pass for
//! kafka-python. `chronik_testkit::python` finds the same interpreter.

use crate::run::{root, run, target_dir};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned requirements, relative to the repository root.
const REQUIREMENTS: &str = "testkit/requirements.txt";
/// File inside the environment holding the hash of the requirements it was
/// built from.
const STAMP: &str = "chronik-requirements.hash";
/// Modules that must import, one per client.
const CLIENTS: &str = "import kafka.producer, confluent_kafka";

/// The environment's directory (`<target>/python`).
pub fn env_dir() -> PathBuf {
    target_dir().join("python")
}

/// The environment's interpreter.
pub fn interpreter() -> PathBuf {
    env_dir().join("bin").join("python")
}

/// Builds the environment unless it is current; returns its interpreter.
pub fn ensure() -> Result<PathBuf> {
    let requirements = root().join(REQUIREMENTS);
    let text =
        fs::read(&requirements).with_context(|| format!("reading {}", requirements.display()))?;
    let hash = format!("{:016x}", fnv1a64(&text));
    let (dir, python) = (env_dir(), interpreter());
    let stamp = dir.join(STAMP);
    let built_from = fs::read_to_string(&stamp).unwrap_or_default();
    if built_from.trim() == hash && imports_clients(&python) {
        return Ok(python);
    }
    ensure_venv_module()?;
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    eprintln!(
        "building the Python environment {} from {REQUIREMENTS}",
        dir.display()
    );
    run(Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .current_dir("/"))?;
    // --no-deps: whatever the clients need must be pinned in the file;
    // `pip check` then fails on anything missing.
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--require-virtualenv", "--no-deps", "-r"])
        .arg(&requirements)
        .current_dir("/"))?;
    run(Command::new(&python)
        .args(["-m", "pip", "check", "--disable-pip-version-check"])
        .current_dir("/"))?;
    if !imports_clients(&python) {
        bail!(
            "{} does not import the Kafka clients after installing {REQUIREMENTS}",
            python.display()
        );
    }
    fs::write(&stamp, hash).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(python)
}

/// Whether `python` imports both clients, checked from outside the
/// repository in isolated mode.
fn imports_clients(python: &Path) -> bool {
    python.is_file()
        && Command::new(python)
            .args(["-I", "-c", CLIENTS])
            .current_dir("/")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Installs Debian's `python3-venv` unless `python3 -m venv` can create an
/// environment with pip (Debian splits `venv` and `ensurepip` off python3).
fn ensure_venv_module() -> Result<()> {
    let usable = Command::new("python3")
        .args(["-I", "-c", "import venv, ensurepip"])
        .current_dir("/")
        .output()
        .is_ok_and(|o| o.status.success());
    if usable {
        return Ok(());
    }
    crate::deps::install_debian(&["python3-venv"])
}

/// FNV-1a (64 bits): a stable hash of the requirements, to notice a change.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
