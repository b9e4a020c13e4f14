//! A topic's produce configs applied to a validated record set before it is
//! stored: `max.message.bytes` (`MESSAGE_TOO_LARGE`), `compression.type`
//! (`producer` keeps the client's codec, a named codec recompresses,
//! `uncompressed` decompresses) and `message.timestamp.type`
//! (`LogAppendTime` stamps each batch with the broker's clock).
//!
//! The backend runs this on the partition leader before the batches are
//! replicated, so every replica stores the same bytes.

use bytes::{Bytes, BytesMut};

use super::records::Codec;
use super::{rewrite, BatchSummary};
use crate::backend::BackendError;

/// The produce configs of one topic, read when the batch arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducePolicy {
    /// `max.message.bytes`: largest batch, in bytes.
    pub max_message_bytes: usize,
    /// `compression.type`: `None` for `producer`, else the codec batches are
    /// stored with.
    pub compression: Option<Codec>,
    /// `message.timestamp.type=LogAppendTime`.
    pub log_append_time: bool,
}

impl Default for ProducePolicy {
    fn default() -> Self {
        Self::from_config(|key| default_of(key).to_string())
    }
}

fn default_of(key: &str) -> &'static str {
    chronik_api::config::topic_key(key).map_or("", |k| k.default)
}

impl ProducePolicy {
    /// The policy from a topic's effective config values; `value(key)` answers
    /// the topic's value or its default. A value that does not parse falls
    /// back to Kafka's default (CreateTopics and AlterConfigs validate them).
    pub fn from_config(value: impl Fn(&'static str) -> String) -> Self {
        let max = value("max.message.bytes");
        let max_message_bytes = max
            .trim()
            .parse::<usize>()
            .or_else(|_| default_of("max.message.bytes").parse())
            .unwrap_or(usize::MAX);
        Self {
            max_message_bytes,
            compression: Codec::from_config(value("compression.type").trim()),
            log_append_time: value("message.timestamp.type").trim() == "LogAppendTime",
        }
    }
}

/// A record set ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The batches as they will be stored.
    pub records: Bytes,
    /// Their headers.
    pub batches: Vec<BatchSummary>,
    /// The broker time stamped into every batch (`LogAppendTime`), answered in
    /// the Produce response; `None` for `CreateTime`.
    pub log_append_time_ms: Option<i64>,
}

fn too_large(size: usize, limit: usize) -> BackendError {
    BackendError::MessageTooLarge { size, limit }
}

/// Applies `policy` to validated `records` (`batches` from
/// [`super::validate_produced`]) at broker time `now_ms`.
pub fn prepare(
    records: Bytes,
    batches: Vec<BatchSummary>,
    policy: &ProducePolicy,
    now_ms: i64,
) -> Result<Prepared, BackendError> {
    if let Some(b) = batches.iter().find(|b| b.size > policy.max_message_bytes) {
        return Err(too_large(b.size, policy.max_message_bytes));
    }
    let recompress = |b: &BatchSummary| {
        policy
            .compression
            .is_some_and(|target| super::codec_of(&records, b).ok() != Some(target))
    };
    if !policy.log_append_time && !batches.iter().any(recompress) {
        return Ok(Prepared {
            records,
            batches,
            log_append_time_ms: None,
        });
    }
    let mut out = BytesMut::with_capacity(records.len());
    for b in &batches {
        let bytes = &records[b.position..b.position + b.size];
        let start = out.len();
        match policy.compression {
            Some(target) if recompress(b) => {
                let rewritten =
                    rewrite::recompress(bytes, b.record_count, target).map_err(|e| {
                        BackendError::InvalidRecord {
                            reason: e.to_string(),
                        }
                    })?;
                out.extend_from_slice(&rewritten);
            }
            _ => out.extend_from_slice(bytes),
        }
        if policy.log_append_time {
            rewrite::stamp_log_append_time(&mut out[start..], now_ms);
        }
    }
    let records = out.freeze();
    let batches = super::validate(&records).map_err(|e| BackendError::InvalidRecord {
        reason: format!("rewritten batch invalid: {e}"),
    })?;
    if let Some(b) = batches.iter().find(|b| b.size > policy.max_message_bytes) {
        return Err(too_large(b.size, policy.max_message_bytes));
    }
    Ok(Prepared {
        records,
        batches,
        log_append_time_ms: policy.log_append_time.then_some(now_ms),
    })
}

#[cfg(test)]
mod tests;
