//! `cargo xtask chaos --minutes N [--seed S]`: the nemesis test
//! (`broker/tests/nemesis.rs`) for longer than the short run of `cargo xtask
//! test`; the same seed injects the same schedule of faults.

use crate::run::{cargo, run as sh};
use anyhow::Result;

#[derive(clap::Args)]
pub struct ChaosArgs {
    /// Minutes of faults.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Seed of the fault schedule (default: from the clock, printed).
    #[arg(long)]
    seed: Option<u64>,
}

pub fn run(args: ChaosArgs) -> Result<()> {
    // Only the Python clients are needed (not podman, helm or kubectl); a
    // Python named by CHRONIK_PYTHON is used as it is.
    if std::env::var_os("CHRONIK_PYTHON").is_none() {
        crate::python::ensure()?;
    }
    let mut cmd = cargo();
    cmd.args([
        "test",
        "-p",
        "chronik-broker",
        "--test",
        "nemesis",
        "--",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("CHRONIK_NEMESIS_SECONDS", (args.minutes * 60).to_string());
    if let Some(seed) = args.seed {
        cmd.env("CHRONIK_NEMESIS_SEED", seed.to_string());
    }
    sh(&mut cmd)
}
