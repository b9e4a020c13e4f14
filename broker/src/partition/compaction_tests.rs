//! Unit tests of log compaction.

use super::*;
use kafka_protocol::records::{Compression, TimestampType};

/// One batch of `(offset, timestamp, key, value)` records.
fn batch(records: &[(i64, i64, Option<&str>, Option<&str>)], compression: Compression) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .map(|(offset, ts, key, value)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: *offset,
            sequence: (*offset - records[0].0 - 1) as i32,
            timestamp: *ts,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: Default::default(),
        })
        .collect();
    let mut out = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .unwrap();
    out.freeze()
}

fn params(now_ms: i64) -> CompactionParams {
    CompactionParams {
        now_ms,
        min_compaction_lag_ms: 0,
        delete_retention_ms: 1000,
        retention_ms: None,
        retention_bytes: None,
    }
}

/// `(offset, key, value)` of every record of a segment.
fn contents(segment: &Bytes) -> Vec<(i64, Option<String>, Option<String>)> {
    let text = |b: &Option<Bytes>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    let mut buf = segment.clone();
    RecordBatchDecoder::decode_all(&mut buf)
        .unwrap()
        .into_iter()
        .flat_map(|s| s.records)
        .map(|r| (r.offset, text(&r.key), text(&r.value)))
        .collect()
}

fn row(offset: i64, key: &str, value: Option<&str>) -> (i64, Option<String>, Option<String>) {
    (offset, Some(key.into()), value.map(Into::into))
}

#[test]
fn the_latest_record_per_key_stays_at_its_offset_and_unkeyed_records_stay() {
    let input = vec![
        batch(
            &[
                (0, 10, Some("a"), Some("a1")),
                (1, 10, Some("b"), Some("b1")),
                (2, 10, None, Some("n")),
            ],
            Compression::None,
        ),
        batch(
            &[
                (3, 20, Some("a"), Some("a2")),
                (4, 20, Some("c"), Some("c1")),
            ],
            Compression::Gzip,
        ),
        batch(&[(5, 30, Some("c"), Some("c2"))], Compression::None),
    ];
    let out = compact(&input, 0, &params(100)).unwrap();
    assert_eq!(
        contents(&out.segment),
        vec![
            row(1, "b", Some("b1")),
            (2, None, Some("n".into())),
            row(3, "a", Some("a2")),
            row(5, "c", Some("c2")),
        ]
    );
    assert_eq!(out.log_start_offset, 0);
    assert_eq!(out.due_ms, None);
    let bounds = batch_bounds(&out.segment);
    assert_eq!(bounds.len(), 3);
    assert_eq!((bounds[0].base_offset, bounds[0].next_offset), (1, 3));
    // The untouched last batch is copied byte for byte.
    assert!(out.segment.ends_with(&input[2]));
    // Compacting again changes nothing (deterministic, idempotent).
    let again = compact(std::slice::from_ref(&out.segment), 0, &params(100)).unwrap();
    assert_eq!(again.segment, out.segment);
}

#[test]
fn tombstones_stay_until_delete_retention_passes_but_the_newest_record_always_stays() {
    let input = vec![batch(
        &[
            (0, 10, Some("a"), Some("a1")),
            (1, 10, Some("a"), None),
            (2, 10, Some("b"), Some("b1")),
            (3, 10, Some("b"), None),
        ],
        Compression::None,
    )];
    let young = compact(&input, 0, &params(500)).unwrap();
    assert_eq!(
        contents(&young.segment),
        vec![row(1, "a", None), row(3, "b", None)]
    );
    assert_eq!(young.due_ms, Some(1010));
    let old = compact(&[young.segment], 0, &params(5000)).unwrap();
    assert_eq!(contents(&old.segment), vec![row(3, "b", None)]);
}

#[test]
fn min_compaction_lag_protects_young_records_and_everything_after_them() {
    let input = vec![batch(
        &[
            (0, 100, Some("a"), Some("a1")),
            (1, 100, Some("a"), Some("a2")),
            (2, 900, Some("a"), Some("a3")),
            (3, 100, Some("b"), Some("b1")),
            (4, 950, Some("b"), Some("b2")),
        ],
        Compression::None,
    )];
    let p = CompactionParams {
        min_compaction_lag_ms: 500,
        ..params(1000)
    };
    let out = compact(&input, 0, &p).unwrap();
    assert_eq!(
        contents(&out.segment),
        vec![
            row(1, "a", Some("a2")),
            row(2, "a", Some("a3")),
            row(3, "b", Some("b1")),
            row(4, "b", Some("b2")),
        ]
    );
    assert_eq!(out.due_ms, Some(1400));
    let later = compact(&[out.segment], 0, &CompactionParams { now_ms: 2000, ..p }).unwrap();
    assert_eq!(
        contents(&later.segment),
        vec![row(2, "a", Some("a3")), row(4, "b", Some("b2"))]
    );
}

#[test]
fn records_below_the_log_start_go_and_compact_delete_retention_drops_old_batches() {
    let input = vec![
        batch(
            &[
                (0, 10, Some("a"), Some("a1")),
                (1, 10, Some("b"), Some("b1")),
            ],
            Compression::None,
        ),
        batch(&[(2, 10, Some("c"), Some("c1"))], Compression::Snappy),
        batch(&[(3, 5000, Some("d"), Some("d1"))], Compression::None),
    ];
    let below = compact(&input, 1, &params(100)).unwrap();
    assert_eq!(contents(&below.segment)[0], row(1, "b", Some("b1")));
    let p = CompactionParams {
        retention_ms: Some(1000),
        ..params(3000)
    };
    let out = compact(&input, 0, &p).unwrap();
    assert_eq!(contents(&out.segment), vec![row(3, "d", Some("d1"))]);
    assert_eq!(out.log_start_offset, 3);
    // The record stamped in the future becomes cleanable at its timestamp.
    assert_eq!(out.due_ms, Some(5000));
}
