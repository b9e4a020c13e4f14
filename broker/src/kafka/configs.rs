//! The [`chronik_kafka::Backend`] methods of topic and broker configs: the
//! broker layers read from this broker's copy of the metadata state (plus
//! its static `--config`), changes forwarded to the metadata leader (any
//! broker answers AlterConfigs) and answered once applied here, so the
//! client's next DescribeConfigs on this broker sees them.

use super::error::{meta_error, unavailable};
use crate::broker_config::StaticConfig;
use crate::node::NodeHandle;
use crate::state_machine::{set_broker_config_command, set_topic_config_command, MetaStateMachine};
use chronik_api::config::ConfigLayers;
use chronik_kafka::backend::BackendResult;
use chronik_kafka::BackendError;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long a change waits to apply here.
const ALTER_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a change not applied yet is forwarded again (the first may be
/// dropped while no leader is known).
const REPROPOSE_EVERY: Duration = Duration::from_millis(500);

/// Whether the change is in force here: `Some(true)` applied, `None` when
/// the topic is gone.
type Check = fn(&MetaStateMachine, &str, &BTreeMap<String, String>) -> Option<bool>;

/// The dynamic broker configs applied here over `static_config`.
pub async fn layers(
    node: &NodeHandle,
    static_config: &StaticConfig,
) -> BackendResult<ConfigLayers> {
    let static_config = static_config.clone();
    node.query(move |sm| crate::broker_config::layers(sm, &static_config))
        .await
        .map_err(unavailable)
}

/// The effective value of topic key `key` for topic `topic` as this broker
/// applied it (`None` for an unknown topic or key): what the Kafka adapter
/// enforces at the time of use.
pub async fn topic_value(
    node: &NodeHandle,
    static_config: &StaticConfig,
    topic: &str,
    key: &str,
) -> BackendResult<Option<chronik_api::config::ResolvedValue>> {
    let (static_config, topic, key) = (static_config.clone(), topic.to_string(), key.to_string());
    node.query(move |sm| {
        let info = sm.topics().get(&topic)?;
        crate::broker_config::topic_value(sm, &static_config, info, &key)
    })
    .await
    .map_err(unavailable)
}

/// Replaces topic `name`'s overrides.
pub async fn set_topic(
    node: &NodeHandle,
    name: &str,
    config: BTreeMap<String, String>,
) -> BackendResult<()> {
    let cmd = set_topic_config_command(name, config.clone());
    let check: Check = |sm, name, wanted| sm.topics().get(name).map(|t| &t.config == wanted);
    forward_until_applied(node, cmd, name, config, check).await
}

/// Replaces the dynamic broker configs.
pub async fn set_brokers(node: &NodeHandle, config: BTreeMap<String, String>) -> BackendResult<()> {
    let cmd = set_broker_config_command(config.clone());
    let check: Check = |sm, _, wanted| Some(sm.broker_config() == wanted);
    forward_until_applied(node, cmd, "", config, check).await
}

async fn forward_until_applied(
    node: &NodeHandle,
    cmd: Vec<u8>,
    name: &str,
    wanted: BTreeMap<String, String>,
    check: Check,
) -> BackendResult<()> {
    let deadline = Instant::now() + ALTER_TIMEOUT;
    let mut next_proposal = Instant::now();
    while Instant::now() < deadline {
        if Instant::now() >= next_proposal {
            node.forward(cmd.clone()).await.map_err(meta_error)?;
            next_proposal = Instant::now() + REPROPOSE_EVERY;
        }
        let (topic, want) = (name.to_string(), wanted.clone());
        let state = node
            .query(move |sm| check(sm, &topic, &want))
            .await
            .map_err(unavailable)?;
        match state {
            Some(true) => return Ok(()),
            Some(false) => {}
            None => {
                return Err(BackendError::UnknownTopic {
                    topic: name.to_string(),
                })
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(BackendError::Unavailable {
        reason: "the config change did not commit in time",
    })
}
