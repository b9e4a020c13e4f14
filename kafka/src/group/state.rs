//! One consumer group's membership state machine (classic rebalance protocol).
//!
//! Empty → PreparingRebalance (a member joins) → CompletingRebalance (every known
//! member rejoined, or the rebalance timeout expired) → Stable (the leader's
//! SyncGroup distributed the assignment). A join, leave or session expiry in
//! CompletingRebalance/Stable starts the next rebalance.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;

use super::types::{GroupState, JoinOutcome, JoinedMember, SyncOutcome};

#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) session_timeout: Duration,
    pub(crate) rebalance_timeout: Duration,
    pub(crate) protocols: Vec<(String, Bytes)>,
    pub(crate) assignment: Bytes,
    pub(crate) last_seen: Instant,
    pub(crate) join_waiter: Option<oneshot::Sender<JoinOutcome>>,
    pub(crate) sync_waiter: Option<oneshot::Sender<SyncOutcome>>,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    /// Alive: heard from within the session timeout, or blocked in a
    /// join/sync whose request is still waiting (a waiter whose request was
    /// dropped, e.g. with its connection, keeps no member alive).
    fn is_alive(&self, now: Instant) -> bool {
        self.join_waiter.as_ref().is_some_and(|t| !t.is_closed())
            || self.sync_waiter.as_ref().is_some_and(|t| !t.is_closed())
            || now.duration_since(self.last_seen) <= self.session_timeout
    }
}

#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) state: GroupState,
    pub(crate) generation: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    /// Ids handed out with `MEMBER_ID_REQUIRED`, not yet joined, with the time
    /// they expire (one session timeout later).
    pub(crate) pending: HashMap<String, Instant>,
    /// Static membership: instance id → member id.
    pub(crate) instances: HashMap<String, String>,
    pub(crate) rebalance_deadline: Option<Instant>,
}

impl Group {
    pub(crate) fn new() -> Self {
        Self {
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            instances: HashMap::new(),
            rebalance_deadline: None,
        }
    }

    /// Whether a new member with these protocols can join.
    pub(crate) fn accepts(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        protocols
            .iter()
            .any(|(name, _)| self.members.values().all(|m| m.supports(name)))
    }

    /// Starts a rebalance (from any state): pending syncs are told to rejoin.
    pub(crate) fn prepare_rebalance(&mut self, now: Instant) {
        for member in self.members.values_mut() {
            if let Some(tx) = member.sync_waiter.take() {
                let _ = tx.send(SyncOutcome::error(ResponseError::RebalanceInProgress));
            }
        }
        if self.state != GroupState::PreparingRebalance {
            let timeout = self
                .members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or(Duration::from_secs(1));
            self.rebalance_deadline = Some(now + timeout);
            self.state = GroupState::PreparingRebalance;
        }
    }

    /// Completes the join phase when every member rejoined.
    pub(crate) fn try_complete_join(&mut self) {
        if self.state == GroupState::PreparingRebalance
            && self.members.values().all(|m| m.join_waiter.is_some())
        {
            self.complete_join();
        }
    }

    /// Completes the join phase now: members that did not rejoin are removed.
    pub(crate) fn complete_join(&mut self) {
        let stale: Vec<String> = self
            .members
            .values()
            .filter(|m| m.join_waiter.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in stale {
            self.remove_member(&id);
        }
        self.rebalance_deadline = None;
        self.generation = self.generation.wrapping_add(1);
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        }
        self.protocol = self.select_protocol();
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        let protocol = self.protocol.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let all: Vec<JoinedMember> = self
            .members
            .values()
            .map(|m| JoinedMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata_for(&protocol),
            })
            .collect();
        for member in self.members.values_mut() {
            member.assignment = Bytes::new();
            member.last_seen = Instant::now();
            if let Some(tx) = member.join_waiter.take() {
                let _ = tx.send(JoinOutcome {
                    error: None,
                    generation_id: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: Some(protocol.clone()),
                    leader: leader.clone(),
                    member_id: member.id.clone(),
                    members: if member.id == leader {
                        all.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
    }

    /// The protocol every member supports, preferring the leader's (or first
    /// member's) order.
    fn select_protocol(&self) -> Option<String> {
        let first = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .or_else(|| self.members.values().next())?;
        first
            .protocols
            .iter()
            .map(|(name, _)| name)
            .find(|name| self.members.values().all(|m| m.supports(name)))
            .cloned()
    }

    /// Removes a member, waking any of its waiters with `UNKNOWN_MEMBER_ID`.
    pub(crate) fn remove_member(&mut self, id: &str) -> bool {
        let Some(mut member) = self.members.remove(id) else {
            return false;
        };
        if let Some(tx) = member.join_waiter.take() {
            let _ = tx.send(JoinOutcome::error(
                ResponseError::UnknownMemberId,
                id.to_owned(),
            ));
        }
        if let Some(tx) = member.sync_waiter.take() {
            let _ = tx.send(SyncOutcome::error(ResponseError::UnknownMemberId));
        }
        if let Some(instance) = member.instance_id {
            if self.instances.get(&instance).is_some_and(|m| m == id) {
                self.instances.remove(&instance);
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = None;
        }
        true
    }

    /// After members left or expired: rebalance, or become Empty.
    pub(crate) fn after_departure(&mut self, now: Instant) {
        match self.state {
            GroupState::PreparingRebalance => self.try_complete_join(),
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now);
                self.try_complete_join();
            }
            GroupState::Empty => {}
        }
        if self.members.is_empty() && self.state != GroupState::Empty {
            self.state = GroupState::Empty;
            self.rebalance_deadline = None;
            self.generation = self.generation.wrapping_add(1);
            self.protocol = None;
            self.leader = None;
        }
    }

    /// Periodic work: rebalance deadline and session expiry.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.pending.retain(|_, expires| *expires > now);
        if self.state == GroupState::PreparingRebalance
            && self.rebalance_deadline.is_some_and(|d| now >= d)
        {
            self.complete_join();
        }
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.is_alive(now))
            .map(|m| m.id.clone())
            .collect();
        if !expired.is_empty() {
            for id in &expired {
                self.remove_member(id);
            }
            self.after_departure(now);
        }
    }

    /// Distributes the leader's assignment and wakes waiting members.
    pub(crate) fn complete_sync(&mut self, assignments: Vec<(String, Bytes)>) {
        let mut by_member: HashMap<String, Bytes> = assignments.into_iter().collect();
        let (protocol_type, protocol_name) = (self.protocol_type.clone(), self.protocol.clone());
        for member in self.members.values_mut() {
            member.assignment = by_member.remove(&member.id).unwrap_or_default();
            if let Some(tx) = member.sync_waiter.take() {
                let _ = tx.send(SyncOutcome {
                    error: None,
                    protocol_type: protocol_type.clone(),
                    protocol_name: protocol_name.clone(),
                    assignment: member.assignment.clone(),
                });
            }
        }
        self.state = GroupState::Stable;
    }

    pub(crate) fn sync_outcome_for_assignment(&self, assignment: Bytes) -> SyncOutcome {
        SyncOutcome {
            error: None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment,
        }
    }

    /// Checks membership and generation (Heartbeat, SyncGroup, OffsetCommit).
    pub(crate) fn check_member(
        &self,
        member_id: &str,
        generation: i32,
    ) -> Result<(), ResponseError> {
        if !self.members.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        Ok(())
    }
}
