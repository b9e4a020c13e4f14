//! `chronik-kafka-client`: a small Kafka client for the end-to-end scenarios.
//!
//! It is built on the `rdkafka` crate, whose bundled librdkafka is a real
//! Kafka client, and is linked statically so that it runs from a `FROM
//! scratch` image as a pod on the cluster network. Each subcommand logs to
//! stderr and prints one JSON summary as its last stdout line; the exit code
//! says whether the check passed.

mod consume;
mod context;
mod keys;
mod produce;
mod ready;
mod security;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Serialize;

/// Command line of `chronik-kafka-client`.
#[derive(Parser, Debug)]
#[command(
    name = "chronik-kafka-client",
    about = "Produce, consume and check a Kafka cluster (librdkafka)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the topic if missing and produce records with acks=all and
    /// idempotence; exit 0 iff every record was acknowledged.
    Produce(produce::ProduceArgs),
    /// Read a topic from the earliest offsets (no consumer group) and check
    /// the records of one run; exit 0 iff every record is there exactly once
    /// and in order within its partition.
    Consume(consume::ConsumeArgs),
    /// Wait until metadata lists the brokers and each of them answers at its
    /// advertised address.
    WaitReady(ready::ReadyArgs),
}

/// Prints `summary` as the last stdout line and turns `passed` into the exit
/// code.
fn finish<T: Serialize>(summary: &T, passed: bool) -> ExitCode {
    match serde_json::to_string(summary) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("cannot encode the summary: {e}");
            return ExitCode::FAILURE;
        }
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// librdkafka settings every client of this binary uses.
///
/// A restarted broker pod comes back with a new IP address, while its
/// headless DNS name can still lead to the old one for a moment; a
/// connection attempt to an address nobody owns any more gets no answer at
/// all and waits for librdkafka's connection setup timeout, 30 s by default.
/// Five seconds is plenty for a cluster-local connection and keeps a roll
/// from stalling a client that long. `security` adds TLS and SASL.
pub(crate) fn client_config(security: &security::SecurityArgs) -> rdkafka::config::ClientConfig {
    let mut config = rdkafka::config::ClientConfig::new();
    config
        .set("socket.connection.setup.timeout.ms", "5000")
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Warning);
    security.apply(&mut config);
    config
}

/// `--timeout-secs` as a duration.
pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Produce(args) => produce::run(&args).map(|s| {
            let ok = s.passed();
            finish(&s, ok)
        }),
        Command::Consume(args) => consume::run(&args).map(|s| {
            let ok = s.passed(args.expect);
            finish(&s, ok)
        }),
        Command::WaitReady(args) => ready::run(&args).map(|s| {
            let ok = s.ready;
            finish(&s, ok)
        }),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("chronik-kafka-client: {e:#}");
            ExitCode::FAILURE
        }
    }
}
