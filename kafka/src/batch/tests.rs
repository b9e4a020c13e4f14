//! Batch validation and offset assignment.

use super::*;
use crate::test_support::{batch, Producer};

#[test]
fn valid_batches_are_summarised() {
    let mut records = BytesMut::from(&batch(3, Producer::NONE, 100)[..]);
    records.extend_from_slice(&batch(
        2,
        Producer {
            id: 5,
            epoch: 1,
            first_sequence: 7,
        },
        200,
    ));
    let records = records.freeze();
    let summaries = validate(&records).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[0].record_count, 3);
    assert_eq!(summaries[0].last_offset_delta, 2);
    assert_eq!(summaries[0].max_timestamp, 102);
    assert!(!summaries[0].is_idempotent());
    assert_eq!(summaries[1].position, summaries[0].size);
    assert_eq!(summaries[1].producer_id, 5);
    assert_eq!(summaries[1].base_sequence, 7);
    assert_eq!(summaries[1].last_sequence(), 8);
}

#[test]
fn crc_mismatch_is_corrupt() {
    let mut records = BytesMut::from(&batch(2, Producer::NONE, 1)[..]);
    let last = records.len() - 1;
    records[last] ^= 0xff;
    assert!(matches!(
        validate(&records.freeze()),
        Err(BatchError::Corrupt { position: 0, .. })
    ));
}

#[test]
fn truncated_and_short_batches_are_rejected() {
    let full = batch(2, Producer::NONE, 1);
    assert!(matches!(
        validate(&full.slice(..full.len() - 3)),
        Err(BatchError::Truncated { .. })
    ));
    assert!(matches!(
        validate(&full.slice(..20)),
        Err(BatchError::Truncated { .. })
    ));
    assert_eq!(validate(&Bytes::new()), Err(BatchError::Empty));
    let mut bad_len = BytesMut::from(&full[..]);
    bad_len[8..12].copy_from_slice(&3i32.to_be_bytes());
    assert!(matches!(
        validate(&bad_len.freeze()),
        Err(BatchError::InvalidLength { length: 3, .. })
    ));
}

#[test]
fn old_magic_is_rejected() {
    let mut records = BytesMut::from(&batch(1, Producer::NONE, 1)[..]);
    records[16] = 1;
    assert!(matches!(
        validate(&records.freeze()),
        Err(BatchError::UnsupportedMagic { magic: 1, .. })
    ));
}

#[test]
fn assigned_offsets_keep_the_crc_valid() {
    let mut records = BytesMut::from(&batch(3, Producer::NONE, 1)[..]);
    records.extend_from_slice(&batch(2, Producer::NONE, 1));
    let records = records.freeze();
    let summaries = validate(&records).unwrap_or_else(|e| panic!("{e}"));
    let (rewritten, next) = assign_offsets(&records, &summaries, 40);
    assert_eq!(next, 45);
    validate(&rewritten).unwrap_or_else(|e| panic!("{e}"));
    let mut buf = rewritten.clone();
    let sets = RecordBatchDecoder::decode_all(&mut buf).unwrap_or_else(|e| panic!("{e}"));
    let offsets: Vec<i64> = sets
        .iter()
        .flat_map(|s| s.records.iter().map(|r| r.offset))
        .collect();
    assert_eq!(offsets, vec![40, 41, 42, 43, 44]);
}
