//! The consumer group coordinator: membership of every group this broker
//! coordinates, in memory. Committed offsets are not kept here; they go through the
//! [`crate::backend::Backend`].

mod state;
mod types;

pub use types::{
    GroupDescription, GroupListing, GroupState, JoinOutcome, JoinParams, JoinedMember,
    MemberDescription, SyncOutcome, SyncParams,
};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;
use uuid::Uuid;

use state::{Group, Member};

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

/// In-memory group membership for the groups this broker coordinates.
#[derive(Debug, Default)]
pub struct GroupCoordinator {
    groups: Mutex<HashMap<String, Group>>,
}

impl GroupCoordinator {
    /// Creates a coordinator and starts its timer task (rebalance deadlines, session
    /// expiry), which stops when the coordinator is dropped. Needs a Tokio runtime.
    pub fn start() -> Arc<Self> {
        let coordinator = Arc::new(Self::default());
        let weak: Weak<Self> = Arc::downgrade(&coordinator);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
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
        for group in self.lock().values_mut() {
            group.tick(now);
        }
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

    /// Handles SyncGroup; followers wait for the leader's assignment.
    pub async fn sync(&self, params: SyncParams) -> SyncOutcome {
        let rx = match self.sync_start(params) {
            Started::Wait(rx) => rx,
            Started::Done(outcome) => return outcome,
        };
        rx.await
            .unwrap_or_else(|_| SyncOutcome::error(ResponseError::RebalanceInProgress))
    }

    fn sync_start(&self, p: SyncParams) -> Started<SyncOutcome> {
        let mut groups = self.lock();
        let Some(group) = groups.get_mut(&p.group_id) else {
            return Started::Done(SyncOutcome::error(ResponseError::UnknownMemberId));
        };
        if let Err(e) = group.check_member(&p.member_id, p.generation_id) {
            return Started::Done(SyncOutcome::error(e));
        }
        match group.state {
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
                    group.complete_sync(p.assignments);
                }
                Started::Wait(rx)
            }
        }
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
