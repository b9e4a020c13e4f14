//! The configuration keys Chronik knows: topic configs and broker configs,
//! with Kafka's names, types and defaults.
//!
//! One table serves everyone: the broker validates `CreateTopics`,
//! `AlterConfigs`, `IncrementalAlterConfigs` and its `--config` file with it,
//! `DescribeConfigs` reports defaults and synonyms from it, and the operator
//! validates `spec.config` with it (an unknown or invalid key makes the
//! ChronikCluster `Degraded` with reason `InvalidConfig`) and decides from
//! [`ConfigKey::dynamic`] whether a change needs a rolling restart.
//!
//! [`Effect::Accepted`] keys are Kafka keys that tools set (Kafka Streams,
//! Connect, Schema Registry) and that Chronik stores, validates and reports
//! but does not act on; the docs list them as such.

use serde::{Deserialize, Serialize};

/// Whether a key configures a topic or a broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// A topic config (`DescribeConfigs` resource type 2).
    Topic,
    /// A broker config (resource type 4), set in `spec.config` / `--config`
    /// or, when [`ConfigKey::dynamic`], through AlterConfigs cluster-wide.
    Broker,
}

/// The value type, named as Kafka's `DescribeConfigs` v3+ names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueType {
    /// `true` or `false`.
    Boolean,
    /// A 32-bit integer.
    Int,
    /// A 64-bit integer.
    Long,
    /// A floating point number.
    Double,
    /// A string.
    String,
    /// A comma-separated list.
    List,
}

impl ValueType {
    /// Kafka's `config_type` number in DescribeConfigs v3+.
    pub fn kafka_code(self) -> i8 {
        match self {
            ValueType::Boolean => 1,
            ValueType::String => 2,
            ValueType::Int => 3,
            ValueType::Long => 5,
            ValueType::Double => 6,
            ValueType::List => 7,
        }
    }
}

/// What Chronik does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Chronik enforces it.
    Enforced,
    /// Stored, validated and reported, without effect (documented).
    Accepted,
}

/// The rule a value must follow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Any value of the type.
    Any,
    /// A number at least this large.
    AtLeast(i64),
    /// A number in this closed range.
    Between(i64, i64),
    /// A double in this closed range.
    Fraction(f64, f64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A non-empty list of these strings, each at most once.
    ListOf(&'static [&'static str]),
}

/// One known configuration key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfigKey {
    /// Kafka's name of the key.
    pub name: &'static str,
    /// Topic or broker.
    pub scope: Scope,
    /// The value type.
    pub value_type: ValueType,
    /// Kafka's default, as text.
    pub default: &'static str,
    /// Broker keys: whether a change applies without a restart (set through
    /// AlterConfigs / IncrementalAlterConfigs cluster-wide, or by the operator
    /// through the broker's `PUT /v1/config`). Topic keys are always dynamic.
    pub dynamic: bool,
    /// Topic keys: the broker key whose value is this topic key's default
    /// (reported as a synonym, source `DEFAULT_BROKER_CONFIG` or
    /// `DYNAMIC_DEFAULT_BROKER_CONFIG`).
    pub broker_synonym: Option<&'static str>,
    /// What Chronik does with it.
    pub effect: Effect,
    /// The rule a value must follow.
    pub rule: Rule,
    /// One line for the docs and `DescribeConfigs` v3+ documentation.
    pub doc: &'static str,
}

const LONG_MAX: &str = "9223372036854775807";
const COMPRESSION: &[&str] = &["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"];
const BROKER_COMPRESSION: &[&str] = COMPRESSION;
const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
const CLEANUP: &[&str] = &["delete", "compact"];

const fn topic(
    name: &'static str,
    value_type: ValueType,
    default: &'static str,
    broker_synonym: Option<&'static str>,
    effect: Effect,
    rule: Rule,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        scope: Scope::Topic,
        value_type,
        default,
        dynamic: true,
        broker_synonym,
        effect,
        rule,
        doc,
    }
}

const fn broker(
    name: &'static str,
    value_type: ValueType,
    default: &'static str,
    dynamic: bool,
    effect: Effect,
    rule: Rule,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        scope: Scope::Broker,
        value_type,
        default,
        dynamic,
        broker_synonym: None,
        effect,
        rule,
        doc,
    }
}

use Effect::{Accepted, Enforced};
use ValueType::{Boolean, Double, Int, List, Long, String as Str};

/// Every topic config Chronik accepts, sorted by name.
pub const TOPIC_CONFIGS: &[ConfigKey] = &[
    topic("cleanup.policy", List, "delete", Some("log.cleanup.policy"), Enforced, Rule::ListOf(CLEANUP),
        "delete: old records expire by retention.ms/retention.bytes; compact: the latest record per key is kept"),
    topic("compression.type", Str, "producer", Some("compression.type"), Enforced, Rule::OneOf(COMPRESSION),
        "producer keeps the client's codec; a named codec recompresses batches on produce"),
    topic("delete.retention.ms", Long, "86400000", Some("log.cleaner.delete.retention.ms"), Enforced, Rule::AtLeast(0),
        "how long a tombstone stays in a compacted topic after the cleaner reached it"),
    topic("max.compaction.lag.ms", Long, LONG_MAX, Some("log.cleaner.max.compaction.lag.ms"), Accepted, Rule::AtLeast(1),
        "upper bound on how long a record stays uncompacted (the cleaner runs every few seconds)"),
    topic("max.message.bytes", Int, "1048588", Some("message.max.bytes"), Enforced, Rule::AtLeast(0),
        "largest record batch a producer may write (MESSAGE_TOO_LARGE)"),
    topic("message.timestamp.after.max.ms", Long, "3600000", Some("log.message.timestamp.after.max.ms"), Enforced, Rule::AtLeast(0),
        "how far ahead of the broker's clock a CreateTime timestamp may be"),
    topic("message.timestamp.before.max.ms", Long, LONG_MAX, Some("log.message.timestamp.before.max.ms"), Enforced, Rule::AtLeast(0),
        "how far behind the broker's clock a CreateTime timestamp may be"),
    topic("message.timestamp.type", Str, "CreateTime", Some("log.message.timestamp.type"), Enforced, Rule::OneOf(TIMESTAMP_TYPES),
        "LogAppendTime: the broker stamps each batch with its clock"),
    topic("min.cleanable.dirty.ratio", Double, "0.5", Some("log.cleaner.min.cleanable.ratio"), Accepted, Rule::Fraction(0.0, 1.0),
        "accepted for compatibility; the cleaner compacts whatever is older than min.compaction.lag.ms"),
    topic("min.compaction.lag.ms", Long, "0", Some("log.cleaner.min.compaction.lag.ms"), Enforced, Rule::AtLeast(0),
        "a record younger than this is never compacted away"),
    topic("min.insync.replicas", Int, "1", Some("min.insync.replicas"), Accepted, Rule::AtLeast(1),
        "accepted for compatibility; acks=all always waits for a Raft majority"),
    topic("retention.bytes", Long, "-1", Some("log.retention.bytes"), Enforced, Rule::AtLeast(-1),
        "per partition, the log keeps at least this many bytes; -1 = unlimited"),
    topic("retention.ms", Long, "604800000", Some("log.retention.ms"), Enforced, Rule::AtLeast(-1),
        "records older than this are deleted (delete policy); -1 = unlimited"),
    topic("segment.bytes", Int, "1073741824", Some("log.segment.bytes"), Accepted, Rule::AtLeast(14),
        "accepted for compatibility; Chronik's log is not split in segments"),
    topic("segment.ms", Long, "604800000", Some("log.roll.ms"), Accepted, Rule::AtLeast(1),
        "accepted for compatibility; Chronik's log is not split in segments"),
];

/// Every broker config Chronik accepts in `spec.config`, `--config` and
/// broker AlterConfigs, sorted by name.
pub const BROKER_CONFIGS: &[ConfigKey] = &[
    broker("auto.create.topics.enable", Boolean, "true", false, Enforced, Rule::Any,
        "Metadata for an unknown topic creates it"),
    broker("compression.type", Str, "producer", true, Enforced, Rule::OneOf(BROKER_COMPRESSION),
        "default of the topic config compression.type"),
    broker("default.replication.factor", Int, "3", false, Enforced, Rule::Between(1, 32767),
        "replication factor of topics created with -1 or automatically (capped at the broker count)"),
    broker("fetch.max.bytes", Int, "57671680", false, Enforced, Rule::AtLeast(1024),
        "most record bytes in one Fetch response"),
    broker("log.cleaner.delete.retention.ms", Long, "86400000", true, Enforced, Rule::AtLeast(0),
        "default of the topic config delete.retention.ms"),
    broker("log.cleaner.max.compaction.lag.ms", Long, LONG_MAX, true, Accepted, Rule::AtLeast(1),
        "default of the topic config max.compaction.lag.ms"),
    broker("log.cleaner.min.cleanable.ratio", Double, "0.5", true, Accepted, Rule::Fraction(0.0, 1.0),
        "default of the topic config min.cleanable.dirty.ratio"),
    broker("log.cleaner.min.compaction.lag.ms", Long, "0", true, Enforced, Rule::AtLeast(0),
        "default of the topic config min.compaction.lag.ms"),
    broker("log.cleanup.policy", List, "delete", true, Enforced, Rule::ListOf(CLEANUP),
        "default of the topic config cleanup.policy"),
    broker("log.message.timestamp.after.max.ms", Long, "3600000", true, Enforced, Rule::AtLeast(0),
        "default of the topic config message.timestamp.after.max.ms"),
    broker("log.message.timestamp.before.max.ms", Long, LONG_MAX, true, Enforced, Rule::AtLeast(0),
        "default of the topic config message.timestamp.before.max.ms"),
    broker("log.message.timestamp.type", Str, "CreateTime", true, Enforced, Rule::OneOf(TIMESTAMP_TYPES),
        "default of the topic config message.timestamp.type"),
    broker("log.retention.bytes", Long, "-1", true, Enforced, Rule::AtLeast(-1),
        "default of the topic config retention.bytes"),
    broker("log.retention.ms", Long, "604800000", true, Enforced, Rule::AtLeast(-1),
        "default of the topic config retention.ms"),
    broker("log.roll.ms", Long, "604800000", true, Accepted, Rule::AtLeast(1),
        "default of the topic config segment.ms"),
    broker("log.segment.bytes", Int, "1073741824", true, Accepted, Rule::AtLeast(14),
        "default of the topic config segment.bytes"),
    broker("message.max.bytes", Int, "1048588", true, Enforced, Rule::AtLeast(0),
        "default of the topic config max.message.bytes"),
    broker("min.insync.replicas", Int, "1", true, Accepted, Rule::AtLeast(1),
        "default of the topic config min.insync.replicas"),
    broker("num.partitions", Int, "1", false, Enforced, Rule::AtLeast(1),
        "partitions of topics created with -1 or automatically"),
    broker("offsets.retention.minutes", Int, "10080", false, Enforced, Rule::AtLeast(1),
        "committed offsets of an empty group expire after this long"),
];

/// A value or key the table refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No such key in this scope.
    #[error("unknown {scope} config {key}")]
    UnknownKey {
        /// `topic` or `broker`.
        scope: &'static str,
        /// The key as given.
        key: String,
    },
    /// The value breaks the key's rule.
    #[error("invalid value {value:?} for {key}: {expected}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value as given.
        value: String,
        /// What the key accepts.
        expected: String,
    },
    /// A broker key that only takes effect at start, given to a live change.
    #[error("{key} cannot be changed without a restart (set it in spec.config / --config)")]
    NotDynamic {
        /// The key.
        key: String,
    },
}

impl ConfigKey {
    /// Checks `value` against this key's type and rule.
    pub fn validate(&self, value: &str) -> Result<(), ConfigError> {
        let bad = |expected: String| ConfigError::InvalidValue {
            key: self.name.to_string(),
            value: value.to_string(),
            expected,
        };
        let v = value.trim();
        match self.value_type {
            Boolean if !matches!(v, "true" | "false") => return Err(bad("true or false".into())),
            Int => {
                v.parse::<i32>()
                    .map_err(|_| bad("a 32-bit integer".into()))?;
            }
            Long => {
                v.parse::<i64>()
                    .map_err(|_| bad("a 64-bit integer".into()))?;
            }
            Double => {
                v.parse::<f64>().map_err(|_| bad("a number".into()))?;
            }
            _ => {}
        }
        match self.rule {
            Rule::Any => Ok(()),
            Rule::AtLeast(min) => match v.parse::<i64>() {
                Ok(n) if n >= min => Ok(()),
                _ => Err(bad(format!("an integer >= {min}"))),
            },
            Rule::Between(lo, hi) => match v.parse::<i64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(()),
                _ => Err(bad(format!("an integer in [{lo}, {hi}]"))),
            },
            Rule::Fraction(lo, hi) => match v.parse::<f64>() {
                Ok(n) if n >= lo && n <= hi => Ok(()),
                _ => Err(bad(format!("a number in [{lo}, {hi}]"))),
            },
            Rule::OneOf(allowed) if allowed.contains(&v) => Ok(()),
            Rule::OneOf(allowed) => Err(bad(format!("one of {}", allowed.join(", ")))),
            Rule::ListOf(allowed) => {
                let items: Vec<&str> = v.split(',').map(str::trim).collect();
                let known = items.iter().all(|i| allowed.contains(i));
                let unique = items
                    .iter()
                    .enumerate()
                    .all(|(n, i)| !items[..n].contains(i));
                if !v.is_empty() && known && unique {
                    Ok(())
                } else {
                    Err(bad(format!("a list of {}", allowed.join(", "))))
                }
            }
        }
    }
}

/// The topic config named `name`.
pub fn topic_key(name: &str) -> Option<&'static ConfigKey> {
    TOPIC_CONFIGS.iter().find(|k| k.name == name)
}

/// The broker config named `name`.
pub fn broker_key(name: &str) -> Option<&'static ConfigKey> {
    BROKER_CONFIGS.iter().find(|k| k.name == name)
}

/// Validates one topic config (CreateTopics, AlterConfigs).
pub fn validate_topic_config(key: &str, value: &str) -> Result<(), ConfigError> {
    topic_key(key)
        .ok_or_else(|| ConfigError::UnknownKey {
            scope: "topic",
            key: key.to_string(),
        })?
        .validate(value)
}

/// Validates one broker config (`spec.config`, `--config`).
pub fn validate_broker_config(key: &str, value: &str) -> Result<(), ConfigError> {
    broker_key(key)
        .ok_or_else(|| ConfigError::UnknownKey {
            scope: "broker",
            key: key.to_string(),
        })?
        .validate(value)
}

/// Validates a broker config changed on a running cluster: it must also be
/// dynamic.
pub fn validate_dynamic_broker_config(key: &str, value: &str) -> Result<(), ConfigError> {
    validate_broker_config(key, value)?;
    match broker_key(key) {
        Some(k) if k.dynamic => Ok(()),
        _ => Err(ConfigError::NotDynamic {
            key: key.to_string(),
        }),
    }
}

/// Body of the broker's `GET /v1/config` and `PUT /v1/config`: the dynamic
/// cluster-wide broker configs (replicated through the metadata group).
/// A `PUT` replaces the whole set: keys not listed return to the static
/// value of `--config`, or Kafka's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicBrokerConfig {
    /// Dynamic broker keys and their values.
    pub configs: std::collections::BTreeMap<String, String>,
}

/// Where a reported value comes from, as Kafka's DescribeConfigs v1+
/// `config_source` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigSource {
    /// The topic's own override (`DYNAMIC_TOPIC_CONFIG`).
    TopicOverride,
    /// A cluster-wide dynamic broker default (`DYNAMIC_DEFAULT_BROKER_CONFIG`).
    DynamicBrokerDefault,
    /// The broker's `--config` file (`STATIC_BROKER_CONFIG`).
    StaticBroker,
    /// The table's default (`DEFAULT_CONFIG`).
    Default,
}

impl ConfigSource {
    /// Kafka's `config_source` number.
    pub fn kafka_code(self) -> i8 {
        match self {
            ConfigSource::TopicOverride => 1,
            ConfigSource::DynamicBrokerDefault => 3,
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
        }
    }
}

/// One value in a lookup, with its source and the key it was set under
/// (a topic key's broker synonym when it comes from a broker layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedValue {
    /// The key the value was found under.
    pub name: &'static str,
    /// The value.
    pub value: String,
    /// Where it comes from.
    pub source: ConfigSource,
}

/// The broker layers under a topic's overrides: the dynamic cluster-wide
/// defaults (replicated) and this broker's static `--config` values.
///
/// THE lookup of effective values: a topic key resolves to the topic's
/// override, else the dynamic broker default of its synonym, else the
/// static value of its synonym, else the table's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigLayers {
    /// Dynamic broker configs (`AlterConfigs` on a broker, `PUT /v1/config`).
    pub dynamic: std::collections::BTreeMap<String, String>,
    /// Static broker configs (the `--config` file).
    pub static_config: std::collections::BTreeMap<String, String>,
}

impl ConfigLayers {
    /// A broker key's value, most specific layer first.
    pub fn broker_chain(&self, key: &'static ConfigKey) -> Vec<ResolvedValue> {
        let mut out = Vec::new();
        let layers = [
            (&self.dynamic, ConfigSource::DynamicBrokerDefault),
            (&self.static_config, ConfigSource::StaticBroker),
        ];
        for (map, source) in layers {
            if let Some(v) = map.get(key.name) {
                out.push(ResolvedValue {
                    name: key.name,
                    value: v.clone(),
                    source,
                });
            }
        }
        out.push(ResolvedValue {
            name: key.name,
            value: key.default.to_string(),
            source: ConfigSource::Default,
        });
        out
    }

    /// A topic key's values in every layer that sets it, the effective one
    /// first (`DescribeConfigs` synonyms).
    pub fn topic_chain(
        &self,
        overrides: &std::collections::BTreeMap<String, String>,
        key: &'static ConfigKey,
    ) -> Vec<ResolvedValue> {
        let mut out = Vec::new();
        if let Some(v) = overrides.get(key.name) {
            out.push(ResolvedValue {
                name: key.name,
                value: v.clone(),
                source: ConfigSource::TopicOverride,
            });
        }
        match key.broker_synonym.and_then(broker_key) {
            Some(broker) => out.extend(self.broker_chain(broker)),
            None => out.push(ResolvedValue {
                name: key.name,
                value: key.default.to_string(),
                source: ConfigSource::Default,
            }),
        }
        out
    }

    /// The effective value of topic key `name` for a topic with
    /// `overrides`; `None` for a key not in [`TOPIC_CONFIGS`].
    pub fn topic_value(
        &self,
        overrides: &std::collections::BTreeMap<String, String>,
        name: &str,
    ) -> Option<ResolvedValue> {
        self.topic_chain(overrides, topic_key(name)?)
            .into_iter()
            .next()
    }

    /// The effective value of topic key `name`, checked against the key's
    /// type and rule (a layer written before validation existed may hold
    /// anything).
    pub fn topic_checked(
        &self,
        overrides: &std::collections::BTreeMap<String, String>,
        name: &str,
    ) -> Result<ResolvedValue, ConfigError> {
        let key = topic_key(name).ok_or_else(|| ConfigError::UnknownKey {
            scope: "topic",
            key: name.to_string(),
        })?;
        let chain = self.topic_chain(overrides, key);
        let found = chain
            .into_iter()
            .next()
            .ok_or_else(|| ConfigError::UnknownKey {
                scope: "topic",
                key: name.to_string(),
            })?;
        let checked = key
            .validate(&found.value)
            .map_err(|_| ConfigError::InvalidValue {
                key: found.name.to_string(),
                value: found.value.clone(),
                expected: format!("a valid {}", key.name),
            });
        checked.map(|()| found)
    }

    /// The effective value of broker key `name`; `None` for a key not in
    /// [`BROKER_CONFIGS`].
    pub fn broker_value(&self, name: &str) -> Option<ResolvedValue> {
        self.broker_chain(broker_key(name)?).into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_defaults_valid_and_synonyms_known() {
        for table in [TOPIC_CONFIGS, BROKER_CONFIGS] {
            assert!(table.windows(2).all(|w| w[0].name < w[1].name));
            for key in table {
                key.validate(key.default)
                    .unwrap_or_else(|e| panic!("default of {}: {e}", key.name));
            }
        }
        for key in TOPIC_CONFIGS {
            let synonym = key
                .broker_synonym
                .expect("every topic key has a broker default");
            let broker = broker_key(synonym).unwrap_or_else(|| panic!("{synonym} missing"));
            assert_eq!(broker.default, key.default, "{}", key.name);
        }
    }

    #[test]
    fn values_are_checked_against_type_and_rule() {
        assert!(validate_topic_config("retention.ms", "-1").is_ok());
        assert!(validate_topic_config("retention.ms", "-2").is_err());
        assert!(validate_topic_config("retention.ms", "soon").is_err());
        assert!(validate_topic_config("cleanup.policy", "compact,delete").is_ok());
        assert!(validate_topic_config("cleanup.policy", "compact,compact").is_err());
        assert!(validate_topic_config("cleanup.policy", "").is_err());
        assert!(validate_topic_config("compression.type", "brotli").is_err());
        assert!(validate_topic_config("max.message.bytes", "99999999999").is_err());
        assert!(validate_topic_config("min.cleanable.dirty.ratio", "0.1").is_ok());
        assert!(matches!(
            validate_topic_config("retention.hours", "1"),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(validate_broker_config("auto.create.topics.enable", "yes").is_err());
        assert!(matches!(
            validate_dynamic_broker_config("num.partitions", "3"),
            Err(ConfigError::NotDynamic { .. })
        ));
        assert!(validate_dynamic_broker_config("log.retention.ms", "1000").is_ok());
    }
}
