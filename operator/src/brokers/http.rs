//! [`HttpBrokers`]: the broker HTTP API over `reqwest` (plain HTTP, or https
//! with a client certificate), following `421` answers to the leader.

mod config;
mod security;

use std::sync::Arc;
use std::time::Duration;

use chronik_api::{
    AddMemberRequest, BrokerStatus, ErrorBody, Membership, NodeId, NotLeaderBody,
    TransferLeaderRequest,
};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;

use super::{BrokerApi, BrokerError, ClientTls, MemberChange};
use crate::addresses::MemberAddresses;

/// Redirects followed before giving up (leadership moving during the call).
const MAX_HOPS: usize = 3;

/// Asks brokers over HTTP, directly by their headless DNS names.
#[derive(Clone)]
pub struct HttpBrokers {
    /// For `GET /v1/status`: short, a silent broker must not stall a reconcile.
    status: reqwest::Client,
    /// For membership changes, answered once committed: a few seconds.
    change: reqwest::Client,
}

/// A membership request: method, path and JSON body.
struct Request {
    method: &'static str,
    path: String,
    body: Body,
}

/// The JSON body of a membership request.
enum Body {
    Empty,
    AddMember(AddMemberRequest),
    TransferLeader(TransferLeaderRequest),
}

impl MemberChange {
    fn request(self) -> Request {
        match self {
            Self::AddLearner { id, url } => Request {
                method: "POST",
                path: "/v1/members".to_string(),
                body: Body::AddMember(AddMemberRequest { id, url }),
            },
            Self::Promote { id } => Request {
                method: "POST",
                path: format!("/v1/members/{id}/promote"),
                body: Body::Empty,
            },
            Self::Remove { id } => Request {
                method: "DELETE",
                path: format!("/v1/members/{id}"),
                body: Body::Empty,
            },
            Self::TransferLeader { to } => Request {
                method: "POST",
                path: "/v1/leader/transfer".to_string(),
                body: Body::TransferLeader(TransferLeaderRequest { target_id: to }),
            },
        }
    }
}

fn client(timeout: Duration, tls: Option<&ClientTls>) -> Result<reqwest::Client, BrokerError> {
    // Brokers are reached directly, never through an HTTP proxy from the
    // environment.
    let builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout);
    let builder = match tls {
        Some(tls) => builder.use_preconfigured_tls(tls.rustls_config()?),
        None => builder,
    };
    builder.build().map_err(|e| BrokerError::Client {
        message: e.to_string(),
    })
}

/// A transport error with its causes (`reqwest` prints only the outermost:
/// "error sending request"; the TLS or connection reason is in the chain).
fn with_causes(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What the HTTP answer says went wrong: `ErrorBody::error`, else the text.
/// Where a `421 Misdirected Request` answer sends a call next: the
/// leader's HTTP URL when the broker knows it, else the leader's id mapped
/// to its address.
fn leader_base(
    text: &str,
    members: &dyn MemberAddresses,
    method: &'static str,
    url: String,
) -> Result<String, BrokerError> {
    match serde_json::from_str::<NotLeaderBody>(text).ok() {
        Some(b) if !b.leader_url.is_empty() => Ok(b.leader_url),
        Some(b) => match b.leader() {
            Some(leader) => Ok(members.http_url_of(NodeId(leader))),
            None => Err(BrokerError::NoLeader { method, url }),
        },
        None => Err(BrokerError::NoLeader { method, url }),
    }
}

fn error_message(text: &str) -> String {
    serde_json::from_str::<ErrorBody>(text)
        .map(|b| b.error)
        .unwrap_or_else(|_| text.to_string())
}

fn parse<T: DeserializeOwned>(
    method: &'static str,
    url: String,
    text: &str,
) -> Result<T, BrokerError> {
    serde_json::from_str(text).map_err(|e| BrokerError::BadAnswer {
        method,
        url,
        message: e.to_string(),
    })
}

impl HttpBrokers {
    /// `status_timeout` bounds each `/v1/status` request; membership changes
    /// are answered once committed and get `change_timeout`.
    pub fn new(status_timeout: Duration, change_timeout: Duration) -> Result<Self, BrokerError> {
        Ok(Self {
            status: client(status_timeout, None)?,
            change: client(change_timeout, None)?,
        })
    }

    /// Like [`HttpBrokers::new`], over https with `tls`: the operator's
    /// client certificate, and the cluster CA bundle as the only trust
    /// anchors (the brokers' admin port requires both).
    pub fn with_tls(
        status_timeout: Duration,
        change_timeout: Duration,
        tls: &ClientTls,
    ) -> Result<Self, BrokerError> {
        Ok(Self {
            status: client(status_timeout, Some(tls))?,
            change: client(change_timeout, Some(tls))?,
        })
    }

    async fn get_status(&self, base_url: String) -> Result<BrokerStatus, BrokerError> {
        let method = "GET";
        let url = format!("{base_url}/v1/status");
        let response =
            self.status
                .get(&url)
                .send()
                .await
                .map_err(|e| BrokerError::Unreachable {
                    method,
                    url: url.clone(),
                    message: with_causes(&e),
                })?;
        let code = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&code) {
            return Err(BrokerError::Http {
                method,
                url,
                code,
                message: error_message(&text),
            });
        }
        parse(method, url, &text)
    }

    async fn send(
        &self,
        members: &dyn MemberAddresses,
        via: u64,
        request: Request,
    ) -> Result<Membership, BrokerError> {
        let method = request.method;
        let mut base = members.http_url_of(NodeId(via));
        for _ in 0..=MAX_HOPS {
            let url = format!("{base}{}", request.path);
            let call = match method {
                "DELETE" => self.change.delete(&url),
                _ => self.change.post(&url),
            };
            let call = match &request.body {
                Body::Empty => call,
                Body::AddMember(body) => call.json(body),
                Body::TransferLeader(body) => call.json(body),
            };
            let response = call.send().await.map_err(|e| BrokerError::Unreachable {
                method,
                url: url.clone(),
                message: with_causes(&e),
            })?;
            let code = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            match code {
                200..=299 => return parse(method, url, &text),
                421 => base = leader_base(&text, members, method, url)?,
                409 => {
                    return Err(BrokerError::Pending {
                        method,
                        url,
                        message: error_message(&text),
                    })
                }
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
            path: request.path,
            hops: MAX_HOPS,
        })
    }
}

impl BrokerApi for HttpBrokers {
    fn status(&self, base_url: String) -> BoxFuture<'static, Result<BrokerStatus, BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move { brokers.get_status(base_url).await })
    }

    fn change(
        &self,
        members: Arc<dyn MemberAddresses>,
        via: u64,
        change: MemberChange,
    ) -> BoxFuture<'static, Result<Membership, BrokerError>> {
        let brokers = self.clone();
        Box::pin(async move { brokers.send(members.as_ref(), via, change.request()).await })
    }
}
