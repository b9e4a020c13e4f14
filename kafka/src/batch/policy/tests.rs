//! Codecs walked, counted and rewritten: every codec validates, a lying
//! record count and broken compressed data are refused, recompression and
//! `LogAppendTime` stamps keep batches valid, lookups find records.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::{prepare, ProducePolicy};
use crate::backend::BackendError;
use crate::batch::records::{Codec, RecordsError};
use crate::batch::{lookup, validate, validate_produced, BatchError};

fn batch(count: usize, timestamps: &[i64], codec: Compression) -> BytesMut {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: 7,
            producer_epoch: 1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: 10 + i as i32,
            timestamp: timestamps[i % timestamps.len()],
            key: None,
            value: Some(Bytes::from(format!("value-{i}").repeat(20))),
            headers: Default::default(),
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: codec,
    };
    RecordBatchEncoder::encode(&mut out, records.iter(), &options).expect("encode");
    out
}

fn fix_crc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

const ALL: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

#[test]
fn every_codec_validates_with_its_record_count() {
    for codec in ALL {
        let b = batch(50, &[1000], codec).freeze();
        let batches = validate_produced(&b).unwrap_or_else(|e| panic!("{codec:?}: {e}"));
        assert_eq!(batches[0].record_count, 50);
    }
}

#[test]
fn a_count_that_lies_about_the_compressed_records_is_refused() {
    for codec in ALL {
        let mut b = batch(3, &[1000], codec);
        b[23..27].copy_from_slice(&3i32.to_be_bytes());
        b[57..61].copy_from_slice(&4i32.to_be_bytes());
        fix_crc(&mut b);
        let err = validate_produced(&b.freeze()).expect_err("lying count");
        assert!(
            matches!(
                err,
                BatchError::RecordCount {
                    declared: 4,
                    found: 3,
                    ..
                }
            ),
            "{codec:?}: {err}"
        );
    }
}

#[test]
fn compressed_garbage_with_a_valid_crc_is_corrupt() {
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut b = batch(3, &[1000], codec);
        for byte in &mut b[61..] {
            *byte ^= 0x5a;
        }
        fix_crc(&mut b);
        let err = validate_produced(&b.freeze()).expect_err("garbage");
        assert!(
            matches!(
                err,
                BatchError::Records { .. } | BatchError::RecordCount { .. }
            ),
            "{codec:?}: {err}"
        );
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_bound() {
    // 80 MiB of zeros compress to a few KiB of zstd.
    let zeros = vec![0u8; 80 * 1024 * 1024];
    let compressed = zstd::stream::encode_all(&zeros[..], 3).expect("zstd");
    let mut b = batch(1, &[1000], Compression::Zstd);
    b.truncate(61);
    b.extend_from_slice(&compressed);
    let len = i32::try_from(b.len() - 12).expect("len");
    b[8..12].copy_from_slice(&len.to_be_bytes());
    fix_crc(&mut b);
    let err = validate_produced(&b.freeze()).expect_err("bomb");
    assert!(
        matches!(
            err,
            BatchError::Records {
                source: RecordsError::TooLarge,
                ..
            } | BatchError::Records { .. }
        ),
        "{err}"
    );
}

fn policy(compression: Option<Codec>, log_append_time: bool) -> ProducePolicy {
    ProducePolicy {
        max_message_bytes: 1 << 20,
        compression,
        log_append_time,
    }
}

fn decoded(records: &Bytes) -> Vec<Record> {
    let mut input = records.clone();
    RecordBatchDecoder::decode(&mut input)
        .expect("decode")
        .records
}

#[test]
fn a_named_codec_recompresses_and_keeps_records_and_sequences() {
    let original = batch(20, &[1000, 3000], Compression::Lz4).freeze();
    let batches = validate_produced(&original).expect("valid");
    for (target, id) in [
        (Codec::Gzip, 1),
        (Codec::None, 0),
        (Codec::Zstd, 4),
        (Codec::Snappy, 2),
    ] {
        let p = prepare(
            original.clone(),
            batches.clone(),
            &policy(Some(target), false),
            0,
        )
        .expect("prepared");
        assert_eq!(i16::from(p.records[22]) & 7, id);
        let again = validate_produced(&p.records).expect("rewritten batch valid");
        assert_eq!(again[0].base_sequence, 10);
        assert_eq!(again[0].producer_id, 7);
        assert_eq!(again[0].record_count, 20);
        let values: Vec<_> = decoded(&p.records).into_iter().map(|r| r.value).collect();
        let before: Vec<_> = decoded(&original).into_iter().map(|r| r.value).collect();
        assert_eq!(values, before);
    }
    let kept = prepare(original.clone(), batches, &policy(None, false), 0).expect("kept");
    assert_eq!(kept.records, original);
}

#[test]
fn log_append_time_stamps_the_batch_and_keeps_its_crc_valid() {
    let original = batch(5, &[1000], Compression::Gzip).freeze();
    let batches = validate_produced(&original).expect("valid");
    let p = prepare(original, batches, &policy(None, true), 1_234_567).expect("stamped");
    assert_eq!(p.log_append_time_ms, Some(1_234_567));
    let again = validate(&p.records).expect("CRC still valid");
    assert_eq!(again[0].max_timestamp, 1_234_567);
    assert!(decoded(&p.records)
        .iter()
        .all(|r| r.timestamp_type == TimestampType::LogAppend));
    let found = lookup::first_at_or_after(&p.records, 0, 1_000_000).expect("found");
    assert_eq!((found.offset, found.timestamp), (0, 1_234_567));
}

#[test]
fn max_message_bytes_refuses_a_larger_batch() {
    let original = batch(50, &[1000], Compression::None).freeze();
    let batches = validate_produced(&original).expect("valid");
    let small = ProducePolicy {
        max_message_bytes: 100,
        ..policy(None, false)
    };
    let err = prepare(original, batches, &small, 0).expect_err("too large");
    assert!(
        matches!(err, BackendError::MessageTooLarge { limit: 100, .. }),
        "{err}"
    );
}

#[test]
fn lookups_resolve_single_records() {
    let b = batch(6, &[1000, 9000, 2000, 5000, 9000, 100], Compression::Snappy).freeze();
    let found = lookup::first_at_or_after(&b, 0, 4000).expect("found");
    assert_eq!((found.offset, found.timestamp), (1, 9000));
    let found = lookup::first_at_or_after(&b, 2, 4000).expect("found");
    assert_eq!((found.offset, found.timestamp), (3, 5000));
    let max = lookup::max_timestamp(&b).expect("max");
    assert_eq!((max.offset, max.timestamp), (1, 9000));
    assert_eq!(lookup::first_at_or_after(&b, 0, 10_000), None);
}

#[test]
fn the_policy_reads_the_topic_values() {
    let p = ProducePolicy::from_config(|k| match k {
        "compression.type" => "zstd".into(),
        "max.message.bytes" => "2000".into(),
        "message.timestamp.type" => "LogAppendTime".into(),
        _ => String::new(),
    });
    assert_eq!(
        p,
        ProducePolicy {
            max_message_bytes: 2000,
            compression: Some(Codec::Zstd),
            log_append_time: true
        }
    );
    let d = ProducePolicy::default();
    assert_eq!(
        d,
        ProducePolicy {
            max_message_bytes: 1_048_588,
            compression: None,
            log_append_time: false
        }
    );
}
