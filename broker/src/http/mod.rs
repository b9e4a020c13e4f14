//! HTTP, the broker's only API: health, metrics, status, membership and
//! the metadata store (topics, key/value), all JSON bodies of `chronik_api`.
//! With peer TLS the full API is on the mTLS admin port and the plain port
//! keeps health, metrics and status ([`admin`]).

mod acls;
mod admin;
mod config;
mod error;
mod membership;
mod metadata;
mod users;

pub use admin::{plain_port, serve_admin};

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
/// Storage recovery reports progress at least per 8 MiB checked; no
/// progress for this long means stuck.
const RECOVERY_STALL_MS: u64 = 30_000;

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
        .route("/v1/acls", get(acls::list).post(acls::create))
        .route(
            "/v1/config",
            get(config::get_config).put(config::put_config),
        )
        .route("/v1/acls/delete", post(acls::delete))
        .route("/v1/kv/{key}", put(metadata::put_kv).get(metadata::get_kv))
        .route("/v1/users", get(users::list_users))
        .route("/v1/users/{user}/scram", put(users::put_scram))
        .route(
            "/v1/users/{user}/scram/{mechanism}",
            delete(users::delete_scram),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refuse_while_recovering,
        ))
        .with_state(state)
}

async fn livez(State(s): State<HttpState>) -> Response {
    let status = s.node.status();
    // While storage recovers the Raft loop does not run yet: the recovery's
    // own progress tells a long recovery from a stuck one.
    let (what, beat, limit) = match &status.recovery {
        Some(r) => ("storage recovery", r.progress_ms, RECOVERY_STALL_MS),
        None => ("raft loop", status.loop_heartbeat_ms, LOOP_STALL_MS),
    };
    let age = crate::node::now_ms().saturating_sub(beat);
    if age > limit {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{what} stalled for {age} ms\n"),
        )
            .into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

/// Answers 503 to everything but health, metrics and status while storage
/// recovers: the Raft loop does not run yet, so nothing else can be served.
async fn refuse_while_recovering(
    State(s): State<HttpState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(r) = s.node.status().recovery {
        let health = matches!(
            request.uri().path(),
            "/livez" | "/readyz" | "/metrics" | "/v1/status"
        );
        if !health {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("recovering storage: {}\n", r.step),
            )
                .into_response();
        }
    }
    next.run(request).await
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
