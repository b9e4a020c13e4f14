//! `chronik-api`: the contract between a Chronik broker and everything that
//! talks to it over HTTP (the operator, the local cluster's scenarios, the
//! benchmarks, xtask and the tests).
//!
//! Serde types only: no tokio, no kube, no HTTP client. The broker serves
//! these types and every client reads them; nobody else declares them.
//!
//! - [`status`]: the `GET /v1/status` document.
//! - [`membership`]: membership and leader-transfer requests and answers.
//! - [`topics`]: the topic requests of the HTTP API.
//! - [`config`]: the topic and broker configuration keys (names, types, defaults).
//! - [`error`]: error bodies, including the `421 Misdirected Request` answer.
//! - [`identity`]: node id ↔ pod ordinal, the `--peers` format, peer URLs.
//! - [`security`]: certificate identities, principals, SCRAM credentials, ACLs.

pub mod config;
pub mod error;
pub mod identity;
pub mod membership;
pub mod security;
pub mod status;
pub mod topics;

pub use error::{ErrorBody, NotLeaderBody};
pub use identity::{NodeId, Peer, PeerError, PodAddresses};
pub use membership::{AddMemberRequest, Membership, TransferLeaderRequest};
pub use status::{
    BrokerStatus, GroupsSummary, MemberRole, MemberStatus, PeerRefusal, RaftRole, Recovery,
    RejoinState, StartPhase, StateDigest,
};
pub use topics::{CreateTopicAnswer, CreateTopicRequest};
