//! Developer commands: `cargo xtask test`, `cargo xtask demo`, `cargo xtask bench`,
//! `cargo xtask tools`, `cargo xtask images`.

mod bench;
mod demo;
mod deps;
mod images;
mod run;
mod test;
mod tools;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Chronik developer commands")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Format and lint checks, unit and integration tests (what CI runs).
    Test(test::TestArgs),
    /// Bring up a Chronik cluster and use it.
    Demo(demo::DemoArgs),
    /// Benchmarks against a peer system measured in the same run.
    Bench(bench::BenchArgs),
    /// Install the system packages, Python clients, helm and kubectl the tests use.
    Deps,
    /// Install helm and kubectl into .tools/bin (idempotent).
    Tools,
    /// Build the broker and operator images (podman, else docker) and check they start.
    Images {
        /// Build only this image (chronik-broker or chronik-operator).
        #[arg(long)]
        only: Option<String>,
        /// Image tag.
        #[arg(long, default_value = "latest")]
        tag: String,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Test(a) => test::run(a),
        Cmd::Demo(a) => demo::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Deps => deps::ensure_all(),
        Cmd::Tools => tools::install_tools().map(|_| ()),
        Cmd::Images { only, tag } => {
            let options = images::ImageOptions {
                only,
                tag,
                ..images::ImageOptions::default()
            };
            for image in images::build_images(&options)? {
                println!("built {image}");
            }
            Ok(())
        }
    }
}
