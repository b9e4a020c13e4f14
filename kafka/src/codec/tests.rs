//! Codec edge cases: framing limits, header parsing, version handling, fuzz entry.

use bytes::BufMut;
use kafka_protocol::messages::{ApiVersionsResponse, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;

use super::*;

fn header_bytes(key: i16, version: i16, correlation_id: i32) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i16(key);
    b.put_i16(version);
    b.put_i32(correlation_id);
    b
}

fn encoded_request<R: Encodable>(key: ApiKey, version: i16, body: &R) -> Bytes {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(11)
        .with_client_id(Some(StrBytes::from_static_str("c")))
        .encode(&mut buf, key.request_header_version(version))
        .unwrap_or_else(|e| panic!("{e}"));
    body.encode(&mut buf, version)
        .unwrap_or_else(|e| panic!("{e}"));
    buf.freeze()
}

#[test]
fn parse_frame_waits_for_complete_frames() {
    let mut buf = BytesMut::from(&[0u8, 0][..]);
    assert_eq!(parse_frame(&mut buf, 100), Ok(None));
    buf.put_slice(&[0, 3, 1, 2]);
    assert_eq!(parse_frame(&mut buf, 100), Ok(None));
    buf.put_slice(&[3, 0, 0]);
    assert_eq!(
        parse_frame(&mut buf, 100),
        Ok(Some(Bytes::from_static(&[1, 2, 3])))
    );
    // The next frame's first bytes stay buffered.
    assert_eq!(&buf[..], &[0, 0]);
}

#[test]
fn parse_frame_accepts_exactly_the_limit_and_rejects_more() {
    let mut buf = BytesMut::new();
    buf.put_i32(4);
    buf.put_slice(&[9; 4]);
    assert!(matches!(parse_frame(&mut buf, 4), Ok(Some(_))));
    let mut buf = BytesMut::new();
    buf.put_i32(5);
    assert_eq!(
        parse_frame(&mut buf, 4),
        Err(CodecError::FrameTooLarge { size: 5, max: 4 })
    );
}

#[test]
fn parse_frame_rejects_negative_lengths() {
    let mut buf = BytesMut::new();
    buf.put_i32(-1);
    assert_eq!(
        parse_frame(&mut buf, 100),
        Err(CodecError::NegativeLength { declared: -1 })
    );
}

#[test]
fn empty_frame_is_too_short() {
    assert_eq!(
        decode_request(Bytes::new()).err(),
        Some(CodecError::TooShort { len: 0 })
    );
    assert_eq!(
        decode_request(Bytes::from_static(&[0, 18, 0])).err(),
        Some(CodecError::TooShort { len: 3 })
    );
}

#[test]
fn unknown_api_key_keeps_correlation_id() {
    let frame = header_bytes(4242, 0, 99).freeze();
    assert_eq!(
        decode_request(frame).err(),
        Some(CodecError::UnknownApiKey {
            api_key: 4242,
            correlation_id: 99
        })
    );
}

#[test]
fn unimplemented_api_and_version_are_rejected() {
    // DescribeDelegationToken exists in Kafka but is not implemented here.
    let frame = header_bytes(ApiKey::DescribeDelegationToken as i16, 1, 5).freeze();
    assert!(matches!(
        decode_request(frame),
        Err(CodecError::UnsupportedVersion {
            correlation_id: 5,
            ..
        })
    ));
    let frame = header_bytes(ApiKey::Produce as i16, 1, 6).freeze();
    assert!(matches!(
        decode_request(frame),
        Err(CodecError::UnsupportedVersion { version: 1, .. })
    ));
}

#[test]
fn newer_api_versions_request_is_answered_not_rejected() {
    let frame = header_bytes(ApiKey::ApiVersions as i16, 77, 3).freeze();
    let decoded = decode_request(frame).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(decoded.body, Decoded::UnsupportedApiVersions));
    assert_eq!(decoded.header.correlation_id, 3);
}

#[test]
fn truncated_body_is_a_body_error() {
    let full = encoded_request(
        ApiKey::Metadata,
        9,
        &MetadataRequest::default().with_topics(None),
    );
    let cut = full.slice(..full.len() - 1);
    assert!(matches!(
        decode_request(cut),
        Err(CodecError::Body { version: 9, .. })
    ));
}

#[test]
fn flexible_and_classic_requests_decode() {
    for version in [0, 4, 9, 12] {
        let topics = if version == 0 { Some(Vec::new()) } else { None };
        let frame = encoded_request(
            ApiKey::Metadata,
            version,
            &MetadataRequest::default().with_topics(topics),
        );
        let decoded = decode_request(frame).unwrap_or_else(|e| panic!("v{version}: {e}"));
        assert_eq!(decoded.header.correlation_id, 11);
        assert_eq!(decoded.header.client_id.as_deref(), Some("c"));
        assert!(
            matches!(decoded.body, Decoded::Body(ref b) if matches!(**b, RequestBody::Metadata(_)))
        );
    }
}

#[test]
fn api_versions_response_header_has_no_tagged_fields_even_when_flexible() {
    let body = ResponseBody::ApiVersions(ApiVersionsResponse::default());
    let bytes = encode_response(7, 3, &body).unwrap_or_else(|e| panic!("{e}"));
    let mut b = bytes.clone();
    let len = b.get_i32();
    assert_eq!(usize::try_from(len).ok(), Some(bytes.len() - 4));
    assert_eq!(b.get_i32(), 7);
    // Straight to the error code: no header tag buffer.
    assert_eq!(b.get_i16(), 0);
}

#[test]
fn flexible_response_header_carries_an_empty_tag_buffer() {
    let body = ResponseBody::Metadata(MetadataResponse::default());
    let flexible = encode_response(1, 9, &body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        flexible[8], 0,
        "empty tagged field section after the correlation id"
    );
    let classic = encode_response(1, 8, &body).unwrap_or_else(|e| panic!("{e}"));
    assert!(classic.len() != flexible.len());
}

#[test]
fn fuzz_entry_survives_pseudo_random_input() {
    // Deterministic xorshift so failures reproduce.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2_000 {
        let len = (next() % 96) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if data.len() >= 8 {
            // Make a plausible frame: sane length prefix and a real api key/version.
            let body_len = (data.len() - 4) as i32;
            data[..4].copy_from_slice(&body_len.to_be_bytes());
            let key = [
                0i16, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 32, 37,
            ][round % 19];
            data[4..6].copy_from_slice(&key.to_be_bytes());
            data[6..8].copy_from_slice(&((next() % 13) as i16).to_be_bytes());
        }
        let _ = fuzz_decode(&data, 1 << 20);
    }
}

#[test]
fn request_layouts_match_the_encoder_for_every_supported_version() {
    let mut failures = Vec::new();
    for api in crate::versions::SUPPORTED_APIS {
        let Some((fields, flexible_from)) = schema::request_layout(api.key) else {
            panic!("no layout for {:?}", api.key);
        };
        for version in api.min..=api.max {
            let sample = crate::test_support::sample(api.key, version);
            let mut buf = BytesMut::new();
            if let Err(e) = sample.encode_into(&mut buf, version) {
                failures.push(format!("{:?} v{version}: encode: {e}", api.key));
                continue;
            }
            // Legacy versions are walked in the layout they are decoded at.
            let at = legacy::body_version(api.key, version);
            let buf = match legacy::upgrade_body(api.key, version, buf.freeze()) {
                Ok(b) => b,
                Err(e) => {
                    failures.push(format!("{:?} v{version}: upgrade: {e}", api.key));
                    continue;
                }
            };
            match walk::walk(&buf, fields, at, at >= flexible_from) {
                Ok(covered) if covered == buf.len() => {}
                Ok(covered) => failures.push(format!(
                    "{:?} v{version}: layout covers {covered} of {} bytes",
                    api.key,
                    buf.len()
                )),
                Err(e) => failures.push(format!("{:?} v{version}: {e}", api.key)),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn huge_array_counts_are_rejected_before_decoding() {
    // Metadata v1: topics array announcing 2^31-1 elements in a 15-byte frame.
    let mut frame = header_bytes(ApiKey::Metadata as i16, 1, 1);
    frame.put_i16(-1);
    frame.put_i32(i32::MAX);
    assert!(matches!(
        decode_request(frame.freeze()),
        Err(CodecError::Body { .. })
    ));
    // Produce v9 (flexible): compact array count as a 5-byte varint.
    let mut frame = header_bytes(ApiKey::Produce as i16, 9, 2);
    frame.put_i16(-1);
    frame.put_u8(0); // header tagged fields
    frame.put_u8(0); // null transactional id
    frame.put_i16(-1);
    frame.put_i32(1000);
    frame.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode_request(frame.freeze()),
        Err(CodecError::Body { .. })
    ));
}

#[test]
fn api_versions_v3_response_has_an_empty_tag_section() {
    let body = ResponseBody::ApiVersions(ApiVersionsResponse::default().with_api_keys(vec![
            kafka_protocol::messages::api_versions_response::ApiVersion::default()
                .with_api_key(18)
                .with_max_version(4),
        ]));
    let bytes = encode_response(1, 3, &body).unwrap_or_else(|e| panic!("{e}"));
    // Length, correlation id, error code (2), compact array of 1 (0x02),
    // key/min/max (6) + entry tags (1), throttle (4), top-level tags: exactly one 0.
    assert_eq!(bytes.len(), 4 + 4 + 2 + 1 + 7 + 4 + 1);
    assert_eq!(bytes[bytes.len() - 1], 0);
}

/// Every advertised API and version, as a whole frame, decodes through the
/// fuzz entry point. With `CHRONIK_FUZZ_SEEDS=<dir>` the frames are also
/// written there: the seed corpus of `cargo fuzz run decode_request`.
#[test]
fn every_sample_request_frame_decodes_through_the_fuzz_entry() {
    let seeds = std::env::var_os("CHRONIK_FUZZ_SEEDS").map(std::path::PathBuf::from);
    for api in crate::versions::SUPPORTED_APIS {
        for version in api.min..=api.max {
            let body = crate::test_support::sample(api.key, version);
            let mut buf = BytesMut::new();
            RequestHeader::default()
                .with_request_api_key(api.key as i16)
                .with_request_api_version(version)
                .with_correlation_id(11)
                .with_client_id(Some(StrBytes::from_static_str("c")))
                .encode(&mut buf, api.key.request_header_version(version))
                .unwrap_or_else(|e| panic!("{e}"));
            body.encode_into(&mut buf, version)
                .unwrap_or_else(|e| panic!("{:?} v{version}: {e}", api.key));
            let mut frame = BytesMut::new();
            frame.put_i32(i32::try_from(buf.len()).unwrap_or(i32::MAX));
            frame.put_slice(&buf);
            assert_eq!(fuzz_decode(&frame, 1 << 20), 1, "{:?} v{version}", api.key);
            if let Some(dir) = &seeds {
                let path = dir.join(format!("{:?}-v{version}", api.key));
                std::fs::write(&path, &frame).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            }
        }
    }
}
