//! Chronik's Kafka wire-protocol front end.
//!
//! - [`codec`]: framing and request/response (de)serialization with `kafka-protocol`.
//! - [`connection`] / [`server`]: sockets, connection limit, shutdown.
//! - [`handlers`]: one module per API, dispatched by [`handlers::Handlers`].
//! - [`group`]: the consumer group membership state machine.
//! - [`backend`]: the storage boundary ([`backend::Backend`]) and [`backend::MemoryBackend`].
//! - [`batch`] / [`idempotence`] / [`timestamps`]: record batch validation, producer
//!   sequence rules and record timestamp bounds, shared with backend implementations.
//! - [`topic_name`]: Kafka's topic name rule.
//! - [`sasl`]: SASL PLAIN and SCRAM authentication of connections.
//!
//! See `docs/kafka.md` for the design.

#![deny(missing_docs)]

pub mod authz;
pub mod backend;
pub mod batch;
pub mod codec;
pub mod connection;
pub mod group;
pub mod handlers;
pub mod idempotence;
pub mod leader_epochs;
pub mod sasl;
pub mod server;
pub mod timestamps;
pub mod topic_name;
pub mod versions;

#[cfg(test)]
mod test_support;

pub use backend::{Backend, BackendError, MemoryBackend, MemoryBackendConfig};
pub use handlers::{FrontendConfig, Handlers, Principal, Session};
pub use server::{serve, serve_listener, ListenerSecurity, ListenerTls, ServerConfig};
