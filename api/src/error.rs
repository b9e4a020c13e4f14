//! Error bodies of the HTTP API.

use serde::{Deserialize, Serialize};

/// The JSON body of every error answer (4xx and 5xx).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One line saying what went wrong.
    pub error: String,
}

/// The body of `421 Misdirected Request`: this broker is not the leader.
/// Follow [`NotLeaderBody::leader_url`] (the leader's HTTP API) to retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotLeaderBody {
    pub error: String,
    /// The leader's node id; 0 while no leader is known.
    #[serde(default)]
    pub leader_id: u64,
    /// The leader's HTTP API URL (`http://host:port`), when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub leader_url: String,
    /// The leader's Raft (gRPC) URL, when known: not an HTTP API.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub leader_raft_url: String,
}

impl NotLeaderBody {
    /// The leader to retry with, if one is known.
    pub fn leader(&self) -> Option<u64> {
        (self.leader_id != 0).then_some(self.leader_id)
    }
}
