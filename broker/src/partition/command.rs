//! Commands in a partition's Raft log beside produced record batches:
//! compaction (decided by the leader, carrying its clock and the topic
//! config so every replica compacts identically) and DeleteRecords (the log
//! start offset moved).
//!
//! A command entry starts with a marker no record set can start with: eight
//! marker bytes and then a batch length of `-1`, which batch validation
//! refuses, so a produced entry is never taken for a command.

use super::compaction::CompactionParams;

/// Eight marker bytes, then `-1` where a batch has its length.
const MARKER: &[u8; 12] = b"chronik\x01\xff\xff\xff\xff";
const TAG_COMPACT: u8 = 1;
const TAG_DELETE_RECORDS: u8 = 2;

/// A command of a partition's Raft log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionCommand {
    /// Compact the whole log as it stands when this entry applies.
    Compact(CompactionParams),
    /// Move the log start offset to `offset` (at most the high watermark
    /// when it applies).
    DeleteRecords {
        /// The new log start offset.
        offset: i64,
    },
}

fn i64_at(data: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

impl PartitionCommand {
    /// The entry data of the command.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MARKER.to_vec();
        match self {
            Self::Compact(p) => {
                out.push(TAG_COMPACT);
                for v in [
                    p.now_ms,
                    p.min_compaction_lag_ms,
                    p.delete_retention_ms,
                    p.retention_ms.unwrap_or(-1),
                    p.retention_bytes
                        .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
                ] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            Self::DeleteRecords { offset } => {
                out.push(TAG_DELETE_RECORDS);
                out.extend_from_slice(&offset.to_be_bytes());
            }
        }
        out
    }

    /// Whether `data` is a command entry (rather than record batches).
    pub fn is_command(data: &[u8]) -> bool {
        data.starts_with(MARKER)
    }

    /// Decodes a command entry; `None` for one this version does not know
    /// or a malformed one (every replica skips it alike).
    pub fn decode(data: &[u8]) -> Option<Self> {
        let body = data.strip_prefix(MARKER.as_slice())?;
        let (&tag, args) = body.split_first()?;
        match tag {
            TAG_COMPACT => Some(Self::Compact(CompactionParams {
                now_ms: i64_at(args, 0)?,
                min_compaction_lag_ms: i64_at(args, 8)?,
                delete_retention_ms: i64_at(args, 16)?,
                retention_ms: Some(i64_at(args, 24)?).filter(|v| *v >= 0),
                retention_bytes: u64::try_from(i64_at(args, 32)?).ok(),
            })),
            TAG_DELETE_RECORDS => Some(Self::DeleteRecords {
                offset: i64_at(args, 0)?,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_are_never_record_sets() {
        let compact = PartitionCommand::Compact(CompactionParams {
            now_ms: 123,
            min_compaction_lag_ms: 4,
            delete_retention_ms: 5,
            retention_ms: None,
            retention_bytes: Some(1 << 20),
        });
        let delete = PartitionCommand::DeleteRecords { offset: 42 };
        for c in [compact, delete] {
            let data = c.encode();
            assert!(PartitionCommand::is_command(&data));
            assert_eq!(PartitionCommand::decode(&data), Some(c));
            let records = bytes::Bytes::from(data);
            assert!(chronik_kafka::batch::validate(&records).is_err());
        }
        assert_eq!(
            PartitionCommand::decode(b"chronik\x01\xff\xff\xff\xff\x09"),
            None
        );
        assert!(!PartitionCommand::is_command(&[0u8; 70]));
    }
}
