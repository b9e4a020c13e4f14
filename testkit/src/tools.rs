//! Locating the real `kubectl` and `helm` binaries the tests drive.

use std::path::{Path, PathBuf};

/// A required tool is missing.
#[derive(Debug, thiserror::Error)]
#[error("{name} {want} not found (looked in {searched}); install it with `cargo xtask tools`")]
pub struct ToolMissing {
    /// Tool name.
    pub name: String,
    /// Version requirement text.
    pub want: String,
    /// Where we looked.
    pub searched: String,
}

fn candidates(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    // An explicit override: CHRONIK_KUBECTL, CHRONIK_HELM.
    if let Some(p) = std::env::var_os(format!("CHRONIK_{}", name.to_uppercase())) {
        out.push(PathBuf::from(p));
    }
    out.push(crate::workspace::root().join(".tools/bin").join(name));
    if let Some(path) = std::env::var_os("PATH") {
        out.extend(std::env::split_paths(&path).map(|d| d.join(name)));
    }
    out
}

fn minor_version(kubectl: &Path) -> Option<u32> {
    let out = std::process::Command::new(kubectl)
        .args(["version", "--client", "-o", "json"])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v.pointer("/clientVersion/minor")?
        .as_str()?
        .trim_end_matches('+')
        .parse()
        .ok()
}

/// A `kubectl` of at least version 1.`min_minor`: `$CHRONIK_KUBECTL`, then
/// `.tools/bin`, then `PATH`.
pub fn kubectl(min_minor: u32) -> Result<PathBuf, ToolMissing> {
    let cands = candidates("kubectl");
    cands
        .iter()
        .find(|p| p.is_file() && minor_version(p).is_some_and(|m| m >= min_minor))
        .cloned()
        .ok_or_else(|| ToolMissing {
            name: "kubectl".into(),
            want: format!(">= 1.{min_minor}"),
            searched: cands
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// A `helm` binary (major version 3 or 4): `$CHRONIK_HELM`, then `.tools/bin`, then `PATH`.
pub fn helm() -> Result<PathBuf, ToolMissing> {
    let cands = candidates("helm");
    cands
        .iter()
        .find(|p| {
            p.is_file()
                && std::process::Command::new(p)
                    .args(["version", "--short"])
                    .output()
                    .is_ok_and(|o| o.status.success())
        })
        .cloned()
        .ok_or_else(|| ToolMissing {
            name: "helm".into(),
            want: "3 or 4".into(),
            searched: cands
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}
