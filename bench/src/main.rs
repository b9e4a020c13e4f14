//! `chronik-bench raft`: 3-node Chronik vs 3-member etcd on loopback, same
//! client, same payloads, same concurrency, measured in one run.
//! `chronik-bench kafka`: Kafka produce through confluent-kafka on 3 and 1
//! brokers, next to 3-member etcd puts measured in the same run.

mod cluster;
mod kafka;
mod load;
mod report;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "chronik-bench")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replicated writes: committed proposals/s, commit latency, failover, idle RSS.
    Raft(RaftArgs),
    /// Kafka produce (acks=all, 1 KiB) on 3 and 1 brokers next to 3-member etcd puts.
    Kafka(RaftArgs),
}

/// Settings shared by both systems.
#[derive(clap::Args, Clone)]
pub struct RaftArgs {
    /// Seconds of load per system.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent writers.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Payload bytes per write.
    #[arg(long, default_value_t = 1024)]
    payload: usize,
    /// The broker binary (build it with --release).
    #[arg(long, default_value = "target/release/chronik-broker")]
    broker_bin: PathBuf,
    /// The etcd binary.
    #[arg(long, default_value = "etcd")]
    etcd_bin: PathBuf,
    /// The Python interpreter of the Kafka load script (one with
    /// confluent-kafka): `cargo xtask bench` passes the project's
    /// environment, which `cargo xtask deps` builds.
    #[arg(long, env = "CHRONIK_PYTHON")]
    python: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Raft(args) => raft(args).await,
        Cmd::Kafka(args) => kafka_bench(args).await,
    }
}

async fn kafka_bench(args: RaftArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut results = Vec::new();
    for members in [3, 1] {
        eprintln!(
            "== chronik kafka: {members} broker(s), {}s of produce",
            args.seconds
        );
        results.push(kafka::run(&args, dir.path(), members).await?);
    }
    eprintln!("== etcd: starting 3 members");
    let mut c = cluster::Cluster::start(cluster::System::Etcd, &args, dir.path()).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let leader = c.leader().await?;
    let etcd = load::run(&c, leader, &args, Duration::from_secs(args.seconds)).await;
    c.stop();
    kafka::print(&args, &results, &etcd);
    Ok(())
}

async fn raft(args: RaftArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let duration = Duration::from_secs(args.seconds);
    let mut results = Vec::new();
    for system in [cluster::System::Chronik, cluster::System::Etcd] {
        eprintln!("== {}: starting 3 members", system.name());
        let mut c = cluster::Cluster::start(system, &args, dir.path()).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle_rss_kib = c.rss_kib(0);
        let leader = c.leader().await?;
        eprintln!(
            "== {}: leader is member {leader}; {} writers for {}s",
            system.name(),
            args.concurrency,
            args.seconds
        );
        let load = load::run(&c, leader, &args, duration).await;
        let failover = c.kill_leader_and_time_next_commit(leader).await?;
        results.push(report::Row {
            system: system.name(),
            load,
            failover,
            idle_rss_kib,
        });
        c.stop();
    }
    report::print(&args, &results);
    Ok(())
}
