//! Bounds on the timestamps a producer may write: Kafka's
//! `message.timestamp.after.max.ms` and `message.timestamp.before.max.ms`
//! (topic configs; broker defaults `log.message.timestamp.after.max.ms` and
//! `log.message.timestamp.before.max.ms`), resolved through
//! [`ConfigLayers`], the one lookup of effective config values.
//!
//! Time retention deletes a batch once its largest timestamp is old enough,
//! so one batch stamped far in the future would pin the whole log behind it;
//! refusing it at produce time (`INVALID_TIMESTAMP`) keeps retention working.
//! The checks read the batch header's first and largest timestamps (the
//! largest is what retention uses), whatever the timestamp type.

use std::collections::BTreeMap;

use chronik_api::config::{topic_key, ConfigError, ConfigLayers};

use crate::backend::BackendError;
use crate::batch::BatchSummary;

/// Topic config: how far ahead of the broker's clock a timestamp may be.
const AFTER: &str = "message.timestamp.after.max.ms";
/// Topic config: how far behind the broker's clock a timestamp may be.
const BEFORE: &str = "message.timestamp.before.max.ms";
/// Kafka's "no timestamp" value, never checked.
const NO_TIMESTAMP: i64 = -1;

/// A timestamp config value that is not a non-negative number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}={value} is not a number >= 0")]
pub struct InvalidTimestampConfig {
    /// The config key.
    pub key: String,
    /// The rejected value.
    pub value: String,
}

impl From<ConfigError> for InvalidTimestampConfig {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::InvalidValue { key, value, .. } => Self { key, value },
            ConfigError::UnknownKey { key, .. } | ConfigError::NotDynamic { key } => Self {
                key,
                value: String::new(),
            },
        }
    }
}

/// The window of timestamps a topic accepts (`None` = unbounded, Kafka's
/// `Long.MAX_VALUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampPolicy {
    /// Largest lead over the broker's clock, in milliseconds.
    pub after_max_ms: Option<i64>,
    /// Largest lag behind the broker's clock, in milliseconds.
    pub before_max_ms: Option<i64>,
}

impl Default for TimestampPolicy {
    /// The table's defaults (Kafka 4's): one hour ahead, unbounded behind.
    fn default() -> Self {
        Self::resolve(&ConfigLayers::default(), &BTreeMap::new()).unwrap_or(Self {
            after_max_ms: None,
            before_max_ms: None,
        })
    }
}

/// A bound's value as a limit (`Long.MAX_VALUE` = unbounded).
fn limit(value: &str) -> Option<i64> {
    value.trim().parse::<i64>().ok().filter(|n| *n != i64::MAX)
}

/// A topic override of `key`, checked, or `default`.
fn bound(
    configs: &BTreeMap<String, String>,
    key: &'static str,
    default: Option<i64>,
) -> Result<Option<i64>, InvalidTimestampConfig> {
    match (configs.get(key), topic_key(key)) {
        (Some(v), Some(k)) => {
            k.validate(v)?;
            Ok(limit(v))
        }
        _ => Ok(default),
    }
}

impl TimestampPolicy {
    /// A topic's policy: its overrides over the broker layers.
    pub fn resolve(
        layers: &ConfigLayers,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, InvalidTimestampConfig> {
        Ok(Self {
            after_max_ms: limit(&layers.topic_checked(overrides, AFTER)?.value),
            before_max_ms: limit(&layers.topic_checked(overrides, BEFORE)?.value),
        })
    }

    /// The broker defaults from static broker settings
    /// (`log.message.timestamp.*`), with the table's defaults for what is
    /// not set.
    pub fn from_broker_settings(
        settings: &BTreeMap<String, String>,
    ) -> Result<Self, InvalidTimestampConfig> {
        let layers = ConfigLayers {
            static_config: settings.clone(),
            ..ConfigLayers::default()
        };
        Self::resolve(&layers, &BTreeMap::new())
    }

    /// A topic's policy: its config overrides on top of `self` (the broker
    /// defaults).
    pub fn for_topic(
        &self,
        configs: &BTreeMap<String, String>,
    ) -> Result<Self, InvalidTimestampConfig> {
        Ok(Self {
            after_max_ms: bound(configs, AFTER, self.after_max_ms)?,
            before_max_ms: bound(configs, BEFORE, self.before_max_ms)?,
        })
    }

    /// Refuses the first batch with a timestamp outside the window around
    /// `now_ms`.
    pub fn check(&self, batches: &[BatchSummary], now_ms: i64) -> Result<(), BackendError> {
        for b in batches {
            for timestamp in [b.base_timestamp, b.max_timestamp] {
                if timestamp == NO_TIMESTAMP {
                    continue;
                }
                if let Some(limit_ms) = self.after_max_ms {
                    if timestamp > now_ms.saturating_add(limit_ms) {
                        return Err(BackendError::InvalidTimestamp {
                            timestamp,
                            now: now_ms,
                            limit_ms,
                            direction: "ahead of",
                            setting: AFTER,
                        });
                    }
                }
                if let Some(limit_ms) = self.before_max_ms {
                    if timestamp < now_ms.saturating_sub(limit_ms) {
                        return Err(BackendError::InvalidTimestamp {
                            timestamp,
                            now: now_ms,
                            limit_ms,
                            direction: "behind",
                            setting: BEFORE,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn batch(base: i64, max: i64) -> BatchSummary {
        BatchSummary {
            position: 0,
            size: 100,
            last_offset_delta: 0,
            record_count: 1,
            base_timestamp: base,
            max_timestamp: max,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
        }
    }

    #[test]
    fn defaults_are_kafka_4s_and_topic_configs_override_them() {
        let broker = TimestampPolicy::from_broker_settings(&BTreeMap::new()).unwrap();
        assert_eq!(broker, TimestampPolicy::default());
        let broker = TimestampPolicy::from_broker_settings(&configs(&[(
            "log.message.timestamp.before.max.ms",
            "1000",
        )]))
        .unwrap();
        assert_eq!(broker.before_max_ms, Some(1000));
        let topic = broker
            .for_topic(&configs(&[(AFTER, "9223372036854775807"), (BEFORE, "5")]))
            .unwrap();
        assert_eq!(
            topic,
            TimestampPolicy {
                after_max_ms: None,
                before_max_ms: Some(5)
            }
        );
        assert!(broker.for_topic(&configs(&[(AFTER, "-1")])).is_err());
        assert!(broker.for_topic(&configs(&[(AFTER, "soon")])).is_err());
    }

    #[test]
    fn timestamps_outside_the_window_are_refused() {
        let now = 10_000_000;
        let policy = TimestampPolicy {
            after_max_ms: Some(3_600_000),
            before_max_ms: Some(1000),
        };
        assert_eq!(policy.check(&[batch(now, now + 3_600_000)], now), Ok(()));
        assert_eq!(policy.check(&[batch(-1, -1)], now), Ok(()));
        let ahead = policy.check(&[batch(now, now), batch(now, now + 3_600_001)], now);
        assert!(
            matches!(ahead, Err(BackendError::InvalidTimestamp { setting, .. }) if setting == AFTER),
            "{ahead:?}"
        );
        let behind = policy.check(&[batch(now - 1001, now)], now);
        assert!(
            matches!(behind, Err(BackendError::InvalidTimestamp { setting, .. }) if setting == BEFORE),
            "{behind:?}"
        );
        assert_eq!(behind.map_err(|e| e.code()), Err(32), "INVALID_TIMESTAMP");
        let unbounded = TimestampPolicy {
            after_max_ms: None,
            before_max_ms: None,
        };
        assert_eq!(unbounded.check(&[batch(0, i64::MAX)], now), Ok(()));
    }
}
