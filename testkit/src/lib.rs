//! `chronik-testkit`: what the integration tests of several crates share, as
//! a dev-dependency (never a dependency of a shipped binary).
//!
//! - [`binary`]: the `chronik-broker` binary of the current build.
//! - [`certs`]: a test CA and the certificates it issues, as brokers read them.
//! - [`dev_broker`]: `chronik-kafka-dev` on an ephemeral port.
//! - [`ports`]: free loopback ports below the ephemeral range.
//! - [`cluster`]: [`TestCluster`], a cluster of real broker processes, and
//!   its [`NodeSpec`]s, driven through the broker's HTTP API as
//!   `chronik_api` types.
//! - [`python`]: the project's Python environment (kafka-python,
//!   confluent-kafka) and the client scripts of `kafka/tests/clients`.
//! - [`kcat`]: kcat (librdkafka) as a second, independent Kafka client.
//! - [`node`]: Node.js and kafkajs, for the programs of `kafka/tests/clients/js`.
//! - [`golang`]: Go with sarama and kafka-go, for the programs of
//!   `kafka/tests/clients/go`.
//! - [`netns`]: hosts in network namespaces, for real partitions.
//! - [`nemesis`]: a seeded fault schedule and the checker of its history.
//! - `kubectl` (feature `kubectl`): the real kubectl bound to one kubeconfig.
//! - `localkube` (feature `localkube`): the API emulator in-process with
//!   kubectl, helm and a kube-rs client.
//! - [`workspace`]: the repository's root and target directories.

pub mod binary;
pub mod certs;
pub mod cluster;
pub mod dev_broker;
pub mod golang;
pub mod kcat;
#[cfg(feature = "kubectl")]
pub mod kubectl;
#[cfg(feature = "localkube")]
pub mod localkube;
pub mod nemesis;
pub mod netns;
pub mod node;
pub mod ports;
pub mod python;
pub mod tools;
pub mod workspace;

pub use cluster::{NodeSpec, TestCluster};
