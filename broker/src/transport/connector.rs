//! Dialling a peer over mutual TLS: a tonic connector that opens TCP to the
//! peer URL's host (resolved again on every connect), then TLS presenting
//! this broker's certificate and verifying the peer's against the cluster
//! CA and the host dialled.

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::codegen::Service;
use tonic::transport::Uri;

/// Opens mutual-TLS connections for tonic (`Endpoint::connect_with_connector`).
#[derive(Clone)]
pub struct PeerConnector {
    config: Arc<ClientConfig>,
}

impl PeerConnector {
    /// A connector using `config` (see `PeerTls::raft_client`).
    pub fn new(config: Arc<ClientConfig>) -> Self {
        Self { config }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Service<Uri> for PeerConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let config = self.config.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| invalid(format!("peer URL {uri} has no host")))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri
                .port_u16()
                .ok_or_else(|| invalid(format!("peer URL {uri} has no port")))?;
            let name = ServerName::try_from(host.clone())
                .map_err(|e| invalid(format!("peer host {host:?}: {e}")))?;
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            Ok(TokioIo::new(tls))
        })
    }
}
