//! A member that comes back with a new incarnation (a wiped or replaced
//! disk) lost what it stored, and with it the votes and the acknowledgements
//! it gave. It must not vote, pre-vote or be voted for until it holds the
//! log again: with a lagging member it could otherwise elect a leader that
//! lacks committed entries.
//!
//! Two parts, both driven by the incarnations recorded in the replicated
//! metadata (`state_machine::Incarnations`), so a broker that restarts with
//! its old disk still knows them:
//!
//! - [`drops`]: every broker drops vote and pre-vote requests from such a
//!   member and its grants, in every Raft group, until it has rejoined.
//! - [`next_step`]: the metadata leader restores it: demote it to learner
//!   (partition groups follow the metadata configuration, see `reconcile`),
//!   record the new incarnation once it is a learner everywhere, promote it
//!   in the metadata group once it holds the log up to that record (each
//!   partition group promotes it once it holds that group's log up to its
//!   demotion), and mark it rejoined once it is a voter in every group.

use crate::state_machine::{Incarnations, Standing};
use chronik_api::RejoinState;
use raft::eraftpb::{ConfState, Message, MessageType};

/// Whether `m` asks for a vote or grants one.
fn is_vote(m: &Message) -> bool {
    match m.get_msg_type() {
        MessageType::MsgRequestVote | MessageType::MsgRequestPreVote => true,
        MessageType::MsgRequestVoteResponse | MessageType::MsgRequestPreVoteResponse => !m.reject,
        _ => false,
    }
}

/// Whether `m` must be dropped: a vote request or grant from a member whose
/// announced incarnation (`announced`, empty if unknown) is not recorded yet,
/// or that has not rejoined every group.
pub(super) fn drops(m: &Message, incarnations: &Incarnations, announced: &str) -> bool {
    is_vote(m) && incarnations.standing(m.from, announced) != Standing::Clean
}

/// What `/v1/status` shows of a member's standing.
pub(super) fn rejoin_state(
    incarnations: &Incarnations,
    id: u64,
    announced: &str,
) -> Option<RejoinState> {
    match incarnations.standing(id, announced) {
        Standing::Clean => None,
        Standing::NewIncarnation => Some(RejoinState::NewIncarnation),
        Standing::CatchingUp(_) => Some(RejoinState::CatchingUp),
    }
}

/// Where a member stands in the partition groups held here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PartitionRoles {
    /// A voter in at least one partition group.
    pub voter_in_any: bool,
    /// A voter in every partition group (true when there are none).
    pub voter_in_all: bool,
}

/// What the metadata leader knows to restore rejoining members.
pub(super) struct RejoinView<'a> {
    /// The leader's own id.
    pub own: u64,
    /// The metadata group's configuration.
    pub conf: &'a ConfState,
    pub incarnations: &'a Incarnations,
    /// The incarnation a member announced ("" if unknown).
    pub announced: &'a dyn Fn(u64) -> String,
    /// A member's match index in the metadata group.
    pub matched: &'a dyn Fn(u64) -> u64,
    /// A member's roles in the partition groups (as applied here).
    pub partitions: &'a dyn Fn(u64) -> PartitionRoles,
}

/// One step toward restoring a rejoining member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RejoinStep {
    /// Make the voter a learner in the metadata group.
    Demote(u64),
    /// Accept the new incarnation (it is a learner in every group).
    Accept { id: u64, incarnation: String },
    /// Make the learner a voter again in the metadata group.
    Promote(u64),
    /// It is a voter in every group again: its votes count.
    Rejoined { id: u64, incarnation: String },
}

/// The next step for the first member that needs one.
pub(super) fn next_step(view: &RejoinView<'_>) -> Option<RejoinStep> {
    let members = view.conf.voters.iter().chain(&view.conf.learners);
    for id in members.copied().filter(|id| *id != view.own) {
        let announced = (view.announced)(id);
        let voter = view.conf.voters.contains(&id);
        let step = match view.incarnations.standing(id, &announced) {
            Standing::Clean => None,
            Standing::NewIncarnation if voter => Some(RejoinStep::Demote(id)),
            Standing::NewIncarnation => {
                (!(view.partitions)(id).voter_in_any).then_some(RejoinStep::Accept {
                    id,
                    incarnation: announced,
                })
            }
            Standing::CatchingUp(index) if !voter => {
                ((view.matched)(id) >= index).then_some(RejoinStep::Promote(id))
            }
            Standing::CatchingUp(_) => {
                (view.partitions)(id)
                    .voter_in_all
                    .then_some(RejoinStep::Rejoined {
                        id,
                        incarnation: announced,
                    })
            }
        };
        if step.is_some() {
            return step;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_machine::{commands, MetaStateMachine};

    fn vote(from: u64, ty: MessageType, reject: bool) -> Message {
        let mut m = Message {
            from,
            reject,
            ..Default::default()
        };
        m.set_msg_type(ty);
        m
    }

    fn registered(id: u64, incarnation: &str) -> MetaStateMachine {
        let mut sm = MetaStateMachine::default();
        let cmd = commands::register_broker_as(id, "h:1", "http://h:2", incarnation);
        sm.apply(2, &cmd).expect("register");
        sm
    }

    #[test]
    fn votes_of_a_new_incarnation_are_dropped_and_nothing_else() {
        let sm = registered(3, "old");
        let inc = sm.incarnations();
        for ty in [MessageType::MsgRequestVote, MessageType::MsgRequestPreVote] {
            assert!(drops(&vote(3, ty, false), inc, "new"), "{ty:?}");
            assert!(!drops(&vote(3, ty, false), inc, "old"), "{ty:?}");
        }
        for ty in [
            MessageType::MsgRequestVoteResponse,
            MessageType::MsgRequestPreVoteResponse,
        ] {
            assert!(drops(&vote(3, ty, false), inc, "new"), "a grant: {ty:?}");
            assert!(
                !drops(&vote(3, ty, true), inc, "new"),
                "a rejection: {ty:?}"
            );
        }
        assert!(!drops(
            &vote(3, MessageType::MsgAppendResponse, false),
            inc,
            "new"
        ));
        assert!(
            !drops(&vote(2, MessageType::MsgRequestVote, false), inc, "x"),
            "nothing recorded"
        );
        assert!(
            !drops(&vote(3, MessageType::MsgRequestVote, false), inc, ""),
            "not announced"
        );
    }

    fn conf(voters: &[u64], learners: &[u64]) -> ConfState {
        ConfState {
            voters: voters.to_vec(),
            learners: learners.to_vec(),
            ..Default::default()
        }
    }

    fn step(
        sm: &MetaStateMachine,
        cs: &ConfState,
        matched: u64,
        roles: PartitionRoles,
    ) -> Option<RejoinStep> {
        next_step(&RejoinView {
            own: 1,
            conf: cs,
            incarnations: sm.incarnations(),
            announced: &|id| if id == 3 { "new".into() } else { String::new() },
            matched: &|_| matched,
            partitions: &|_| roles,
        })
    }

    #[test]
    fn a_wiped_voter_is_demoted_accepted_promoted_and_rejoins() {
        let voter_everywhere = PartitionRoles {
            voter_in_any: true,
            voter_in_all: true,
        };
        let learner_everywhere = PartitionRoles {
            voter_in_any: false,
            voter_in_all: false,
        };
        let mut sm = registered(3, "old");
        let voters = conf(&[1, 2, 3], &[]);
        let demoted = conf(&[1, 2], &[3]);
        assert_eq!(
            step(&sm, &voters, 0, voter_everywhere),
            Some(RejoinStep::Demote(3))
        );
        assert_eq!(
            step(&sm, &demoted, 0, voter_everywhere),
            None,
            "partitions demote first"
        );
        let accept = RejoinStep::Accept {
            id: 3,
            incarnation: "new".into(),
        };
        assert_eq!(step(&sm, &demoted, 0, learner_everywhere), Some(accept));
        sm.apply(10, &commands::record_incarnation(3, "new", false))
            .expect("accept");
        assert_eq!(
            step(&sm, &demoted, 9, learner_everywhere),
            None,
            "behind the record"
        );
        assert_eq!(
            step(&sm, &demoted, 10, learner_everywhere),
            Some(RejoinStep::Promote(3))
        );
        assert_eq!(
            step(&sm, &voters, 10, learner_everywhere),
            None,
            "partitions promote first"
        );
        let rejoined = RejoinStep::Rejoined {
            id: 3,
            incarnation: "new".into(),
        };
        assert_eq!(step(&sm, &voters, 10, voter_everywhere), Some(rejoined));
        sm.apply(11, &commands::record_incarnation(3, "new", true))
            .expect("rejoined");
        assert_eq!(step(&sm, &voters, 10, voter_everywhere), None);
        assert!(!drops(
            &vote(3, MessageType::MsgRequestVote, false),
            sm.incarnations(),
            "new"
        ));
    }
}
