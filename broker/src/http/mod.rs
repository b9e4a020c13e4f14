//! HTTP, the broker's only API: health, metrics, status, membership and
//! the metadata store (topics, key/value), all JSON bodies of `chronik_api`.

mod error;
mod membership;
mod metadata;

use crate::metrics::Metrics;
use crate::node::NodeHandle;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use std::sync::Arc;

/// The Raft loop publishes its status every tick; older than this means stuck.
const LOOP_STALL_MS: u64 = 5_000;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct HttpState {
    pub node: NodeHandle,
    pub metrics: Arc<Metrics>,
    /// Limits `POST /v1/topics` checks before proposing.
    pub topic_limits: crate::topic_limits::TopicLimits,
}

/// All routes.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/status", get(status))
        .route("/v1/members", post(membership::add_member))
        .route("/v1/members/{id}/promote", post(membership::promote_member))
        .route("/v1/members/{id}", delete(membership::remove_member))
        .route("/v1/leader/transfer", post(membership::transfer_leader))
        .route(
            "/v1/topics",
            get(metadata::list_topics).post(metadata::create_topic),
        )
        .route("/v1/kv/{key}", put(metadata::put_kv).get(metadata::get_kv))
        .with_state(state)
}

async fn livez(State(s): State<HttpState>) -> Response {
    let age = crate::node::now_ms().saturating_sub(s.node.status().loop_heartbeat_ms);
    if age > LOOP_STALL_MS {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("raft loop stalled for {age} ms\n"),
        )
            .into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

async fn readyz(State(s): State<HttpState>) -> Response {
    match s.node.status().not_ready_reason() {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}

async fn metrics(State(s): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

async fn status(State(s): State<HttpState>) -> Json<crate::node::BrokerStatus> {
    Json(s.node.status())
}
