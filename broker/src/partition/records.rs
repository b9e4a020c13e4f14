//! Rewrites base offsets of stored record batches when they are read.

use bytes::BytesMut;

/// Bytes of a v2 batch header before `lastOffsetDelta`.
const LAST_OFFSET_DELTA_AT: usize = 23;
/// Bytes of the base offset and length fields.
const LOG_OVERHEAD: usize = 12;

fn read_i32(data: &[u8], at: usize) -> Option<i32> {
    let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(i32::from_be_bytes(bytes))
}

/// Appends the record batches in `data` to `out` with base offsets running
/// from `base` (the CRC does not cover the base offset). `data` was validated
/// when produced; a truncated tail is left out rather than trusted.
pub fn rewrite_base_offsets(data: &[u8], base: i64, out: &mut BytesMut) {
    let mut pos = 0usize;
    let mut next = base;
    while pos + LOG_OVERHEAD <= data.len() {
        let Some(len) = read_i32(data, pos + 8).and_then(|l| usize::try_from(l).ok()) else {
            return;
        };
        let end = pos + LOG_OVERHEAD + len;
        let Some(delta) = read_i32(data, pos + LAST_OFFSET_DELTA_AT) else {
            return;
        };
        if end > data.len() {
            return;
        }
        out.extend_from_slice(&next.to_be_bytes());
        out.extend_from_slice(&data[pos + 8..end]);
        next += i64::from(delta) + 1;
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake batch: only the fields the rewrite reads are meaningful.
    fn batch(last_offset_delta: i32, body: usize) -> Vec<u8> {
        let mut b = vec![0u8; LOG_OVERHEAD + body];
        b[8..12].copy_from_slice(&(body as i32).to_be_bytes());
        b[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4]
            .copy_from_slice(&last_offset_delta.to_be_bytes());
        b
    }

    fn base_at(data: &[u8], at: usize) -> i64 {
        i64::from_be_bytes(data[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn base_offsets_run_on_across_batches_and_a_torn_tail_is_dropped() {
        let mut data = batch(2, 60);
        data.extend(batch(0, 70));
        let whole = data.len();
        data.extend(&batch(4, 80)[..30]);
        let mut out = BytesMut::new();
        rewrite_base_offsets(&data, 100, &mut out);
        assert_eq!(out.len(), whole);
        assert_eq!(base_at(&out, 0), 100);
        assert_eq!(base_at(&out, LOG_OVERHEAD + 60), 103);
    }
}
