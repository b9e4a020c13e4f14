//! Running commands with echo and error context.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// Target triple of every binary xtask builds: the container images need
/// static binaries, and tests, clippy and images share one build of the
/// dependencies only if they all use the same target and flags.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// `cargo` set up for the static build every xtask step shares: target
/// [`TARGET`] with glibc linked statically (`+crt-static`). The flags are
/// target-specific, so build scripts and proc macros stay ordinary host
/// builds. A `RUSTFLAGS` in the environment would replace them; it is
/// removed for these commands.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
    let flags_var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        TARGET.to_uppercase().replace('-', "_")
    );
    cmd.env("CARGO_BUILD_TARGET", TARGET)
        .env(flags_var, "-C target-feature=+crt-static")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    cmd
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` in the root.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Where [`cargo`] puts binary `bin` of the given profile.
pub fn built_binary(bin: &str, release: bool) -> PathBuf {
    let profile_dir = if release { "release" } else { "debug" };
    target_dir().join(TARGET).join(profile_dir).join(bin)
}

/// Runs `cmd` (in the repository root unless it names a directory), failing
/// unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", describe(cmd));
    }
    Ok(())
}

/// Whether `program` is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
