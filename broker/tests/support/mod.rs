//! Helpers of the broker's integration tests: the test kit's cluster of real
//! `chronik-broker` processes ([`TestCluster`], [`NodeSpec`] and their HTTP
//! API). The Python Kafka clients, kcat and network namespaces are
//! `chronik_testkit::{python, kcat, netns}`.

pub use chronik_testkit::cluster::*;

// Not every test binary sends raw Kafka requests.
#[allow(dead_code)]
pub mod raw_kafka;
