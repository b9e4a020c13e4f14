//! `wait-ready`: metadata answers, and every broker it lists answers at its
//! advertised address (which checks that the names brokers advertise resolve
//! where this client runs).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::client::Client;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::Serialize;

use crate::context::StderrContext;
use crate::security::SecurityArgs;

/// Arguments of `wait-ready`.
#[derive(clap::Args, Debug)]
pub struct ReadyArgs {
    /// Bootstrap address `host:port`.
    #[arg(long)]
    pub bootstrap: String,
    /// Also wait until metadata lists at least this many brokers.
    #[arg(long, default_value_t = 1)]
    pub brokers: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// TLS and SASL.
    #[command(flatten)]
    pub security: crate::security::SecurityArgs,
}

/// One broker as metadata lists it.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerInfo {
    /// Node id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

/// Summary printed by `wait-ready`.
#[derive(Debug, Serialize)]
pub struct ReadySummary {
    /// Whether metadata listed enough brokers and each answered.
    pub ready: bool,
    /// The brokers of the last metadata answer.
    pub brokers: Vec<BrokerInfo>,
    /// Why the cluster is not ready (empty when it is).
    pub error: String,
}

/// Runs `wait-ready`, retrying until the timeout.
pub fn run(args: &ReadyArgs) -> Result<ReadySummary> {
    let deadline = Instant::now() + crate::secs(args.timeout_secs);
    let mut last = ReadySummary {
        ready: false,
        brokers: Vec::new(),
        error: "not tried".to_string(),
    };
    while Instant::now() < deadline {
        last = check(args)?;
        if last.ready {
            eprintln!("{} brokers answer", last.brokers.len());
            return Ok(last);
        }
        eprintln!("not ready: {}", last.error);
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(last)
}

fn client(bootstrap: &str, security: &SecurityArgs) -> Result<BaseConsumer<StderrContext>> {
    crate::client_config(security)
        .set("bootstrap.servers", bootstrap)
        .set("client.id", "chronik-kafka-client-ready")
        .set_log_level(RDKafkaLogLevel::Warning)
        .create_with_context(StderrContext::default())
        .context("creating a client")
}

fn brokers(client: &Client<StderrContext>) -> Result<Vec<BrokerInfo>, String> {
    let metadata = client
        .fetch_metadata(None, Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    Ok(metadata
        .brokers()
        .iter()
        .map(|b| BrokerInfo {
            id: b.id(),
            host: b.host().to_string(),
            port: b.port(),
        })
        .collect())
}

/// One attempt.
fn check(args: &ReadyArgs) -> Result<ReadySummary> {
    let listed = match brokers(client(&args.bootstrap, &args.security)?.client()) {
        Ok(b) => b,
        Err(error) => {
            return Ok(ReadySummary {
                ready: false,
                brokers: Vec::new(),
                error: format!("metadata from {}: {error}", args.bootstrap),
            })
        }
    };
    let mut problems = Vec::new();
    if listed.len() < args.brokers {
        problems.push(format!(
            "{} brokers listed, {} wanted",
            listed.len(),
            args.brokers
        ));
    }
    for b in &listed {
        let address = format!("{}:{}", b.host, b.port);
        if let Err(e) = brokers(client(&address, &args.security)?.client()) {
            problems.push(format!("broker {} at {address}: {e}", b.id));
        }
    }
    Ok(ReadySummary {
        ready: problems.is_empty(),
        brokers: listed,
        error: problems.join("; "),
    })
}
