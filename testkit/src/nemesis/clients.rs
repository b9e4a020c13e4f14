//! `kafka/tests/clients/nemesis.py` run for as long as a nemesis run lasts
//! (the ordinary scripts are stopped after 3 minutes), with its output
//! collected while it runs so it never blocks on a full pipe.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::python::{clients_dir, python};

/// A running client script.
pub struct Client {
    /// What it does (for messages).
    pub name: String,
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What a client printed and how it ended.
#[derive(Debug)]
pub struct ClientOutput {
    /// Standard output (the history lines).
    pub stdout: String,
    /// Standard error (librdkafka's log, failures).
    pub stderr: String,
    /// Whether it exited with 0.
    pub success: bool,
}

fn collect<R: Read + Send + 'static>(mut r: R) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

impl Client {
    /// Starts `nemesis.py <args>` in a process group of its own; `timeout`
    /// stops it with SIGKILL if it has not ended by then.
    pub fn spawn(name: &str, args: &[String], timeout: Duration) -> Self {
        let mut child = Command::new("timeout")
            .process_group(0)
            .args(["-s", "KILL", &timeout.as_secs().to_string()])
            .arg(python())
            .args(["-E", "-B"])
            .arg(clients_dir().join("nemesis.py"))
            .args(args)
            .current_dir(clients_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run nemesis.py: {e}"));
        let stdout = child.stdout.take().map(collect);
        let stderr = child.stderr.take().map(collect);
        Self {
            name: name.to_string(),
            child,
            stdout,
            stderr,
        }
    }

    /// Kills the whole process group: `timeout` and the Python client under
    /// it. Killing only `timeout` would leave the client running, holding
    /// the output pipes open, and reading them would never end.
    fn kill_group(&mut self) {
        // std has no killpg; kill(1) takes a negative pid as a group.
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            let _ = self.child.kill();
        }
    }

    /// Waits (polling, so an async caller's runtime is not blocked for
    /// long) until it exits or `within` passes, then kills it if needed.
    pub async fn finish(mut self, within: Duration) -> ClientOutput {
        let deadline = Instant::now() + within;
        let mut success = false;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    success = status.success();
                    break;
                }
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => {
                    self.kill_group();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        let join =
            |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        ClientOutput {
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
            success,
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_group();
        }
        let _ = self.child.wait();
    }
}

/// A file whose creation tells the long-running clients to stop.
pub struct StopFile(PathBuf);

impl StopFile {
    /// A stop file (not yet created) in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self(dir.join("nemesis-stop"))
    }

    /// Its path, for `--stop-file`.
    pub fn path(&self) -> String {
        self.0.display().to_string()
    }

    /// Tells the clients to stop.
    pub fn signal(&self) {
        std::fs::write(&self.0, b"stop").expect("write the stop file");
    }
}
