//! The images start under podman and run as 65532. Needs the images built
//! first: `cargo xtask images`, then
//! `cargo test -p chronik-operator --test image -- --ignored`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn podman(args: &[&str]) -> Output {
    let conf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/containers.conf");
    Command::new("podman")
        .env("CONTAINERS_CONF", conf)
        .args(args)
        .output()
        .expect("podman must be installed")
}

fn check_image(image: &str) -> String {
    let out = podman(&["run", "--rm", "--read-only", image, "--help"]);
    assert!(
        out.status.success(),
        "{image} --help failed (run `cargo xtask images` first): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let user = podman(&["image", "inspect", "--format", "{{.Config.User}}", image]);
    assert_eq!(
        String::from_utf8_lossy(&user.stdout).trim(),
        "65532:65532",
        "{image}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs `cargo xtask images` (builds release images with podman)"]
fn operator_image_starts_with_help_under_podman() {
    let help = check_image("chronik-operator:latest");
    for sub in ["run", "crd", "render"] {
        assert!(help.contains(sub), "{help}");
    }
}

#[test]
#[ignore = "needs `cargo xtask images` (builds release images with podman)"]
fn broker_image_starts_with_help_under_podman() {
    check_image("chronik-broker:latest");
}
