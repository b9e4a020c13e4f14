//! Starting the emulator on a TCP address and writing a kubeconfig for it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::apiserver::http::{router, AppState};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the kubeconfig failed.
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A running emulator; dropping it does not stop it, call [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    /// Address it listens on.
    pub addr: SocketAddr,
    /// Shared state (for in-process inspection in tests).
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Write a kubeconfig whose current context points at this server.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), ServerError> {
        std::fs::write(path, kubeconfig(&self.url())).map_err(|source| ServerError::Kubeconfig {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Stop accepting requests and wait for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
    }

    /// Wait until the server ends (it only ends on shutdown or a fatal error).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The kubeconfig text for a server URL (context `chronik-local`, namespace `default`).
pub fn kubeconfig(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: chronik-local
  cluster:
    server: {url}
users:
- name: chronik-local
  user: {{}}
contexts:
- name: chronik-local
  context:
    cluster: chronik-local
    user: chronik-local
    namespace: default
current-context: chronik-local
"
    )
}

/// Start the emulator on `addr` (port 0 = an ephemeral port).
pub async fn start(addr: SocketAddr) -> Result<RunningServer, ServerError> {
    start_with_state(addr, AppState::default()).await
}

/// Serve an existing cluster state on another address too (e.g. the podman
/// network's gateway, so that pods reach the API server).
pub async fn start_with_state(
    addr: SocketAddr,
    state: AppState,
) -> Result<RunningServer, ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    let app = router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    tracing::info!(%addr, "chronik-localkube API server listening");
    Ok(RunningServer {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}
