//! `cargo xtask bench raft|kafka`: builds release binaries and runs chronik-bench.

use crate::run::run as sh;
use anyhow::Result;
use std::process::Command;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Which benchmark (raft, kafka).
    #[arg(default_value = "raft")]
    which: String,
    /// Extra arguments for chronik-bench (e.g. --seconds 20).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    crate::deps::ensure_all()?;
    sh(Command::new("cargo").args([
        "build",
        "--release",
        "-p",
        "chronik-broker",
        "-p",
        "chronik-bench",
    ]))?;
    sh(Command::new("target/release/chronik-bench")
        .arg(&args.which)
        .args(&args.rest))
}
