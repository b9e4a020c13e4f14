//! The records inside a v2 batch: its compression codec, and a streaming walk
//! over the (decompressed) records that reads each record's offset and
//! timestamp deltas and skips the rest.
//!
//! The walk never holds more than one record header in memory, and stops
//! after [`MAX_DECOMPRESSED_BYTES`]: a small compressed batch can expand to
//! gigabytes, which must not become an allocation.

use std::io::{self, Read};

use super::BATCH_HEADER_LEN;

/// Most bytes the records of one batch may take once decompressed.
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;

const ATTR_CODEC_MASK: i16 = 0x07;
const SNAPPY_XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const SNAPPY_XERIAL_HEADER_LEN: usize = 16;

/// A record batch compression codec (attribute bits 0–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Not compressed.
    None,
    /// gzip.
    Gzip,
    /// Snappy (Kafka's xerial framing, or a raw block).
    Snappy,
    /// LZ4 frame.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Codec {
    /// The codec of a batch's attributes; `None` for an unknown id.
    pub fn from_attributes(attributes: i16) -> Option<Self> {
        match attributes & ATTR_CODEC_MASK {
            0 => Some(Self::None),
            1 => Some(Self::Gzip),
            2 => Some(Self::Snappy),
            3 => Some(Self::Lz4),
            4 => Some(Self::Zstd),
            _ => None,
        }
    }

    /// The codec named by a `compression.type` value (`uncompressed` is
    /// [`Codec::None`]); `None` for `producer` or an unknown name.
    pub fn from_config(value: &str) -> Option<Self> {
        match value {
            "uncompressed" => Some(Self::None),
            "gzip" => Some(Self::Gzip),
            "snappy" => Some(Self::Snappy),
            "lz4" => Some(Self::Lz4),
            "zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    /// The `kafka-protocol` compression of this codec.
    pub fn protocol(self) -> kafka_protocol::records::Compression {
        use kafka_protocol::records::Compression;
        match self {
            Self::None => Compression::None,
            Self::Gzip => Compression::Gzip,
            Self::Snappy => Compression::Snappy,
            Self::Lz4 => Compression::Lz4,
            Self::Zstd => Compression::Zstd,
        }
    }
}

/// Why the records of a batch could not be walked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    /// The compressed data does not decompress.
    #[error("records do not decompress: {0}")]
    Decompress(String),
    /// The records expand past [`MAX_DECOMPRESSED_BYTES`].
    #[error("records decompress to more than {MAX_DECOMPRESSED_BYTES} bytes")]
    TooLarge,
    /// A record's framing is broken (negative size, truncated record).
    #[error("malformed record {index}: {reason}")]
    Malformed {
        /// Position of the record in the batch.
        index: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The start of one record: what offset and timestamp lookups need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead {
    /// Offset relative to the batch's base offset.
    pub offset_delta: i32,
    /// Timestamp relative to the batch's first timestamp.
    pub timestamp_delta: i64,
}

/// Walks the records of one whole batch (`batch` starts at its base offset),
/// calling `visit` with each record's head until it returns `false`.
/// Returns the number of records visited.
pub fn walk(
    batch: &[u8],
    codec: Codec,
    mut visit: impl FnMut(RecordHead) -> bool,
) -> Result<u64, RecordsError> {
    let payload = batch.get(BATCH_HEADER_LEN..).unwrap_or_default();
    let mut reader = decoder(codec, payload)?.take(MAX_DECOMPRESSED_BYTES + 1);
    let mut count = 0u64;
    let result = (|| {
        while let Some(size) = read_varint(&mut reader, count, true)? {
            let size = u64::try_from(size).map_err(|_| RecordsError::Malformed {
                index: count,
                reason: "negative record size",
            })?;
            let mut body = (&mut reader).take(size);
            let head = read_head(&mut body, count)?;
            io::copy(&mut body, &mut io::sink()).map_err(io_error)?;
            if body.limit() != 0 {
                return Err(RecordsError::Malformed {
                    index: count,
                    reason: "record shorter than its size",
                });
            }
            count += 1;
            if !visit(head) {
                return Ok(true);
            }
        }
        Ok(false)
    })();
    match result {
        Ok(true) => Ok(count),
        // Whatever went wrong, input cut at the bound means "too large".
        _ if reader.limit() == 0 => Err(RecordsError::TooLarge),
        Ok(false) => Ok(count),
        Err(e) => Err(e),
    }
}

fn read_head(body: &mut impl Read, index: u64) -> Result<RecordHead, RecordsError> {
    let mut attributes = [0u8; 1];
    body.read_exact(&mut attributes)
        .map_err(|_| RecordsError::Malformed {
            index,
            reason: "record without attributes",
        })?;
    let timestamp_delta = read_varint(body, index, false)?.unwrap_or_default();
    let offset_delta = read_varint(body, index, false)?.unwrap_or_default();
    let offset_delta = i32::try_from(offset_delta).map_err(|_| RecordsError::Malformed {
        index,
        reason: "offset delta out of range",
    })?;
    Ok(RecordHead {
        offset_delta,
        timestamp_delta,
    })
}

/// Reads a zigzag varint (up to 64 bits). At a clean end of input, `None`
/// when `end_ok`, otherwise an error.
fn read_varint(r: &mut impl Read, index: u64, end_ok: bool) -> Result<Option<i64>, RecordsError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8; 1];
        let n = r.read(&mut byte).map_err(io_error)?;
        if n == 0 {
            if i == 0 && end_ok {
                return Ok(None);
            }
            return Err(RecordsError::Malformed {
                index,
                reason: "truncated varint",
            });
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            let decoded = ((value >> 1) as i64) ^ -((value & 1) as i64);
            return Ok(Some(decoded));
        }
    }
    Err(RecordsError::Malformed {
        index,
        reason: "varint longer than 10 bytes",
    })
}

fn io_error(e: io::Error) -> RecordsError {
    RecordsError::Decompress(e.to_string())
}

/// A reader over the decompressed records of `payload`.
pub(crate) fn decoder<'a>(
    codec: Codec,
    payload: &'a [u8],
) -> Result<Box<dyn Read + 'a>, RecordsError> {
    Ok(match codec {
        Codec::None => Box::new(payload),
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(payload)),
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(payload).map_err(io_error)?),
        Codec::Lz4 => Box::new(lz4::Decoder::new(payload).map_err(io_error)?),
        Codec::Snappy => Box::new(io::Cursor::new(snappy(payload)?)),
    })
}

/// Snappy has no streaming reader here: each block's stated length is
/// checked against the bound before anything is allocated.
fn snappy(payload: &[u8]) -> Result<Vec<u8>, RecordsError> {
    let blocks: Vec<&[u8]> = if payload.starts_with(SNAPPY_XERIAL_MAGIC) {
        let mut rest = payload
            .get(SNAPPY_XERIAL_HEADER_LEN..)
            .ok_or_else(|| RecordsError::Decompress("truncated snappy header".into()))?;
        let mut blocks = Vec::new();
        while !rest.is_empty() {
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| RecordsError::Decompress("truncated snappy block length".into()))?;
            let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
            if len > tail.len() {
                return Err(RecordsError::Decompress("truncated snappy block".into()));
            }
            blocks.push(&tail[..len]);
            rest = &tail[len..];
        }
        blocks
    } else {
        vec![payload]
    };
    let mut total: u64 = 0;
    for block in &blocks {
        let len = snap::raw::decompress_len(block)
            .map_err(|e| RecordsError::Decompress(e.to_string()))?;
        total = total.saturating_add(len as u64);
    }
    if total > MAX_DECOMPRESSED_BYTES {
        return Err(RecordsError::TooLarge);
    }
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut decoder = snap::raw::Decoder::new();
    for block in blocks {
        let block_out = decoder
            .decompress_vec(block)
            .map_err(|e| RecordsError::Decompress(e.to_string()))?;
        out.extend_from_slice(&block_out);
    }
    Ok(out)
}
