//! `chronik-localkube`: a local, in-memory, Kubernetes-compatible API server
//! emulator that the real `kubectl`, `helm` and kube-rs controllers can talk
//! to, for Chronik's end-to-end tests on machines without a cluster.
//!
//! See `e2e/README.md` for what is implemented and where it differs from a
//! real API server.

pub mod cel;
pub mod cluster;
pub mod defaults;
pub mod delete;
pub mod discovery;
pub mod error;
pub mod http;
pub mod jsonpath;
pub mod proto;
pub mod resources;
pub mod route;
pub mod runner;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod ssa;
pub mod store;
pub mod strategic;
pub mod table;
pub mod time;
pub mod tools;
pub mod watch;
pub mod write;

pub use server::{kubeconfig, start, RunningServer, ServerError};
