//! The project's Python environment and the Kafka client scripts of
//! `kafka/tests/clients` (kafka-python and confluent-kafka) that the kafka
//! crate's and the broker's integration tests run.
//!
//! `cargo xtask deps` builds the environment from `testkit/requirements.txt`
//! into `<target>/python`; [`python`] is the one place that finds its
//! interpreter (or the one `$CHRONIK_PYTHON` names).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;

use crate::workspace;

/// The variable naming another Python interpreter (one with kafka-python and
/// confluent-kafka installed) than the project's environment.
pub const PYTHON_ENV: &str = "CHRONIK_PYTHON";

/// Seconds a script may run before `timeout` stops it.
const SCRIPT_TIMEOUT_SECS: &str = "180";

/// The directory of the environment `cargo xtask deps` builds.
pub fn environment_dir() -> PathBuf {
    workspace::target_dir().join("python")
}

/// The Python interpreter of the client scripts: `$CHRONIK_PYTHON`, else
/// the project's environment. Fails the test, naming `cargo xtask deps`,
/// unless it imports both clients (checked on every call, as before every
/// script, from outside the repository and in isolated mode, so that the
/// crate folder `kafka/` cannot pass for kafka-python).
pub fn python() -> PathBuf {
    let python = std::env::var_os(PYTHON_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| environment_dir().join("bin").join("python"));
    check_clients(&python).unwrap_or_else(|why| panic!("{why}"));
    python
}

/// Whether `python` imports kafka-python and confluent-kafka.
fn check_clients(python: &Path) -> Result<(), String> {
    let output = Command::new(python)
        .args(["-I", "-c", "import kafka.producer, confluent_kafka"])
        .current_dir("/")
        .output();
    let why = match output {
        Ok(o) if o.status.success() => return Ok(()),
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    Err(format!(
        "the Python Kafka clients are not usable with {}: {why}\n\
         run `cargo xtask deps` (it builds {} from testkit/requirements.txt), \
         or point {PYTHON_ENV} at a Python with kafka-python and confluent-kafka",
        python.display(),
        environment_dir().display()
    ))
}

/// Directory of the client scripts.
pub fn clients_dir() -> PathBuf {
    workspace::root().join("kafka/tests/clients")
}

fn script_command(script: &str, args: &[&str]) -> Command {
    let python = python();
    let mut cmd = Command::new("timeout");
    // -E: no PYTHONPATH or PYTHONHOME from the caller's environment; -B: no
    // __pycache__ written into the source tree.
    cmd.arg(SCRIPT_TIMEOUT_SECS)
        .arg(python)
        .args(["-E", "-B"])
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

/// Reads a spawned script's stdout until a line starting with `prefix`;
/// returns the rest of that line and a thread collecting the remaining
/// output (so the script never blocks on a full pipe).
pub fn read_line_with(child: &mut Child, prefix: &str) -> (String, JoinHandle<String>) {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut seen = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read script output");
        assert!(n > 0, "script ended before printing {prefix:?}: {seen:?}");
        if let Some(rest) = line.trim().strip_prefix(prefix) {
            let rest = rest.trim().to_string();
            let rest_of_output = std::thread::spawn(move || {
                let mut all = String::new();
                while reader.read_line(&mut all).unwrap_or(0) > 0 {}
                all
            });
            return (rest, rest_of_output);
        }
        seen.push(line.clone());
    }
}
