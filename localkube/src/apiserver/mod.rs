//! The Kubernetes API emulator: an in-memory store with watches, server-side
//! apply, CEL validation, discovery and the HTTP routes kubectl, helm and
//! kube-rs use.

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
pub mod schema;
pub mod selectors;
pub mod server;
pub mod services;
pub mod ssa;
pub mod store;
pub mod strategic;
pub mod table;
pub mod time;
pub mod watch;
pub mod write;
