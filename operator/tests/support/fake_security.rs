//! The brokers' users and ACLs for the mock tests: [`FakeSecurity`] keeps
//! them as a broker would (SCRAM credentials by user and mechanism, ACL
//! bindings once each) and records every call; [`FakeBrokers`] serves them
//! through [`SecurityApi`].
// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chronik_api::security::{
    AclBinding, AclDeleteRequest, AclList, ScramInfo, ScramMechanism, ScramUpsert, UserCredentials,
};
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::{BrokerError, SecurityApi};
use futures::future::BoxFuture;

use super::fake_api::FakeBrokers;

/// One call the operator made, as a line (`PUT /v1/users/alice/scram`).
pub type SecurityCall = String;

/// What the brokers hold.
#[derive(Default)]
pub struct FakeSecurity {
    /// Credentials by user, then mechanism.
    pub scram: BTreeMap<String, BTreeMap<ScramMechanism, ScramUpsert>>,
    pub acls: BTreeSet<AclBinding>,
    pub calls: Vec<SecurityCall>,
    /// The base URL each `GET /v1/users` was addressed to.
    pub urls: Vec<String>,
    /// Every call fails with this while set.
    pub fail: Option<BrokerError>,
}

impl FakeSecurity {
    /// The calls so far, emptied.
    pub fn take_calls(&mut self) -> Vec<SecurityCall> {
        std::mem::take(&mut self.calls)
    }

    /// Record a call; the canned failure if one is set.
    fn call(&mut self, line: String) -> Result<(), BrokerError> {
        self.calls.push(line.clone());
        match &self.fail {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn delete(&mut self, request: &AclDeleteRequest) {
        let filtered = request.principal.is_some() || request.resource_type.is_some();
        self.acls.retain(|b| {
            let by_filter = filtered
                && request.principal.as_ref().is_none_or(|p| &b.principal == p)
                && request.resource_type.is_none_or(|t| b.resource_type == t);
            !(by_filter || request.exact.contains(b))
        });
    }
}

fn done<T: Send + 'static>(
    result: Result<T, BrokerError>,
) -> BoxFuture<'static, Result<T, BrokerError>> {
    Box::pin(async move { result })
}

impl SecurityApi for FakeBrokers {
    fn list_scram_users(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<Vec<UserCredentials>, BrokerError>> {
        let mut st = self.security.lock().unwrap();
        st.urls.push(members.http_url_of(chronik_api::NodeId(via)));
        let result = st.call("GET /v1/users".to_string()).map(|()| {
            st.scram
                .iter()
                .map(|(user, by_mechanism)| UserCredentials {
                    user: user.clone(),
                    credentials: by_mechanism
                        .values()
                        .map(|c| ScramInfo {
                            mechanism: c.mechanism,
                            iterations: c.iterations,
                        })
                        .collect(),
                })
                .collect()
        });
        done(result)
    }

    fn upsert_scram(
        &self,
        _members: Arc<dyn MemberAddresses>,
        _via: u64,
        user: String,
        credential: ScramUpsert,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let mut st = self.security.lock().unwrap();
        let result = st.call(format!("PUT /v1/users/{user}/scram")).map(|()| {
            st.scram
                .entry(user)
                .or_default()
                .insert(credential.mechanism, credential);
        });
        done(result)
    }

    fn delete_scram(
        &self,
        _members: Arc<dyn MemberAddresses>,
        _via: u64,
        user: String,
        mechanism: ScramMechanism,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let mut st = self.security.lock().unwrap();
        let line = format!("DELETE /v1/users/{user}/scram/{}", mechanism.name());
        let result = st.call(line).map(|()| {
            if let Some(by_mechanism) = st.scram.get_mut(&user) {
                by_mechanism.remove(&mechanism);
                if by_mechanism.is_empty() {
                    st.scram.remove(&user);
                }
            }
        });
        done(result)
    }

    fn list_acls(
        &self,
        _members: Arc<dyn MemberAddresses>,
        _via: u64,
    ) -> BoxFuture<'static, Result<AclList, BrokerError>> {
        let mut st = self.security.lock().unwrap();
        let result = st.call("GET /v1/acls".to_string()).map(|()| AclList {
            acls: st.acls.iter().cloned().collect(),
        });
        done(result)
    }

    fn create_acls(
        &self,
        _members: Arc<dyn MemberAddresses>,
        _via: u64,
        acls: AclList,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let mut st = self.security.lock().unwrap();
        let line = format!("POST /v1/acls ({} bindings)", acls.acls.len());
        let result = st.call(line).map(|()| st.acls.extend(acls.acls));
        done(result)
    }

    fn delete_acls(
        &self,
        _members: Arc<dyn MemberAddresses>,
        _via: u64,
        request: AclDeleteRequest,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let mut st = self.security.lock().unwrap();
        let line = match &request.principal {
            Some(p) => format!("POST /v1/acls/delete (principal {p})"),
            None => format!("POST /v1/acls/delete ({} exact)", request.exact.len()),
        };
        let result = st.call(line).map(|()| st.delete(&request));
        done(result)
    }
}
