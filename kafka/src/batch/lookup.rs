//! Timestamp lookups inside stored batches, record by record: ListOffsets by
//! timestamp answers the first record at or after the target, and the max
//! timestamp spec the first record holding the largest timestamp, not the
//! batch or entry around them.

use bytes::Buf;

use super::records::{self, Codec};
use super::rewrite::is_log_append_time;
use super::BATCH_HEADER_LEN;

/// A record found by a lookup: its offset and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The record's offset.
    pub offset: i64,
    /// The record's timestamp (the batch's stamp under `LogAppendTime`).
    pub timestamp: i64,
}

struct Header {
    base_offset: i64,
    size: usize,
    codec: Codec,
    base_timestamp: i64,
    max_timestamp: i64,
    log_append_time: bool,
}

fn header(bytes: &[u8]) -> Option<Header> {
    let mut h = bytes.get(..BATCH_HEADER_LEN)?;
    let base_offset = h.get_i64();
    let length = usize::try_from(h.get_i32()).ok()?;
    let _epoch = h.get_i32();
    let _magic = h.get_i8();
    let _crc = h.get_u32();
    let attributes = h.get_i16();
    let _last_delta = h.get_i32();
    let base_timestamp = h.get_i64();
    let max_timestamp = h.get_i64();
    Some(Header {
        base_offset,
        size: length.checked_add(12)?,
        codec: Codec::from_attributes(attributes)?,
        base_timestamp,
        max_timestamp,
        log_append_time: is_log_append_time(attributes),
    })
}

/// Calls `visit` with every record of the whole batches in `bytes` (base
/// offsets already those of the partition), in offset order, until it
/// returns `false`. A batch that cannot be walked is skipped.
fn each_record(bytes: &[u8], mut visit: impl FnMut(Found) -> bool) {
    let mut rest = bytes;
    while let Some(h) = header(rest) {
        let Some(batch) = rest.get(..h.size) else {
            return;
        };
        let mut go_on = true;
        let walked = records::walk(batch, h.codec, |r| {
            let timestamp = if h.log_append_time {
                h.max_timestamp
            } else {
                h.base_timestamp.saturating_add(r.timestamp_delta)
            };
            go_on = visit(Found {
                offset: h.base_offset + i64::from(r.offset_delta),
                timestamp,
            });
            go_on
        });
        if let Err(e) = walked {
            tracing::warn!(base_offset = h.base_offset, error = %e, "stored batch skipped by a timestamp lookup");
        }
        if !go_on {
            return;
        }
        rest = &rest[h.size..];
    }
}

/// The first record (in offset order) at or after `offset` whose timestamp
/// is at least `target`.
pub fn first_at_or_after(bytes: &[u8], offset: i64, target: i64) -> Option<Found> {
    let mut found = None;
    each_record(bytes, |r| {
        if r.offset >= offset && r.timestamp >= target {
            found = Some(r);
            return false;
        }
        true
    });
    found
}

/// The first record holding the largest timestamp of `bytes`.
pub fn max_timestamp(bytes: &[u8]) -> Option<Found> {
    let mut best: Option<Found> = None;
    each_record(bytes, |r| {
        if best.is_none_or(|b| r.timestamp > b.timestamp) {
            best = Some(r);
        }
        true
    });
    best
}
