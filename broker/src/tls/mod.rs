//! TLS material of a broker: a certificate, its key and a CA read from PEM
//! files, reloaded when the files change (certificate rotation without a
//! restart), and the rustls configurations built on them.
//!
//! One [`TlsMaterial`] serves the peer transport, the admin API and the
//! Kafka listeners alike; each asks for a [`rustls::ServerConfig`] or
//! [`rustls::ClientConfig`] whose certificate and trusted CA follow the
//! files. [`identity`] reads who a peer's certificate names.

pub mod accept;
mod files;
pub mod identity;
mod material;
mod resolve;
mod verify;

pub use accept::{accept_tls, PeerConn, PeerStream, TlsIncoming};
pub use files::TlsFiles;
pub use identity::CertIdentity;
pub use material::{TlsError, TlsMaterial};

/// Whether a server asks its clients for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Never asked for.
    None,
    /// Asked for and verified against the CA when sent; a client without one
    /// may connect (the application decides what it may do).
    Optional,
    /// A client without a certificate of the CA cannot connect.
    Required,
}

#[cfg(test)]
mod tests;
