//! `chronik-bench kafka`: produce throughput and latency of a Chronik cluster
//! through a real Kafka client (confluent-kafka, driven by a Python script).

use crate::cluster::{Cluster, System};
use crate::RaftArgs;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What the load script reports.
pub struct KafkaResult {
    pub members: usize,
    pub acked: u64,
    pub errors: u64,
    pub msgs_per_s: f64,
    pub mb_per_s: f64,
    /// Rate of the latency phase (half the measured throughput).
    pub latency_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka_produce.py")
}

/// Starts `members` brokers and runs the produce load against them.
pub async fn run(args: &RaftArgs, dir: &Path, members: usize) -> Result<KafkaResult> {
    let c = Cluster::start_n(
        System::Chronik,
        args,
        &dir.join(format!("kafka-{members}")),
        members,
    )
    .await?;
    // Brokers register their Kafka address through the metadata group.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bootstrap = c
        .members
        .iter()
        .map(|m| m.kafka.clone())
        .collect::<Vec<_>>()
        .join(",");
    let python = args.python.as_ref().context(
        "no Python interpreter for the Kafka load: run `cargo xtask bench kafka` (its \
         `cargo xtask deps` step builds target/python) or pass --python / CHRONIK_PYTHON",
    )?;
    let out = Command::new(python)
        .arg(script())
        .args(["--bootstrap", &bootstrap])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--payload", &args.payload.to_string()])
        .output()
        .with_context(|| format!("run {} (run `cargo xtask deps`)", python.display()))?;
    if !out.status.success() {
        bail!(
            "kafka load failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .last()
        .context("no output from the load script")?;
    let v: serde_json::Value = serde_json::from_str(line).context("load script output")?;
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    Ok(KafkaResult {
        members,
        acked: v["acked"].as_u64().unwrap_or(0),
        errors: v["errors"].as_u64().unwrap_or(0),
        msgs_per_s: f("msgs_per_s"),
        mb_per_s: f("mb_per_s"),
        latency_rate: f("latency_rate"),
        p50_ms: f("p50_ms"),
        p99_ms: f("p99_ms"),
    })
}

/// Prints Kafka figures next to etcd's.
pub fn print(args: &RaftArgs, kafka: &[KafkaResult], etcd: &crate::load::LoadResult) {
    println!(
        "\nloopback, fsync on, {} B values, {} s each; Kafka: one confluent-kafka producer, acks=all, \
         3 partitions, latency at half the measured throughput; etcd: {} concurrent 1-put writers\n",
        args.payload, args.seconds, args.concurrency
    );
    println!(
        "{:<22} {:>10} {:>12} {:>10} {:>8} {:>12} {:>10} {:>10}",
        "system", "acked", "writes/s", "MB/s", "errors", "lat. at /s", "p50 ms", "p99 ms"
    );
    for k in kafka {
        println!(
            "{:<22} {:>10} {:>12.0} {:>10.1} {:>8} {:>12.0} {:>10.2} {:>10.2}",
            format!("chronik kafka x{}", k.members),
            k.acked,
            k.msgs_per_s,
            k.mb_per_s,
            k.errors,
            k.latency_rate,
            k.p50_ms,
            k.p99_ms
        );
    }
    let etcd_rate = etcd.per_second();
    println!(
        "{:<22} {:>10} {:>12.0} {:>10.1} {:>8} {:>12.0} {:>10.2} {:>10.2}",
        "etcd x3 (puts)",
        etcd.committed,
        etcd_rate,
        etcd_rate * args.payload as f64 / 1e6,
        etcd.errors,
        etcd_rate,
        etcd.percentile_ms(0.5),
        etcd.percentile_ms(0.99)
    );
    println!();
    for k in kafka {
        println!(
            "chronik kafka x{} / etcd x3: throughput x{:.1}",
            k.members,
            k.msgs_per_s / etcd_rate
        );
    }
}
