//! The node's errors: what a request to the node can fail with
//! ([`NodeError`] for the metadata group, [`AppendError`] for a partition
//! group) and what stops the node task ([`FatalError`]). They speak of Raft
//! groups and members only; the HTTP API and the Kafka adapter map them to
//! their own answers.

use super::membership::MembershipError;
use crate::state_machine::{CommandRejection, DecodeError};
use crate::storage::StorageError;
use chronik_kafka::idempotence::SequenceError;
use std::time::Duration;

/// Why a request to the metadata group failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// Only the leader takes proposals; the caller retries there.
    #[error(
        "this node is not the leader (leader: {leader_id}, HTTP URL {leader_url:?}, \
         Raft URL {leader_raft_url:?})"
    )]
    NotLeader {
        /// The leader's node id (0 when unknown).
        leader_id: u64,
        /// The leader's HTTP API URL as it registered it ("" when unknown).
        leader_url: String,
        /// The leader's Raft URL ("" when unknown).
        leader_raft_url: String,
    },
    /// Raft refused the proposal, or another entry took its log index.
    #[error("the proposal was dropped: leadership changed before it committed")]
    Dropped,
    /// No answer within the request timeout (no quorum, most likely).
    #[error("timed out after {0:?} waiting for the cluster")]
    Timeout(Duration),
    #[error("the node is shutting down")]
    ShuttingDown,
    /// A membership step or leadership transfer was refused.
    #[error(transparent)]
    Membership(#[from] MembershipError),
    /// The command committed but the state machine refused it.
    #[error("the command was rejected: {0}")]
    Rejected(#[from] CommandRejection),
    /// The target did not take leadership within the transfer timeout.
    #[error("leadership transfer to {target} did not complete in time")]
    TransferTimedOut { target: u64 },
}

/// Why produced records were not appended to a partition group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// This node does not lead the group (any more): the entry was refused,
    /// replaced by another leader's, or leadership moved before it applied.
    #[error("this node does not lead partition group {partition_group} (leader: {leader_id})")]
    NotLeader {
        /// The partition group.
        partition_group: u64,
        /// The group's leader as this node knows it (0 when unknown).
        leader_id: u64,
    },
    /// The metadata lists the group but this node has not opened it yet.
    #[error("partition group {partition_group} is not open on this node yet")]
    GroupNotOpen {
        /// The partition group.
        partition_group: u64,
    },
    #[error("the node is shutting down")]
    ShuttingDown,
    /// A committed entry that does not hold a record set (never proposed by
    /// Chronik; every replica refuses it alike).
    #[error("entry {index} of partition group {partition_group} is not a valid record set")]
    InvalidEntry {
        /// The partition group.
        partition_group: u64,
        /// The entry's log index.
        index: u64,
    },
    /// The records break their idempotent producer's sequence rules.
    #[error("partition group {partition_group}: {source}")]
    Sequence {
        /// The partition group.
        partition_group: u64,
        /// The rule broken.
        #[source]
        source: SequenceError,
    },
}

/// A fatal error: the node stops rather than run on with doubtful state.
#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    /// raft-engine failed to read or write.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A committed metadata entry or snapshot does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// raft-rs refused an operation that must succeed (or an entry does not
    /// decode as a conf change).
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// A partition snapshot does not decode.
    #[error(transparent)]
    PartitionSnapshot(#[from] crate::partition::SnapshotDecodeError),
}
