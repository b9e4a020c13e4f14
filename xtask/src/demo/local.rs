//! `cargo xtask demo --local-processes`: a `chronik-broker dev` cluster of
//! local processes, used with curl and kcat (no Kubernetes, no images).

use anyhow::{bail, Context, Result};
use chronik_api::BrokerStatus;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Settings of the local-process demo.
#[derive(clap::Args, Debug)]
pub struct LocalArgs {
    /// With --local-processes: number of brokers.
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// With --local-processes: first port of the local cluster.
    #[arg(long, default_value_t = 19000)]
    base_port: u16,
    /// With --local-processes: keep the cluster running until Ctrl-C.
    #[arg(long)]
    keep: bool,
}

/// Starts `chronik-broker dev`, waits for a leader, writes and reads a topic
/// and a key through the leader, and prints every node's status.
pub fn run(args: &LocalArgs) -> Result<()> {
    crate::deps::ensure_all()?;
    let bin = crate::images::build_static("chronik-broker", false)?;
    let mut child = Command::new(&bin)
        .args([
            "dev",
            "--nodes",
            &args.nodes.to_string(),
            "--base-port",
            &args.base_port.to_string(),
        ])
        .stdin(Stdio::null())
        .spawn()
        .context("start chronik-broker dev")?;
    let result = exercise(args);
    if args.keep && result.is_ok() {
        eprintln!("cluster running; Ctrl-C stops it");
        let _ = child.wait();
        return Ok(());
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    result
}

fn http(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

fn curl(args: &[&str]) -> Option<String> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "2"])
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The `/v1/status` of the node whose HTTP API is on `port`, if it answers.
fn status(port: u16) -> Option<BrokerStatus> {
    let body = curl(&[&format!("{}/v1/status", http(port))])?;
    serde_json::from_str(&body).ok()
}

fn exercise(args: &LocalArgs) -> Result<()> {
    let ports: Vec<u16> = (0..args.nodes)
        .map(|i| args.base_port + (i as u16) * 10 + 1)
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let leader = loop {
        let found = ports
            .iter()
            .find(|p| status(**p).is_some_and(|s| s.is_leader()));
        if let Some(p) = found {
            break *p;
        }
        if Instant::now() > deadline {
            bail!("no leader elected within 20 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    println!("\nleader serves HTTP on {}", http(leader));
    let created = curl(&[
        "-X",
        "POST",
        &format!("{}/v1/topics", http(leader)),
        "-d",
        r#"{"name":"demo","partitions":3}"#,
    ]);
    println!("create topic demo: {}", created.unwrap_or_default());
    let kafka = format!("127.0.0.1:{}", leader + 1);
    produce_and_consume(&kafka)?;
    let put = curl(&[
        "-X",
        "PUT",
        &format!("{}/v1/kv/greeting", http(leader)),
        "--data-binary",
        "hello",
    ]);
    println!("put greeting: {}", put.unwrap_or_default());
    std::thread::sleep(Duration::from_millis(300));
    for p in &ports {
        let v = curl(&[&format!("{}/v1/kv/greeting", http(*p))]).unwrap_or_default();
        println!("node at {} reads greeting = {v:?}", http(*p));
    }
    for p in &ports {
        println!(
            "{}",
            curl(&[&format!("{}/v1/status", http(*p))]).unwrap_or_default()
        );
    }
    Ok(())
}

/// Produces five records with kcat (librdkafka) and reads them back.
fn produce_and_consume(bootstrap: &str) -> Result<()> {
    use std::io::Write;
    let mut producer = Command::new("kcat")
        .args([
            "-b", bootstrap, "-t", "demo", "-P", "-K", ":", "-X", "acks=all",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .context("start kcat")?;
    if let Some(stdin) = producer.stdin.as_mut() {
        for i in 0..5 {
            writeln!(stdin, "key-{i}:hello {i}").context("write to kcat")?;
        }
    }
    drop(producer.stdin.take());
    if !producer.wait().context("kcat producer")?.success() {
        bail!("kcat could not produce to {bootstrap}");
    }
    let out = Command::new("kcat")
        .args([
            "-b",
            bootstrap,
            "-t",
            "demo",
            "-C",
            "-o",
            "beginning",
            "-e",
            "-c",
            "5",
        ])
        .args(["-f", "partition %p offset %o: %k = %s\n"])
        .output()
        .context("run kcat consumer")?;
    println!("produced 5 records with kcat (acks=all) and read them back:");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        bail!("kcat could not consume from {bootstrap}");
    }
    Ok(())
}
