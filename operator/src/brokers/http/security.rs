//! [`SecurityApi`] for [`HttpBrokers`]: users and ACLs over `GET /v1/users`,
//! `PUT /v1/users/{user}/scram`, `DELETE /v1/users/{user}/scram/{mechanism}`,
//! `GET /v1/acls`, `POST /v1/acls` and `POST /v1/acls/delete`, with bodies
//! from [`chronik_api::security`]. Writes are answered by the metadata
//! leader; a `421` is followed to it as membership changes are.

use std::sync::Arc;

use chronik_api::security::{
    AclDeleteRequest, AclList, ScramMechanism, ScramUpsert, UserCredentials,
};
use chronik_api::NodeId;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{error_message, leader_base, parse, HttpBrokers, MAX_HOPS};
use crate::addresses::MemberAddresses;
use crate::brokers::{BrokerError, SecurityApi};

/// One call: method, path and optional JSON body.
pub(super) struct Call<'a> {
    pub(super) method: &'static str,
    pub(super) path: String,
    pub(super) body: Option<&'a serde_json::Value>,
    /// `404` means the thing is already gone (deletes).
    pub(super) absent_is_ok: bool,
}

/// `GET /v1/users` answers a list, bare or under `users`.
#[derive(Deserialize)]
#[serde(untagged)]
enum UsersAnswer {
    Bare(Vec<UserCredentials>),
    Wrapped { users: Vec<UserCredentials> },
}

pub(super) fn json<T: Serialize>(
    method: &'static str,
    value: &T,
) -> Result<serde_json::Value, BrokerError> {
    serde_json::to_value(value).map_err(|e| BrokerError::Client {
        message: format!("{method}: serializing the body: {e}"),
    })
}

impl HttpBrokers {
    /// Send `call` to member `via`, following `421` answers to the leader;
    /// the answer's text on success.
    pub(super) async fn security_call(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
        call: Call<'_>,
    ) -> Result<String, BrokerError> {
        let method = call.method;
        let mut base = members.http_url_of(NodeId(via));
        for _ in 0..=MAX_HOPS {
            let url = format!("{base}{}", call.path);
            let request = match method {
                "GET" => self.change.get(&url),
                "PUT" => self.change.put(&url),
                "DELETE" => self.change.delete(&url),
                _ => self.change.post(&url),
            };
            let request = match call.body {
                Some(body) => request.json(body),
                None => request,
            };
            let response = request.send().await.map_err(|e| BrokerError::Unreachable {
                method,
                url: url.clone(),
                message: e.to_string(),
            })?;
            let code = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            match code {
                200..=299 => return Ok(text),
                404 if call.absent_is_ok => return Ok(String::new()),
                421 => base = leader_base(&text, members, method, url)?,
                _ => {
                    return Err(BrokerError::Http {
                        method,
                        url,
                        code,
                        message: error_message(&text),
                    })
                }
            }
        }
        Err(BrokerError::TooManyRedirects {
            method,
            path: call.path,
            hops: MAX_HOPS,
        })
    }

    async fn list_users(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
    ) -> Result<Vec<UserCredentials>, BrokerError> {
        let path = "/v1/users".to_string();
        let call = Call {
            method: "GET",
            path: path.clone(),
            body: None,
            absent_is_ok: false,
        };
        let text = self.security_call(members, via, call).await?;
        let answer: UsersAnswer = parse("GET", path, &text)?;
        Ok(match answer {
            UsersAnswer::Bare(users) | UsersAnswer::Wrapped { users } => users,
        })
    }

    async fn put_scram(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
        user: &str,
        credential: &ScramUpsert,
    ) -> Result<(), BrokerError> {
        let body = json("PUT", credential)?;
        let call = Call {
            method: "PUT",
            path: format!("/v1/users/{user}/scram"),
            body: Some(&body),
            absent_is_ok: false,
        };
        self.security_call(members, via, call).await.map(drop)
    }

    async fn remove_scram(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Result<(), BrokerError> {
        let call = Call {
            method: "DELETE",
            path: format!("/v1/users/{user}/scram/{}", mechanism.name()),
            body: None,
            absent_is_ok: true,
        };
        self.security_call(members, via, call).await.map(drop)
    }

    async fn get_acls(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
    ) -> Result<AclList, BrokerError> {
        let path = "/v1/acls".to_string();
        let call = Call {
            method: "GET",
            path: path.clone(),
            body: None,
            absent_is_ok: false,
        };
        let text = self.security_call(members, via, call).await?;
        parse("GET", path, &text)
    }

    async fn post_acls(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
        acls: &AclList,
    ) -> Result<(), BrokerError> {
        let body = json("POST", acls)?;
        let call = Call {
            method: "POST",
            path: "/v1/acls".to_string(),
            body: Some(&body),
            absent_is_ok: false,
        };
        self.security_call(members, via, call).await.map(drop)
    }

    async fn post_acl_delete(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
        request: &AclDeleteRequest,
    ) -> Result<(), BrokerError> {
        let body = json("POST", request)?;
        let call = Call {
            method: "POST",
            path: "/v1/acls/delete".to_string(),
            body: Some(&body),
            absent_is_ok: false,
        };
        self.security_call(members, via, call).await.map(drop)
    }
}

impl SecurityApi for HttpBrokers {
    fn list_scram_users(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<Vec<UserCredentials>, BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move { brokers.list_users(members.as_ref(), via).await })
    }

    fn upsert_scram(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        user: String,
        credential: ScramUpsert,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move {
            brokers
                .put_scram(members.as_ref(), via, &user, &credential)
                .await
        })
    }

    fn delete_scram(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        user: String,
        mechanism: ScramMechanism,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move {
            brokers
                .remove_scram(members.as_ref(), via, &user, mechanism)
                .await
        })
    }

    fn list_acls(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
    ) -> BoxFuture<'static, Result<AclList, BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move { brokers.get_acls(members.as_ref(), via).await })
    }

    fn create_acls(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        acls: AclList,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move { brokers.post_acls(members.as_ref(), via, &acls).await })
    }

    fn delete_acls(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        request: AclDeleteRequest,
    ) -> BoxFuture<'static, Result<(), BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move {
            brokers
                .post_acl_delete(members.as_ref(), via, &request)
                .await
        })
    }
}
