//! The partition admin APIs over Raft: OffsetForLeaderEpoch from the
//! partition's leader epochs (epoch = the partition group's Raft term, see
//! `partition::epochs`), DescribeProducers from the leader's replicated
//! producer state, DescribeLogDirs from the replicas this node holds, and
//! ElectLeaders as Raft leader transfers to the preferred replica (started
//! here when this node leads the partition or is its preferred leader,
//! otherwise asked of them through the metadata log).

use super::error::unavailable;
use super::RaftBackend;
use crate::node::PreferredElection;
use crate::partition::PartitionShared;
use crate::state_machine::elect_preferred_command;
use chronik_kafka::backend::{
    BackendResult, ElectionOutcome, ElectionType, EpochLookup, LogDirDescription, ReplicaLog,
    TopicPartition,
};
use chronik_kafka::idempotence::ActiveProducer;
use chronik_kafka::BackendError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often an election checks whether leadership moved.
const ELECTION_POLL: Duration = Duration::from_millis(20);

impl RaftBackend {
    /// The same backend reporting `dir` as its log directory (DescribeLogDirs).
    pub fn with_log_dir(mut self, dir: PathBuf) -> Self {
        self.log_dir = dir;
        self
    }

    fn partition(&self, tp: &TopicPartition) -> BackendResult<Arc<PartitionShared>> {
        self.registry
            .get(&tp.topic, tp.partition)
            .ok_or_else(|| BackendError::UnknownPartition {
                topic: tp.topic.clone(),
                partition: tp.partition,
            })
    }

    pub(super) fn epoch_end_offset(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> BackendResult<EpochLookup> {
        let shared = self.partition(tp)?;
        // Kafka checks the client's epoch before leadership.
        let fenced = shared.end_offset_for(current_leader_epoch, leader_epoch);
        if !matches!(fenced, EpochLookup::EndOffset(_)) {
            return Ok(fenced);
        }
        let shared = self.led_partition(tp)?;
        Ok(shared.end_offset_for(current_leader_epoch, leader_epoch))
    }

    pub(super) async fn partition_producers(
        &self,
        tp: &TopicPartition,
    ) -> BackendResult<Vec<ActiveProducer>> {
        let shared = self.led_partition(tp)?;
        self.node
            .active_producers(shared.raft_group_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| BackendError::UnknownPartition {
                topic: tp.topic.clone(),
                partition: tp.partition,
            })
    }

    /// Every replica this node holds. The offset lag is Kafka's for a
    /// current (not future) log, high watermark minus log end on this
    /// replica: 0, since a replica's log ends at its committed end.
    pub(super) async fn log_dir(&self) -> BackendResult<LogDirDescription> {
        let held = self.node.held_replicas().await.map_err(unavailable)?;
        let mut replicas: Vec<ReplicaLog> = held
            .iter()
            .map(|shared| ReplicaLog {
                partition: TopicPartition::new(shared.topic.clone(), shared.partition),
                size: i64::try_from(shared.index().total_size()).unwrap_or(i64::MAX),
                offset_lag: 0,
            })
            .collect();
        replicas.sort_by(|a, b| a.partition.cmp(&b.partition));
        Ok(LogDirDescription {
            path: self.log_dir.display().to_string(),
            total_bytes: -1,
            usable_bytes: -1,
            replicas,
        })
    }

    pub(super) async fn election(
        &self,
        tp: &TopicPartition,
        election: ElectionType,
        timeout: Duration,
    ) -> BackendResult<ElectionOutcome> {
        let shared = self.partition(tp)?;
        if election == ElectionType::Unclean {
            // Raft elects only a replica holding every committed entry: an
            // unclean election is never needed while a leader exists and
            // never possible without one.
            return Ok(if shared.leader() != raft::INVALID_ID {
                ElectionOutcome::NotNeeded
            } else {
                ElectionOutcome::EligibleLeadersNotAvailable
            });
        }
        let started = self
            .node
            .elect_preferred(shared.raft_group_id)
            .await
            .map_err(unavailable)?;
        let preferred = match started {
            PreferredElection::AlreadyLeads => return Ok(ElectionOutcome::NotNeeded),
            PreferredElection::Unavailable | PreferredElection::NotHeld => {
                return Ok(ElectionOutcome::PreferredLeaderNotAvailable)
            }
            PreferredElection::Transferring { preferred } => preferred,
            PreferredElection::LeftToLeader { preferred } => {
                // The leader (or the preferred leader) acts when it applies this.
                let command = elect_preferred_command(vec![shared.raft_group_id]);
                self.node.forward(command).await.map_err(unavailable)?;
                preferred
            }
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if shared.leader() == preferred {
                return Ok(ElectionOutcome::Elected);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(ElectionOutcome::PreferredLeaderNotAvailable);
            }
            tokio::time::sleep(ELECTION_POLL).await;
        }
    }
}
