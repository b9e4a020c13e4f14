//! Node errors as HTTP answers: a status code and a JSON body
//! ([`ErrorBody`], or [`NotLeaderBody`] naming the leader's HTTP API for a
//! 421).

use crate::node::{MembershipError, NodeError};
use crate::state_machine::CommandRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronik_api::{ErrorBody, NotLeaderBody};

/// Maps a node error to an HTTP answer with a JSON body.
pub(super) fn error_response(e: NodeError) -> Response {
    let code = match &e {
        NodeError::NotLeader { .. } => StatusCode::MISDIRECTED_REQUEST,
        NodeError::Dropped | NodeError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        NodeError::Timeout(_) | NodeError::TransferTimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
        NodeError::Membership(
            MembershipError::ChangeInProgress
            | MembershipError::NotCaughtUp { .. }
            | MembershipError::Rejoining { .. },
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

pub(super) fn error_body(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (
        code,
        Json(ErrorBody {
            error: msg.to_string(),
        }),
    )
        .into_response()
}

pub(super) fn bad_request(msg: impl std::fmt::Display) -> Response {
    error_body(StatusCode::BAD_REQUEST, msg)
}
