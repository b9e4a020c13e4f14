//! `consume`: read every partition of a topic from the earliest offset,
//! without a consumer group, and check the records of one run.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::context::StderrContext;
use crate::keys::{self, Checker, Tally};

/// How long to keep reading after every expected key was seen and every
/// partition was read up to its end offset at the start, so that late
/// duplicates are counted.
const DRAIN: Duration = Duration::from_secs(1);

/// Arguments of `consume`.
#[derive(clap::Args, Debug)]
pub struct ConsumeArgs {
    /// Bootstrap address `host:port`.
    #[arg(long)]
    pub bootstrap: String,
    /// Topic to read.
    #[arg(long)]
    pub topic: String,
    /// Number of records the run produced (keys `0..expect`).
    #[arg(long)]
    pub expect: u64,
    /// Prefix of the keys, `<run-id>-<i>`; records of other runs are skipped.
    #[arg(long, default_value = "run")]
    pub run_id: String,
    /// The consumer's `group.id` (never joined, nothing committed; a
    /// client with authorization needs Describe on it). Default:
    /// `chronik-kafka-client-<run-id>-<pid>`.
    #[arg(long)]
    pub group_id: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// TLS and SASL.
    #[command(flatten)]
    pub security: crate::security::SecurityArgs,
}

impl Tally {
    /// Whether exactly the `expect` records were read, once each, in order.
    pub fn passed(&self, expect: u64) -> bool {
        self.unique == expect && self.duplicates == 0 && self.out_of_order == 0
    }
}

/// Runs `consume`.
pub fn run(args: &ConsumeArgs) -> Result<Tally> {
    let deadline = Instant::now() + crate::secs(args.timeout_secs);
    // librdkafka's assign() needs a group.id, although an assigned (not
    // subscribed) consumer never joins the group; nothing is committed.
    let group = args.group_id.clone().unwrap_or_else(|| {
        format!(
            "chronik-kafka-client-{}-{}",
            args.run_id,
            std::process::id()
        )
    });
    let consumer: BaseConsumer<StderrContext> = crate::client_config(&args.security)
        .set("bootstrap.servers", &args.bootstrap)
        .set("client.id", "chronik-kafka-client")
        .set("group.id", &group)
        .set("enable.auto.offset.store", "false")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create_with_context(StderrContext::default())
        .context("creating the consumer")?;
    let partitions = partitions(&consumer, &args.topic, deadline)?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(&args.topic, p, Offset::Beginning)
            .context("building the assignment")?;
    }
    consumer
        .assign(&assignment)
        .context("assigning partitions")?;
    eprintln!(
        "reading {partitions} partitions of {} from the beginning",
        args.topic
    );
    let ends = end_offsets(&consumer, &args.topic, partitions, deadline)?;
    let mut checker = Checker::default();
    let mut stop_at = deadline;
    while Instant::now() < stop_at {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => match message.key().and_then(|k| keys::parse(&args.run_id, k)) {
                Some(i) => checker.observe(message.partition(), i),
                None => checker.other_run(),
            },
            Some(Err(e)) => eprintln!("consume error: {e}"),
            None => {}
        }
        if stop_at == deadline && checker.complete(args.expect) && reached(&consumer, &ends) {
            stop_at = (Instant::now() + DRAIN).min(deadline);
        }
    }
    let tally = checker.finish(args.expect);
    eprintln!(
        "read {} records of run {}: {} unique, {} duplicates, {} out of order, {} missing",
        tally.consumed,
        args.run_id,
        tally.unique,
        tally.duplicates,
        tally.out_of_order,
        tally.missing
    );
    Ok(tally)
}

/// Each partition's end offset (high watermark) now, retrying until
/// `deadline`: what was written before the consumer started is read whole.
fn end_offsets(
    consumer: &BaseConsumer<StderrContext>,
    topic: &str,
    partitions: i32,
    deadline: Instant,
) -> Result<Vec<(i32, i64)>> {
    let mut ends = Vec::new();
    for p in 0..partitions {
        loop {
            match consumer.fetch_watermarks(topic, p, Duration::from_secs(5)) {
                Ok((_, high)) => {
                    ends.push((p, high));
                    break;
                }
                Err(e) if Instant::now() >= deadline => {
                    bail!("end offset of {topic}/{p}: {e}")
                }
                Err(e) => eprintln!("end offset of {topic}/{p}: {e}; retrying"),
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    Ok(ends)
}

/// Whether the consumer's position in every partition reached its end
/// offset of [`end_offsets`].
fn reached(consumer: &BaseConsumer<StderrContext>, ends: &[(i32, i64)]) -> bool {
    let Ok(positions) = consumer.position() else {
        return false;
    };
    ends.iter().all(|&(p, end)| {
        end == 0
            || positions
                .elements()
                .iter()
                .find(|e| e.partition() == p)
                .is_some_and(|e| matches!(e.offset(), Offset::Offset(o) if o >= end))
    })
}

/// The topic's partition count, once metadata knows the topic.
fn partitions(
    consumer: &BaseConsumer<StderrContext>,
    topic: &str,
    deadline: Instant,
) -> Result<i32> {
    loop {
        let error = match consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            Ok(metadata) => match metadata.topics().iter().find(|t| t.name() == topic) {
                Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                    return Ok(t.partitions().len() as i32)
                }
                Some(t) => format!("topic {topic}: {:?}", t.error()),
                None => format!("topic {topic} is not in the metadata"),
            },
            Err(e) => format!("metadata: {e}"),
        };
        if Instant::now() >= deadline {
            bail!(error);
        }
        eprintln!("{error}; retrying");
        std::thread::sleep(Duration::from_secs(1));
    }
}
