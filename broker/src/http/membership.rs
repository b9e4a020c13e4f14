//! Membership and leadership endpoints: add a learner, promote, remove,
//! transfer leadership; each answers with the membership once applied.

use super::error::{bad_request, error_response};
use super::HttpState;
use crate::node::{MembershipChange, NodeError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronik_api::{AddMemberRequest, Membership, TransferLeaderRequest};

fn membership_answer(r: Result<Membership, NodeError>) -> Response {
    match r {
        Ok(m) => Json(m).into_response(),
        Err(e) => error_response(e),
    }
}

pub(super) async fn add_member(State(s): State<HttpState>, body: Bytes) -> Response {
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

pub(super) async fn promote_member(State(s): State<HttpState>, Path(id): Path<u64>) -> Response {
    membership_answer(
        s.node
            .change_membership(MembershipChange::Promote { id })
            .await,
    )
}

pub(super) async fn remove_member(State(s): State<HttpState>, Path(id): Path<u64>) -> Response {
    membership_answer(
        s.node
            .change_membership(MembershipChange::Remove { id })
            .await,
    )
}

pub(super) async fn transfer_leader(State(s): State<HttpState>, body: Bytes) -> Response {
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
