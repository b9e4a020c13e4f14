//! The broker's configuration keys: the static `--config` file checked
//! against `chronik_api::config` at start, the values the broker takes from
//! it, and THE lookup of a topic's effective config.
//!
//! A topic key resolves to the topic's override, else the dynamic
//! cluster-wide broker default of its synonym (replicated through the
//! metadata group: AlterConfigs, IncrementalAlterConfigs, `PUT /v1/config`),
//! else this broker's static `--config` value, else the table's default.
//! Code that enforces a topic config calls [`topic_value`] (or builds
//! [`layers`] once for many topics) at the time of use, so a change reaches
//! existing topics without recreating them.

use crate::state_machine::{MetaStateMachine, TopicInfo};
use chronik_api::config::{validate_broker_config, ConfigError, ConfigLayers, ResolvedValue};
use std::collections::BTreeMap;
use std::sync::Arc;

/// This broker's static `--config` values, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticConfig(Arc<BTreeMap<String, String>>);

impl StaticConfig {
    /// Checks every key and value against the broker table: an unknown key
    /// or an invalid value is an error naming it.
    pub fn validate(settings: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        for (key, value) in &settings {
            validate_broker_config(key, value)?;
        }
        Ok(Self(Arc::new(settings)))
    }

    /// The values as given.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The effective value of a broker key without dynamic defaults (the
    /// keys read at start: `num.partitions`, ...), parsed; the table's
    /// default when the file does not set it.
    fn parsed<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        let layers = ConfigLayers {
            static_config: self.values().clone(),
            ..ConfigLayers::default()
        };
        layers.broker_value(key)?.value.trim().parse().ok()
    }

    /// The Kafka front end's settings from `num.partitions`,
    /// `default.replication.factor` and `auto.create.topics.enable`.
    pub fn frontend(
        &self,
        fetch_max_bytes: usize,
        authz: chronik_kafka::authz::AuthzConfig,
    ) -> chronik_kafka::FrontendConfig {
        let kafka = chronik_kafka::FrontendConfig::default();
        chronik_kafka::FrontendConfig {
            default_partitions: self
                .parsed("num.partitions")
                .unwrap_or(kafka.default_partitions),
            default_replication_factor: self
                .parsed("default.replication.factor")
                .unwrap_or(kafka.default_replication_factor),
            auto_create_topics_enable: self
                .parsed("auto.create.topics.enable")
                .unwrap_or(kafka.auto_create_topics_enable),
            fetch_max_bytes,
            authz,
        }
    }
}

/// The broker layers under every topic's overrides.
pub fn layers(sm: &MetaStateMachine, static_config: &StaticConfig) -> ConfigLayers {
    ConfigLayers {
        dynamic: sm.broker_config().clone(),
        static_config: static_config.values().clone(),
    }
}

/// The effective value of topic key `key` for `topic` (`None` for a key
/// not in the topic table).
pub fn topic_value(
    sm: &MetaStateMachine,
    static_config: &StaticConfig,
    topic: &TopicInfo,
    key: &str,
) -> Option<ResolvedValue> {
    layers(sm, static_config).topic_value(&topic.config, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_machine::{commands, set_broker_config_command, set_topic_config_command};

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_file_is_checked_and_its_static_values_are_used() {
        let bad = StaticConfig::validate(map(&[("log.retention.hours", "1")]));
        assert!(
            matches!(bad, Err(ConfigError::UnknownKey { ref key, .. }) if key == "log.retention.hours")
        );
        let bad = StaticConfig::validate(map(&[("num.partitions", "0")]));
        assert!(
            matches!(bad, Err(ConfigError::InvalidValue { ref key, .. }) if key == "num.partitions")
        );
        let ok = StaticConfig::validate(map(&[
            ("num.partitions", "6"),
            ("default.replication.factor", "2"),
            ("auto.create.topics.enable", "false"),
        ]))
        .unwrap();
        let frontend = ok.frontend(1024, Default::default());
        assert_eq!(frontend.default_partitions, 6);
        assert_eq!(frontend.default_replication_factor, 2);
        assert!(!frontend.auto_create_topics_enable);
        let defaults = StaticConfig::default().frontend(1024, Default::default());
        assert_eq!(defaults.default_partitions, 1);
        assert_eq!(defaults.default_replication_factor, 3);
        assert!(defaults.auto_create_topics_enable);
    }

    #[test]
    fn a_topic_value_comes_from_the_most_specific_layer() {
        let static_config = StaticConfig::validate(map(&[("log.retention.ms", "3000")])).unwrap();
        let mut sm = MetaStateMachine::default();
        sm.apply(1, &commands::create_topic("t", 1, BTreeMap::new()))
            .unwrap();
        let value = |sm: &MetaStateMachine| {
            let v = topic_value(sm, &static_config, &sm.topics()["t"], "retention.ms").unwrap();
            (v.name, v.value, v.source.kafka_code())
        };
        assert_eq!(value(&sm), ("log.retention.ms", "3000".into(), 4));
        sm.apply(
            2,
            &set_broker_config_command(map(&[("log.retention.ms", "2000")])),
        )
        .unwrap();
        assert_eq!(value(&sm), ("log.retention.ms", "2000".into(), 3));
        sm.apply(
            3,
            &set_topic_config_command("t", map(&[("retention.ms", "1000")])),
        )
        .unwrap();
        assert_eq!(value(&sm), ("retention.ms", "1000".into(), 1));
        let none = StaticConfig::default();
        let plain = topic_value(
            &MetaStateMachine::default(),
            &none,
            &sm.topics()["t"],
            "segment.ms",
        );
        assert_eq!(plain.map(|v| v.source.kafka_code()), Some(5));
        assert!(topic_value(&sm, &none, &sm.topics()["t"], "retention.hours").is_none());
    }
}
