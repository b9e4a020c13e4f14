//! JSON admin endpoints: membership, leadership, topics, key/value.

use super::HttpState;
use crate::node::{MembershipChange, MembershipError, NodeError};
use crate::state_machine::{commands, CommandRejection};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronik_api::{
    AddMemberRequest, CreateTopicAnswer, CreateTopicRequest, ErrorBody, NotLeaderBody,
    TransferLeaderRequest,
};

/// Maps a node error to an HTTP answer with a JSON body.
pub(crate) fn error_response(e: NodeError) -> Response {
    let code = match &e {
        NodeError::NotLeader { .. } => StatusCode::MISDIRECTED_REQUEST,
        NodeError::Dropped | NodeError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        NodeError::Timeout(_) | NodeError::TransferTimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
        NodeError::Membership(
            MembershipError::ChangeInProgress | MembershipError::NotCaughtUp { .. },
        ) => StatusCode::CONFLICT,
        NodeError::Membership(MembershipError::Apply(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        NodeError::Membership(_) => StatusCode::BAD_REQUEST,
        NodeError::Rejected(CommandRejection::TopicExists(_)) => StatusCode::CONFLICT,
        NodeError::Rejected(CommandRejection::UnknownTopic(_)) => StatusCode::NOT_FOUND,
        NodeError::Rejected(_) => StatusCode::BAD_REQUEST,
    };
    match &e {
        NodeError::NotLeader {
            leader_id,
            leader_url,
            leader_raft_url,
        } => (
            code,
            Json(NotLeaderBody {
                error: e.to_string(),
                leader_id: *leader_id,
                leader_url: leader_url.clone(),
                leader_raft_url: leader_raft_url.clone(),
            }),
        )
            .into_response(),
        _ => error_body(code, e),
    }
}

fn error_body(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (
        code,
        Json(ErrorBody {
            error: msg.to_string(),
        }),
    )
        .into_response()
}

fn bad_request(msg: impl std::fmt::Display) -> Response {
    error_body(StatusCode::BAD_REQUEST, msg)
}

fn membership_answer(r: Result<chronik_api::Membership, NodeError>) -> Response {
    match r {
        Ok(m) => Json(m).into_response(),
        Err(e) => error_response(e),
    }
}

pub(crate) async fn add_member(State(s): State<HttpState>, body: Bytes) -> Response {
    let req: AddMemberRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"id\": <u64>, \"url\": \"http://host:port\"}}: {e}"
            ))
        }
    };
    membership_answer(
        s.node
            .change_membership(MembershipChange::AddLearner {
                id: req.id,
                url: req.url,
            })
            .await,
    )
}

pub(crate) async fn promote_member(State(s): State<HttpState>, Path(id): Path<u64>) -> Response {
    membership_answer(
        s.node
            .change_membership(MembershipChange::Promote { id })
            .await,
    )
}

pub(crate) async fn remove_member(State(s): State<HttpState>, Path(id): Path<u64>) -> Response {
    membership_answer(
        s.node
            .change_membership(MembershipChange::Remove { id })
            .await,
    )
}

pub(crate) async fn transfer_leader(State(s): State<HttpState>, body: Bytes) -> Response {
    let req: TransferLeaderRequest = if body.is_empty() {
        TransferLeaderRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return bad_request(format!("expected {{\"target_id\": <u64>}}: {e}")),
        }
    };
    membership_answer(s.node.transfer_leader(req.target_id).await)
}

pub(crate) async fn create_topic(State(s): State<HttpState>, body: Bytes) -> Response {
    let req: CreateTopicRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"name\": ..., \"partitions\": N}}: {e}"
            ))
        }
    };
    if req.name.is_empty() || req.name.len() > 249 {
        return bad_request("topic names are 1 to 249 characters");
    }
    match s
        .node
        .propose(commands::create_topic(
            &req.name,
            req.partitions,
            req.config,
        ))
        .await
    {
        Ok(index) => (
            StatusCode::CREATED,
            Json(CreateTopicAnswer {
                name: req.name,
                index,
            }),
        )
            .into_response(),
        Err(e) => error_response(e),
    }
}

pub(crate) async fn list_topics(State(s): State<HttpState>) -> Response {
    match s.node.topics().await {
        Ok(t) => Json(t.into_values().collect::<Vec<_>>()).into_response(),
        Err(e) => error_response(e),
    }
}

pub(crate) async fn put_kv(
    State(s): State<HttpState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    match s.node.propose(commands::put(&key, body.to_vec())).await {
        Ok(index) => Json(serde_json::json!({"index": index})).into_response(),
        Err(e) => error_response(e),
    }
}

pub(crate) async fn get_kv(State(s): State<HttpState>, Path(key): Path<String>) -> Response {
    let k = key.clone();
    match s.node.query(move |sm| sm.get(&k).map(<[u8]>::to_vec)).await {
        Ok(Some(v)) => v.into_response(),
        Ok(None) => error_body(StatusCode::NOT_FOUND, format!("no key {key:?}")),
        Err(e) => error_response(e),
    }
}
