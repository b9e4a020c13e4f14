//! Where the `chronik-broker` binary of the current build is, for the
//! integration tests that start real brokers (the broker's own, the
//! operator's and the Kafka client's).

use std::path::PathBuf;

/// The variable that points the tests at another broker binary.
pub const BROKER_BIN_ENV: &str = "CHRONIK_BROKER_BIN";

/// `$CHRONIK_BROKER_BIN`, else the `chronik-broker` built next to the
/// running test (`cargo test --workspace` builds it for the broker's own
/// integration tests). Test executables live in
/// `<target>/[<triple>/]<profile>/deps/`; the binaries of the same build sit
/// one level up. Fails the test when there is none.
pub fn broker_binary() -> PathBuf {
    let built = || {
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("chronik-broker")))
    };
    let path = std::env::var_os(BROKER_BIN_ENV)
        .map(PathBuf::from)
        .or_else(built)
        .unwrap_or_default();
    assert!(
        path.is_file(),
        "broker binary not found at {}: run the tests with `cargo test --workspace` (which \
         builds it), run `cargo build -p chronik-broker` with the same target first, or point \
         {BROKER_BIN_ENV} at it",
        path.display()
    );
    path
}
