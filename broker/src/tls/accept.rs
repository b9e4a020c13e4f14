//! Accepting TLS connections without letting one client hold up the others:
//! each handshake runs in its own task (bounded in number and in time), and
//! finished connections come out of a queue with the identity the client's
//! certificate names. The same acceptor feeds tonic (as a `Stream`) and
//! axum (as a `Listener`).

use super::CertIdentity;
use rustls::ServerConfig;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Handshakes in progress at once; further connections wait to be accepted.
const MAX_HANDSHAKES: usize = 256;
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished connections waiting for the server to take them.
const QUEUE: usize = 64;

/// Who is on the other end of an accepted connection.
#[derive(Debug, Clone)]
pub struct PeerConn {
    /// The client's address.
    pub remote: SocketAddr,
    /// What the client's (verified) certificate names; `None` without one.
    pub identity: Option<CertIdentity>,
}

/// A TLS connection with the identity of its client.
pub struct PeerStream {
    inner: TlsStream<TcpStream>,
    conn: PeerConn,
}

impl PeerStream {
    /// Who is on the other end.
    pub fn conn(&self) -> &PeerConn {
        &self.conn
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl tonic::transport::server::Connected for PeerStream {
    type ConnectInfo = PeerConn;

    fn connect_info(&self) -> PeerConn {
        self.conn.clone()
    }
}

/// Connections whose TLS handshake succeeded, in the order they finished.
pub struct TlsIncoming {
    queue: mpsc::Receiver<PeerStream>,
    local: SocketAddr,
}

/// Accepts on `listener` with `config`; `on_failure` hears of every failed
/// handshake (a client without a certificate of the CA, a plaintext client,
/// a timeout).
pub fn accept_tls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    on_failure: impl Fn(&io::Error) + Send + Sync + 'static,
) -> io::Result<TlsIncoming> {
    let local = listener.local_addr()?;
    let (tx, queue) = mpsc::channel(QUEUE);
    let acceptor = TlsAcceptor::from(config);
    let on_failure = Arc::new(on_failure);
    let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (tcp, remote) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, queue, on_failure) = (acceptor.clone(), tx.clone(), on_failure.clone());
            tokio::spawn(async move {
                let _permit = permit;
                match handshake(&acceptor, tcp, remote).await {
                    Ok(stream) => {
                        let _ = queue.send(stream).await;
                    }
                    Err(e) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        on_failure(&e);
                    }
                }
            });
            if tx.is_closed() {
                return;
            }
        }
    });
    Ok(TlsIncoming { queue, local })
}

async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    remote: SocketAddr,
) -> io::Result<PeerStream> {
    let inner = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
    let identity = inner
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(CertIdentity::of);
    Ok(PeerStream {
        inner,
        conn: PeerConn { remote, identity },
    })
}

impl tokio_stream::Stream for TlsIncoming {
    type Item = io::Result<PeerStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.queue.poll_recv(cx).map(|s| s.map(Ok))
    }
}

impl axum::serve::Listener for TlsIncoming {
    type Io = PeerStream;
    type Addr = PeerConn;

    async fn accept(&mut self) -> (PeerStream, PeerConn) {
        match self.queue.recv().await {
            Some(s) => {
                let conn = s.conn.clone();
                (s, conn)
            }
            // The accept task only stops when this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<PeerConn> {
        Ok(PeerConn {
            remote: self.local,
            identity: None,
        })
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsIncoming>>
    for PeerConn
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsIncoming>) -> Self {
        stream.remote_addr().clone()
    }
}
