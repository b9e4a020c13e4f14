//! One client connection: reads length-prefixed frames, writes response frames,
//! over any byte stream (a TCP socket, or a TLS session over one).

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::codec::{self, CodecError};

/// Why a connection stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Socket error.
    #[error("connection i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Unusable frame.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The peer closed the socket in the middle of a frame.
    #[error("peer closed the connection with {buffered} bytes of an incomplete frame")]
    ClosedMidFrame {
        /// Bytes received of the incomplete frame.
        buffered: usize,
    },
}

/// A framed Kafka connection over `S`.
#[derive(Debug)]
pub struct Connection<S = TcpStream> {
    stream: S,
    buffer: BytesMut,
    max_request_bytes: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wraps an accepted stream.
    pub fn new(stream: S, max_request_bytes: usize) -> Self {
        Self {
            stream,
            buffer: BytesMut::with_capacity(8 * 1024),
            max_request_bytes,
        }
    }

    /// Reads the next request frame; `Ok(None)` on a clean close between frames.
    pub async fn read_frame(&mut self) -> Result<Option<Bytes>, ConnectionError> {
        loop {
            if let Some(frame) = codec::parse_frame(&mut self.buffer, self.max_request_bytes)? {
                return Ok(Some(frame));
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(ConnectionError::ClosedMidFrame {
                        buffered: self.buffer.len(),
                    })
                };
            }
        }
    }

    /// Closes the sending side (TLS close_notify, then FIN) so the client
    /// reads everything written before it sees the close.
    pub async fn shutdown(&mut self) -> Result<(), ConnectionError> {
        self.stream.shutdown().await?;
        Ok(())
    }

    /// Writes an encoded response frame.
    pub async fn write_frame(&mut self, frame: &[u8]) -> Result<(), ConnectionError> {
        self.stream.write_all(frame).await?;
        // A TLS stream buffers records until flushed.
        self.stream.flush().await?;
        Ok(())
    }
}
