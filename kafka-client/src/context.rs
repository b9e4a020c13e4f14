//! librdkafka callbacks: log lines to stderr, client errors (such as a
//! failed SASL authentication) remembered, and delivery reports counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::ProducerContext;

/// How many distinct error strings a report keeps.
pub const MAX_ERRORS: usize = 5;

/// Client context that writes librdkafka's log lines and errors to stderr
/// and remembers the first distinct errors.
#[derive(Debug, Default)]
pub struct StderrContext {
    errors: ErrorNotes,
}

impl StderrContext {
    /// The first distinct client errors seen.
    pub fn errors(&self) -> Vec<String> {
        self.errors.list()
    }
}

impl ClientContext for StderrContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.errors.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.client_error(&error, reason);
    }
}

fn log_line(level: RDKafkaLogLevel, fac: &str, log_message: &str) {
    eprintln!("librdkafka {level:?} {fac}: {log_message}");
}

/// The first [`MAX_ERRORS`] distinct error strings.
#[derive(Debug, Default)]
struct ErrorNotes(Mutex<Vec<String>>);

impl ErrorNotes {
    fn note(&self, error: &str) {
        if let Ok(mut errors) = self.0.lock() {
            if errors.len() < MAX_ERRORS && !errors.iter().any(|e| e == error) {
                errors.push(error.to_string());
            }
        }
    }

    /// A client-level error (librdkafka's error callback): logged, and
    /// remembered unless it is only a connection going down, which
    /// librdkafka retries by itself.
    fn client_error(&self, error: &KafkaError, reason: &str) {
        eprintln!("librdkafka error: {error}: {reason}");
        let transient = matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown)
        );
        if !transient {
            self.note(&format!("{error}: {reason}"));
        }
    }

    /// A log line: written to stderr, and remembered when it is an error
    /// (a failed SASL authentication is logged, not always raised).
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log_line(level, fac, log_message);
        if matches!(
            level,
            RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error
        ) {
            self.note(&format!("{fac}: {log_message}"));
        }
    }

    fn list(&self) -> Vec<String> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl ConsumerContext for StderrContext {}

/// Producer context counting acknowledged and failed deliveries.
#[derive(Debug)]
pub struct DeliveryCounter {
    started: Instant,
    acked: AtomicU64,
    failed: AtomicU64,
    errors: ErrorNotes,
    partitions: Mutex<BTreeMap<i32, PartitionDeliveries>>,
}

impl Default for DeliveryCounter {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            errors: ErrorNotes::default(),
            partitions: Mutex::new(BTreeMap::new()),
        }
    }
}

/// Delivery reports of one partition: which partition stalled, and since
/// when, is what a failed run needs to tell.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartitionDeliveries {
    /// Records acknowledged.
    pub acked: u64,
    /// Records whose delivery failed.
    pub failed: u64,
    /// Milliseconds from the producer's start to the last acknowledgement.
    pub last_acked_ms: u64,
}

impl DeliveryCounter {
    /// Records acknowledged by the cluster so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Records whose delivery failed so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    /// Counts `n` records as failed with `error` (records that never reached
    /// librdkafka's queue).
    pub fn fail(&self, n: u64, error: &str) {
        self.failed.fetch_add(n, Ordering::SeqCst);
        self.note(error);
    }

    /// Delivery reports per partition so far.
    pub fn partitions(&self) -> BTreeMap<i32, PartitionDeliveries> {
        self.partitions
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    fn count_partition(&self, partition: i32, acked: bool) {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Ok(mut partitions) = self.partitions.lock() {
            let entry = partitions.entry(partition).or_default();
            if acked {
                entry.acked += 1;
                entry.last_acked_ms = elapsed;
            } else {
                entry.failed += 1;
            }
        }
    }

    /// The first distinct error strings seen.
    pub fn errors(&self) -> Vec<String> {
        self.errors.list()
    }

    /// Remembers `error` if it is new and there is room.
    pub fn note(&self, error: &str) {
        self.errors.note(error);
    }
}

impl ClientContext for DeliveryCounter {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.errors.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.client_error(&error, reason);
    }
}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, delivery_result: &DeliveryResult<'_>, _: ()) {
        match delivery_result {
            Ok(message) => {
                self.acked.fetch_add(1, Ordering::SeqCst);
                self.count_partition(message.partition(), true);
            }
            Err((error, message)) => {
                self.failed.fetch_add(1, Ordering::SeqCst);
                self.count_partition(message.partition(), false);
                self.note(&error.to_string());
            }
        }
    }
}
