//! Kafka framing: 4-byte big-endian length prefix, request header, typed body.
//!
//! Everything here is pure (no I/O) so it can be unit tested and fuzzed:
//! [`parse_frame`] splits frames off a buffer, [`decode_request`] turns one frame into
//! a [`DecodedRequest`], [`encode_response`] builds a length-prefixed response frame.
//! The decoders of `kafka-protocol` run under `catch_unwind`, so a decoder bug on
//! hostile input becomes an error instead of taking the connection task down.

mod body;
mod error;
mod legacy;
mod schema;
mod walk;

pub use body::{RequestBody, ResponseBody};
pub use error::CodecError;
pub use walk::WalkError;

use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::versions;

/// Size of the length prefix of every frame.
pub const LENGTH_PREFIX: usize = 4;
/// Most buffer space reserved ahead of the bytes received.
const READ_CHUNK: usize = 64 * 1024;
/// Smallest request: api key, api version, correlation id.
const MIN_REQUEST: usize = 8;

/// A request frame decoded into header and body.
#[derive(Debug, Clone)]
pub struct DecodedRequest {
    /// The API.
    pub api_key: ApiKey,
    /// The request header (api version, correlation id, client id).
    pub header: RequestHeader,
    /// The body, or [`Decoded::UnsupportedApiVersions`] for an ApiVersions request of a
    /// version newer than implemented (answered with `UNSUPPORTED_VERSION` at v0).
    pub body: Decoded,
}

/// The body of a decoded request.
#[derive(Debug, Clone)]
pub enum Decoded {
    /// A request of an implemented API and version.
    Body(Box<RequestBody>),
    /// ApiVersions of a version above the implemented range.
    UnsupportedApiVersions,
}

/// Splits one complete frame (without its length prefix) off the front of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed. A negative length or one above
/// `max_request_bytes` is an error: the connection must be closed, as there is no way
/// to answer a request that was not read.
pub fn parse_frame(
    buf: &mut BytesMut,
    max_request_bytes: usize,
) -> Result<Option<Bytes>, CodecError> {
    if buf.len() < LENGTH_PREFIX {
        return Ok(None);
    }
    let declared = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let Ok(len) = usize::try_from(declared) else {
        return Err(CodecError::NegativeLength { declared });
    };
    if len > max_request_bytes {
        return Err(CodecError::FrameTooLarge {
            size: len,
            max: max_request_bytes,
        });
    }
    if buf.len() < LENGTH_PREFIX + len {
        // Grow with the bytes actually arriving, not with what the prefix claims: a
        // 4-byte prefix must not reserve `max_request_bytes` on every connection.
        buf.reserve((LENGTH_PREFIX + len - buf.len()).min(READ_CHUNK));
        return Ok(None);
    }
    buf.advance(LENGTH_PREFIX);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Reads the api key, version and correlation id without decoding anything else.
pub fn peek_header(frame: &[u8]) -> Result<(i16, i16, i32), CodecError> {
    if frame.len() < MIN_REQUEST {
        return Err(CodecError::TooShort { len: frame.len() });
    }
    let mut b = frame;
    Ok((b.get_i16(), b.get_i16(), b.get_i32()))
}

/// Decodes one request frame (without the length prefix).
pub fn decode_request(frame: Bytes) -> Result<DecodedRequest, CodecError> {
    let (raw_key, version, correlation_id) = peek_header(&frame)?;
    let api_key = ApiKey::try_from(raw_key).map_err(|_| CodecError::UnknownApiKey {
        api_key: raw_key,
        correlation_id,
    })?;
    let unsupported_api_versions =
        api_key == ApiKey::ApiVersions && !versions::is_supported(api_key, version);
    if !unsupported_api_versions && !versions::is_supported(api_key, version) {
        return Err(CodecError::UnsupportedVersion {
            api_key,
            version,
            correlation_id,
        });
    }
    let mut buf = frame;
    if unsupported_api_versions {
        // Newer header layouts are unknown; the v0 answer only needs the correlation id.
        let header = RequestHeader::default()
            .with_request_api_key(raw_key)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id);
        return Ok(DecodedRequest {
            api_key,
            header,
            body: Decoded::UnsupportedApiVersions,
        });
    }
    let header_version = api_key.request_header_version(version);
    let header =
        guarded(|| RequestHeader::decode(&mut buf, header_version).map_err(|e| e.to_string()))
            .map_err(|reason| CodecError::Header {
                api_key,
                version,
                reason,
            })?;
    // Produce v2 and Fetch v2–v3 are decoded in the next version's layout.
    let decoded_version = legacy::body_version(api_key, version);
    let mut buf =
        legacy::upgrade_body(api_key, version, buf).map_err(|reason| CodecError::Body {
            api_key,
            version,
            reason,
        })?;
    // Reject impossible array counts before the decoder pre-allocates for them.
    if let Some((fields, flexible_from)) = schema::request_layout(api_key) {
        let v = decoded_version;
        walk::walk(&buf, fields, v, v >= flexible_from).map_err(|e| CodecError::Body {
            api_key,
            version,
            reason: e.to_string(),
        })?;
    }
    let body =
        guarded(|| body::decode_body(api_key, &mut buf, decoded_version)).map_err(|reason| {
            CodecError::Body {
                api_key,
                version,
                reason,
            }
        })?;
    let Some(body) = body else {
        return Err(CodecError::UnsupportedVersion {
            api_key,
            version,
            correlation_id,
        });
    };
    Ok(DecodedRequest {
        api_key,
        header,
        body: Decoded::Body(Box::new(body)),
    })
}

/// Runs a decoder, turning a panic into an error message.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(_) => Err("decoder panicked on malformed input".to_owned()),
    }
}

/// Encodes a response frame: length prefix, response header (v0 or flexible v1 as the
/// API and version require) and body.
pub fn encode_response(
    correlation_id: i32,
    version: i16,
    body: &ResponseBody,
) -> Result<Bytes, CodecError> {
    let api_key = body.api_key();
    let header_version = api_key.response_header_version(version);
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, header_version)
        .map_err(|e| CodecError::Encode {
            api_key,
            version,
            reason: e.to_string(),
        })?;
    let encoded = match body {
        ResponseBody::Fetch(r) if legacy::hand_encoded(api_key, version) => {
            legacy::encode_fetch_v2(&mut buf, r)
        }
        ResponseBody::CreateTopics(r) if legacy::hand_encoded(api_key, version) => {
            legacy::encode_create_topics_v0(&mut buf, r, version)
        }
        _ => body.encode_into(&mut buf, legacy::body_version(api_key, version)),
    };
    encoded.map_err(|reason| CodecError::Encode {
        api_key,
        version,
        reason,
    })?;
    let len = i32::try_from(buf.len() - LENGTH_PREFIX).map_err(|_| CodecError::Encode {
        api_key,
        version,
        reason: format!("response of {} bytes exceeds the frame limit", buf.len()),
    })?;
    buf[..LENGTH_PREFIX].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// Decodes arbitrary bytes as a stream of request frames: the entry point for
/// `cargo fuzz`. Never panics; returns how many requests decoded successfully.
pub fn fuzz_decode(data: &[u8], max_request_bytes: usize) -> usize {
    let mut buf = BytesMut::from(data);
    let mut decoded = 0;
    while let Ok(Some(frame)) = parse_frame(&mut buf, max_request_bytes) {
        if decode_request(frame).is_ok() {
            decoded += 1;
        }
    }
    decoded
}

#[cfg(test)]
mod tests;
