//! Go and the Go Kafka clients (Shopify sarama, segmentio kafka-go) for the
//! client programs of `kafka/tests/clients/go`.
//!
//! The clients are Debian's packages (`golang-github-shopify-sarama-dev`,
//! `golang-github-segmentio-kafka-go-dev`), whose sources live under
//! `/usr/share/gocode`; `cargo xtask deps` installs them with `golang-go`.
//! [`build`] compiles one program folder in GOPATH mode
//! (`GOPATH=<target>/go:/usr/share/gocode`, `GO111MODULE=off`, no network)
//! with the build cache under `<target>/go/cache`, so only a changed
//! program is compiled again. A missing toolchain or library fails the
//! test with a message naming `cargo xtask deps`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::workspace;

/// The variable naming another `go` than the one on `PATH`.
pub const GO_ENV: &str = "CHRONIK_GO";

/// Where Debian installs Go library sources (a GOPATH entry).
pub const DEBIAN_GOPATH: &str = "/usr/share/gocode";

/// A source file of each client library, relative to [`DEBIAN_GOPATH`],
/// with its Debian package.
const LIBRARIES: &[(&str, &str)] = &[
    (
        "src/github.com/Shopify/sarama/sarama.go",
        "golang-github-shopify-sarama-dev",
    ),
    (
        "src/github.com/segmentio/kafka-go/conn.go",
        "golang-github-segmentio-kafka-go-dev",
    ),
];

/// Seconds a program may run before `timeout` stops it.
const PROGRAM_TIMEOUT_SECS: &str = "180";

/// The programs this test binary built already; one build at a time (they
/// share the output folder).
static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The project's GOPATH entry, build cache and binaries (`<target>/go`).
pub fn go_dir() -> PathBuf {
    workspace::target_dir().join("go")
}

/// Directory of the Go client programs (one folder per program).
pub fn clients_dir() -> PathBuf {
    workspace::root().join("kafka/tests/clients/go")
}

/// The `go` binary: `$CHRONIK_GO`, else `go` on `PATH`. Fails the test,
/// naming `cargo xtask deps`, unless it runs and both client libraries are
/// installed.
pub fn go() -> PathBuf {
    let go = std::env::var_os(GO_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("go"));
    let runs = Command::new(&go)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "`{}` does not run: run `cargo xtask deps` (it installs Debian's golang-go), \
         or point {GO_ENV} at a go binary",
        go.display()
    );
    for (file, package) in LIBRARIES {
        let path = Path::new(DEBIAN_GOPATH).join(file);
        assert!(
            path.is_file(),
            "{} is missing: run `cargo xtask deps` (it installs Debian's {package})",
            path.display()
        );
    }
    go
}

/// Builds the program in `kafka/tests/clients/go/<program>` once per test
/// binary (the Go build cache skips what did not change) and returns the
/// binary's path.
pub fn build(program: &str) -> PathBuf {
    let go = go();
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = go_dir();
    let binary = dir.join("bin").join(program);
    if built.contains(program) {
        return binary;
    }
    let gopath = std::env::join_paths([dir.clone(), PathBuf::from(DEBIAN_GOPATH)])
        .expect("GOPATH entries without separators");
    let output = Command::new(go)
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(clients_dir().join(program))
        .env("GOPATH", gopath)
        .env("GO111MODULE", "off")
        .env("GOCACHE", dir.join("cache"))
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        // Pure Go: sarama's zstd then needs no C compiler.
        .env("CGO_ENABLED", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run go build for {program}: {e}"));
    crate::python::check(&format!("go build of {program}"), &output);
    built.insert(program.to_string());
    binary
}

fn program_command(program: &str, args: &[&str]) -> Command {
    let binary = build(program);
    let mut cmd = Command::new("timeout");
    cmd.arg(PROGRAM_TIMEOUT_SECS)
        .arg(binary)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Builds and runs a client program to completion and fails the test with
/// its output unless it succeeds; returns stdout.
pub fn run_program(program: &str, args: &[&str]) -> String {
    let output = program_command(program, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    crate::python::check(program, &output)
}

/// Builds and starts a client program with piped output.
pub fn spawn_program(program: &str, args: &[&str]) -> Child {
    program_command(program, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}
