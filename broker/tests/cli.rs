//! The binary's command line and data-directory checks, run as a process.

use chronik_testkit::ports::free_port;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_chronik-broker");

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("HOSTNAME")
        .output()
        .expect("run chronik-broker");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_exit_2_with_a_one_line_reason() {
    let (code, err) = run(&["--node-id", "1", "--peers", "1@http://a:1,1@http://b:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("node id 1 appears more than once"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (code, err) = run(&["--node-id", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("node id 0 is reserved"), "{err}");
    let (code, err) = run(&["--peers", "1@http://a:1", "--pod-name", "laptop"]);
    assert_eq!(code, 2);
    assert!(err.contains("neither --node-id nor a pod name"), "{err}");
    let (code, _) = run(&["--raft-addr", "nowhere"]);
    assert_eq!(code, 2);
    let (code, err) = run(&["--node-id", "1", "--peers", "1@ftp://a:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("invalid URL"), "{err}");
}

#[test]
fn a_data_dir_of_another_cluster_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(
        data.join("meta.json"),
        r#"{"format":1,"cluster_id":"other","node_id":1,"incarnation":"x"}"#,
    )
    .expect("write meta");
    let port = free_port("127.0.0.1").to_string();
    let http = free_port("127.0.0.1").to_string();
    let (code, err) = run(&[
        "--node-id",
        "1",
        "--cluster-id",
        "mine",
        "--data-dir",
        data.to_str().expect("utf8 path"),
        "--raft-addr",
        &format!("127.0.0.1:{port}"),
        "--http-addr",
        &format!("127.0.0.1:{http}"),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("belongs to cluster \"other\""), "{err}");
}
