//! Chronik broker: a tikv `raft` node over tonic gRPC, with health, metrics,
//! status, membership and the metadata store over HTTP.

pub mod bootstrap;
pub mod broker_config;
pub mod cli;
pub mod dev;
pub mod http;
pub mod kafka;
pub mod limits;
pub mod listeners;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod offset_retention;
pub mod partition;
pub mod peer_security;
pub mod server;
pub mod startup;
pub mod state_machine;
pub mod storage;
pub mod tls;
pub mod topic_limits;
pub mod transport;
