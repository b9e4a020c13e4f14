//! The one way the operator talks to brokers: their HTTP API behind the
//! [`BrokerApi`] trait (over HTTP in production by [`HttpBrokers`], canned
//! in tests).
//!
//! - [`BrokerApi::status`]: a broker's `GET /v1/status`;
//!   [`ask_all`] asks every pod and returns the [`Answers`], in which the
//!   leader is found once per reconcile.
//! - [`BrokerApi::change`]: a [`MemberChange`] on the leader, following
//!   `421 Misdirected Request` ([`chronik_api::NotLeaderBody`]) to it.
//! - [`SecurityApi`]: SCRAM users and ACLs, on the leader likewise.
//! - [`ConfigApi`]: the dynamic broker configs (`GET`/`PUT /v1/config`),
//!   on the leader likewise.
//! - [`BrokerClients`]: the API of one cluster, over https with the
//!   operator's client certificate when the cluster runs peer mTLS.

mod answers;
mod config;
mod error;
mod http;
mod security;
mod tls;

use std::sync::Arc;

use chronik_api::{BrokerStatus, Membership};
use futures::future::BoxFuture;

pub use answers::Answers;
pub use config::ConfigApi;
pub use error::BrokerError;
pub use http::HttpBrokers;
pub use security::SecurityApi;
pub use tls::{BrokerClients, ClientTls, HttpBrokerClients, SameBrokers};

use crate::addresses::MemberAddresses;

/// A membership change or leader transfer, carried out by the leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// `POST /v1/members`: add a learner (a no-op when it exists with that URL).
    AddLearner { id: u64, url: String },
    /// `POST /v1/members/{id}/promote`: make a learner a voter.
    Promote { id: u64 },
    /// `DELETE /v1/members/{id}` (a no-op when absent).
    Remove { id: u64 },
    /// `POST /v1/leader/transfer`: hand leadership to `to`.
    TransferLeader { to: u64 },
}

/// A broker's HTTP API as the operator uses it.
pub trait BrokerApi: SecurityApi + ConfigApi + Send + Sync {
    /// `GET <base_url>/v1/status`.
    fn status(&self, base_url: String) -> BoxFuture<'static, Result<BrokerStatus, BrokerError>>;

    /// Carry out `change` on the leader of the cluster whose members live at
    /// `members`, asking member `via` first and following `421` answers to
    /// the leader. Answers the membership once the change is committed.
    /// Every change is idempotent on the broker.
    fn change(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        change: MemberChange,
    ) -> BoxFuture<'static, Result<Membership, BrokerError>>;
}

/// Ask every pod `0..pods` (by its HTTP URL in `members`) concurrently.
pub async fn ask_all(brokers: &dyn BrokerApi, members: &dyn MemberAddresses, pods: u32) -> Answers {
    let asks = (0..pods).map(|ordinal| {
        let id = chronik_api::NodeId::from_ordinal(ordinal);
        brokers.status(members.http_url_of(id))
    });
    Answers::new(futures::future::join_all(asks).await)
}
