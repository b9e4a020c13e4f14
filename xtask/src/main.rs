//! Developer commands: `cargo xtask test`, `cargo xtask demo`, `cargo xtask bench`,
//! `cargo xtask tools`, `cargo xtask images`, `cargo xtask cluster`, `cargo xtask e2e`,
//! `cargo xtask chaos`.

mod bench;
mod chaos;
mod cluster;
mod demo;
mod deps;
mod e2e;
mod images;
mod kube;
mod node;
mod operator;
mod python;
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
    /// Local cluster + operator + a 3-node ChronikCluster, used through a Kafka client pod.
    Demo(demo::DemoArgs),
    /// Start or stop the local Kubernetes-compatible cluster (chronik-localkube + podman).
    #[command(subcommand)]
    Cluster(cluster::ClusterCmd),
    /// The end-to-end scenarios on the local cluster or on any kubeconfig.
    E2e(e2e::E2eArgs),
    /// The nemesis fault test for longer (`--minutes N`, `--seed S`).
    Chaos(chaos::ChaosArgs),
    /// Benchmarks against a peer system measured in the same run.
    Bench(bench::BenchArgs),
    /// Install the system packages (Go and its Kafka clients among them), the Python environment (target/python), kafkajs (target/node), helm and kubectl the tests use.
    Deps,
    /// Install helm and kubectl into .tools/bin (idempotent).
    Tools,
    /// Build the broker, operator and Kafka client images (podman, else docker).
    Images {
        /// Build only this image (chronik-broker, chronik-operator or chronik-kafka-client).
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
        Cmd::Cluster(c) => cluster::run(c),
        Cmd::E2e(a) => e2e::run(a),
        Cmd::Chaos(a) => chaos::run(a),
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
