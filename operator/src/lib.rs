//! The Chronik Kubernetes operator: a `ChronikCluster` becomes a StatefulSet
//! of brokers that find each other through headless-Service DNS.
//!
//! Flow of one reconcile: [`validate`] the spec into a
//! [`validate::ValidatedCluster`], [`build`] the desired objects (pure),
//! [`apply`] them with server-side apply (writing only when they differ),
//! then read the brokers and write [`status`].

pub mod apply;
pub mod build;
pub mod controller;
pub mod crd;
pub mod leader;
pub mod lifecycle;
pub mod metrics;
pub mod render;
pub mod server;
pub mod status;
pub mod validate;
