//! Validation and encoding of membership changes (ConfChangeV2, one step at a time).

use chronik_api::identity::valid_url;
use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfChangeV2, ConfState};
use serde::Deserialize;

/// A learner is promoted only when at most this many entries behind the leader.
pub const PROMOTE_MAX_LAG: u64 = 1_000;

/// One membership step, as the HTTP API asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum MembershipChange {
    /// Add `id` as a learner reachable at `url` (it does not vote).
    AddLearner { id: u64, url: String },
    /// Make learner `id` a voter.
    Promote { id: u64 },
    /// Remove `id` from the configuration.
    Remove { id: u64 },
}

/// Why a membership change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("node id 0 is reserved")]
    ZeroId,
    #[error("{0:?} is not a valid Raft URL (expected http://host:port)")]
    BadUrl(String),
    #[error("node {0} is already a voter")]
    AlreadyVoter(u64),
    #[error("node {0} is not a member; add it as a learner first")]
    NotMember(u64),
    #[error("node {0} is not a learner")]
    NotLearner(u64),
    #[error("node {id} is not caught up: {lag} entries behind (at most {PROMOTE_MAX_LAG} allowed for promotion)")]
    NotCaughtUp { id: u64, lag: u64 },
    #[error("node {0} is the last voter; removing it would leave no quorum")]
    LastVoter(u64),
    #[error("node {0} is the leader; transfer leadership before removing it")]
    RemoveLeader(u64),
    #[error("another membership change is still in progress; retry when it has committed")]
    ChangeInProgress,
    #[error("node {0} is not a voter and cannot take leadership")]
    TransferTargetNotVoter(u64),
    #[error("no other voter can take leadership")]
    NoTransferTarget,
    #[error("node {id} came back with a new incarnation (wiped disk) and is promoted by the leader once it holds the log{}", index.map(|i| format!(" up to index {i}")).unwrap_or_default())]
    Rejoining { id: u64, index: Option<u64> },
    #[error("the conf change could not be applied: {0}")]
    Apply(String),
}

/// What the leader needs to know to judge a change.
pub struct MembershipView<'a> {
    pub conf: &'a ConfState,
    pub leader_id: u64,
    pub last_index: u64,
    /// Match index of a member, as the leader tracks it.
    pub matched: &'a dyn Fn(u64) -> Option<u64>,
    pub known_url: &'a dyn Fn(u64) -> Option<String>,
}

/// What to propose: the conf change and its context (the new member's URL).
#[derive(Debug, Clone)]
pub struct Proposal {
    pub cc: ConfChangeV2,
    pub context: Vec<u8>,
}

/// Outcome of validation: propose, or nothing to do (already in that state).
#[derive(Debug)]
pub enum Plan {
    Propose(Proposal),
    AlreadyDone,
}

impl MembershipChange {
    /// Judges the change against the current configuration.
    pub fn plan(&self, view: &MembershipView<'_>) -> Result<Plan, MembershipError> {
        let is_voter = |id| view.conf.voters.contains(&id);
        let is_learner = |id| view.conf.learners.contains(&id);
        match self {
            MembershipChange::AddLearner { id, url } => {
                if *id == 0 {
                    return Err(MembershipError::ZeroId);
                }
                if !valid_url(url) {
                    return Err(MembershipError::BadUrl(url.clone()));
                }
                if is_voter(*id) {
                    return Err(MembershipError::AlreadyVoter(*id));
                }
                if is_learner(*id) && (view.known_url)(*id).as_deref() == Some(url.as_str()) {
                    return Ok(Plan::AlreadyDone);
                }
                Ok(Plan::Propose(proposal(
                    *id,
                    ConfChangeType::AddLearnerNode,
                    url.clone(),
                )))
            }
            MembershipChange::Promote { id } => {
                if is_voter(*id) {
                    return Ok(Plan::AlreadyDone);
                }
                if !is_learner(*id) {
                    return Err(MembershipError::NotLearner(*id));
                }
                let matched = (view.matched)(*id).unwrap_or(0);
                let lag = view.last_index.saturating_sub(matched);
                if lag > PROMOTE_MAX_LAG {
                    return Err(MembershipError::NotCaughtUp { id: *id, lag });
                }
                Ok(Plan::Propose(proposal(
                    *id,
                    ConfChangeType::AddNode,
                    String::new(),
                )))
            }
            MembershipChange::Remove { id } => {
                if !is_voter(*id) && !is_learner(*id) {
                    return Ok(Plan::AlreadyDone);
                }
                if *id == view.leader_id {
                    return Err(MembershipError::RemoveLeader(*id));
                }
                if is_voter(*id) && view.conf.voters.len() == 1 {
                    return Err(MembershipError::LastVoter(*id));
                }
                Ok(Plan::Propose(proposal(
                    *id,
                    ConfChangeType::RemoveNode,
                    String::new(),
                )))
            }
        }
    }
}

fn proposal(id: u64, ty: ConfChangeType, url: String) -> Proposal {
    let mut single = ConfChangeSingle {
        node_id: id,
        ..Default::default()
    };
    single.set_change_type(ty);
    let mut cc = ConfChangeV2::default();
    cc.mut_changes().push(single);
    Proposal {
        cc,
        context: url.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(voters: &[u64], learners: &[u64]) -> ConfState {
        ConfState {
            voters: voters.to_vec(),
            learners: learners.to_vec(),
            ..Default::default()
        }
    }

    fn plan(
        change: MembershipChange,
        cs: &ConfState,
        matched: Option<u64>,
    ) -> Result<Plan, MembershipError> {
        let m = move |_| matched;
        let u = |_| Some("http://d:1".to_string());
        change.plan(&MembershipView {
            conf: cs,
            leader_id: 1,
            last_index: 5_000,
            matched: &m,
            known_url: &u,
        })
    }

    #[test]
    fn learner_first_then_voter() {
        let cs = conf(&[1, 2, 3], &[]);
        let add = MembershipChange::AddLearner {
            id: 4,
            url: "http://d:1".into(),
        };
        assert!(matches!(plan(add.clone(), &cs, None), Ok(Plan::Propose(_))));
        assert_eq!(
            plan(MembershipChange::Promote { id: 4 }, &cs, None).unwrap_err(),
            MembershipError::NotLearner(4)
        );
        let cs = conf(&[1, 2, 3], &[4]);
        assert!(matches!(plan(add, &cs, None), Ok(Plan::AlreadyDone)));
        assert_eq!(
            plan(MembershipChange::Promote { id: 4 }, &cs, Some(10)).unwrap_err(),
            MembershipError::NotCaughtUp { id: 4, lag: 4_990 }
        );
        assert!(matches!(
            plan(MembershipChange::Promote { id: 4 }, &cs, Some(4_999)),
            Ok(Plan::Propose(_))
        ));
    }

    #[test]
    fn removal_guards() {
        let cs = conf(&[1, 2, 3], &[]);
        assert_eq!(
            plan(MembershipChange::Remove { id: 1 }, &cs, None).unwrap_err(),
            MembershipError::RemoveLeader(1)
        );
        assert!(matches!(
            plan(MembershipChange::Remove { id: 9 }, &cs, None),
            Ok(Plan::AlreadyDone)
        ));
        assert!(matches!(
            plan(MembershipChange::Remove { id: 2 }, &cs, None),
            Ok(Plan::Propose(_))
        ));
        let bad = MembershipChange::AddLearner {
            id: 5,
            url: "nope".into(),
        };
        assert_eq!(
            plan(bad, &cs, None).unwrap_err(),
            MembershipError::BadUrl("nope".into())
        );
    }
}
