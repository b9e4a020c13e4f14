//! Metadata store endpoints: topics (create, list) and the key/value map
//! (put through Raft, local read).

use super::error::{bad_request, error_body, error_response};
use super::HttpState;
use crate::state_machine::commands;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chronik_api::{CreateTopicAnswer, CreateTopicRequest};

pub(super) async fn create_topic(State(s): State<HttpState>, body: Bytes) -> Response {
    let req: CreateTopicRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(format!(
                "expected {{\"name\": ..., \"partitions\": N}}: {e}"
            ))
        }
    };
    for (key, value) in &req.config {
        if let Err(e) = chronik_api::config::validate_topic_config(key, value) {
            return bad_request(e);
        }
    }
    // Checked before proposing: a committed creation is applied by every
    // replica, and one beyond the limits would open that many Raft groups.
    let total = match s
        .node
        .query(|sm| sm.topics().values().map(|t| u64::from(t.partitions)).sum())
        .await
    {
        Ok(total) => total,
        Err(e) => return error_response(e),
    };
    if let Err(e) = s
        .topic_limits
        .check_create(&req.name, i64::from(req.partitions), total)
    {
        return bad_request(e);
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

pub(super) async fn list_topics(State(s): State<HttpState>) -> Response {
    match s.node.topics().await {
        Ok(t) => Json(t.into_values().collect::<Vec<_>>()).into_response(),
        Err(e) => error_response(e),
    }
}

pub(super) async fn put_kv(
    State(s): State<HttpState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    match s.node.propose(commands::put(&key, body.to_vec())).await {
        Ok(index) => Json(serde_json::json!({"index": index})).into_response(),
        Err(e) => error_response(e),
    }
}

pub(super) async fn get_kv(State(s): State<HttpState>, Path(key): Path<String>) -> Response {
    let k = key.clone();
    match s.node.query(move |sm| sm.get(&k).map(<[u8]>::to_vec)).await {
        Ok(Some(v)) => v.into_response(),
        Ok(None) => error_body(StatusCode::NOT_FOUND, format!("no key {key:?}")),
        Err(e) => error_response(e),
    }
}
