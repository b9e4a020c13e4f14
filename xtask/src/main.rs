//! Developer commands: `cargo xtask test`, `cargo xtask demo`, `cargo xtask bench`.

mod bench;
mod demo;
mod deps;
mod run;
mod test;

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
    /// Install the system packages and Python clients the tests use.
    Deps,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Test(a) => test::run(a),
        Cmd::Demo(a) => demo::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Deps => deps::ensure_all(),
    }
}
