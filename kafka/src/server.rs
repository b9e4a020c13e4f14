//! The listener: accepts connections up to a limit, serves each on its own task,
//! stops on a shutdown signal (mini-redis style).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tracing::{debug, info, warn};

use crate::backend::Backend;
use crate::connection::{Connection, ConnectionError};
use crate::handlers::Handlers;

/// Listener settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Concurrent connections; further clients wait in the accept backlog.
    pub max_connections: usize,
    /// Largest request frame accepted; larger ones close the connection.
    pub max_request_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_request_bytes: 100 * 1024 * 1024,
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
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
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
    let host = peer.ip().to_string();
    while let Some(frame) = connection.read_frame().await? {
        match handlers.handle_frame(frame, &host).await {
            Ok(Some(response)) => connection.write_frame(&response).await?,
            Ok(None) => {}
            Err(e) => {
                warn!(%peer, error = %e, "closing connection after bad request");
                return Err(e.into());
            }
        }
    }
    Ok(())
}
