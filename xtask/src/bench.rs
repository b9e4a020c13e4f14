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
    let python = crate::python::interpreter();
    sh(Command::new("cargo").args([
        "build",
        "--release",
        "-p",
        "chronik-broker",
        "-p",
        "chronik-bench",
    ]))?;
    let mut bench = Command::new("target/release/chronik-bench");
    bench.arg(&args.which).args(&args.rest);
    if std::env::var_os("CHRONIK_PYTHON").is_none() {
        bench.env("CHRONIK_PYTHON", python);
    }
    sh(&mut bench)
}
