//! Record batch (magic v2) validation and offset assignment.
//!
//! The front end checks the framing and CRC of each batch (with
//! `kafka-protocol`'s header decoder), its codec, and walks its records
//! (decompressed as a stream, see [`records`]) to count them; it reads the
//! header fields it needs. [`policy`] applies a topic's produce configs
//! (`max.message.bytes`, `compression.type`, `message.timestamp.type`) before
//! a batch is stored. Storage rewrites the base offset, which the CRC does
//! not cover.

pub mod legacy;
pub mod lookup;
pub mod policy;
pub mod records;
pub mod rewrite;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::records::RecordBatchDecoder;

/// Size of the fixed v2 batch header.
pub const BATCH_HEADER_LEN: usize = 61;
/// Bytes before the `batchLength` field's coverage starts (baseOffset + batchLength).
const LOG_OVERHEAD: usize = 12;
const MAGIC_OFFSET: usize = 16;
const ATTRIBUTES_OFFSET: usize = 21;
const ATTR_TRANSACTIONAL: i16 = 1 << 4;
const ATTR_CONTROL: i16 = 1 << 5;

/// Why a produced record set was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The record set is empty.
    #[error("empty record set")]
    Empty,
    /// Fewer bytes than a batch header or than the batch length announces.
    #[error("truncated batch at byte {position}: need {needed} bytes, {available} left")]
    Truncated {
        /// Position of the batch in the record set.
        position: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A batch length smaller than the header.
    #[error("batch at byte {position} declares invalid length {length}")]
    InvalidLength {
        /// Position of the batch.
        position: usize,
        /// Declared length.
        length: i32,
    },
    /// Not a v2 record batch.
    #[error("unsupported record batch magic {magic} at byte {position}")]
    UnsupportedMagic {
        /// Position of the batch.
        position: usize,
        /// Magic byte found.
        magic: i8,
    },
    /// CRC mismatch or undecodable header.
    #[error("corrupt batch at byte {position}: {reason}")]
    Corrupt {
        /// Position of the batch.
        position: usize,
        /// Decoder message.
        reason: String,
    },
    /// Transactional or control batches (transactions are not supported).
    #[error("transactional or control batch at byte {position} is not supported")]
    Transactional {
        /// Position of the batch.
        position: usize,
    },
    /// A negative last offset delta.
    #[error("batch at byte {position} has invalid last offset delta {delta}")]
    InvalidOffsetDelta {
        /// Position of the batch.
        position: usize,
        /// Delta found.
        delta: i32,
    },
    /// A produced batch whose offsets do not match its record count
    /// (`last_offset_delta + 1 != record_count`): it would reserve offsets no
    /// record holds.
    #[error("batch at byte {position} has {record_count} records but last offset delta {delta}")]
    RecordCountMismatch {
        /// Position of the batch.
        position: usize,
        /// Records the header declares.
        record_count: i32,
        /// Last offset delta the header declares.
        delta: i32,
    },
    /// Compression codec bits naming no codec.
    #[error("batch at byte {position} uses unknown compression codec {codec}")]
    UnknownCodec {
        /// Position of the batch.
        position: usize,
        /// Codec id found.
        codec: i16,
    },
    /// The records do not decompress, or expand past the bound.
    #[error("batch at byte {position}: {source}")]
    Records {
        /// Position of the batch.
        position: usize,
        /// What went wrong.
        source: records::RecordsError,
    },
    /// The records found after decompression differ from the declared count.
    #[error("batch at byte {position} declares {declared} records but holds {found}")]
    RecordCount {
        /// Position of the batch.
        position: usize,
        /// Count in the header.
        declared: i32,
        /// Records found (at most one more than declared: the walk stops there).
        found: u64,
    },
}

/// Header fields of one validated batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSummary {
    /// Byte position of the batch within its record set.
    pub position: usize,
    /// Total size of the batch in bytes.
    pub size: usize,
    /// Offset of the last record relative to the first.
    pub last_offset_delta: i32,
    /// Number of records.
    pub record_count: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest record timestamp.
    pub max_timestamp: i64,
    /// Producer id, `-1` for non-idempotent producers.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Sequence of the first record, `-1` for non-idempotent producers.
    pub base_sequence: i32,
}

impl BatchSummary {
    /// Number of offsets the batch occupies.
    pub fn offset_count(&self) -> i64 {
        i64::from(self.last_offset_delta) + 1
    }

    /// Sequence of the last record (wrapping like Kafka does).
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        (last % (i64::from(i32::MAX) + 1)) as i32
    }

    /// Whether the batch comes from an idempotent producer.
    pub fn is_idempotent(&self) -> bool {
        self.producer_id >= 0
    }
}

/// Validates a produced record set: whole v2 batches, CRCs correct, no transactional
/// batches. Returns the header of each batch.
pub fn validate(records: &Bytes) -> Result<Vec<BatchSummary>, BatchError> {
    if records.is_empty() {
        return Err(BatchError::Empty);
    }
    let mut out = Vec::new();
    let mut position = 0;
    while position < records.len() {
        let summary = validate_one(records, position)?;
        position += summary.size;
        out.push(summary);
    }
    Ok(out)
}

/// Validates a record set a producer sent: [`validate`], each batch's
/// `last_offset_delta` matching its record count, as Kafka requires of
/// producers, a known codec, and the records found after decompression
/// matching the count. Stored entries are re-read with [`validate`] alone, so
/// a log written before these checks replays as it did.
pub fn validate_produced(records: &Bytes) -> Result<Vec<BatchSummary>, BatchError> {
    let batches = validate(records)?;
    for b in &batches {
        if i64::from(b.record_count) != i64::from(b.last_offset_delta) + 1 {
            return Err(BatchError::RecordCountMismatch {
                position: b.position,
                record_count: b.record_count,
                delta: b.last_offset_delta,
            });
        }
        let codec = codec_of(records, b)?;
        let declared = u64::try_from(b.record_count).unwrap_or(0);
        let bytes = &records[b.position..b.position + b.size];
        let found =
            records::walk(bytes, codec, |_| true).map_err(|source| BatchError::Records {
                position: b.position,
                source,
            })?;
        if found != declared {
            return Err(BatchError::RecordCount {
                position: b.position,
                declared: b.record_count,
                found,
            });
        }
    }
    Ok(batches)
}

/// The attributes of a batch validated from `records`.
pub fn attributes_of(records: &[u8], batch: &BatchSummary) -> i16 {
    let at = batch.position + ATTRIBUTES_OFFSET;
    records
        .get(at..at + 2)
        .map_or(0, |b| i16::from_be_bytes([b[0], b[1]]))
}

/// The codec of a batch validated from `records`.
pub fn codec_of(records: &[u8], batch: &BatchSummary) -> Result<records::Codec, BatchError> {
    let attributes = attributes_of(records, batch);
    records::Codec::from_attributes(attributes).ok_or(BatchError::UnknownCodec {
        position: batch.position,
        codec: attributes & 0x07,
    })
}

fn validate_one(records: &Bytes, position: usize) -> Result<BatchSummary, BatchError> {
    let available = records.len() - position;
    if available < BATCH_HEADER_LEN {
        return Err(BatchError::Truncated {
            position,
            needed: BATCH_HEADER_LEN,
            available,
        });
    }
    let mut header = &records[position..position + BATCH_HEADER_LEN];
    let _base_offset = header.get_i64();
    let length = header.get_i32();
    let Ok(length_usize) = usize::try_from(length) else {
        return Err(BatchError::InvalidLength { position, length });
    };
    if length_usize < BATCH_HEADER_LEN - LOG_OVERHEAD {
        return Err(BatchError::InvalidLength { position, length });
    }
    let size = length_usize + LOG_OVERHEAD;
    if size > available {
        return Err(BatchError::Truncated {
            position,
            needed: size,
            available,
        });
    }
    let magic = records[position + MAGIC_OFFSET] as i8;
    if magic != 2 {
        return Err(BatchError::UnsupportedMagic { position, magic });
    }
    let _leader_epoch = header.get_i32();
    let _magic = header.get_i8();
    let _crc = header.get_u32();
    let attributes = header.get_i16();
    let last_offset_delta = header.get_i32();
    let base_timestamp = header.get_i64();
    let max_timestamp = header.get_i64();
    let producer_id = header.get_i64();
    let producer_epoch = header.get_i16();
    let base_sequence = header.get_i32();
    let record_count = header.get_i32();
    if attributes & (ATTR_TRANSACTIONAL | ATTR_CONTROL) != 0 {
        return Err(BatchError::Transactional { position });
    }
    if last_offset_delta < 0 {
        return Err(BatchError::InvalidOffsetDelta {
            position,
            delta: last_offset_delta,
        });
    }
    // CRC check (and header sanity) by the kafka-protocol decoder, without decompressing.
    let mut batch = records.slice(position..position + size);
    RecordBatchDecoder::decode_batch_info(&mut batch).map_err(|e| BatchError::Corrupt {
        position,
        reason: e.to_string(),
    })?;
    Ok(BatchSummary {
        position,
        size,
        last_offset_delta,
        record_count,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
    })
}

/// Rewrites the base offset of each batch so offsets run consecutively from `base`.
/// Returns the rewritten bytes and the offset after the last record.
pub fn assign_offsets(records: &Bytes, batches: &[BatchSummary], base: i64) -> (Bytes, i64) {
    let mut out = BytesMut::from(&records[..]);
    let mut next = base;
    for batch in batches {
        let at = batch.position;
        if let Some(slot) = out.get_mut(at..at + 8) {
            slot.copy_from_slice(&next.to_be_bytes());
        }
        next += batch.offset_count();
    }
    (out.freeze(), next)
}

#[cfg(test)]
mod tests;
