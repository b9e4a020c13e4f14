//! The listener: accepts connections up to a limit (refusing the ones over it),
//! serves each on its own task (through TLS and SASL when the listener says
//! so), closes idle ones, stops on a shutdown signal (mini-redis style).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tracing::{debug, info, warn};

use crate::backend::Backend;
use crate::connection::{Connection, ConnectionError};
use crate::handlers::{Handlers, Principal, Session};
use crate::sasl::gate::{self, Gate};
use crate::sasl::{SaslMechanism, SaslSession};

/// Reads a verified client certificate's principal (mTLS listeners).
pub type CertPrincipal =
    Arc<dyn Fn(&rustls_pki_types::CertificateDer<'_>) -> Option<Principal> + Send + Sync>;

/// TLS of a listener.
#[derive(Clone)]
pub struct ListenerTls {
    /// Accepts TLS sessions (its configuration decides whether a client
    /// certificate is required).
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// mTLS: the connection's principal from the client certificate; a
    /// connection without one this accepts is closed.
    pub client_principal: Option<CertPrincipal>,
}

impl std::fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTls")
            .field("mtls", &self.client_principal.is_some())
            .finish_non_exhaustive()
    }
}

/// How one named listener secures and authenticates its connections.
#[derive(Debug, Clone)]
pub struct ListenerSecurity {
    /// The listener's name (in every request's context).
    pub name: String,
    /// TLS, if any.
    pub tls: Option<ListenerTls>,
    /// SASL mechanisms a connection must authenticate with first; empty for
    /// a listener without SASL.
    pub sasl: Vec<SaslMechanism>,
}

impl ListenerSecurity {
    /// A plaintext listener without authentication.
    pub fn plaintext(name: &str) -> Self {
        Self {
            name: name.to_string(),
            tls: None,
            sasl: Vec::new(),
        }
    }
}

/// Kafka's `connection.failed.authentication.delay.ms` default.
const FAILED_AUTHENTICATION_DELAY: Duration = Duration::from_millis(100);

/// How long a TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Listener settings (Kafka's broker configs of the same meaning in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Concurrent connections (`max.connections`); a connection accepted over
    /// the limit is closed at once, before anything is read from it.
    pub max_connections: usize,
    /// Largest request frame accepted (`socket.request.max.bytes`); a larger
    /// length prefix closes the connection without allocating the frame.
    pub max_request_bytes: usize,
    /// A connection with no complete request for this long is closed
    /// (`connections.max.idle.ms`).
    pub idle_timeout: Duration,
}

/// Kafka's `socket.request.max.bytes` default: 100 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;
/// Connections per listener when not configured (Kafka's `max.connections` is
/// unlimited; every open connection costs a task and buffers, so we bound it).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Kafka's `connections.max.idle.ms` default: 10 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Serves Kafka clients on `listener` (plaintext, no authentication, named
/// `plain`) until `shutdown` resolves, then waits for open connections to
/// finish their current request.
pub async fn serve<B: Backend>(
    listener: TcpListener,
    handlers: Arc<Handlers<B>>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    serve_listener(
        listener,
        handlers,
        config,
        ListenerSecurity::plaintext("plain"),
        shutdown,
    )
    .await;
}

/// Serves Kafka clients on `listener` as `security` says until `shutdown`
/// resolves, then waits for open connections to finish their current request.
pub async fn serve_listener<B: Backend>(
    listener: TcpListener,
    handlers: Arc<Handlers<B>>,
    config: ServerConfig,
    security: ListenerSecurity,
    shutdown: impl Future<Output = ()>,
) {
    let security = Arc::new(security);
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    tokio::select! {
        () = accept_loop(&listener, &handlers, config, &security, &limit, &notify_shutdown, &done_tx) => {}
        () = shutdown => info!("kafka listener shutting down"),
    }
    drop(notify_shutdown);
    drop(done_tx);
    let _ = done_rx.recv().await;
}

async fn accept_loop<B: Backend>(
    listener: &TcpListener,
    handlers: &Arc<Handlers<B>>,
    config: ServerConfig,
    security: &Arc<ListenerSecurity>,
    limit: &Arc<Semaphore>,
    notify_shutdown: &broadcast::Sender<()>,
    done_tx: &mpsc::Sender<()>,
) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Refused rather than left waiting in the backlog: the client sees the
        // close at once and retries with its own backoff.
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            debug!(%peer, max = config.max_connections, "max.connections reached; connection refused");
            drop(socket);
            continue;
        };
        let handlers = handlers.clone();
        let security = security.clone();
        let mut shutdown = notify_shutdown.subscribe();
        let done = done_tx.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = serve_connection(socket, peer, &handlers, config, &security) => {
                    if let Err(e) = result {
                        debug!(%peer, error = %e, "connection closed");
                    }
                }
                _ = shutdown.recv() => {}
            }
            drop(permit);
            drop(done);
        });
    }
}

async fn serve_connection<B: Backend>(
    socket: TcpStream,
    peer: SocketAddr,
    handlers: &Handlers<B>,
    config: ServerConfig,
    security: &ListenerSecurity,
) -> Result<(), ConnectionError> {
    let _ = socket.set_nodelay(true);
    let mut session = Session::anonymous(&peer.ip().to_string(), &security.name);
    let sasl = (!security.sasl.is_empty()).then(|| SaslSession::new(security.sasl.clone()));
    let Some(tls) = &security.tls else {
        let connection = Connection::new(socket, config.max_request_bytes);
        return serve_frames(connection, peer, handlers, config, session, sasl).await;
    };
    let Ok(accepted) =
        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.acceptor.accept(socket)).await
    else {
        debug!(%peer, "TLS handshake timed out");
        return Ok(());
    };
    let stream = accepted?;
    if let Some(principal_of) = &tls.client_principal {
        let certificate = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first());
        let Some(principal) = certificate.and_then(|c| principal_of(c)) else {
            warn!(%peer, listener = %security.name, "mTLS client certificate names no principal; closing");
            return Ok(());
        };
        session.principal = principal;
    }
    let connection = Connection::new(stream, config.max_request_bytes);
    serve_frames(connection, peer, handlers, config, session, sasl).await
}

async fn serve_frames<B: Backend, S: AsyncRead + AsyncWrite + Unpin>(
    mut connection: Connection<S>,
    peer: SocketAddr,
    handlers: &Handlers<B>,
    config: ServerConfig,
    mut session: Session,
    mut sasl: Option<SaslSession>,
) -> Result<(), ConnectionError> {
    loop {
        let Ok(read) = tokio::time::timeout(config.idle_timeout, connection.read_frame()).await
        else {
            debug!(%peer, idle_ms = config.idle_timeout.as_millis(), "closing idle connection");
            return Ok(());
        };
        let Some(mut frame) = read? else {
            return Ok(());
        };
        if let Some(pending) = sasl.as_mut() {
            match gate::admit(pending, handlers.backend().as_ref(), frame).await? {
                Gate::PassThrough(f) => frame = f,
                Gate::Refuse(api_key) => {
                    warn!(%peer, api_key, "request before SASL authentication; closing");
                    return Ok(());
                }
                Gate::Reply {
                    bytes,
                    principal,
                    close,
                } => {
                    if !bytes.is_empty() {
                        connection.write_frame(&bytes).await?;
                    }
                    if close {
                        debug!(%peer, "SASL authentication failed; closing");
                        // Kafka's connection.failed.authentication.delay.ms:
                        // the client reads the error before the close, and a
                        // guessing client is slowed down.
                        tokio::time::sleep(FAILED_AUTHENTICATION_DELAY).await;
                        return connection.shutdown().await;
                    }
                    if let Some(principal) = principal {
                        debug!(%peer, %principal, "SASL authenticated");
                        session.principal = principal;
                        sasl = None;
                    }
                    continue;
                }
            }
        }
        match handlers.handle_frame(frame, &session).await {
            Ok(Some(response)) => connection.write_frame(&response).await?,
            Ok(None) => {}
            Err(e) => {
                warn!(%peer, error = %e, "closing connection after bad request");
                return Err(e.into());
            }
        }
    }
}
