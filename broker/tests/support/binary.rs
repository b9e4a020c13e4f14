//! Where the `chronik-broker` binary of the current build is, for the
//! integration tests of other packages that start real brokers (included by
//! path from `operator/tests` and `e2e/client/tests`).

use std::path::PathBuf;

/// `$CHRONIK_BROKER_BIN`, else the `chronik-broker` built next to this test
/// (`cargo test --workspace` builds it for the broker's own integration
/// tests). Test executables live in `<target>/[<triple>/]<profile>/deps/`;
/// the binaries of the same build sit one level up.
pub fn broker_binary() -> PathBuf {
    let built = || {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("chronik-broker")))
    };
    let path = std::env::var_os("CHRONIK_BROKER_BIN")
        .map(PathBuf::from)
        .or_else(built)
        .unwrap_or_default();
    assert!(
        path.is_file(),
        "broker binary not found at {}: run the tests with `cargo test --workspace` (which \
         builds it), run `cargo build -p chronik-broker` with the same target first, or point \
         CHRONIK_BROKER_BIN at it",
        path.display()
    );
    path
}
