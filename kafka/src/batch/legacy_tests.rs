//! Tests of the legacy message set conversions: what kafka-go 0.2.1 sends
//! (magic 1, uncompressed or one gzip/snappy/lz4 wrapper), round trips,
//! malformed input.

use std::io::Write;

use super::*;
use crate::batch::validate_produced;

/// One magic-`magic` message as kafka-go writes it.
fn message(offset: i64, magic: i8, attributes: i8, ts: i64, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut body = vec![magic as u8, attributes as u8];
    if magic == 1 {
        body.extend_from_slice(&ts.to_be_bytes());
    }
    for f in [key, value] {
        body.extend_from_slice(&(f.len() as i32).to_be_bytes());
        body.extend_from_slice(f);
    }
    let mut crc = flate2::Crc::new();
    crc.update(&body);
    let mut out = offset.to_be_bytes().to_vec();
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(&crc.sum().to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn plain_set(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let k = format!("k{i}");
            let v = format!("value-{i}");
            message(i as i64, 1, 0, 1_000 + i as i64, k.as_bytes(), v.as_bytes())
        })
        .collect()
}

fn compressed_set(codec: i8, n: usize) -> Vec<u8> {
    let inner = plain_set(n);
    let payload = match codec {
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&inner).unwrap();
            e.finish().unwrap()
        }
        2 => snap::raw::Encoder::new().compress_vec(&inner).unwrap(),
        3 => {
            let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
            e.write_all(&inner).unwrap();
            e.finish().0
        }
        _ => unreachable!(),
    };
    message(0, 1, codec, 5_000, b"", &payload)
}

fn records_of(batch: Bytes) -> Vec<Record> {
    let mut input = batch;
    RecordBatchDecoder::decode(&mut input).unwrap().records
}

#[test]
fn plain_message_set_becomes_one_valid_v2_batch() {
    let batch = up_convert(&plain_set(5)).unwrap();
    let summaries = validate_produced(&batch).unwrap();
    assert_eq!(summaries.len(), 1);
    let records = records_of(batch);
    assert_eq!(records.len(), 5);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.offset, i as i64);
        assert_eq!(r.timestamp, 1_000 + i as i64);
        assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
        assert_eq!(r.value.as_deref(), Some(format!("value-{i}").as_bytes()));
    }
}

#[test]
fn each_wrapper_codec_is_unwrapped_and_kept() {
    for (codec, expected) in [(1, Codec::Gzip), (2, Codec::Snappy), (3, Codec::Lz4)] {
        let batch = up_convert(&compressed_set(codec, 7)).unwrap();
        let summaries = validate_produced(&batch).unwrap();
        assert_eq!(crate::batch::codec_of(&batch, &summaries[0]), Ok(expected));
        let records = records_of(batch);
        assert_eq!(records.len(), 7, "codec {codec}");
        assert_eq!(records[6].value.as_deref(), Some(&b"value-6"[..]));
    }
}

#[test]
fn magic_zero_messages_have_no_timestamp() {
    let set = message(0, 0, 0, 0, b"k", b"v");
    let records = records_of(up_convert(&set).unwrap());
    assert_eq!(records[0].timestamp, -1);
    assert_eq!(records[0].value.as_deref(), Some(&b"v"[..]));
}

#[test]
fn malformed_sets_are_refused_without_panicking() {
    let good = plain_set(3);
    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xff;
    assert!(matches!(
        up_convert(&bad_crc),
        Err(LegacyError::Corrupt { .. })
    ));
    for cut in (0..good.len()).filter(|c| c % (good.len() / 3) != 0) {
        assert!(up_convert(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut huge = good.clone();
    huge[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        up_convert(&huge),
        Err(LegacyError::Corrupt { .. })
    ));
    let bad_gzip = message(0, 1, 1, 0, b"", b"not gzip");
    assert!(matches!(
        up_convert(&bad_gzip),
        Err(LegacyError::Corrupt { .. })
    ));
    let zstd = message(0, 1, 4, 0, b"", b"x");
    assert!(matches!(
        up_convert(&zstd),
        Err(LegacyError::Invalid { .. })
    ));
    let nested = {
        let inner = compressed_set(1, 2);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&inner).unwrap();
        message(0, 1, 1, 0, b"", &e.finish().unwrap())
    };
    assert!(matches!(
        up_convert(&nested),
        Err(LegacyError::Invalid { .. })
    ));
}

#[test]
fn stored_batches_round_trip_to_a_magic_one_set() {
    let mut stored = BytesMut::from(&up_convert(&plain_set(4)).unwrap()[..]);
    // The log placed the batch at offset 100.
    stored[..8].copy_from_slice(&100i64.to_be_bytes());
    let set = down_convert(&stored.freeze(), 101, usize::MAX, true);
    let parsed = messages(&set).unwrap();
    assert_eq!(parsed.len(), 3);
    assert_eq!(i64::from_be_bytes(set[..8].try_into().unwrap()), 101);
    let (_, m) = &parsed[2];
    assert_eq!((m.magic, m.timestamp), (1, 1_003));
    assert_eq!(m.key, Some(&b"k3"[..]));
    assert_eq!(m.value, Some(&b"value-3"[..]));
    // Up-converting the down-converted set gives the same records back.
    let again = records_of(up_convert(&set).unwrap());
    assert_eq!(again.len(), 3);
    assert_eq!(again[0].value.as_deref(), Some(&b"value-1"[..]));
}

#[test]
fn down_conversion_respects_max_bytes_in_whole_messages() {
    let stored = up_convert(&compressed_set(1, 10)).unwrap();
    let all = down_convert(&stored, 0, usize::MAX, true);
    let one = all.len() / 10;
    let some = down_convert(&stored, 0, one * 3 + one / 2, true);
    assert_eq!(messages(&some).unwrap().len(), 3);
    assert_eq!(down_convert(&stored, 0, 1, true).len(), one);
    assert!(down_convert(&stored, 0, 1, false).is_empty());
}

#[test]
fn legacy_sets_are_told_from_v2_batches() {
    assert!(is_legacy(&plain_set(1)));
    assert!(!is_legacy(&up_convert(&plain_set(1)).unwrap()));
}
