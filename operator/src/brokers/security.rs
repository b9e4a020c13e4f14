//! [`SecurityApi`]: the brokers' users and ACLs as the operator manages
//! them (a supertrait of [`super::BrokerApi`], so the one broker client
//! carries them). Every call goes to the cluster whose members live at
//! `members`, asking member `via` first and following `421` answers to the
//! leader; bodies are [`chronik_api::security`]'s.

use std::sync::Arc;

use chronik_api::security::{
    AclDeleteRequest, AclList, ScramMechanism, ScramUpsert, UserCredentials,
};
use futures::future::BoxFuture;

use super::BrokerError;
use crate::addresses::MemberAddresses;

/// The brokers' SCRAM credentials and ACLs.
pub trait SecurityApi: Send + Sync {
    /// `GET /v1/users`: every user with SCRAM credentials (mechanisms and
    /// iterations, never secrets).
    fn list_scram_users(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<Vec<UserCredentials>, BrokerError>>;

    /// `PUT /v1/users/{user}/scram`: create or replace one mechanism's
    /// salted credential of `user`.
    fn upsert_scram(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        user: String,
        credential: ScramUpsert,
    ) -> BoxFuture<'static, Result<(), BrokerError>>;

    /// `DELETE /v1/users/{user}/scram/{mechanism}`; a credential already
    /// absent (`404`) is not an error.
    fn delete_scram(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        user: String,
        mechanism: ScramMechanism,
    ) -> BoxFuture<'static, Result<(), BrokerError>>;

    /// `GET /v1/acls`: every ACL binding of the cluster.
    fn list_acls(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<AclList, BrokerError>>;

    /// `POST /v1/acls`: create these bindings (existing ones are kept once).
    fn create_acls(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        acls: AclList,
    ) -> BoxFuture<'static, Result<(), BrokerError>>;

    /// `POST /v1/acls/delete`: delete the bindings the request selects.
    fn delete_acls(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        request: AclDeleteRequest,
    ) -> BoxFuture<'static, Result<(), BrokerError>>;
}
