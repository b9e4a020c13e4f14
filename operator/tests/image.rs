//! The operator image starts under podman. Needs the image built first:
//! `cargo xtask images --only chronik-operator`, then
//! `cargo test -p chronik-operator --test image -- --ignored`.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs `cargo xtask images` (builds release images with podman)"]
fn operator_image_starts_with_help_under_podman() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/containers.conf");
    let out = Command::new("podman")
        .env("CONTAINERS_CONF", conf)
        .args([
            "run",
            "--rm",
            "--read-only",
            "chronik-operator:latest",
            "--help",
        ])
        .output()
        .expect("podman must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chronik-operator:latest --help failed (run `cargo xtask images` first): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for sub in ["run", "crd", "render"] {
        assert!(stdout.contains(sub), "{stdout}");
    }
    let user = Command::new("podman")
        .env(
            "CONTAINERS_CONF",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/containers.conf"),
        )
        .args([
            "image",
            "inspect",
            "--format",
            "{{.Config.User}}",
            "chronik-operator:latest",
        ])
        .output()
        .expect("podman image inspect");
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "65532:65532");
}
