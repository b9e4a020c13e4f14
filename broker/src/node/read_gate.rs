//! Reads of replicated state that must not go back in time (OffsetFetch):
//! only the metadata leader answers them, and only once it has applied an
//! entry of its own term.
//!
//! A newly elected leader may hold committed entries of earlier terms it
//! has not applied yet (it cannot even know they are committed before an
//! entry of its own term commits). raft-rs appends an empty entry when a
//! node becomes leader; once that entry applied, every entry committed by
//! any earlier leader has applied here too, so the state read is at least as
//! new as anything a client was acknowledged before.

use crate::state_machine::MetaStateMachine;
use raft::{Raft, StateRole, Storage};

/// Why this node may not answer a leader read now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReadRefusal {
    /// Another node (0: none known) leads the metadata group.
    #[error("not the metadata leader (leader: {leader_id})")]
    NotLeader { leader_id: u64 },
    /// This node leads but has not applied an entry of its term yet.
    #[error("leader of term {term} has applied only up to {applied}")]
    Loading { term: u64, applied: u64 },
}

/// Whether `raft`, whose state machine applied up to `applied`, may answer
/// a leader read.
pub fn check<S: Storage>(raft: &Raft<S>, applied: u64) -> Result<(), ReadRefusal> {
    if raft.state != StateRole::Leader {
        return Err(ReadRefusal::NotLeader {
            leader_id: raft.leader_id,
        });
    }
    // The entries of a term are contiguous and later than every earlier
    // term's, so "the applied entry is of this term" is "applied reached
    // the first entry of this term" (the leader's empty entry).
    match raft.raft_log.term(applied) {
        Ok(t) if t == raft.term => Ok(()),
        _ => Err(ReadRefusal::Loading {
            term: raft.term,
            applied,
        }),
    }
}

/// A read the node runs against its metadata state once [`check`] passed.
pub type LeaderRead = Box<dyn FnOnce(Result<&MetaStateMachine, ReadRefusal>) + Send>;

#[cfg(test)]
mod tests {
    use super::*;
    use raft::eraftpb::ConfState;
    use raft::storage::MemStorage;
    use raft::{Config, RawNode};

    fn node() -> RawNode<MemStorage> {
        let storage = MemStorage::new_with_conf_state(ConfState::from((vec![1], vec![])));
        let cfg = Config {
            id: 1,
            ..Default::default()
        };
        RawNode::new(
            &cfg,
            storage,
            &slog::Logger::root(slog::Discard, slog::o!()),
        )
        .unwrap()
    }

    /// Persists and applies everything ready; returns the applied index.
    fn drain(raw: &mut RawNode<MemStorage>, mut applied: u64) -> u64 {
        while raw.has_ready() {
            let mut rd = raw.ready();
            raw.mut_store().wl().append(rd.entries()).unwrap();
            if let Some(hs) = rd.hs() {
                raw.mut_store().wl().set_hardstate(hs.clone());
            }
            for e in rd.take_committed_entries() {
                applied = e.index;
            }
            let mut light = raw.advance(rd);
            if let Some(c) = light.commit_index() {
                raw.mut_store().wl().mut_hard_state().commit = c;
            }
            for e in light.take_committed_entries() {
                applied = e.index;
            }
            raw.advance_apply();
        }
        applied
    }

    #[test]
    fn a_new_leader_answers_only_after_applying_an_entry_of_its_term() {
        let mut raw = node();
        assert_eq!(
            check(&raw.raft, 0),
            Err(ReadRefusal::NotLeader { leader_id: 0 })
        );
        raw.campaign().unwrap();
        assert_eq!(raw.raft.state, StateRole::Leader);
        // Leader of term 1 with its empty entry appended, not yet applied.
        assert_eq!(
            check(&raw.raft, 0),
            Err(ReadRefusal::Loading {
                term: 1,
                applied: 0
            })
        );
        let applied = drain(&mut raw, 0);
        assert!(applied >= 1);
        assert_eq!(check(&raw.raft, applied), Ok(()));
        // The same applied index no longer counts once a new term began.
        raw.raft.become_follower(raw.raft.term + 1, 0);
        raw.raft.become_candidate();
        raw.raft.become_leader();
        assert!(matches!(
            check(&raw.raft, applied),
            Err(ReadRefusal::Loading { .. })
        ));
        let applied = drain(&mut raw, applied);
        assert_eq!(check(&raw.raft, applied), Ok(()));
    }
}
