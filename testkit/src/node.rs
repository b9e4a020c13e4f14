//! Node.js and kafkajs for the client programs of `kafka/tests/clients/js`.
//!
//! `cargo xtask deps` installs kafkajs, pinned by the folder's
//! `package-lock.json`, into `<target>/node`; [`run_program`] runs a
//! program with `node` from `PATH` (or `$CHRONIK_NODE`) and that folder's
//! `node_modules` on `NODE_PATH`. A missing toolchain or library fails the
//! test with a message naming `cargo xtask deps`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::workspace;

/// The variable naming another `node` than the one on `PATH`.
pub const NODE_ENV: &str = "CHRONIK_NODE";

/// Seconds a program may run before `timeout` stops it.
const PROGRAM_TIMEOUT_SECS: &str = "180";

/// The folder `cargo xtask deps` installs kafkajs into.
pub fn install_dir() -> PathBuf {
    workspace::target_dir().join("node")
}

/// Directory of the JavaScript client programs.
pub fn clients_dir() -> PathBuf {
    workspace::root().join("kafka/tests/clients/js")
}

/// The `node` binary: `$CHRONIK_NODE`, else `node` on `PATH`. Fails the
/// test, naming `cargo xtask deps`, unless it runs and kafkajs is installed.
pub fn node() -> PathBuf {
    let node = std::env::var_os(NODE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"));
    let runs = Command::new(&node)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "`{}` does not run: run `cargo xtask deps` (it installs Node.js and npm), \
         or point {NODE_ENV} at a node binary",
        node.display()
    );
    let kafkajs = install_dir().join("node_modules/kafkajs/package.json");
    assert!(
        kafkajs.is_file(),
        "kafkajs is not installed ({} is missing): run `cargo xtask deps` \
         (it installs kafka/tests/clients/js/package-lock.json into {})",
        kafkajs.display(),
        install_dir().display()
    );
    node
}

fn program_command(program: &str, args: &[&str]) -> Command {
    let node = node();
    let mut cmd = Command::new("timeout");
    cmd.arg(PROGRAM_TIMEOUT_SECS)
        .arg(node)
        .arg(clients_dir().join(program))
        .args(args)
        .env("NODE_PATH", install_dir().join("node_modules"))
        .current_dir(clients_dir())
        .stdin(Stdio::null());
    cmd
}

/// Runs a client program to completion and fails the test with its output
/// unless it succeeds; returns stdout.
pub fn run_program(program: &str, args: &[&str]) -> String {
    let output = program_command(program, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    crate::python::check(program, &output)
}

/// Starts a client program with piped output (read it with
/// [`crate::python::read_line_with`]).
pub fn spawn_program(program: &str, args: &[&str]) -> Child {
    program_command(program, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}
