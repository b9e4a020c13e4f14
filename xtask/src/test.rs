//! `cargo xtask test`: everything CI checks, in order of cost.

use crate::run::{cargo, run as sh};
use anyhow::Result;
use std::process::Command;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Skip fmt and clippy.
    #[arg(long)]
    no_lint: bool,
    /// Skip building the container images and the tests that run them.
    #[arg(long)]
    no_images: bool,
    /// Skip the end-to-end scenarios on the local cluster.
    #[arg(long)]
    no_e2e: bool,
}

pub fn run(args: TestArgs) -> Result<()> {
    crate::deps::ensure_all()?;
    if !args.no_lint {
        sh(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
        sh(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    // Integration tests start clusters of real processes; one at a time keeps
    // elections honest on a 2-core machine. Clippy, the tests and the images
    // all build with `cargo()`'s static target and flags: the dependencies
    // compile once for all three (the images reuse the tests' binaries).
    sh(cargo().args(["test", "--workspace", "--", "--test-threads=1"]))?;
    if !args.no_images {
        let options = crate::images::ImageOptions {
            release: false,
            ..crate::images::ImageOptions::default()
        };
        crate::images::build_images(&options)?;
        // The image tests are #[ignore]d in a plain `cargo test` because they
        // need the images this step just built.
        // `--workspace` (not `-p`): the same feature resolution as the
        // build above, so nothing is compiled again.
        sh(cargo().args([
            "test",
            "--workspace",
            "--test",
            "image",
            "--",
            "--ignored",
            "--test-threads=1",
        ]))?;
        if !args.no_e2e {
            crate::e2e::run(crate::e2e::E2eArgs {
                no_build: true,
                ..crate::e2e::E2eArgs::local()
            })?;
        }
    }
    Ok(())
}
