//! Bounds on the timestamps a producer may write: Kafka's
//! `message.timestamp.after.max.ms` and `message.timestamp.before.max.ms`
//! (topic configs; broker defaults `log.message.timestamp.after.max.ms` and
//! `log.message.timestamp.before.max.ms`).
//!
//! Time retention deletes a batch once its largest timestamp is old enough,
//! so one batch stamped far in the future would pin the whole log behind it;
//! refusing it at produce time (`INVALID_TIMESTAMP`) keeps retention working.
//! The checks read the batch header's first and largest timestamps (the
//! largest is what retention uses), whatever the timestamp type.

use std::collections::BTreeMap;

use crate::backend::BackendError;
use crate::batch::BatchSummary;

/// Topic config: how far ahead of the broker's clock a timestamp may be.
pub const AFTER_MAX_MS: &str = "message.timestamp.after.max.ms";
/// Topic config: how far behind the broker's clock a timestamp may be.
pub const BEFORE_MAX_MS: &str = "message.timestamp.before.max.ms";
/// Broker default of [`AFTER_MAX_MS`].
pub const BROKER_AFTER_MAX_MS: &str = "log.message.timestamp.after.max.ms";
/// Broker default of [`BEFORE_MAX_MS`].
pub const BROKER_BEFORE_MAX_MS: &str = "log.message.timestamp.before.max.ms";
/// Kafka 4's default of [`AFTER_MAX_MS`]: one hour.
pub const DEFAULT_AFTER_MAX_MS: i64 = 3_600_000;
/// Kafka's "no timestamp" value, never checked.
const NO_TIMESTAMP: i64 = -1;

/// A timestamp config value that is not a non-negative number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}={value} is not a number >= 0")]
pub struct InvalidTimestampConfig {
    /// The config key.
    pub key: &'static str,
    /// The rejected value.
    pub value: String,
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
    /// Kafka 4's defaults: one hour ahead, unbounded behind.
    fn default() -> Self {
        Self {
            after_max_ms: Some(DEFAULT_AFTER_MAX_MS),
            before_max_ms: None,
        }
    }
}

fn bound(
    configs: &BTreeMap<String, String>,
    key: &'static str,
    default: Option<i64>,
) -> Result<Option<i64>, InvalidTimestampConfig> {
    match configs.get(key) {
        None => Ok(default),
        Some(v) => {
            let n = v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| InvalidTimestampConfig {
                    key,
                    value: v.clone(),
                })?;
            Ok((n != i64::MAX).then_some(n))
        }
    }
}

impl TimestampPolicy {
    /// The broker defaults from broker settings (`log.message.timestamp.*`),
    /// with Kafka's defaults for what is not set.
    pub fn from_broker_settings(
        settings: &BTreeMap<String, String>,
    ) -> Result<Self, InvalidTimestampConfig> {
        let kafka = Self::default();
        Ok(Self {
            after_max_ms: bound(settings, BROKER_AFTER_MAX_MS, kafka.after_max_ms)?,
            before_max_ms: bound(settings, BROKER_BEFORE_MAX_MS, kafka.before_max_ms)?,
        })
    }

    /// A topic's policy: its config overrides on top of `self` (the broker
    /// defaults).
    pub fn for_topic(
        &self,
        configs: &BTreeMap<String, String>,
    ) -> Result<Self, InvalidTimestampConfig> {
        Ok(Self {
            after_max_ms: bound(configs, AFTER_MAX_MS, self.after_max_ms)?,
            before_max_ms: bound(configs, BEFORE_MAX_MS, self.before_max_ms)?,
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
                            setting: AFTER_MAX_MS,
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
                            setting: BEFORE_MAX_MS,
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
        let broker =
            TimestampPolicy::from_broker_settings(&configs(&[(BROKER_BEFORE_MAX_MS, "1000")]))
                .unwrap();
        assert_eq!(broker.before_max_ms, Some(1000));
        let topic = broker
            .for_topic(&configs(&[
                (AFTER_MAX_MS, "9223372036854775807"),
                (BEFORE_MAX_MS, "5"),
            ]))
            .unwrap();
        assert_eq!(
            topic,
            TimestampPolicy {
                after_max_ms: None,
                before_max_ms: Some(5)
            }
        );
        assert!(broker.for_topic(&configs(&[(AFTER_MAX_MS, "-1")])).is_err());
        assert!(broker
            .for_topic(&configs(&[(AFTER_MAX_MS, "soon")]))
            .is_err());
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
            matches!(ahead, Err(BackendError::InvalidTimestamp { setting, .. }) if setting == AFTER_MAX_MS),
            "{ahead:?}"
        );
        let behind = policy.check(&[batch(now - 1001, now)], now);
        assert!(
            matches!(behind, Err(BackendError::InvalidTimestamp { setting, .. }) if setting == BEFORE_MAX_MS),
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
