//! Rewriting a produced batch before it is stored: recompressing its records
//! with the topic's codec, and stamping it with the broker's clock
//! (`LogAppendTime`). Both keep producer id, epoch, base sequence, offset
//! deltas and record count, so idempotence checks see the same batch.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};

use super::records::Codec;

/// Most records one batch may hold to be recompressed: decoding holds every
/// record's fields in memory at once.
pub const MAX_RECOMPRESSED_RECORDS: i32 = 1 << 20;

const ATTRIBUTES_AT: usize = 21;
const MAX_TIMESTAMP_AT: usize = 35;
const CRC_AT: usize = 17;
const ATTR_LOG_APPEND_TIME: i16 = 1 << 3;

/// Why a batch could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// More records than [`MAX_RECOMPRESSED_RECORDS`].
    #[error("{count} records are more than {MAX_RECOMPRESSED_RECORDS} to recompress in one batch")]
    TooManyRecords {
        /// Records in the batch.
        count: i32,
    },
    /// `kafka-protocol` could not decode or encode the records.
    #[error("recompressing failed: {0}")]
    Codec(String),
}

/// The batch `batch` (one whole, validated v2 batch) with its records
/// compressed by `target`.
pub fn recompress(batch: &[u8], record_count: i32, target: Codec) -> Result<Bytes, RewriteError> {
    if record_count > MAX_RECOMPRESSED_RECORDS {
        return Err(RewriteError::TooManyRecords {
            count: record_count,
        });
    }
    let mut input = Bytes::copy_from_slice(batch);
    let set =
        RecordBatchDecoder::decode(&mut input).map_err(|e| RewriteError::Codec(e.to_string()))?;
    let mut out = BytesMut::with_capacity(batch.len());
    let options = RecordEncodeOptions {
        version: 2,
        compression: target.protocol(),
    };
    RecordBatchEncoder::encode(&mut out, set.records.iter(), &options)
        .map_err(|e| RewriteError::Codec(e.to_string()))?;
    Ok(out.freeze())
}

/// Marks `batch` (one whole v2 batch) as `LogAppendTime` stamped `now_ms`:
/// Kafka's rule, the largest timestamp becomes the broker's time and the
/// attribute tells consumers every record carries it. The CRC is updated.
pub fn stamp_log_append_time(batch: &mut [u8], now_ms: i64) {
    if batch.len() < super::BATCH_HEADER_LEN {
        return;
    }
    let attributes = i16::from_be_bytes([batch[ATTRIBUTES_AT], batch[ATTRIBUTES_AT + 1]]);
    let stamped = attributes | ATTR_LOG_APPEND_TIME;
    batch[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&stamped.to_be_bytes());
    batch[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Whether a batch's attributes say `LogAppendTime`.
pub fn is_log_append_time(attributes: i16) -> bool {
    attributes & ATTR_LOG_APPEND_TIME != 0
}
