//! Helpers of the kafka crate's integration tests: this crate's
//! `chronik-kafka-dev` started through the test kit.

use chronik_testkit::dev_broker::DevBroker;
use std::path::Path;

/// Starts this build's `chronik-kafka-dev` with `extra_args`.
pub fn dev_broker(extra_args: &[&str]) -> DevBroker {
    DevBroker::start(
        Path::new(env!("CARGO_BIN_EXE_chronik-kafka-dev")),
        extra_args,
    )
}
