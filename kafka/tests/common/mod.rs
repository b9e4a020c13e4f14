//! Shared by the integration tests: a `chronik-kafka-dev` process on an ephemeral
//! loopback port, and checks that the real clients are installed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub mod python;
// Each test binary compiles this module and uses a different part of it.
#[allow(unused_imports)]
pub use python::{check, run_script};

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

/// Fails the test unless kcat runs.
pub fn require_kcat() {
    let ok = Command::new("kcat")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "kcat is required: run `apt-get install -y kcat`");
}
