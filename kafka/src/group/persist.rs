//! Persisting group membership through a [`GroupStore`] (the backend), like
//! Kafka's group metadata records: the record of a group, a group rebuilt
//! from its record on a new coordinator, and the queue that writes records
//! in the order the coordinator produced them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use kafka_protocol::ResponseError;
use tokio::sync::{mpsc, oneshot};

use super::state::{Group, Member};
use super::GroupState;
use crate::backend::{StoredGroup, StoredMember};

/// Records waiting to be written; past this a record from the timer is
/// dropped (the next rebalance writes the group again).
const QUEUE: usize = 1024;

/// A boxed, sendable future (what [`GroupStore::store`] returns).
pub type StoreFuture = Pin<Box<dyn Future<Output = Result<(), ResponseError>> + Send>>;

/// Where a coordinator writes group records (the broker's backend).
pub trait GroupStore: Send + Sync + 'static {
    /// Writes `group` as the coordinator of `epoch`.
    fn store(&self, epoch: u64, group: StoredGroup) -> StoreFuture;
}

struct Job {
    epoch: u64,
    group: StoredGroup,
    done: Option<oneshot::Sender<Result<(), ResponseError>>>,
}

/// Writes records one at a time, in order, on a task of its own.
#[derive(Debug, Clone)]
pub(crate) struct StoreQueue {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("epoch", &self.epoch)
            .field("group", &self.group.group_id)
            .finish()
    }
}

impl StoreQueue {
    /// Starts the writer task; it ends when the queue is dropped.
    pub(crate) fn start(store: Arc<dyn GroupStore>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let id = job.group.group_id.clone();
                let result = store.store(job.epoch, job.group).await;
                if let Err(e) = &result {
                    tracing::debug!(group = %id, error = ?e, "group record not stored");
                }
                if let Some(done) = job.done {
                    let _ = done.send(result);
                }
            }
        });
        Self { tx }
    }

    /// Writes `group` and resolves once it is stored (or refused).
    pub(crate) async fn store(&self, epoch: u64, group: StoredGroup) -> Result<(), ResponseError> {
        let (done, rx) = oneshot::channel();
        let job = Job {
            epoch,
            group,
            done: Some(done),
        };
        if self.tx.send(job).await.is_err() {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        rx.await
            .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))
    }

    /// Queues `group` without waiting (from the timer, under the lock).
    pub(crate) fn store_later(&self, epoch: u64, group: StoredGroup) {
        let job = Job {
            epoch,
            group,
            done: None,
        };
        if let Err(e) = self.tx.try_send(job) {
            tracing::warn!(error = %e, "group record queue full: record dropped");
        }
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// The record of `group` as it is now.
pub(crate) fn record_of(group_id: &str, group: &Group) -> StoredGroup {
    let protocol = group.protocol.clone().unwrap_or_default();
    StoredGroup {
        group_id: group_id.to_owned(),
        protocol_type: group.protocol_type.clone().unwrap_or_default(),
        generation: group.generation,
        protocol: protocol.clone(),
        leader: group.leader.clone().unwrap_or_default(),
        members: group
            .members
            .values()
            .map(|m| StoredMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                session_timeout_ms: millis(m.session_timeout),
                rebalance_timeout_ms: millis(m.rebalance_timeout),
                subscription: m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == protocol)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default(),
                assignment: m.assignment.clone(),
            })
            .collect(),
    }
}

fn duration(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A group rebuilt from its record on a new coordinator: Stable with its
/// members (whose sessions start now, as Kafka schedules their heartbeat
/// deadlines at load), or Empty.
pub(crate) fn group_from(record: StoredGroup, now: Instant) -> Group {
    let mut group = Group::new();
    group.generation = record.generation;
    group.protocol_type = (!record.protocol_type.is_empty()).then_some(record.protocol_type);
    if record.members.is_empty() {
        return group;
    }
    let protocol = record.protocol;
    group.protocol = Some(protocol.clone());
    group.leader = (!record.leader.is_empty()).then_some(record.leader);
    group.state = GroupState::Stable;
    let mut members = BTreeMap::new();
    let mut instances = HashMap::new();
    for m in record.members {
        if let Some(instance) = &m.group_instance_id {
            instances.insert(instance.clone(), m.member_id.clone());
        }
        members.insert(
            m.member_id.clone(),
            Member {
                id: m.member_id,
                instance_id: m.group_instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout: duration(m.session_timeout_ms),
                rebalance_timeout: duration(m.rebalance_timeout_ms),
                protocols: vec![(protocol.clone(), m.subscription)],
                assignment: m.assignment,
                last_seen: now,
                join_waiter: None,
                sync_waiter: None,
            },
        );
    }
    group.members = members;
    group.instances = instances;
    group
}

/// The topics a consumer-protocol member subscribed to: its metadata is a
/// `ConsumerProtocolSubscription` (version, then the topic names as an
/// array of strings in every version). Read by hand so that a hostile
/// count allocates nothing; `None` when it does not parse.
pub(crate) fn subscribed_topics(metadata: &Bytes) -> Option<BTreeSet<String>> {
    let mut buf = metadata.clone();
    if buf.remaining() < 6 {
        return None;
    }
    let _version = buf.get_i16();
    let count = buf.get_i32();
    let mut topics = BTreeSet::new();
    for _ in 0..count.max(0) {
        if buf.remaining() < 2 {
            return None;
        }
        let len = usize::try_from(buf.get_i16()).ok()?;
        if buf.remaining() < len {
            return None;
        }
        let name = buf.split_to(len);
        topics.insert(String::from_utf8_lossy(&name).into_owned());
    }
    Some(topics)
}
