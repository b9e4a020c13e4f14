//! librdkafka callbacks: log lines to stderr and delivery reports counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::ProducerContext;

/// How many distinct error strings a report keeps.
pub const MAX_ERRORS: usize = 5;

/// Client context that writes librdkafka's log lines and errors to stderr.
#[derive(Debug, Default)]
pub struct StderrContext;

impl ClientContext for StderrContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        eprintln!("librdkafka {level:?} {fac}: {log_message}");
    }

    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("librdkafka error: {error}: {reason}");
    }
}

impl ConsumerContext for StderrContext {}

/// Producer context counting acknowledged and failed deliveries.
#[derive(Debug, Default)]
pub struct DeliveryCounter {
    acked: AtomicU64,
    failed: AtomicU64,
    errors: Mutex<Vec<String>>,
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

    /// The first distinct error strings seen.
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Remembers `error` if it is new and there is room.
    pub fn note(&self, error: &str) {
        if let Ok(mut errors) = self.errors.lock() {
            if errors.len() < MAX_ERRORS && !errors.iter().any(|e| e == error) {
                errors.push(error.to_string());
            }
        }
    }
}

impl ClientContext for DeliveryCounter {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        StderrContext.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        StderrContext.error(error, reason);
    }
}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, delivery_result: &DeliveryResult<'_>, _: ()) {
        match delivery_result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::SeqCst);
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::SeqCst);
                self.note(&error.to_string());
            }
        }
    }
}
