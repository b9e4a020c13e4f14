//! Decoding of the Kubernetes protobuf encoding for the few kinds that
//! kubectl's and helm's typed clients send as protobuf (there is no JSON
//! fallback in client-go): Namespace, ConfigMap, Secret, ServiceAccount and
//! DeleteOptions. Responses are always JSON (the clients accept it).
//!
//! Wire format: the magic `k8s\0`, then a `runtime.Unknown` message
//! (1: typeMeta {1: apiVersion, 2: kind}, 2: raw object bytes). Field
//! numbers come from the Kubernetes `generated.proto` files; fields not
//! listed here (e.g. managedFields) are ignored.

use serde_json::{json, Map, Value};

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::time::format_rfc3339;

const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, Clone)]
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn bad(msg: &str) -> ApiError {
    ApiError::BadRequest(format!("cannot decode protobuf body: {msg}"))
}

fn varint(buf: &[u8], pos: &mut usize) -> ApiResult<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(bad("varint too long"))
}

/// Parse one message into (field number, value) pairs.
fn fields(buf: &[u8]) -> ApiResult<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let (num, wire) = (tag >> 3, tag & 7);
        let f = match wire {
            0 => Field::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| bad("length"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(|| bad("truncated field"))?;
                let b = &buf[pos..end];
                pos = end;
                Field::Bytes(b)
            }
            1 => {
                pos += 8;
                Field::Varint(0)
            }
            5 => {
                pos += 4;
                Field::Varint(0)
            }
            _ => return Err(bad("unsupported wire type")),
        };
        out.push((num, f));
    }
    Ok(out)
}

fn text(f: &Field<'_>) -> String {
    match f {
        Field::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Field::Varint(v) => v.to_string(),
    }
}

fn bytes_b64(f: &Field<'_>) -> String {
    match f {
        Field::Bytes(b) => base64_encode(b),
        Field::Varint(_) => String::new(),
    }
}

fn sub<'a>(f: &Field<'a>) -> &'a [u8] {
    match f {
        Field::Bytes(b) => b,
        Field::Varint(_) => &[],
    }
}

fn int(f: &Field<'_>) -> i64 {
    match f {
        Field::Varint(v) => *v as i64,
        Field::Bytes(_) => 0,
    }
}

/// A map entry (1: key, 2: value); `b64` encodes bytes values as base64.
fn map_entry(buf: &[u8], b64: bool) -> ApiResult<(String, String)> {
    let mut k = String::new();
    let mut v = String::new();
    for (n, f) in fields(buf)? {
        match n {
            1 => k = text(&f),
            2 => v = if b64 { bytes_b64(&f) } else { text(&f) },
            _ => {}
        }
    }
    Ok((k, v))
}

fn insert_entry(
    obj: &mut Map<String, Value>,
    key: &str,
    f: &Field<'_>,
    b64: bool,
) -> ApiResult<()> {
    let (k, v) = map_entry(sub(f), b64)?;
    let m = obj.entry(key.to_string()).or_insert_with(|| json!({}));
    m[k] = json!(v);
    Ok(())
}

fn push(obj: &mut Map<String, Value>, key: &str, v: Value) {
    let list = obj.entry(key.to_string()).or_insert_with(|| json!([]));
    if let Some(a) = list.as_array_mut() {
        a.push(v);
    }
}

fn timestamp(buf: &[u8]) -> ApiResult<Value> {
    let secs = fields(buf)?
        .iter()
        .find(|(n, _)| *n == 1)
        .map(|(_, f)| int(f))
        .unwrap_or(0);
    Ok(json!(format_rfc3339(secs)))
}

fn owner_ref(buf: &[u8]) -> ApiResult<Value> {
    let mut o = Map::new();
    for (n, f) in fields(buf)? {
        let (k, v) = match n {
            1 => ("kind", json!(text(&f))),
            3 => ("name", json!(text(&f))),
            4 => ("uid", json!(text(&f))),
            5 => ("apiVersion", json!(text(&f))),
            6 => ("controller", json!(int(&f) != 0)),
            7 => ("blockOwnerDeletion", json!(int(&f) != 0)),
            _ => continue,
        };
        o.insert(k.into(), v);
    }
    Ok(Value::Object(o))
}

fn object_meta(buf: &[u8]) -> ApiResult<Value> {
    let mut m = Map::new();
    for (n, f) in fields(buf)? {
        match n {
            1 => {
                m.insert("name".into(), json!(text(&f)));
            }
            2 => {
                m.insert("generateName".into(), json!(text(&f)));
            }
            3 => {
                m.insert("namespace".into(), json!(text(&f)));
            }
            5 => {
                m.insert("uid".into(), json!(text(&f)));
            }
            6 => {
                m.insert("resourceVersion".into(), json!(text(&f)));
            }
            7 => {
                m.insert("generation".into(), json!(int(&f)));
            }
            8 => {
                m.insert("creationTimestamp".into(), timestamp(sub(&f))?);
            }
            11 => insert_entry(&mut m, "labels", &f, false)?,
            12 => insert_entry(&mut m, "annotations", &f, false)?,
            13 => push(&mut m, "ownerReferences", owner_ref(sub(&f))?),
            14 => push(&mut m, "finalizers", json!(text(&f))),
            _ => {}
        }
    }
    m.retain(|_, v| v != &json!(""));
    Ok(Value::Object(m))
}

/// Decode a protobuf request body into the JSON object it encodes.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing k8s magic"))?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(rest)? {
        match n {
            1 => {
                for (tn, tf) in fields(sub(&f))? {
                    match tn {
                        1 => api_version = text(&tf),
                        2 => kind = text(&tf),
                        _ => {}
                    }
                }
            }
            2 => raw = sub(&f),
            _ => {}
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    let supported = [
        "Namespace",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "DeleteOptions",
    ];
    if !supported.contains(&kind.as_str()) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "protobuf bodies are only decoded for {}; got {kind}",
            supported.join(", ")
        )));
    }
    for (n, f) in fields(raw)? {
        match (kind.as_str(), n) {
            ("DeleteOptions", 1) => {
                obj.insert("gracePeriodSeconds".into(), json!(int(&f)));
            }
            ("DeleteOptions", 3) => {
                obj.insert("orphanDependents".into(), json!(int(&f) != 0));
            }
            ("DeleteOptions", 4) => {
                obj.insert("propagationPolicy".into(), json!(text(&f)));
            }
            ("DeleteOptions", 5) => push(&mut obj, "dryRun", json!(text(&f))),
            ("DeleteOptions", _) => {}
            (_, 1) => {
                obj.insert("metadata".into(), object_meta(sub(&f))?);
            }
            ("Namespace", 2) => {
                let mut spec = Map::new();
                for (sn, sf) in fields(sub(&f))? {
                    if sn == 1 {
                        push(&mut spec, "finalizers", json!(text(&sf)));
                    }
                }
                obj.insert("spec".into(), Value::Object(spec));
            }
            ("ConfigMap", 2) | ("Secret", 4) => {
                let key = if kind == "Secret" {
                    "stringData"
                } else {
                    "data"
                };
                insert_entry(&mut obj, key, &f, false)?;
            }
            ("ConfigMap", 3) => insert_entry(&mut obj, "binaryData", &f, true)?,
            ("Secret", 2) => insert_entry(&mut obj, "data", &f, true)?,
            ("Secret", 3) => {
                obj.insert("type".into(), json!(text(&f)));
            }
            ("ConfigMap", 4) | ("Secret", 5) => {
                obj.insert("immutable".into(), json!(int(&f) != 0));
            }
            ("ServiceAccount", 4) => {
                obj.insert("automountServiceAccountToken".into(), json!(int(&f) != 0));
            }
            _ => {}
        }
    }
    Ok(Value::Object(obj))
}

fn base64_encode(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![(num << 3) | 2, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_a_configmap() {
        let meta = [
            field(1, b"cfg"),
            field(11, &[field(1, b"app"), field(2, b"x")].concat()),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "labels": {"app": "x"}}, "data": {"k": "v"}})
        );
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert!(decode(b"nope").is_err());
    }
}
