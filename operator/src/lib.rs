//! The Chronik Kubernetes operator: a `ChronikCluster` becomes a StatefulSet
//! of brokers that find each other through headless-Service DNS.
//!
//! Flow of one reconcile ([`controller`]): observe the StatefulSet and pods,
//! [`validate`] the spec into a [`validate::ValidatedCluster`], ask the
//! [`brokers`], [`lifecycle::plan`] the next step, [`build`] the desired
//! objects (pure), [`apply`] them with server-side apply (writing only when
//! they differ), write the [`status`], then carry out the step.

pub mod addresses;
pub mod apply;
pub mod brokers;
pub mod build;
pub mod certs;
pub mod controller;
pub mod crd;
pub mod leader;
pub mod lifecycle;
pub mod metrics;
pub mod render;
pub mod server;
pub mod status;
pub mod user;
pub mod validate;
