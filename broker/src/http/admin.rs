//! The two HTTP ports under peer TLS: the plain port keeps only health,
//! metrics and status (what probes and scrapers need), and the mTLS admin
//! port serves everything to a client whose certificate names a node of
//! the cluster or the operator.

use super::error::error_body;
use crate::tls::{PeerConn, TlsIncoming};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;

/// Whether the plain port answers `method path` while peer TLS is on.
fn open_on_plain_port(method: &Method, path: &str) -> bool {
    matches!(path, "/livez" | "/readyz" | "/metrics")
        || (path == "/v1/status" && method == Method::GET)
}

/// Restricts `router` to health, metrics and `GET /v1/status`; every
/// other request is answered 403 naming the admin port.
pub fn plain_port(router: Router, admin_port: u16) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        admin_port,
        refuse_admin_calls,
    ))
}

async fn refuse_admin_calls(
    State(admin_port): State<u16>,
    request: Request,
    next: Next,
) -> Response {
    if open_on_plain_port(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    error_body(
        StatusCode::FORBIDDEN,
        format!(
            "{} {} is served only on the admin API: use https on port {admin_port} with a \
             client certificate of the cluster CA (this port serves /livez, /readyz, \
             /metrics and GET /v1/status)",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Serves `router` on the admin port's TLS connections, to clients whose
/// certificate names a node or the operator.
pub async fn serve_admin(incoming: TlsIncoming, router: Router) -> std::io::Result<()> {
    let app = router.layer(axum::middleware::from_fn(require_member_or_operator));
    axum::serve(
        incoming,
        app.into_make_service_with_connect_info::<PeerConn>(),
    )
    .await
}

async fn require_member_or_operator(
    ConnectInfo(conn): ConnectInfo<PeerConn>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = conn
        .identity
        .as_ref()
        .is_some_and(|i| i.operator || i.node_id.is_some());
    if allowed {
        return next.run(request).await;
    }
    let named = conn
        .identity
        .and_then(|i| i.common_name)
        .unwrap_or_else(|| "nothing".to_string());
    tracing::warn!(remote = %conn.remote, certificate = %named, "admin API call refused");
    error_body(
        StatusCode::FORBIDDEN,
        format!(
            "the admin API needs a certificate naming a node (urn:chronik:node:<id>) or the \
             operator (urn:chronik:operator); this one names CN={named}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_health_metrics_and_status_stay_on_the_plain_port() {
        for path in ["/livez", "/readyz", "/metrics", "/v1/status"] {
            assert!(open_on_plain_port(&Method::GET, path), "{path}");
        }
        for (method, path) in [
            (Method::POST, "/v1/members"),
            (Method::PUT, "/v1/kv/a"),
            (Method::GET, "/v1/kv/a"),
            (Method::POST, "/v1/leader/transfer"),
            (Method::POST, "/v1/status"),
            (Method::GET, "/v1/topics"),
        ] {
            assert!(!open_on_plain_port(&method, path), "{method} {path}");
        }
    }
}
