//! SASL authentication of Kafka connections (SaslHandshake, then
//! SaslAuthenticate with KIP-152 framing).
//!
//! - [`scram`]: SCRAM-SHA-256/512 (RFC 5802, RFC 7677): credentials derived
//!   from a salted password, and the server side of the exchange.
//! - [`plain`]: PLAIN (RFC 4616), checked against the user's SCRAM credential.
//! - [`gate`]: what an unauthenticated connection may send.
//! - [`session`]: one connection's progress from handshake to a principal.
//! - [`store`]: credentials in memory, for the in-memory backend.
//!
//! The SCRAM state machine is written here over `ring` (HMAC, SHA-2, PBKDF2,
//! random nonces) rather than taken from a SCRAM crate: the server side is
//! two messages, the crates available are client-oriented or want the
//! password (we store only StoredKey and ServerKey), and `ring` is already
//! built for rustls.

pub mod gate;
pub mod plain;
pub mod scram;
pub mod session;
pub mod store;

pub use chronik_api::security::ScramMechanism;
pub use scram::ScramCredential;
pub use session::{SaslSession, SaslStep};

/// A SASL mechanism a listener may enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SaslMechanism {
    /// `PLAIN`: user name and password in the clear (use with TLS).
    Plain,
    /// `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    Scram(ScramMechanism),
}

impl SaslMechanism {
    /// Kafka's name of the mechanism (`sasl.mechanism`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::Scram(m) => m.name(),
        }
    }

    /// The mechanism named `name` (exact, upper case as on the wire).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "PLAIN" => Some(Self::Plain),
            "SCRAM-SHA-256" => Some(Self::Scram(ScramMechanism::ScramSha256)),
            "SCRAM-SHA-512" => Some(Self::Scram(ScramMechanism::ScramSha512)),
            _ => None,
        }
    }
}

/// The message of every failed authentication: the same for an unknown
/// user and a wrong password, so that a failure never tells which.
pub const AUTHENTICATION_FAILED: &str = "Authentication failed: Invalid username or password";

#[cfg(test)]
mod tests;
