//! The project's JavaScript client: kafkajs at the exact version of
//! `kafka/tests/clients/js/package-lock.json`, installed with `npm ci` into
//! a folder under the target directory (`target/node`), independent of any
//! global npm packages. `chronik_testkit::node` finds it there.
//!
//! The folder is reinstalled only when the manifest or the lock file
//! changes (a hash of both is kept in it) or when kafkajs is missing, so a
//! machine that installed it once runs the tests offline.

use crate::run::{root, run, target_dir};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// The client programs' folder, with the manifest and the lock file.
const CLIENTS: &str = "kafka/tests/clients/js";
/// The files `npm ci` installs from, copied into the install folder.
const MANIFESTS: &[&str] = &["package.json", "package-lock.json"];
/// File inside the install folder holding the hash of the manifests.
const STAMP: &str = "chronik-lock.hash";

/// The install folder (`<target>/node`); its `node_modules` holds kafkajs.
pub fn install_dir() -> PathBuf {
    target_dir().join("node")
}

/// Installs kafkajs unless the install folder is current.
pub fn ensure() -> Result<()> {
    let mut text = Vec::new();
    for name in MANIFESTS {
        let path = root().join(CLIENTS).join(name);
        text.extend(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    }
    let hash = format!("{:016x}", crate::python::fnv1a64(&text));
    let dir = install_dir();
    let stamp = dir.join(STAMP);
    let kafkajs = dir.join("node_modules/kafkajs/package.json");
    let built_from = fs::read_to_string(&stamp).unwrap_or_default();
    if built_from.trim() == hash && kafkajs.is_file() {
        return Ok(());
    }
    eprintln!("installing kafkajs into {} from {CLIENTS}", dir.display());
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in MANIFESTS {
        let from = root().join(CLIENTS).join(name);
        fs::copy(&from, dir.join(name)).with_context(|| format!("copying {}", from.display()))?;
    }
    // `npm ci`: exactly the lock file's versions and integrity hashes;
    // no install scripts, audit or funding requests.
    run(Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(&dir))?;
    if !kafkajs.is_file() {
        bail!("`npm ci` in {} did not install kafkajs", dir.display());
    }
    fs::write(&stamp, hash).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(())
}
