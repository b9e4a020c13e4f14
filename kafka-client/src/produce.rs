//! `produce`: create the topic if needed and produce numbered records with
//! `acks=all` and idempotence, counting delivery reports.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use serde::Serialize;

use crate::context::{DeliveryCounter, PartitionDeliveries, StderrContext};
use crate::keys;

/// Arguments of `produce`.
#[derive(clap::Args, Debug)]
pub struct ProduceArgs {
    /// Bootstrap address `host:port`.
    #[arg(long)]
    pub bootstrap: String,
    /// Topic to produce to.
    #[arg(long)]
    pub topic: String,
    /// Number of records.
    #[arg(long)]
    pub count: u64,
    /// Partitions of the topic when it is created.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Replication factor of the topic when it is created.
    #[arg(long, default_value_t = 3)]
    pub replication: i32,
    /// Size of each value in bytes (at least the key's length).
    #[arg(long, default_value_t = 100)]
    pub value_bytes: usize,
    /// Prefix of the keys, `<run-id>-<i>`.
    #[arg(long, default_value = "run")]
    pub run_id: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// TLS and SASL.
    #[command(flatten)]
    pub security: crate::security::SecurityArgs,
    /// Records per second, spread evenly (0: as fast as possible). A paced
    /// producer keeps writing while something else happens to the cluster.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// librdkafka debug contexts to log (its `debug` setting, e.g.
    /// `eos,topic,broker`), for diagnosing a run that fails.
    #[arg(long)]
    pub debug: Option<String>,
}

/// Summary printed by `produce`.
#[derive(Debug, Serialize)]
pub struct ProduceSummary {
    /// Records acknowledged by the cluster.
    pub acked: u64,
    /// Records not acknowledged (delivery failed, timed out or never sent).
    pub failed: u64,
    /// The first distinct error strings.
    pub errors: Vec<String>,
    /// Delivery reports per partition.
    pub partitions: BTreeMap<i32, PartitionDeliveries>,
}

impl ProduceSummary {
    /// Whether every record was acknowledged.
    pub fn passed(&self) -> bool {
        self.failed == 0
    }
}

/// Runs `produce`.
pub fn run(args: &ProduceArgs) -> Result<ProduceSummary> {
    let deadline = Instant::now() + crate::secs(args.timeout_secs);
    let counter = DeliveryCounter::default();
    if let Err(e) = create_topic(args, deadline) {
        counter.fail(args.count, &format!("creating topic {}: {e}", args.topic));
        return Ok(summary(&counter));
    }
    let mut config = crate::client_config(&args.security);
    if let Some(contexts) = &args.debug {
        // rdkafka passes on only what its log level lets through.
        config
            .set("debug", contexts)
            .set_log_level(RDKafkaLogLevel::Debug);
    }
    let producer: ThreadedProducer<DeliveryCounter> = config
        .set("bootstrap.servers", &args.bootstrap)
        .set("client.id", "chronik-kafka-client")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set(
            "message.timeout.ms",
            (args.timeout_secs.max(1) * 1000).to_string(),
        )
        .create_with_context(counter)
        .context("creating the producer")?;
    let counter = producer.context();
    let mut sent = 0;
    let started = Instant::now();
    for i in 0..args.count {
        if args.rate > 0 {
            let due = started + Duration::from_secs_f64(i as f64 / args.rate as f64);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let key = keys::key(&args.run_id, i);
        let value = keys::value(&args.run_id, i, args.value_bytes);
        if let Err(e) = send(&producer, &args.topic, &key, &value, deadline) {
            counter.fail(args.count - i, &e.to_string());
            break;
        }
        sent += 1;
    }
    eprintln!("queued {sent} records; waiting for delivery reports");
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1))
        + Duration::from_secs(5);
    if let Err(e) = producer.flush(wait) {
        counter.note(&format!("flush: {e}"));
    }
    let reported = counter.acked() + counter.failed();
    if reported < args.count {
        counter.fail(
            args.count - reported,
            "no delivery report before the timeout",
        );
    }
    let result = summary(counter);
    eprintln!(
        "produced {} records to {}: {} acked, {} failed",
        args.count, args.topic, result.acked, result.failed
    );
    Ok(result)
}

fn summary(counter: &DeliveryCounter) -> ProduceSummary {
    ProduceSummary {
        acked: counter.acked(),
        failed: counter.failed(),
        errors: counter.errors(),
        partitions: counter.partitions(),
    }
}

/// Queues one record, waiting while librdkafka's queue is full.
fn send(
    producer: &ThreadedProducer<DeliveryCounter>,
    topic: &str,
    key: &str,
    value: &[u8],
    deadline: Instant,
) -> Result<(), KafkaError> {
    let mut record = BaseRecord::to(topic).key(key).payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                if Instant::now() < deadline =>
            {
                record = back;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// Creates the topic unless it exists, retrying until `deadline`.
fn create_topic(args: &ProduceArgs, deadline: Instant) -> Result<()> {
    let admin: AdminClient<StderrContext> = crate::client_config(&args.security)
        .set("bootstrap.servers", &args.bootstrap)
        .set("client.id", "chronik-kafka-client-admin")
        .create_with_context(StderrContext::default())
        .context("creating the admin client")?;
    let topic = NewTopic::new(
        &args.topic,
        args.partitions,
        TopicReplication::Fixed(args.replication),
    );
    loop {
        let attempt = deadline
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_secs(1), Duration::from_secs(10));
        let options = AdminOptions::new()
            .request_timeout(Some(attempt))
            .operation_timeout(Some(attempt));
        let outcome = futures::executor::block_on(admin.create_topics([&topic], &options));
        let error = match outcome {
            Ok(results) => match results.into_iter().next() {
                Some(Ok(_)) => {
                    eprintln!("created topic {}", args.topic);
                    return Ok(());
                }
                Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
                    eprintln!("topic {} already exists", args.topic);
                    return Ok(());
                }
                // A user without Create may still write to a topic that
                // exists: producing says whether it may.
                Some(Err((_, RDKafkaErrorCode::TopicAuthorizationFailed))) => {
                    eprintln!("not allowed to create topic {}; producing", args.topic);
                    return Ok(());
                }
                Some(Err((_, code))) => code.to_string(),
                None => "no result for the topic".to_string(),
            },
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            // The client's own errors say why (e.g. a failed SASL
            // authentication) when the request only timed out.
            let client = admin.inner().context().errors();
            anyhow::bail!("{error} {client:?}");
        }
        eprintln!("creating topic {}: {error}; retrying", args.topic);
        std::thread::sleep(Duration::from_secs(1));
    }
}
