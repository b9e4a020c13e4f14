//! The real kubectl (`$CHRONIK_KUBECTL`, then `.tools/bin`, then `PATH`, as
//! `chronik_localkube::tools` finds it), always with `--kubeconfig` and a
//! home and discovery cache of its own, and a waiting helper.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Minimum kubectl minor version the tests are written for.
pub const KUBECTL_MINOR: u32 = 34;

/// Output of one kubectl run.
#[derive(Debug)]
pub struct Run {
    /// Exit status was 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// kubectl bound to one kubeconfig, isolated from the user's `~/.kube`
/// (its `HOME` and discovery cache are a temporary directory).
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    /// Finds kubectl (at least 1.[`KUBECTL_MINOR`]); fails the test naming
    /// `cargo xtask tools` when there is none.
    pub fn new(kubeconfig: &Path) -> Kubectl {
        let bin = crate::tools::kubectl(KUBECTL_MINOR).unwrap_or_else(|e| panic!("{e}"));
        Kubectl {
            bin,
            kubeconfig: kubeconfig.to_path_buf(),
            home: tempfile::tempdir().expect("a temporary kubectl home"),
        }
    }

    /// The kubeconfig every command uses.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The kubectl command with the kubeconfig, home and cache set, and
    /// every stream piped.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .args(args)
            .env("HOME", self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs kubectl with `args`, feeding `stdin` when given.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut child = self
            .command(args)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.bin.display()));
        if let Some(mut pipe) = child.stdin.take() {
            if let Some(input) = stdin {
                use std::io::Write;
                pipe.write_all(input.as_bytes())
                    .expect("writing kubectl's stdin");
            }
        }
        Run::from(child.wait_with_output().expect("kubectl runs"))
    }

    /// [`Kubectl::run`] for async tests whose runtime also serves the API
    /// kubectl talks to (kubectl is killed if the test drops the future).
    pub async fn run_async(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut child = tokio::process::Command::from(self.command(args))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.bin.display()));
        if let Some(mut pipe) = child.stdin.take() {
            if let Some(input) = stdin {
                use tokio::io::AsyncWriteExt;
                pipe.write_all(input.as_bytes())
                    .await
                    .expect("writing kubectl's stdin");
            }
        }
        Run::from(child.wait_with_output().await.expect("kubectl runs"))
    }

    /// kubectl that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args, None);
        assert!(r.ok, "kubectl {args:?} failed: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    /// kubectl that must fail; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args, None);
        assert!(!r.ok, "kubectl {args:?} should have failed: {}", r.stdout);
        r.stderr
    }

    /// `kubectl get ... -o json`; `None` when the object does not exist.
    pub fn get(&self, args: &[&str]) -> Option<Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json", "--ignore-not-found"]);
        let r = self.run(&all, None);
        assert!(r.ok, "kubectl {all:?} failed: {}", r.stderr);
        if r.stdout.trim().is_empty() {
            return None;
        }
        Some(serde_json::from_str(&r.stdout).expect("kubectl prints JSON"))
    }

    /// Names of the objects of `kind` in `ns`.
    pub fn names(&self, ns: &str, kind: &str) -> Vec<String> {
        self.items(&["-n", ns, kind])
            .iter()
            .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    }

    /// The `items` of `kubectl get <args> -o json`; fails the test when
    /// kubectl fails.
    pub fn items(&self, args: &[&str]) -> Vec<Value> {
        self.get(args).map(items_of).unwrap_or_default()
    }

    /// The `items` of `kubectl get <args> -o json`, `None` when kubectl
    /// fails (for pollers, to which an API server that did not answer is an
    /// empty sample, not a failed test).
    pub fn try_items(&self, args: &[&str]) -> Option<Vec<Value>> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        let r = self.run(&all, None);
        r.ok.then(|| serde_json::from_str::<Value>(&r.stdout).ok())
            .flatten()
            .map(items_of)
    }

    /// `kubectl apply -n <ns> -f -` of a YAML (or JSON) text.
    pub fn apply_text(&self, ns: &str, text: &str) -> Run {
        self.run(&["apply", "-n", ns, "-f", "-"], Some(text))
    }

    /// `kubectl apply -n <ns> -f -` of one object (JSON is YAML).
    pub fn apply(&self, ns: &str, object: &Value) -> Run {
        self.apply_text(ns, &object.to_string())
    }
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Self {
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

fn items_of(list: Value) -> Vec<Value> {
    list.get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Polls `check` every second until it returns `Ok`; on timeout panics with
/// `what` and the last state `check` described.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => {
                println!("    ok after {:.1}s: {what}", start.elapsed().as_secs_f64());
                return v;
            }
            Err(state) if start.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for {what}; last state: {state}")
            }
            Err(_) => std::thread::sleep(Duration::from_secs(1)),
        }
    }
}
