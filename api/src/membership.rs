//! Membership and leader-transfer requests of the HTTP API, and the answer
//! every committed change returns.
//!
//! `POST /v1/members` ([`AddMemberRequest`]) adds a learner,
//! `POST /v1/members/{id}/promote` makes it a voter, `DELETE /v1/members/{id}`
//! removes a member, `POST /v1/leader/transfer` ([`TransferLeaderRequest`])
//! moves leadership. Each answers [`Membership`] once the change is applied,
//! or `421` with a [`crate::NotLeaderBody`] on a follower.

use serde::{Deserialize, Serialize};

use crate::status::MemberStatus;

/// Body of `POST /v1/members`: add a learner (a no-op when it exists with
/// that URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddMemberRequest {
    pub id: u64,
    /// The new member's Raft URL, `http://host:port`.
    pub url: String,
}

/// Body of `POST /v1/leader/transfer`; an empty body or `target_id` 0 lets the
/// leader pick the most caught-up voter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferLeaderRequest {
    #[serde(default)]
    pub target_id: u64,
}

/// The configuration and who leads it: the answer to a committed membership
/// change or leader transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub leader_id: u64,
    pub members: Vec<MemberStatus>,
}
