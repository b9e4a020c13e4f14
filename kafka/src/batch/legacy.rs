//! Legacy message sets (message format v0/v1, "magic 0/1"), for clients
//! that still speak Produce v2 and Fetch v2–v3 (segmentio kafka-go 0.2.1).
//!
//! Kafka 3.x served these by conversion, and so does Chronik: a produced
//! message set is up-converted into one v2 record batch before the normal
//! validation and append path ([`up_convert`]), and stored v2 batches are
//! down-converted into an uncompressed magic-1 message set for a legacy
//! fetch ([`down_convert`]; headers dropped, control batches skipped, as
//! Kafka does).
//!
//! The legacy framing is parsed and written by hand: `kafka-protocol` 0.18
//! refuses message sets v0/v1 in both `RecordBatchDecoder` and
//! `RecordBatchEncoder` ("message sets v0/v1 are unsupported"). The v2 side
//! uses its codecs. Every length is checked against the bytes present
//! before anything is allocated, and decompression is bounded by
//! [`MAX_DECOMPRESSED_BYTES`].

use std::io::Read;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::records::{decoder, Codec, MAX_DECOMPRESSED_BYTES};

/// Offset and size fields in front of every message.
const LOG_OVERHEAD: usize = 12;
/// crc (4), magic (1), attributes (1), key length (4), value length (4).
const MIN_MESSAGE_V0: usize = 14;
/// Bit 3 of a v1 message's attributes: the timestamp is LogAppendTime.
const ATTR_LOG_APPEND_TIME: i8 = 1 << 3;
const ATTR_CODEC_MASK: i8 = 0x07;
/// No timestamp (magic 0 messages).
const NO_TIMESTAMP: i64 = -1;

/// Why a legacy message set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    /// Truncated framing, bad CRC, undecompressable payload: `CORRUPT_MESSAGE`.
    #[error("corrupt message at byte {position}: {reason}")]
    Corrupt {
        /// Position of the message in its (decompressed) set.
        position: usize,
        /// What was wrong.
        reason: String,
    },
    /// Well framed but not acceptable (nested compression, unknown codec,
    /// no records): `INVALID_RECORD`.
    #[error("invalid message at byte {position}: {reason}")]
    Invalid {
        /// Position of the message in its (decompressed) set.
        position: usize,
        /// What was wrong.
        reason: String,
    },
}

fn corrupt(position: usize, reason: impl Into<String>) -> LegacyError {
    LegacyError::Corrupt {
        position,
        reason: reason.into(),
    }
}

fn invalid(position: usize, reason: impl Into<String>) -> LegacyError {
    LegacyError::Invalid {
        position,
        reason: reason.into(),
    }
}

/// Whether `records` is a legacy message set (magic 0 or 1) rather than v2
/// batches: the magic byte sits at byte 16 in both layouts.
pub fn is_legacy(records: &[u8]) -> bool {
    matches!(records.get(16), Some(0 | 1))
}

/// One parsed legacy message.
struct Message<'a> {
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

fn take<'a>(buf: &mut &'a [u8], n: usize, at: usize) -> Result<&'a [u8], LegacyError> {
    if buf.len() < n {
        return Err(corrupt(at, format!("need {n} bytes, {} left", buf.len())));
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

fn int<const N: usize>(buf: &mut &[u8], at: usize) -> Result<[u8; N], LegacyError> {
    let bytes = take(buf, N, at)?;
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
}

fn nullable<'a>(buf: &mut &'a [u8], at: usize) -> Result<Option<&'a [u8]>, LegacyError> {
    let len = i32::from_be_bytes(int::<4>(buf, at)?);
    match usize::try_from(len) {
        Ok(n) => take(buf, n, at).map(Some),
        Err(_) if len == -1 => Ok(None),
        Err(_) => Err(corrupt(at, format!("negative length {len}"))),
    }
}

/// Parses one message body (from its CRC to its end), checking the CRC.
fn parse_message(body: &[u8], at: usize) -> Result<Message<'_>, LegacyError> {
    if body.len() < MIN_MESSAGE_V0 {
        return Err(corrupt(at, format!("message of {} bytes", body.len())));
    }
    let mut buf = body;
    let crc = u32::from_be_bytes(int::<4>(&mut buf, at)?);
    let mut hasher = flate2::Crc::new();
    hasher.update(buf);
    if hasher.sum() != crc {
        return Err(corrupt(at, "CRC mismatch"));
    }
    let [magic, attributes] = int::<2>(&mut buf, at)?.map(|b| b as i8);
    let timestamp = match magic {
        0 => NO_TIMESTAMP,
        1 => i64::from_be_bytes(int::<8>(&mut buf, at)?),
        m => return Err(corrupt(at, format!("magic {m} in a message set"))),
    };
    let key = nullable(&mut buf, at)?;
    let value = nullable(&mut buf, at)?;
    if !buf.is_empty() {
        return Err(corrupt(at, "bytes after the value"));
    }
    Ok(Message {
        magic,
        attributes,
        timestamp,
        key,
        value,
    })
}

/// Splits a message set into its messages (offset ignored: the log assigns
/// offsets). A partial message at the end is corrupt on produce.
fn messages(set: &[u8]) -> Result<Vec<(usize, Message<'_>)>, LegacyError> {
    let mut out = Vec::new();
    let mut rest = set;
    while !rest.is_empty() {
        let at = set.len() - rest.len();
        let head = take(&mut rest, LOG_OVERHEAD, at)?;
        let size = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        let size = usize::try_from(size).map_err(|_| corrupt(at, "negative message size"))?;
        let body = take(&mut rest, size, at)?;
        out.push((at, parse_message(body, at)?));
    }
    Ok(out)
}

fn codec_of(attributes: i8, at: usize) -> Result<Codec, LegacyError> {
    match attributes & ATTR_CODEC_MASK {
        0 => Ok(Codec::None),
        1 => Ok(Codec::Gzip),
        2 => Ok(Codec::Snappy),
        3 => Ok(Codec::Lz4),
        c => Err(invalid(at, format!("codec {c} in a v0/v1 message"))),
    }
}

fn record(offset: i64, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        // Not idempotent: the batch's base sequence is -1. `kafka-protocol`
        // keeps records in one batch while offset - sequence is constant.
        sequence: (offset as i32).wrapping_sub(1),
        timestamp,
        key: key.map(Bytes::copy_from_slice),
        value: value.map(Bytes::copy_from_slice),
        headers: Default::default(),
    }
}

/// Decompresses a wrapper message's value, bounded.
fn inflate(codec: Codec, payload: &[u8], at: usize) -> Result<Vec<u8>, LegacyError> {
    let reader = decoder(codec, payload).map_err(|e| corrupt(at, e.to_string()))?;
    let mut out = Vec::new();
    reader
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(at, e.to_string()))?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(invalid(at, "decompresses beyond the bound"));
    }
    Ok(out)
}

/// Converts a produced legacy message set into one v2 record batch (base
/// offset 0, offsets in order), compressed with the codec of its wrapper
/// messages (the first one found) so `compression.type=producer` keeps it.
pub fn up_convert(set: &[u8]) -> Result<Bytes, LegacyError> {
    let mut records = Vec::new();
    let mut batch_codec = Codec::None;
    for (at, m) in messages(set)? {
        let codec = codec_of(m.attributes, at)?;
        if codec == Codec::None {
            records.push(record(records.len() as i64, m.timestamp, m.key, m.value));
            continue;
        }
        if batch_codec == Codec::None {
            batch_codec = codec;
        }
        let payload = m
            .value
            .ok_or_else(|| invalid(at, "compressed message without a value"))?;
        let inner = inflate(codec, payload, at)?;
        for (inner_at, i) in messages(&inner)? {
            if codec_of(i.attributes, inner_at)? != Codec::None {
                return Err(invalid(inner_at, "nested compression"));
            }
            let timestamp = if m.magic == 1 && m.attributes & ATTR_LOG_APPEND_TIME != 0 {
                m.timestamp
            } else {
                i.timestamp
            };
            records.push(record(records.len() as i64, timestamp, i.key, i.value));
        }
    }
    if records.is_empty() {
        return Err(invalid(0, "no messages"));
    }
    let mut out = BytesMut::with_capacity(set.len() + 64);
    let options = RecordEncodeOptions {
        version: 2,
        compression: batch_codec.protocol(),
    };
    RecordBatchEncoder::encode(&mut out, records.iter(), &options)
        .map_err(|e| invalid(0, e.to_string()))?;
    Ok(out.freeze())
}

/// Appends one uncompressed magic-1 message.
fn put_message(out: &mut BytesMut, r: &Record) {
    let mut body = BytesMut::new();
    body.put_i8(1);
    let attributes = if r.timestamp_type == TimestampType::LogAppend {
        ATTR_LOG_APPEND_TIME
    } else {
        0
    };
    body.put_i8(attributes);
    body.put_i64(r.timestamp);
    for field in [&r.key, &r.value] {
        match field {
            Some(b) => {
                body.put_i32(i32::try_from(b.len()).unwrap_or(i32::MAX));
                body.put_slice(b);
            }
            None => body.put_i32(-1),
        }
    }
    let mut hasher = flate2::Crc::new();
    hasher.update(&body);
    out.put_i64(r.offset);
    out.put_i32(i32::try_from(body.len() + 4).unwrap_or(i32::MAX));
    out.put_u32(hasher.sum());
    out.put_slice(&body);
}

/// Converts stored v2 batches into a magic-1 message set holding the
/// records at or after `from` (offsets and timestamps kept, headers
/// dropped, control records skipped), at most `max_bytes` of whole
/// messages, except that the first message is always included when
/// `at_least_one` (a consumer must make progress).
pub fn down_convert(batches: &Bytes, from: i64, max_bytes: usize, at_least_one: bool) -> Bytes {
    let mut out = BytesMut::new();
    let mut input = batches.clone();
    while !input.is_empty() {
        // Stored batches were validated on produce; a batch that does not
        // decode ends the conversion (what came before is still served).
        let Ok(set) = RecordBatchDecoder::decode(&mut input) else {
            break;
        };
        for r in set
            .records
            .iter()
            .filter(|r| !r.control && r.offset >= from)
        {
            let before = out.len();
            put_message(&mut out, r);
            if out.len() > max_bytes && !(before == 0 && at_least_one) {
                out.truncate(before);
                return out.freeze();
            }
        }
    }
    out.freeze()
}

#[cfg(test)]
#[path = "legacy_tests.rs"]
mod tests;
