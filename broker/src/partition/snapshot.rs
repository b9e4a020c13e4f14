//! The snapshot of a partition group at its retention point.
//!
//! Retention deletes every entry up to the snapshot's Raft index, so the
//! snapshot holds no records: only where the log now starts and the
//! idempotent-producer state as it was after the last deleted entry (the
//! state the entries after it are applied on top of).

use chronik_kafka::idempotence::{ProducerStateDecodeError, ProducerStateTable};

/// Format version written first.
const VERSION: u8 = 1;

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
    /// Producer sequence state after the last deleted entry.
    pub producers: ProducerStateTable,
}

impl PartitionSnapshot {
    /// Encodes the snapshot as the Raft snapshot's data.
    pub fn encode(&self) -> Vec<u8> {
        let producers = self.producers.encode();
        let mut out = Vec::with_capacity(9 + producers.len());
        out.push(VERSION);
        out.extend_from_slice(&self.log_start_offset.to_be_bytes());
        out.extend_from_slice(&producers);
        out
    }

    /// Decodes [`Self::encode`]'s output; empty data is the empty partition.
    pub fn decode(data: &[u8]) -> Result<Self, SnapshotDecodeError> {
        if data.is_empty() {
            return Ok(Self::default());
        }
        let (&version, rest) = data.split_first().ok_or(SnapshotDecodeError::Header)?;
        if version != VERSION || rest.len() < 8 {
            return Err(SnapshotDecodeError::Header);
        }
        let (start, producers) = rest.split_at(8);
        let start: [u8; 8] = start.try_into().map_err(|_| SnapshotDecodeError::Header)?;
        Ok(Self {
            log_start_offset: i64::from_be_bytes(start),
            producers: ProducerStateTable::decode(producers)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let snap = PartitionSnapshot {
            log_start_offset: 4242,
            producers: ProducerStateTable::new(),
        };
        assert_eq!(PartitionSnapshot::decode(&snap.encode()).ok(), Some(snap));
        assert_eq!(
            PartitionSnapshot::decode(&[]).ok(),
            Some(PartitionSnapshot::default())
        );
        assert!(PartitionSnapshot::decode(&[9, 0, 0]).is_err());
        assert!(PartitionSnapshot::decode(&[1, 0, 0, 0, 0, 0, 0, 0, 1, 7]).is_err());
    }
}
