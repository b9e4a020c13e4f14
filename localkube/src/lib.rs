//! `chronik-localkube`: a local, in-memory, Kubernetes-compatible API server
//! emulator that the real `kubectl`, `helm` and kube-rs controllers can talk
//! to, for Chronik's end-to-end tests on machines without a cluster.
//!
//! See `localkube/README.md` for what is implemented and where it differs from a
//! real API server.

pub mod apiserver;
pub mod runner;

pub use apiserver::server::{kubeconfig, start, RunningServer, ServerError};
