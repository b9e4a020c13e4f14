//! The metadata group's configuration as of the entry being applied, in log
//! order.
//!
//! Raft's own configuration is the latest one: after a restart it already
//! includes every conf change of the log, also those after the entries
//! being replayed. Commands that depend on the configuration (a
//! `CreateTopic` from a log that predates voters in the command) must see
//! the configuration of their own index, or a replay would build other
//! state than the first apply did. This tracker starts from the snapshot
//! the state came from (its metadata records the configuration at its
//! index) and follows each applied conf change.
//!
//! Chronik proposes one change per `ConfChangeV2` (no joint consensus), so
//! a change is a set operation on voters and learners, as raft-rs applies
//! it.

use raft::eraftpb::{ConfChangeType, ConfChangeV2, ConfState};
use std::collections::BTreeSet;

/// Voters and learners as of the last applied entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConf {
    voters: BTreeSet<u64>,
    learners: BTreeSet<u64>,
}

impl LogConf {
    /// The configuration a snapshot's metadata records.
    pub fn from_conf_state(cs: &ConfState) -> Self {
        Self {
            voters: cs.voters.iter().copied().collect(),
            learners: cs.learners.iter().copied().collect(),
        }
    }

    /// Applies one committed (and accepted) conf change.
    pub fn apply(&mut self, cc: &ConfChangeV2) {
        for change in cc.get_changes() {
            let id = change.node_id;
            match change.get_change_type() {
                ConfChangeType::AddNode => {
                    self.learners.remove(&id);
                    self.voters.insert(id);
                }
                ConfChangeType::AddLearnerNode => {
                    self.voters.remove(&id);
                    self.learners.insert(id);
                }
                ConfChangeType::RemoveNode => {
                    self.voters.remove(&id);
                    self.learners.remove(&id);
                }
            }
        }
    }

    /// As Raft's `ConfState` (no joint configuration).
    pub fn to_conf_state(&self) -> ConfState {
        ConfState {
            voters: self.voters(),
            learners: self.learners.iter().copied().collect(),
            ..Default::default()
        }
    }

    /// The voters, sorted.
    pub fn voters(&self) -> Vec<u64> {
        self.voters.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::eraftpb::ConfChangeSingle;

    fn change(id: u64, ty: ConfChangeType) -> ConfChangeV2 {
        let mut single = ConfChangeSingle {
            node_id: id,
            ..Default::default()
        };
        single.set_change_type(ty);
        let mut cc = ConfChangeV2::default();
        cc.mut_changes().push(single);
        cc
    }

    #[test]
    fn follows_learners_promotions_and_removals() {
        let mut conf = LogConf::from_conf_state(&ConfState {
            voters: vec![3, 1, 2],
            ..Default::default()
        });
        conf.apply(&change(4, ConfChangeType::AddLearnerNode));
        assert_eq!(conf.voters(), [1, 2, 3]);
        conf.apply(&change(4, ConfChangeType::AddNode));
        assert_eq!(conf.voters(), [1, 2, 3, 4]);
        conf.apply(&change(2, ConfChangeType::RemoveNode));
        assert_eq!(conf.voters(), [1, 3, 4]);
        assert!(conf.learners.is_empty());
        conf.apply(&change(5, ConfChangeType::AddLearnerNode));
        let cs = conf.to_conf_state();
        assert_eq!((cs.voters, cs.learners), (vec![1, 3, 4], vec![5]));
    }
}
