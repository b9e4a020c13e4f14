//! The consumer group coordinator: membership of every group this broker
//! coordinates, in memory, written through a [`GroupStore`] when a
//! rebalance completes or a group becomes empty and loaded again by the
//! next coordinator (see `persist`). Committed offsets are not kept here;
//! they go through the [`crate::backend::Backend`].

mod persist;
mod state;
mod types;

pub use persist::{GroupStore, StoreFuture};

pub use types::{
    GroupDescription, GroupListing, GroupState, JoinOutcome, JoinParams, JoinedMember,
    MemberDescription, SyncOutcome, SyncParams,
};

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::backend::StoredGroup;
use persist::StoreQueue;
use state::{Group, Member};

/// [`GroupCoordinator::loaded_epoch`] before any load.
const NOT_LOADED: u64 = u64::MAX;

/// Accepted session timeouts.
const MIN_SESSION_TIMEOUT: Duration = Duration::from_millis(1_000);
const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(3_600);
/// How often rebalance deadlines and sessions are checked.
const TICK: Duration = Duration::from_millis(100);

/// A request answered at once, or one waiting for the group to move on.
enum Started<T> {
    Wait(oneshot::Receiver<T>),
    Done(T),
}

/// A SyncGroup whose assignment is being stored before members get it.
struct PendingSync {
    epoch: u64,
    record: StoredGroup,
    group_id: String,
    generation: i32,
    assignments: Vec<(String, Bytes)>,
}

/// In-memory group membership for the groups this broker coordinates.
#[derive(Debug)]
pub struct GroupCoordinator {
    groups: Mutex<HashMap<String, Group>>,
    /// Where records go; `None`: membership is not persisted.
    queue: Option<StoreQueue>,
    /// The coordinator epoch the groups were loaded at ([`NOT_LOADED`]).
    epoch: AtomicU64,
}

impl GroupCoordinator {
    /// Creates a coordinator that persists nothing and starts its timer
    /// task (rebalance deadlines, session expiry), which stops when the
    /// coordinator is dropped. Needs a Tokio runtime.
    pub fn start() -> Arc<Self> {
        Self::spawn(None)
    }

    /// Creates a coordinator writing group records to `store` (a rebalance
    /// completes only once its record is stored, as with Kafka).
    pub fn start_with_store(store: Arc<dyn GroupStore>) -> Arc<Self> {
        Self::spawn(Some(StoreQueue::start(store)))
    }

    fn spawn(queue: Option<StoreQueue>) -> Arc<Self> {
        let coordinator = Arc::new(Self {
            groups: Mutex::new(HashMap::new()),
            queue,
            epoch: AtomicU64::new(NOT_LOADED),
        });
        let weak: Weak<Self> = Arc::downgrade(&coordinator);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            // After a stall (a paused process) the ticks missed are not
            // fired in a burst: sessions are judged once per real tick.
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(c) = weak.upgrade() else { break };
                c.tick(Instant::now());
            }
        });
        coordinator
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs deadline and session checks for every group.
    pub fn tick(&self, now: Instant) {
        for (id, group) in self.lock().iter_mut() {
            let before = (group.state, group.generation);
            group.tick(now);
            self.store_if_emptied(id, before, group);
        }
    }

    /// The coordinator epoch the groups were loaded at, if any.
    pub fn loaded_epoch(&self) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::Acquire);
        (epoch != NOT_LOADED).then_some(epoch)
    }

    /// Replaces every group with the stored ones (this node became the
    /// coordinator at `epoch`). Requests waiting on a group of an earlier
    /// epoch are answered `NOT_COORDINATOR`.
    pub fn load(&self, epoch: u64, stored: Vec<StoredGroup>) {
        let now = Instant::now();
        let mut groups = self.lock();
        for group in groups.values_mut() {
            for member in group.members.values_mut() {
                if let Some(tx) = member.join_waiter.take() {
                    let _ = tx.send(JoinOutcome::error(
                        ResponseError::NotCoordinator,
                        member.id.clone(),
                    ));
                }
                if let Some(tx) = member.sync_waiter.take() {
                    let _ = tx.send(SyncOutcome::error(ResponseError::NotCoordinator));
                }
            }
        }
        groups.clear();
        for record in stored {
            groups.insert(record.group_id.clone(), persist::group_from(record, now));
        }
        self.epoch.store(epoch, Ordering::Release);
    }

    /// Queues the record of a group that just became empty.
    fn store_if_emptied(&self, id: &str, before: (GroupState, i32), group: &Group) {
        let emptied = group.state == GroupState::Empty
            && (before.0 != GroupState::Empty || before.1 != group.generation);
        if let (true, Some(queue), Some(epoch)) = (emptied, &self.queue, self.loaded_epoch()) {
            queue.store_later(epoch, persist::record_of(id, group));
        }
    }

    /// DeleteGroups: `Ok` when the group exists and has no members
    /// (`GROUP_ID_NOT_FOUND`, `NON_EMPTY_GROUP` otherwise).
    pub fn check_deletable(&self, group_id: &str) -> Result<(), ResponseError> {
        match self.lock().get(group_id) {
            None => Err(ResponseError::GroupIdNotFound),
            Some(g) if g.state != GroupState::Empty => Err(ResponseError::NonEmptyGroup),
            Some(_) => Ok(()),
        }
    }

    /// Forgets a deleted group (unless a member joined meanwhile).
    pub fn remove_empty(&self, group_id: &str) {
        let mut groups = self.lock();
        if groups
            .get(group_id)
            .is_some_and(|g| g.state == GroupState::Empty)
        {
            groups.remove(group_id);
        }
    }

    /// Records a group that exists through committed offsets only (a
    /// simple consumer's commit), as Kafka does.
    pub fn ensure_group(&self, group_id: &str) {
        self.lock()
            .entry(group_id.to_owned())
            .or_insert_with(Group::new);
    }

    /// OffsetDelete: the topics whose offsets may not be deleted because
    /// members are subscribed to them (none for an empty group);
    /// `GROUP_ID_NOT_FOUND` for an unknown group, `NON_EMPTY_GROUP` for a
    /// group with members that is not a consumer group.
    pub fn subscribed_topics(&self, group_id: &str) -> Result<BTreeSet<String>, ResponseError> {
        let groups = self.lock();
        let group = groups.get(group_id).ok_or(ResponseError::GroupIdNotFound)?;
        if group.state == GroupState::Empty {
            return Ok(BTreeSet::new());
        }
        if group.protocol_type.as_deref() != Some("consumer") {
            return Err(ResponseError::NonEmptyGroup);
        }
        Ok(group
            .members
            .values()
            .flat_map(|m| m.protocols.iter())
            .filter(|(name, _)| group.protocol.as_ref().is_none_or(|p| p == name))
            .filter_map(|(_, metadata)| persist::subscribed_topics(metadata))
            .flatten()
            .collect())
    }

    /// Handles JoinGroup; resolves when the join phase completes.
    pub async fn join(&self, params: JoinParams) -> JoinOutcome {
        let rx = match self.join_start(params) {
            Started::Wait(rx) => rx,
            Started::Done(outcome) => return outcome,
        };
        rx.await
            .unwrap_or_else(|_| JoinOutcome::error(ResponseError::UnknownMemberId, String::new()))
    }

    fn join_start(&self, p: JoinParams) -> Started<JoinOutcome> {
        if p.protocol_type.is_empty() || p.protocols.is_empty() {
            return Started::Done(JoinOutcome::error(
                ResponseError::InconsistentGroupProtocol,
                p.member_id,
            ));
        }
        if p.session_timeout < MIN_SESSION_TIMEOUT || p.session_timeout > MAX_SESSION_TIMEOUT {
            return Started::Done(JoinOutcome::error(
                ResponseError::InvalidSessionTimeout,
                p.member_id,
            ));
        }
        let now = Instant::now();
        let mut groups = self.lock();
        let group = groups.entry(p.group_id.clone()).or_insert_with(Group::new);
        let member_id = if p.member_id.is_empty() {
            let id = format!("{}-{}", p.client_id, Uuid::new_v4());
            if let Some(old) = p
                .group_instance_id
                .as_ref()
                .and_then(|i| group.instances.get(i).cloned())
            {
                // Static member restarting: the new id fences the old one.
                group.remove_member(&old);
            } else if p.require_known_member_id && p.group_instance_id.is_none() {
                group.pending.insert(id.clone(), now + p.session_timeout);
                return Started::Done(JoinOutcome::error(ResponseError::MemberIdRequired, id));
            }
            id
        } else if group.members.contains_key(&p.member_id)
            || group.pending.contains_key(&p.member_id)
        {
            p.member_id.clone()
        } else {
            return Started::Done(JoinOutcome::error(
                ResponseError::UnknownMemberId,
                p.member_id,
            ));
        };
        let existing = group.members.contains_key(&member_id);
        let others_accept = if existing && group.members.len() == 1 {
            true
        } else {
            let saved = group.members.remove(&member_id);
            let ok = group.accepts(&p.protocol_type, &p.protocols);
            if let Some(m) = saved {
                group.members.insert(member_id.clone(), m);
            }
            ok
        };
        if !others_accept {
            return Started::Done(JoinOutcome::error(
                ResponseError::InconsistentGroupProtocol,
                member_id,
            ));
        }
        group.pending.remove(&member_id);
        let (tx, rx) = oneshot::channel();
        if let Some(instance) = &p.group_instance_id {
            group.instances.insert(instance.clone(), member_id.clone());
        }
        let member = group
            .members
            .entry(member_id.clone())
            .or_insert_with(|| Member {
                id: member_id.clone(),
                instance_id: p.group_instance_id.clone(),
                client_id: p.client_id.clone(),
                client_host: p.client_host.clone(),
                session_timeout: p.session_timeout,
                rebalance_timeout: p.rebalance_timeout,
                protocols: Vec::new(),
                assignment: Bytes::new(),
                last_seen: now,
                join_waiter: None,
                sync_waiter: None,
            });
        member.protocols = p.protocols;
        member.session_timeout = p.session_timeout;
        member.rebalance_timeout = p.rebalance_timeout;
        member.last_seen = now;
        if let Some(old) = member.join_waiter.replace(tx) {
            let _ = old.send(JoinOutcome::error(
                ResponseError::UnknownMemberId,
                member_id.clone(),
            ));
        }
        group.protocol_type = Some(p.protocol_type);
        group.prepare_rebalance(now);
        group.try_complete_join();
        Started::Wait(rx)
    }

    /// Handles SyncGroup; followers wait for the leader's assignment, which
    /// is handed out once its record is stored (on a task of its own, so a
    /// leader that goes away does not leave the group waiting).
    pub async fn sync(self: &Arc<Self>, params: SyncParams) -> SyncOutcome {
        let (started, pending) = self.sync_start(params);
        if let (Some(p), Some(queue)) = (pending, self.queue.clone()) {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let stored = queue.store(p.epoch, p.record).await;
                me.finish_sync(&p.group_id, p.generation, p.assignments, stored);
            });
        }
        let rx = match started {
            Started::Wait(rx) => rx,
            Started::Done(outcome) => return outcome,
        };
        rx.await
            .unwrap_or_else(|_| SyncOutcome::error(ResponseError::RebalanceInProgress))
    }

    /// Hands out a stored assignment, or (not stored) tells the members and
    /// rebalances, as Kafka does.
    fn finish_sync(
        &self,
        group_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        stored: Result<(), ResponseError>,
    ) {
        let mut groups = self.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return;
        };
        if group.state != GroupState::CompletingRebalance || group.generation != generation {
            return;
        }
        match stored {
            Ok(()) => group.complete_sync(assignments),
            Err(e) => {
                for member in group.members.values_mut() {
                    member.assignment = Bytes::new();
                    if let Some(tx) = member.sync_waiter.take() {
                        let _ = tx.send(SyncOutcome::error(e));
                    }
                }
                group.prepare_rebalance(Instant::now());
            }
        }
    }

    fn sync_start(&self, p: SyncParams) -> (Started<SyncOutcome>, Option<PendingSync>) {
        let mut groups = self.lock();
        let Some(group) = groups.get_mut(&p.group_id) else {
            return (
                Started::Done(SyncOutcome::error(ResponseError::UnknownMemberId)),
                None,
            );
        };
        if let Err(e) = group.check_member(&p.member_id, p.generation_id) {
            return (Started::Done(SyncOutcome::error(e)), None);
        }
        let started = match group.state {
            GroupState::PreparingRebalance | GroupState::Empty => {
                Started::Done(SyncOutcome::error(ResponseError::RebalanceInProgress))
            }
            GroupState::Stable => {
                let assignment = group
                    .members
                    .get(&p.member_id)
                    .map(|m| m.assignment.clone())
                    .unwrap_or_default();
                Started::Done(group.sync_outcome_for_assignment(assignment))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(member) = group.members.get_mut(&p.member_id) {
                    member.last_seen = Instant::now();
                    member.sync_waiter = Some(tx);
                }
                if group.leader.as_deref() == Some(p.member_id.as_str()) {
                    match (&self.queue, self.loaded_epoch()) {
                        (Some(_), Some(epoch)) => {
                            let mut record = persist::record_of(&p.group_id, group);
                            for m in &mut record.members {
                                m.assignment = p
                                    .assignments
                                    .iter()
                                    .find(|(id, _)| *id == m.member_id)
                                    .map(|(_, a)| a.clone())
                                    .unwrap_or_default();
                            }
                            let pending = PendingSync {
                                epoch,
                                record,
                                group_id: p.group_id.clone(),
                                generation: group.generation,
                                assignments: p.assignments,
                            };
                            return (Started::Wait(rx), Some(pending));
                        }
                        _ => group.complete_sync(p.assignments),
                    }
                }
                Started::Wait(rx)
            }
        };
        (started, None)
    }

    /// Handles Heartbeat.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<(), ResponseError> {
        let mut groups = self.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if let Some(member) = group.members.get_mut(member_id) {
            member.last_seen = Instant::now();
        }
        group.check_member(member_id, generation)?;
        match group.state {
            GroupState::PreparingRebalance => Err(ResponseError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// Handles LeaveGroup for each `(member_id, group_instance_id)`; returns the
    /// per-member result.
    pub fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<Result<(), ResponseError>> {
        let mut groups = self.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return members
                .iter()
                .map(|_| Err(ResponseError::UnknownMemberId))
                .collect();
        };
        let before = (group.state, group.generation);
        let results = members
            .iter()
            .map(|(member_id, instance)| {
                let id = if member_id.is_empty() {
                    instance
                        .as_ref()
                        .and_then(|i| group.instances.get(i).cloned())
                        .unwrap_or_default()
                } else {
                    member_id.clone()
                };
                if group.remove_member(&id) {
                    Ok(())
                } else {
                    Err(ResponseError::UnknownMemberId)
                }
            })
            .collect();
        group.after_departure(Instant::now());
        self.store_if_emptied(group_id, before, group);
        results
    }

    /// Validates an OffsetCommit's member and generation. A commit with generation
    /// `-1` and no member id (a "simple" consumer) is accepted for groups without
    /// members; a member's commit is refused only while the group completes a
    /// rebalance (`REBALANCE_IN_PROGRESS`).
    pub fn validate_commit(
        &self,
        group_id: &str,
        member_id: &str,
        generation: i32,
    ) -> Result<(), ResponseError> {
        let groups = self.lock();
        let group = groups.get(group_id);
        if generation < 0 && member_id.is_empty() {
            return match group {
                Some(g) if !g.members.is_empty() => Err(ResponseError::IllegalGeneration),
                _ => Ok(()),
            };
        }
        let group = group.ok_or(ResponseError::IllegalGeneration)?;
        group.check_member(member_id, generation)?;
        // Kafka's rule: a member of the current generation still commits
        // while the group prepares a rebalance (what it read before it
        // rejoins: sarama commits when a session ends); only between the
        // new generation's join and its sync is a commit refused.
        match group.state {
            GroupState::CompletingRebalance => Err(ResponseError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// DescribeGroups for one group; unknown groups are reported as Dead/empty by
    /// the handler.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = self.lock();
        let group = groups.get(group_id)?;
        let protocol = group.protocol.clone().unwrap_or_default();
        Some(GroupDescription {
            group_id: group_id.to_owned(),
            state: group.state,
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            protocol_name: protocol.clone(),
            members: group
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        })
    }

    /// ListGroups.
    pub fn list(&self) -> Vec<GroupListing> {
        let groups = self.lock();
        let mut out: Vec<GroupListing> = groups
            .iter()
            .map(|(id, g)| GroupListing {
                group_id: id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state,
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_persist;
