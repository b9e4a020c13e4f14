//! Log compaction of one partition (`cleanup.policy=compact`): a pure
//! function from the partition's record batches (absolute offsets) and the
//! parameters a compaction command carries to the compacted batches.
//!
//! Kafka semantics: within the cleanable range (records older than
//! `min.compaction.lag.ms`, up to the first younger one) only the latest
//! record of each key stays; a tombstone (null value) that is the latest of
//! its key stays until it is older than `delete.retention.ms`; records
//! without a key stay; offsets never change, so the compacted log has gaps.
//! The newest record of the log always stays (Kafka never cleans the active
//! segment), so the high watermark keeps a record at its end. With
//! `compact,delete`, retention then drops whole batches from the front as
//! time/size retention does (the newest batch stays).
//!
//! Every replica runs this on the same input with the same parameters (the
//! leader's clock and the topic config travel in the command), and encoding
//! is deterministic, so every replica holds the same bytes afterwards.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use std::collections::HashMap;

/// Offsets of the `batchLength` and `lastOffsetDelta` fields of a v2 batch.
const LENGTH_AT: usize = 8;
const LAST_OFFSET_DELTA_AT: usize = 23;
const MAX_TIMESTAMP_AT: usize = 35;
/// Base offset and length fields.
const LOG_OVERHEAD: usize = 12;

/// What one compaction is decided with; identical on every replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionParams {
    /// The leader's clock when it proposed the compaction.
    pub now_ms: i64,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: i64,
    /// `delete.retention.ms`.
    pub delete_retention_ms: i64,
    /// `retention.ms` for `compact,delete` (`None`: no time retention).
    pub retention_ms: Option<i64>,
    /// `retention.bytes` for `compact,delete` (`None`: no size retention).
    pub retention_bytes: Option<u64>,
}

/// The outcome of a compaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    /// The kept batches, absolute base offsets, oldest first.
    pub segment: Bytes,
    /// The log start offset afterwards (moved by `compact,delete` retention).
    pub log_start_offset: i64,
    /// When compacting again would change something even without new
    /// records (a tombstone or retention expiring, a young record becoming
    /// cleanable); `None` when nothing is pending.
    pub due_ms: Option<i64>,
}

/// A stored batch that cannot be decoded or re-encoded.
#[derive(Debug, thiserror::Error)]
#[error("compaction: record batch at offset {offset} cannot be {action}: {reason}")]
pub struct CompactionError {
    /// Base offset of the batch.
    pub offset: i64,
    /// "decoded" or "encoded".
    pub action: &'static str,
    /// The codec's message.
    pub reason: String,
}

/// Header fields of one stored batch, read without decoding its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchBounds {
    /// Byte position within its record set.
    pub at: usize,
    /// Total bytes.
    pub size: usize,
    /// Offset of the first record.
    pub base_offset: i64,
    /// Offset after the last record.
    pub next_offset: i64,
    /// Largest record timestamp.
    pub max_timestamp: i64,
}

fn read_i32(data: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn read_i64(data: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// The batches of a record set with absolute base offsets; a torn tail is
/// left out.
pub fn batch_bounds(data: &[u8]) -> Vec<BatchBounds> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + LOG_OVERHEAD <= data.len() {
        let Some(len) = read_i32(data, at + LENGTH_AT).and_then(|l| usize::try_from(l).ok()) else {
            break;
        };
        let size = LOG_OVERHEAD + len;
        let (Some(base), Some(delta), Some(max_ts)) = (
            read_i64(data, at),
            read_i32(data, at + LAST_OFFSET_DELTA_AT),
            read_i64(data, at + MAX_TIMESTAMP_AT),
        ) else {
            break;
        };
        if at + size > data.len() {
            break;
        }
        out.push(BatchBounds {
            at,
            size,
            base_offset: base,
            next_offset: base + i64::from(delta) + 1,
            max_timestamp: max_ts,
        });
        at += size;
    }
    out
}

/// One decoded input batch.
struct Decoded {
    bytes: Bytes,
    records: Vec<Record>,
    compression: kafka_protocol::records::Compression,
}

fn decode(batch: Bytes, offset: i64) -> Result<Decoded, CompactionError> {
    let mut buf = batch.clone();
    let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| CompactionError {
        offset,
        action: "decoded",
        reason: e.to_string(),
    })?;
    Ok(Decoded {
        bytes: batch,
        records: set.records,
        compression: set.compression,
    })
}

/// Which records of the decoded log stay, and when compacting again would
/// change something.
struct Cleaner<'a> {
    log_start: i64,
    /// First offset of the uncleanable tail (records younger than the lag).
    cleanable_end: i64,
    /// The newest record of the log, which always stays.
    last_offset: Option<i64>,
    /// The newest offset of each key within the cleanable range.
    latest: HashMap<&'a Bytes, i64>,
    tombstone_horizon: i64,
    delete_retention_ms: i64,
    due: Option<i64>,
}

impl<'a> Cleaner<'a> {
    fn new(decoded: &'a [Decoded], log_start: i64, p: &CompactionParams) -> Self {
        let all = || decoded.iter().flat_map(|d| d.records.iter());
        let lag_horizon = p.now_ms.saturating_sub(p.min_compaction_lag_ms);
        // The cleanable range ends at the first record too young to clean.
        let first_young = all()
            .filter(|r| r.offset >= log_start)
            .find(|r| r.timestamp > lag_horizon);
        let cleanable_end = first_young.map_or(i64::MAX, |r| r.offset);
        let mut latest = HashMap::new();
        for r in all().filter(|r| r.offset >= log_start && r.offset < cleanable_end) {
            if let Some(key) = &r.key {
                latest.insert(key, r.offset);
            }
        }
        let mut cleaner = Self {
            log_start,
            cleanable_end,
            last_offset: all().map(|r| r.offset).max(),
            latest,
            tombstone_horizon: p.now_ms.saturating_sub(p.delete_retention_ms),
            delete_retention_ms: p.delete_retention_ms,
            due: None,
        };
        if let Some(r) = first_young {
            cleaner.soon(r.timestamp.saturating_add(p.min_compaction_lag_ms));
        }
        cleaner
    }

    fn soon(&mut self, t: i64) {
        self.due = Some(self.due.map_or(t, |d| d.min(t)));
    }

    fn keep(&mut self, r: &Record) -> bool {
        if r.offset < self.log_start {
            return false;
        }
        if r.offset >= self.cleanable_end || Some(r.offset) == self.last_offset {
            return true;
        }
        let Some(key) = &r.key else {
            return true;
        };
        if self.latest.get(key) != Some(&r.offset) {
            return false;
        }
        if r.value.is_none() {
            if r.timestamp < self.tombstone_horizon {
                return false;
            }
            self.soon(r.timestamp.saturating_add(self.delete_retention_ms));
        }
        true
    }
}

/// Compacts `batches` (whole v2 batches, absolute offsets, oldest first) of
/// a log starting at `log_start_offset`.
pub fn compact(
    batches: &[Bytes],
    log_start_offset: i64,
    p: &CompactionParams,
) -> Result<Compacted, CompactionError> {
    let mut decoded = Vec::new();
    for set in batches {
        for b in batch_bounds(set) {
            decoded.push(decode(set.slice(b.at..b.at + b.size), b.base_offset)?);
        }
    }
    let mut cleaner = Cleaner::new(&decoded, log_start_offset, p);
    let mut out_batches: Vec<(Bytes, BatchBounds)> = Vec::new();
    for d in &decoded {
        let kept: Vec<&Record> = d.records.iter().filter(|r| cleaner.keep(r)).collect();
        if kept.is_empty() {
            continue;
        }
        let bytes = if kept.len() == d.records.len() {
            d.bytes.clone()
        } else {
            reencode(&kept, d.compression)?
        };
        out_batches.extend(batch_bounds(&bytes).into_iter().map(|b| (bytes.clone(), b)));
    }
    let mut soon = |t| cleaner.soon(t);
    let (kept_from, log_start) = retain(&out_batches, log_start_offset, p, &mut soon);
    let mut segment = BytesMut::new();
    for (bytes, b) in &out_batches[kept_from..] {
        segment.extend_from_slice(&bytes[b.at..b.at + b.size]);
    }
    Ok(Compacted {
        segment: segment.freeze(),
        log_start_offset: log_start,
        due_ms: cleaner.due,
    })
}

/// `compact,delete` retention over the compacted batches: from the front,
/// a batch goes while it is older than `retention.ms` or the rest still
/// holds `retention.bytes`; the newest batch stays. Returns the first kept
/// batch and the log start offset.
fn retain(
    batches: &[(Bytes, BatchBounds)],
    log_start: i64,
    p: &CompactionParams,
    soon: &mut impl FnMut(i64),
) -> (usize, i64) {
    let mut remaining: u64 = batches.iter().map(|(_, b)| b.size as u64).sum();
    let mut start = log_start;
    let deletable = batches.len().saturating_sub(1);
    for (i, (_, b)) in batches.iter().enumerate().take(deletable) {
        let expired = p
            .retention_ms
            .is_some_and(|ms| b.max_timestamp < p.now_ms.saturating_sub(ms));
        let oversized = p
            .retention_bytes
            .is_some_and(|limit| remaining.saturating_sub(b.size as u64) >= limit);
        if !expired && !oversized {
            if let Some(ms) = p.retention_ms {
                soon(b.max_timestamp.saturating_add(ms).saturating_add(1));
            }
            return (i, start);
        }
        remaining -= b.size as u64;
        start = start.max(b.next_offset);
    }
    (deletable, start)
}

/// Encodes the kept records of one batch as one batch of the same codec,
/// keeping their offsets, timestamps and producer fields.
fn reencode(
    kept: &[&Record],
    compression: kafka_protocol::records::Compression,
) -> Result<Bytes, CompactionError> {
    let first = kept[0].offset;
    let records: Vec<Record> = kept
        .iter()
        .map(|r| {
            let mut r = (*r).clone();
            if r.producer_id < 0 {
                // Base sequence -1, as non-idempotent batches carry it; the
                // encoder keeps records with one `offset - sequence` together.
                r.sequence = (r.offset - first - 1) as i32;
            }
            r
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut out, &records, &options).map_err(|e| CompactionError {
        offset: first,
        action: "encoded",
        reason: e.to_string(),
    })?;
    Ok(out.freeze())
}

#[cfg(test)]
#[path = "compaction_tests.rs"]
mod tests;
