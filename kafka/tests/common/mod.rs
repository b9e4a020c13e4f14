//! Shared by the integration tests: a `chronik-kafka-dev` process on an ephemeral
//! loopback port, and checks that the real clients are installed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// A running `chronik-kafka-dev`, killed on drop.
pub struct DevBroker {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub bootstrap: String,
}

impl DevBroker {
    /// Starts the binary with `--port 0` and waits for its `listening on` line.
    pub fn start(extra_args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chronik-kafka-dev"))
            .args(["--port", "0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chronik-kafka-dev: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("reading broker stdout: {e}"));
        let bootstrap = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from broker: {line:?}"))
            .to_owned();
        Self { child, bootstrap }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for DevBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Directory of the Python client scripts.
pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
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

/// Fails the test unless kcat runs.
pub fn require_kcat() {
    let ok = Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "kcat is required: run `apt-get install -y kcat`");
}

/// Runs a client script and fails the test with its output unless it succeeds.
pub fn run_script(script: &str, args: &[&str]) -> String {
    require_python_clients();
    let output = Command::new("timeout")
        .arg("180")
        .arg("python3")
        .arg(clients_dir().join(script))
        .args(args)
        .current_dir(clients_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    check(script, &output)
}

/// Panics with stdout/stderr unless the process succeeded; returns stdout.
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
