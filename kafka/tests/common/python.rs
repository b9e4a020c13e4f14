//! The Python Kafka client scripts of `kafka/tests/clients` (kafka-python
//! and confluent-kafka): one runner for the kafka crate's integration tests
//! and the broker's, which include this file by path.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// Seconds a script may run before `timeout` stops it.
const SCRIPT_TIMEOUT_SECS: &str = "180";

/// Directory of the Python client scripts (both crates sit one level below
/// the workspace root).
pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kafka/tests/clients")
}

/// Fails the test unless kafka-python and confluent-kafka import.
pub fn require_python_clients() {
    let ok = Command::new("python3")
        .args(["-c", "import kafka, confluent_kafka"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 with kafka-python and confluent-kafka is required: \
         run `pip install kafka-python confluent-kafka`"
    );
}

fn script_command(script: &str, args: &[&str]) -> Command {
    require_python_clients();
    let mut cmd = Command::new("timeout");
    cmd.arg(SCRIPT_TIMEOUT_SECS)
        .arg("python3")
        .arg(clients_dir().join(script))
        .args(args)
        .current_dir(clients_dir())
        .stdin(Stdio::null());
    cmd
}

/// Panics with the process's output unless it succeeded; returns stdout.
pub fn check(what: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    stdout
}

/// Runs a client script to completion and fails the test with its output
/// unless it succeeds; returns stdout.
pub fn run_script(script: &str, args: &[&str]) -> String {
    let output = script_command(script, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    check(script, &output)
}

/// Starts a client script with piped output.
pub fn spawn_script(script: &str, args: &[&str]) -> Child {
    script_command(script, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"))
}
