//! The snapshot of a partition group at its retention or compaction point.
//!
//! Retention and compaction delete every entry up to the snapshot's Raft
//! index. A retention snapshot holds no records: only where the log now
//! starts and the idempotent-producer state as it was after the last
//! deleted entry (the state the entries after it are applied on top of). A
//! compaction snapshot also holds the compacted segment: every record kept
//! up to its index, absolute offsets.

use bytes::Bytes;
use chronik_kafka::idempotence::{ProducerStateDecodeError, ProducerStateTable};

/// Format version written first: 1 = log start and producers (written
/// before compaction existed), 2 = with the next offset and the segment.
const VERSION_1: u8 = 1;
const VERSION: u8 = 2;

/// A partition snapshot that cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotDecodeError {
    /// Too short for its header, or an unknown version.
    #[error("partition snapshot header is malformed")]
    Header,
    /// The producer state is malformed.
    #[error("partition snapshot: {0}")]
    Producers(#[from] ProducerStateDecodeError),
}

/// What a partition replica needs to continue after the retention point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionSnapshot {
    /// The log start offset: offset after the last deleted record.
    pub log_start_offset: i64,
    /// Offset after the last record up to the snapshot's index (the high
    /// watermark there); a compacted log may end in removed offsets.
    pub next_offset: i64,
    /// Producer sequence state after the last deleted entry.
    pub producers: ProducerStateTable,
    /// The compacted record batches (empty for a retention snapshot).
    pub segment: Bytes,
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], SnapshotDecodeError> {
    if data.len() < n {
        return Err(SnapshotDecodeError::Header);
    }
    let (head, rest) = data.split_at(n);
    *data = rest;
    Ok(head)
}

fn take_i64(data: &mut &[u8]) -> Result<i64, SnapshotDecodeError> {
    let b: [u8; 8] = take(data, 8)?
        .try_into()
        .map_err(|_| SnapshotDecodeError::Header)?;
    Ok(i64::from_be_bytes(b))
}

impl PartitionSnapshot {
    /// Encodes the snapshot as the Raft snapshot's data.
    pub fn encode(&self) -> Vec<u8> {
        let producers = self.producers.encode();
        let mut out = Vec::with_capacity(29 + producers.len() + self.segment.len());
        out.push(VERSION);
        out.extend_from_slice(&self.log_start_offset.to_be_bytes());
        out.extend_from_slice(&self.next_offset.to_be_bytes());
        out.extend_from_slice(&(producers.len() as u64).to_be_bytes());
        out.extend_from_slice(&producers);
        out.extend_from_slice(&self.segment);
        out
    }

    /// Decodes [`Self::encode`]'s output; empty data is the empty partition.
    pub fn decode(data: &[u8]) -> Result<Self, SnapshotDecodeError> {
        if data.is_empty() {
            return Ok(Self::default());
        }
        let (&version, mut rest) = data.split_first().ok_or(SnapshotDecodeError::Header)?;
        let log_start_offset = take_i64(&mut rest)?;
        match version {
            VERSION_1 => Ok(Self {
                log_start_offset,
                next_offset: log_start_offset,
                producers: ProducerStateTable::decode(rest)?,
                segment: Bytes::new(),
            }),
            VERSION => {
                let next_offset = take_i64(&mut rest)?;
                let len = usize::try_from(take_i64(&mut rest)?)
                    .map_err(|_| SnapshotDecodeError::Header)?;
                let producers = ProducerStateTable::decode(take(&mut rest, len)?)?;
                Ok(Self {
                    log_start_offset,
                    next_offset,
                    producers,
                    segment: Bytes::copy_from_slice(rest),
                })
            }
            _ => Err(SnapshotDecodeError::Header),
        }
    }

    /// The index this snapshot restores, written at Raft index `raft_index`.
    pub fn index(&self, raft_index: u64) -> super::PartitionIndex {
        super::PartitionIndex::compacted(
            self.log_start_offset,
            self.next_offset,
            raft_index,
            self.segment.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let snap = PartitionSnapshot {
            log_start_offset: 4242,
            next_offset: 5000,
            producers: ProducerStateTable::new(),
            segment: Bytes::from_static(b"batches"),
        };
        assert_eq!(PartitionSnapshot::decode(&snap.encode()).ok(), Some(snap));
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&7i64.to_be_bytes());
        v1.extend_from_slice(&ProducerStateTable::new().encode());
        let old = PartitionSnapshot::decode(&v1).ok();
        assert_eq!(
            old.map(|s| (s.log_start_offset, s.next_offset)),
            Some((7, 7))
        );
        assert_eq!(
            PartitionSnapshot::decode(&[]).ok(),
            Some(PartitionSnapshot::default())
        );
        assert!(PartitionSnapshot::decode(&[9, 0, 0]).is_err());
        assert!(PartitionSnapshot::decode(&[1, 0, 0, 0, 0, 0, 0, 0, 1, 7]).is_err());
    }
}
