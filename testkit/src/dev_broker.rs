//! `chronik-kafka-dev`, the Kafka front end over its in-memory backend, as a
//! process on an ephemeral loopback port (the kafka crate's integration
//! tests).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `chronik-kafka-dev`, killed on drop.
pub struct DevBroker {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub bootstrap: String,
}

impl DevBroker {
    /// Starts `binary` (a `chronik-kafka-dev`) with `--port 0` and
    /// `extra_args`, and waits for its `listening on` line.
    pub fn start(binary: &Path, extra_args: &[&str]) -> Self {
        let mut child = Command::new(binary)
            .args(["--port", "0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
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
