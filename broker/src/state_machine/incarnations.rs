//! The replicated record of each member's data-directory incarnation, and of
//! the members that rejoin with a new one (a wiped or replaced disk).
//!
//! A broker that restarts with its old disk knows, from this record, which
//! incarnation every member had; a peer announcing another one lost what it
//! stored and must not vote until it holds the log again (see
//! `node::rejoin`).

use std::collections::BTreeMap;

/// Recorded incarnations and rejoining members.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Incarnations {
    recorded: BTreeMap<u64, String>,
    rejoining: BTreeMap<u64, u64>,
}

/// What a member's announced incarnation means against the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Nothing recorded, nothing announced, or both agree and it is not
    /// rejoining: a member like any other.
    Clean,
    /// It announced an incarnation other than the recorded one: its disk was
    /// wiped; its votes must not count until it is demoted and caught up.
    NewIncarnation,
    /// Its new incarnation was recorded at the given index; it is promoted
    /// in the metadata group once it holds the log up to there, and in each
    /// partition group once it holds that group's log up to its demotion.
    /// Its votes still do not count until every group made it a voter.
    CatchingUp(u64),
}

impl Incarnations {
    /// Restored from a snapshot's maps.
    pub fn from_parts(recorded: BTreeMap<u64, String>, rejoining: BTreeMap<u64, u64>) -> Self {
        Self {
            recorded,
            rejoining,
        }
    }

    /// The recorded incarnations, by node id.
    pub fn recorded(&self) -> &BTreeMap<u64, String> {
        &self.recorded
    }

    /// Rejoining members: node id → index of their `RecordIncarnation`.
    pub fn rejoining(&self) -> &BTreeMap<u64, u64> {
        &self.rejoining
    }

    /// A registration: records `incarnation` only if none is recorded (a
    /// different one is a wiped disk, accepted by [`Self::accept`] only).
    pub fn register(&mut self, id: u64, incarnation: String) {
        if !incarnation.is_empty() {
            self.recorded.entry(id).or_insert(incarnation);
        }
    }

    /// Accepts a rejoining member's new incarnation at `index`; the same
    /// incarnation again changes nothing.
    pub fn accept(&mut self, id: u64, incarnation: String, index: u64) {
        if incarnation.is_empty() || self.recorded.get(&id) == Some(&incarnation) {
            return;
        }
        self.recorded.insert(id, incarnation);
        self.rejoining.insert(id, index);
    }

    /// The member is a voter in every group again: it no longer rejoins.
    pub fn rejoined(&mut self, id: u64) {
        self.rejoining.remove(&id);
    }

    /// The member was removed: a member added again registers afresh.
    pub fn forget(&mut self, id: u64) {
        self.recorded.remove(&id);
        self.rejoining.remove(&id);
    }

    /// What `announced` (the incarnation member `id` announced; empty if it
    /// never did) means against the record.
    pub fn standing(&self, id: u64, announced: &str) -> Standing {
        match self.recorded.get(&id) {
            Some(r) if !announced.is_empty() && r != announced => Standing::NewIncarnation,
            _ => match self.rejoining.get(&id) {
                Some(index) => Standing::CatchingUp(*index),
                None => Standing::Clean,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_never_replaces_a_recorded_incarnation() {
        let mut i = Incarnations::default();
        i.register(2, String::new());
        assert_eq!(i.standing(2, "new"), Standing::Clean, "nothing recorded");
        i.register(2, "old".into());
        i.register(2, "new".into());
        assert_eq!(i.recorded()[&2], "old");
        assert_eq!(i.standing(2, "old"), Standing::Clean);
        assert_eq!(i.standing(2, ""), Standing::Clean, "not heard from yet");
        assert_eq!(i.standing(2, "new"), Standing::NewIncarnation);
        i.accept(2, "new".into(), 40);
        i.accept(2, "new".into(), 50);
        assert_eq!(i.standing(2, "new"), Standing::CatchingUp(40));
        i.rejoined(2);
        assert_eq!(i.standing(2, "new"), Standing::Clean);
        i.forget(2);
        assert!(i.recorded().is_empty());
    }

    #[test]
    fn the_record_is_replicated_and_survives_a_snapshot() {
        use crate::state_machine::{commands, MetaStateMachine};
        let mut sm = MetaStateMachine::default();
        sm.apply(
            2,
            &commands::register_broker_as(3, "h:1", "http://h:2", "old"),
        )
        .expect("register");
        sm.apply(
            3,
            &commands::register_broker_as(3, "h:1", "http://h:2", "new"),
        )
        .expect("register again");
        sm.apply(4, &commands::record_incarnation(3, "new", false))
            .expect("record");
        let restored = MetaStateMachine::restore(&sm.snapshot()).expect("restore");
        assert_eq!(restored.incarnations().recorded()[&3], "new");
        assert_eq!(
            restored.incarnations().standing(3, "new"),
            Standing::CatchingUp(4)
        );
        assert_eq!(restored, sm);
    }
}
