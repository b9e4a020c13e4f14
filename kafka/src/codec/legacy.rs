//! Produce v2, Fetch v2–v3 and CreateTopics v0–v1, which `kafka-protocol`
//! 0.18 no longer decodes or encodes (its ranges start at Produce v3, Fetch
//! v4 and CreateTopics v2, after KIP-896). Their layouts are the next version's minus a few fields, so a
//! legacy request body is rewritten into the next version's layout and
//! decoded with `kafka-protocol`; a Produce v2 response is byte-identical to
//! v3; a Fetch v2–v3 response is written here (v4 added two fields per
//! partition), as are CreateTopics v0–v1 responses (v2 added the throttle
//! time in front; v0 has no error messages). The records inside are converted by the handlers
//! (`crate::batch::legacy`).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, CreateTopicsResponse, FetchResponse};

/// First Produce version `kafka-protocol` decodes.
const PRODUCE_DECODED: i16 = 3;
/// First Fetch version `kafka-protocol` decodes.
const FETCH_DECODED: i16 = 4;
/// First CreateTopics version `kafka-protocol` decodes.
const CREATE_TOPICS_DECODED: i16 = 2;
/// replica_id, max_wait_ms, min_bytes: the Fetch v2 fields kept in place.
const FETCH_V2_PREFIX: usize = 12;

/// The version a request body of `key` at `version` is decoded (and its
/// response encoded) at.
pub(crate) fn body_version(key: ApiKey, version: i16) -> i16 {
    match key {
        ApiKey::Produce if version < PRODUCE_DECODED => PRODUCE_DECODED,
        ApiKey::Fetch if version < FETCH_DECODED => FETCH_DECODED,
        ApiKey::CreateTopics if version < CREATE_TOPICS_DECODED => CREATE_TOPICS_DECODED,
        _ => version,
    }
}

/// Rewrites a legacy body into the layout of [`body_version`]: Produce v2
/// gains a null `transactional_id`; Fetch v2 gains `max_bytes` (unbounded,
/// the broker's `fetch.max.bytes` still applies) and v2–v3 gain
/// `isolation_level` 0; CreateTopics v0 gains `validate_only` false (v1 is
/// v2's layout).
pub(crate) fn upgrade_body(key: ApiKey, version: i16, body: Bytes) -> Result<Bytes, String> {
    if body_version(key, version) == version {
        return Ok(body);
    }
    let mut out = BytesMut::with_capacity(body.len() + 8);
    match key {
        ApiKey::Produce => {
            out.put_i16(-1);
            out.put_slice(&body);
        }
        ApiKey::CreateTopics => {
            out.put_slice(&body);
            if version == 0 {
                out.put_i8(0);
            }
        }
        _ => {
            let prefix = if version == 2 {
                FETCH_V2_PREFIX
            } else {
                FETCH_V2_PREFIX + 4
            };
            let head = body
                .get(..prefix)
                .ok_or_else(|| format!("Fetch v{version} body of {} bytes", body.len()))?;
            out.put_slice(head);
            if version == 2 {
                out.put_i32(i32::MAX);
            }
            out.put_i8(0);
            out.put_slice(&body[prefix..]);
        }
    }
    Ok(out.freeze())
}

/// Whether the response of `key` at `version` is written by
/// [`encode_fetch_v2`] rather than `kafka-protocol`.
pub(crate) fn hand_encoded(key: ApiKey, version: i16) -> bool {
    body_version(key, version) != version && key != ApiKey::Produce
}

/// Writes a CreateTopics v0–v1 response body: per topic its name, error
/// code and (v1) error message.
pub(crate) fn encode_create_topics_v0(
    buf: &mut BytesMut,
    response: &CreateTopicsResponse,
    version: i16,
) -> Result<(), String> {
    let n = response.topics.len();
    buf.put_i32(i32::try_from(n).map_err(|_| format!("{n} topics"))?);
    for t in &response.topics {
        put_string(buf, &t.name);
        buf.put_i16(t.error_code);
        if version >= 1 {
            match &t.error_message {
                Some(m) => put_string(buf, m),
                None => buf.put_i16(-1),
            }
        }
    }
    Ok(())
}

fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i16(i16::try_from(s.len()).unwrap_or(i16::MAX));
    buf.put_slice(s.as_bytes());
}

/// Writes a Fetch v2–v3 response body: throttle time, then per topic its
/// name and per partition index, error, high watermark and records.
pub(crate) fn encode_fetch_v2(buf: &mut BytesMut, response: &FetchResponse) -> Result<(), String> {
    let count = |n: usize| i32::try_from(n).map_err(|_| format!("{n} entries"));
    buf.put_i32(response.throttle_time_ms);
    buf.put_i32(count(response.responses.len())?);
    for topic in &response.responses {
        put_string(buf, &topic.topic);
        buf.put_i32(count(topic.partitions.len())?);
        for p in &topic.partitions {
            buf.put_i32(p.partition_index);
            buf.put_i16(p.error_code);
            buf.put_i64(p.high_watermark);
            match &p.records {
                Some(r) => {
                    buf.put_i32(count(r.len())?);
                    buf.put_slice(r);
                }
                None => buf.put_i32(-1),
            }
        }
    }
    Ok(())
}

/// The inverse of [`upgrade_body`] (tests build legacy frames with it).
#[cfg(test)]
pub(crate) fn downgrade_body(key: ApiKey, version: i16, upgraded: &[u8]) -> Vec<u8> {
    if body_version(key, version) == version {
        return upgraded.to_vec();
    }
    match key {
        ApiKey::Produce => upgraded[2..].to_vec(),
        ApiKey::CreateTopics if version == 0 => upgraded[..upgraded.len() - 1].to_vec(),
        ApiKey::CreateTopics => upgraded.to_vec(),
        _ => {
            let kept = if version == 2 {
                FETCH_V2_PREFIX
            } else {
                FETCH_V2_PREFIX + 4
            };
            let mut out = upgraded[..kept].to_vec();
            out.extend_from_slice(&upgraded[FETCH_V2_PREFIX + 5..]);
            out
        }
    }
}
