//! The broker's membership admin API over HTTP, following 421 to the leader.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::observe::Addresses;

/// One member in a membership answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MembershipMember {
    pub id: u64,
    pub url: String,
    /// `voter` or `learner`.
    pub role: String,
    #[serde(default)]
    pub match_index: Option<u64>,
}

/// The broker's answer to a committed membership change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Membership {
    pub leader_id: u64,
    pub members: Vec<MembershipMember>,
}

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{method} {url}: {source}")]
    Unreachable {
        method: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url}: HTTP {code}: {message}")]
    Refused {
        method: &'static str,
        url: String,
        code: u16,
        message: String,
    },
    #[error("{method} {url}: another membership change is pending (HTTP 409: {message})")]
    Pending {
        method: &'static str,
        url: String,
        message: String,
    },
    #[error("{method} {url}: no leader known (HTTP 421 without a leader id)")]
    NoLeader { method: &'static str, url: String },
    #[error("{method} {path}: still not the leader after {hops} redirects")]
    TooManyRedirects {
        method: &'static str,
        path: String,
        hops: usize,
    },
    #[error("{method} {url}: bad answer: {message}")]
    BadAnswer {
        method: &'static str,
        url: String,
        message: String,
    },
    #[error("building the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A membership call: method, path and JSON body.
struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

/// Calls the admin API of the leader, starting at a member's HTTP URL and
/// following `421 Misdirected Request` answers (`leader_id`) to the leader.
pub struct AdminClient {
    http: reqwest::Client,
    addresses: std::sync::Arc<dyn Addresses>,
}

/// Redirects followed before giving up (leadership moving during the call).
const MAX_HOPS: usize = 3;

impl AdminClient {
    /// A client with a per-request timeout (membership changes answer once
    /// committed, so allow a few seconds).
    pub fn new(
        addresses: std::sync::Arc<dyn Addresses>,
        timeout: Duration,
    ) -> Result<Self, AdminError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(AdminError::Client)?;
        Ok(Self { http, addresses })
    }

    /// `POST /v1/members {"id","url"}`: add a learner (a no-op when it exists with that URL).
    pub async fn add_learner(
        &self,
        via: u64,
        id: u64,
        url: &str,
    ) -> Result<Membership, AdminError> {
        self.call(
            via,
            Call {
                method: "POST",
                path: "/v1/members".to_string(),
                body: Some(json!({"id": id, "url": url})),
            },
        )
        .await
    }

    /// `POST /v1/members/{id}/promote`.
    pub async fn promote(&self, via: u64, id: u64) -> Result<Membership, AdminError> {
        self.call(
            via,
            Call {
                method: "POST",
                path: format!("/v1/members/{id}/promote"),
                body: None,
            },
        )
        .await
    }

    /// `DELETE /v1/members/{id}` (a no-op when absent).
    pub async fn remove(&self, via: u64, id: u64) -> Result<Membership, AdminError> {
        self.call(
            via,
            Call {
                method: "DELETE",
                path: format!("/v1/members/{id}"),
                body: None,
            },
        )
        .await
    }

    /// `POST /v1/leader/transfer {"target_id"}`.
    pub async fn transfer_leader(&self, via: u64, target: u64) -> Result<Membership, AdminError> {
        self.call(
            via,
            Call {
                method: "POST",
                path: "/v1/leader/transfer".to_string(),
                body: Some(json!({"target_id": target})),
            },
        )
        .await
    }

    async fn call(&self, via: u64, call: Call) -> Result<Membership, AdminError> {
        let mut target = via;
        for _ in 0..=MAX_HOPS {
            let url = format!("{}{}", self.addresses.http_url(target), call.path);
            let method = call.method;
            let request = match method {
                "DELETE" => self.http.delete(&url),
                _ => self.http.post(&url),
            };
            let request = match &call.body {
                Some(body) => request.json(body),
                None => request,
            };
            let response = request
                .send()
                .await
                .map_err(|source| AdminError::Unreachable {
                    method,
                    url: url.clone(),
                    source,
                })?;
            let code = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let message = body["error"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| text.clone());
            match code {
                200..=299 => {
                    return serde_json::from_value(body).map_err(|e| AdminError::BadAnswer {
                        method,
                        url,
                        message: e.to_string(),
                    })
                }
                421 => match body["leader_id"].as_u64().filter(|id| *id != 0) {
                    Some(leader) => target = leader,
                    None => return Err(AdminError::NoLeader { method, url }),
                },
                409 => {
                    return Err(AdminError::Pending {
                        method,
                        url,
                        message,
                    })
                }
                _ => {
                    return Err(AdminError::Refused {
                        method,
                        url,
                        code,
                        message,
                    })
                }
            }
        }
        Err(AdminError::TooManyRedirects {
            method: call.method,
            path: call.path,
            hops: MAX_HOPS,
        })
    }
}
