//! `chronik-kafka-client` against a real 3-node `chronik-broker dev` cluster
//! on loopback: wait-ready, produce with acks=all, consume back, and the
//! failures the checks must report (missing records, duplicates, no broker).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chronik_testkit::binary::broker_binary;
use serde_json::Value;

/// A base port whose 30 following ports are free now.
fn free_base_port() -> u16 {
    let start = 20_000 + (std::process::id() % 2_000) as u16 * 10;
    (0..200)
        .map(|k| start.wrapping_add(k * 37) % 40_000 + 20_000)
        .find(|base| (0..30).all(|o| TcpListener::bind(("127.0.0.1", base + o)).is_ok()))
        .expect("a free port range")
}

/// `chronik-broker dev --nodes 3`, stopped with SIGINT (which stops its
/// nodes) when dropped.
struct DevCluster {
    child: Child,
    base: u16,
}

impl DevCluster {
    fn start() -> Self {
        let base = free_base_port();
        let child = Command::new(broker_binary())
            .args(["dev", "--nodes", "3", "--base-port", &base.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start chronik-broker dev");
        Self { child, base }
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.base + 2)
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run of the client did.
struct Run {
    success: bool,
    /// The JSON summary on its last stdout line.
    summary: Value,
    stderr: String,
}

/// Runs `chronik-kafka-client <command> --bootstrap <bootstrap> <args>`.
fn client(command: &str, bootstrap: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_chronik-kafka-client"))
        .args([command, "--bootstrap", bootstrap])
        .args(args)
        .output()
        .expect("chronik-kafka-client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stdout.lines().last().unwrap_or_default();
    let summary = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!("{command}: last stdout line is not JSON ({e}): {stdout}\nstderr: {stderr}")
    });
    Run {
        success: out.status.success(),
        summary,
        stderr,
    }
}

#[test]
fn produce_and_consume_through_a_three_node_cluster() {
    let cluster = DevCluster::start();
    let bootstrap = cluster.bootstrap();

    let ready = client(
        "wait-ready",
        &bootstrap,
        &["--brokers", "3", "--timeout-secs", "60"],
    );
    let r = &ready.summary;
    assert!(ready.success, "wait-ready: {r}");
    assert_eq!(r["brokers"].as_array().map(Vec::len), Some(3), "{r}");

    let produced = client(
        "produce",
        &bootstrap,
        &[
            "--topic",
            "orders",
            "--count",
            "300",
            "--run-id",
            "first",
            "--value-bytes",
            "64",
        ],
    );
    let p = &produced.summary;
    assert!(produced.success, "produce: {p}\n{}", produced.stderr);
    assert_eq!(p["acked"], 300, "{p}");
    assert_eq!(p["failed"], 0, "{p}");
    // Per partition: the three partitions share the 300 acknowledgements.
    let partitions = p["partitions"].as_object().expect("per-partition counts");
    assert_eq!(partitions.len(), 3, "{p}");
    let acked: u64 = partitions
        .values()
        .filter_map(|v| v["acked"].as_u64())
        .sum();
    assert_eq!(acked, 300, "{p}");

    let consumed = client(
        "consume",
        &bootstrap,
        &["--topic", "orders", "--expect", "300", "--run-id", "first"],
    );
    let c = &consumed.summary;
    assert!(consumed.success, "consume: {c}");
    assert_eq!(c["unique"], 300, "{c}");
    assert_eq!(c["consumed"], 300, "{c}");
    assert_eq!(c["missing"], 0, "{c}");

    // Expecting more than was produced: the gap is reported and fails.
    let short = client(
        "consume",
        &bootstrap,
        &[
            "--topic",
            "orders",
            "--expect",
            "350",
            "--run-id",
            "first",
            "--timeout-secs",
            "4",
        ],
    );
    let s = &short.summary;
    assert!(!short.success, "missing records must fail: {s}");
    assert_eq!(s["missing"], 50, "{s}");

    // The same run produced again (topic exists already): every key is now
    // duplicated, which the consumer reports as a failure.
    let again = client(
        "produce",
        &bootstrap,
        &["--topic", "orders", "--count", "100", "--run-id", "first"],
    );
    assert!(again.success, "second produce: {}", again.summary);
    let dup = client(
        "consume",
        &bootstrap,
        &[
            "--topic",
            "orders",
            "--expect",
            "300",
            "--run-id",
            "first",
            "--timeout-secs",
            "20",
        ],
    );
    let d = &dup.summary;
    assert!(!dup.success, "duplicates must fail: {d}");
    assert_eq!(d["duplicates"], 100, "{d}");
    assert_eq!(d["unique"], 300, "{d}");
}

#[test]
fn produce_without_a_broker_reports_every_record_failed() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let out = client(
        "produce",
        &format!("127.0.0.1:{port}"),
        &["--topic", "nowhere", "--count", "10", "--timeout-secs", "3"],
    );
    let p = &out.summary;
    assert!(!out.success, "{p}");
    assert_eq!(p["acked"], 0, "{p}");
    assert_eq!(p["failed"], 10, "{p}");
    assert!(
        !p["errors"].as_array().map(Vec::is_empty).unwrap_or(true),
        "{p}"
    );
}
