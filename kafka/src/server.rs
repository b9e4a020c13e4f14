//! The listener: accepts connections up to a limit (refusing the ones over it),
//! serves each on its own task, closes idle ones, stops on a shutdown signal
//! (mini-redis style).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tracing::{debug, info, warn};

use crate::backend::Backend;
use crate::connection::{Connection, ConnectionError};
use crate::handlers::Handlers;

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

/// Serves Kafka clients on `listener` until `shutdown` resolves, then waits for
/// open connections to finish their current request.
pub async fn serve<B: Backend>(
    listener: TcpListener,
    handlers: Arc<Handlers<B>>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    tokio::select! {
        () = accept_loop(&listener, &handlers, config, &limit, &notify_shutdown, &done_tx) => {}
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
        let mut shutdown = notify_shutdown.subscribe();
        let done = done_tx.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = serve_connection(socket, peer, &handlers, config) => {
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
) -> Result<(), ConnectionError> {
    let _ = socket.set_nodelay(true);
    let mut connection = Connection::new(socket, config.max_request_bytes);
    let session = crate::handlers::Session::anonymous(&peer.ip().to_string(), "plain");
    loop {
        let Ok(read) = tokio::time::timeout(config.idle_timeout, connection.read_frame()).await
        else {
            debug!(%peer, idle_ms = config.idle_timeout.as_millis(), "closing idle connection");
            return Ok(());
        };
        let Some(frame) = read? else {
            return Ok(());
        };
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
