//! Topic requests of the HTTP API (`POST /v1/topics`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Body of `POST /v1/topics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopicRequest {
    pub name: String,
    pub partitions: u32,
    /// Topic configuration (`retention.ms`, …), Kafka's names.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// `201 Created` answer of `POST /v1/topics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopicAnswer {
    pub name: String,
    /// The metadata log index at which the topic was created.
    pub index: u64,
}
