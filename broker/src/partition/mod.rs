//! Kafka partitions replicated by their own Raft groups: the state shared
//! between the Raft task (which applies entries) and the Kafka read path
//! (which serves committed data straight from raft-engine).

mod command;
mod compaction;
mod epochs;
mod index;
mod records;
mod retention;
mod snapshot;

pub use command::PartitionCommand;
pub use compaction::{batch_bounds, compact, Compacted, CompactionError, CompactionParams};
pub use epochs::epoch_of;
pub use index::{IndexEntry, Location, PartitionIndex};
pub use records::rewrite_base_offsets;
pub use retention::{is_compacted, topic_config, InvalidRetention, RetentionPolicy};
pub use snapshot::{PartitionSnapshot, SnapshotDecodeError};

use crate::storage::LogEngine;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::watch;

/// One partition as seen by the read path.
#[derive(Debug)]
pub struct PartitionShared {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The Raft group replicating it (its partition group).
    pub raft_group_id: u64,
    index: RwLock<PartitionIndex>,
    /// Where each leader epoch (Raft term) starts (see [`epochs`]).
    epochs: RwLock<chronik_kafka::leader_epochs::LeaderEpochCache>,
    leader: AtomicU64,
    term: AtomicU64,
}

impl PartitionShared {
    /// An empty partition replicated by Raft group `raft_group_id`.
    pub fn new(topic: &str, partition: i32, raft_group_id: u64) -> Self {
        Self {
            topic: topic.to_string(),
            partition,
            raft_group_id,
            index: RwLock::new(PartitionIndex::default()),
            epochs: RwLock::default(),
            leader: AtomicU64::new(0),
            term: AtomicU64::new(0),
        }
    }

    /// Reads the committed index.
    pub fn index(&self) -> RwLockReadGuard<'_, PartitionIndex> {
        // A poisoned lock means a panic elsewhere mid-update; the index is
        // only appended to or trimmed at the front, so keep serving.
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Updates the committed index (Raft task only).
    pub fn index_mut(&self) -> RwLockWriteGuard<'_, PartitionIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The node leading the group (0 when unknown).
    pub fn leader(&self) -> u64 {
        self.leader.load(Ordering::Acquire)
    }

    /// The group's current Raft term (used as Kafka leader epoch).
    pub fn term(&self) -> u64 {
        self.term.load(Ordering::Acquire)
    }

    /// Publishes who leads the group.
    pub fn set_leader(&self, leader: u64, term: u64) {
        self.leader.store(leader, Ordering::Release);
        self.term.store(term, Ordering::Release);
    }
}

/// Every partition known locally, by (topic, partition).
pub struct PartitionRegistry {
    node_id: u64,
    engine: Arc<LogEngine>,
    partitions: RwLock<HashMap<(String, i32), Arc<PartitionShared>>>,
    changes: watch::Sender<u64>,
    /// `producer.id.expiration.ms` of every partition's producer table.
    producer_expiration_ms: i64,
}

impl PartitionRegistry {
    /// An empty registry reading from `engine`.
    pub fn new(node_id: u64, engine: Arc<LogEngine>) -> Self {
        let (changes, _) = watch::channel(0);
        Self {
            node_id,
            engine,
            partitions: RwLock::new(HashMap::new()),
            changes,
            producer_expiration_ms: chronik_kafka::idempotence::DEFAULT_PRODUCER_ID_EXPIRATION_MS,
        }
    }

    /// The same registry with idempotent producers expiring after
    /// `expiration_ms` of partition clock (`producer.id.expiration.ms`).
    pub fn with_producer_expiration_ms(mut self, expiration_ms: i64) -> Self {
        self.producer_expiration_ms = expiration_ms;
        self
    }

    /// `producer.id.expiration.ms` of every partition.
    pub fn producer_expiration_ms(&self) -> i64 {
        self.producer_expiration_ms
    }

    /// This node's id.
    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// The log store holding every group's entries.
    pub fn engine(&self) -> &Arc<LogEngine> {
        &self.engine
    }

    /// Looks a partition up.
    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<PartitionShared>> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(topic.to_string(), partition))
            .cloned()
    }

    /// Registers a partition.
    pub fn insert(&self, shared: Arc<PartitionShared>) {
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((shared.topic.clone(), shared.partition), shared);
    }

    /// Forgets a partition.
    pub fn remove(&self, topic: &str, partition: i32) {
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(topic.to_string(), partition));
    }

    /// Tells Fetch long polls that committed data grew.
    pub fn notify_changes(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver of [`Self::notify_changes`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}
