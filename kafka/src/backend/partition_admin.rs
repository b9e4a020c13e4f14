//! Types of the partition admin APIs crossing the [`super::Backend`]
//! boundary: OffsetForLeaderEpoch, DescribeProducers, DescribeLogDirs and
//! ElectLeaders.

use crate::leader_epochs::EpochEndOffset;

/// What OffsetForLeaderEpoch answers for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochLookup {
    /// The end offset of the requested epoch.
    EndOffset(EpochEndOffset),
    /// The client's current leader epoch is older than the partition's
    /// (`FENCED_LEADER_EPOCH`: its metadata is stale).
    FencedLeaderEpoch,
    /// The client's current leader epoch is newer than the partition's
    /// (`UNKNOWN_LEADER_EPOCH`: this broker has not caught up yet).
    UnknownLeaderEpoch,
}

impl EpochLookup {
    /// Kafka's check of a request's `current_leader_epoch` against the
    /// partition's `epoch` (`-1` in the request skips it); `None` when it
    /// passes.
    pub fn check_current(current_leader_epoch: i32, epoch: i32) -> Option<Self> {
        if current_leader_epoch < 0 || current_leader_epoch == epoch {
            None
        } else if current_leader_epoch < epoch {
            Some(Self::FencedLeaderEpoch)
        } else {
            Some(Self::UnknownLeaderEpoch)
        }
    }
}

/// One replica held in a log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLog {
    /// The partition.
    pub partition: super::TopicPartition,
    /// Bytes of record batches this replica stores.
    pub size: i64,
    /// How far this replica's log end lags behind the partition's high
    /// watermark, in offsets.
    pub offset_lag: i64,
}

/// The log directory of a broker (Chronik: one per broker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirDescription {
    /// Absolute path of the directory.
    pub path: String,
    /// Size of the file system holding it (`-1` when unknown).
    pub total_bytes: i64,
    /// Bytes still usable on that file system (`-1` when unknown).
    pub usable_bytes: i64,
    /// Every replica this broker holds, by topic and partition.
    pub replicas: Vec<ReplicaLog>,
}

/// Which election ElectLeaders asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Move leadership to the preferred replica (election type 0).
    Preferred,
    /// Elect a replica outside the in-sync set when none is in it (1).
    Unclean,
}

impl ElectionType {
    /// The wire value's meaning (`None` for an unknown value).
    pub fn from_wire(value: i8) -> Option<Self> {
        match value {
            0 => Some(Self::Preferred),
            1 => Some(Self::Unclean),
            _ => None,
        }
    }
}

/// How an election of one partition ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionOutcome {
    /// Leadership moved as asked.
    Elected,
    /// Nothing to do (`ELECTION_NOT_NEEDED`): the preferred replica
    /// already leads, or (unclean) the partition has a leader.
    NotNeeded,
    /// The preferred replica cannot take leadership now
    /// (`PREFERRED_LEADER_NOT_AVAILABLE`).
    PreferredLeaderNotAvailable,
    /// No replica may be elected (`ELIGIBLE_LEADERS_NOT_AVAILABLE`).
    EligibleLeadersNotAvailable,
}
