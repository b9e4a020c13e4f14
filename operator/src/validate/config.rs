//! `spec.config`: every key checked against the broker config table of
//! [`chronik_api::config`], then split by [`ConfigKey::dynamic`]: static
//! keys go to `broker.conf` (and its hash, so a change rolls the pods),
//! dynamic keys to the running cluster through the brokers'
//! `PUT /v1/config` (no restart).
//!
//! [`ConfigKey::dynamic`]: chronik_api::config::ConfigKey::dynamic

use std::collections::BTreeMap;

use chronik_api::config::{broker_key, ConfigError, DynamicBrokerConfig, ValueType};

use super::ValidationError;

/// `spec.config`, checked and split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Keys read only when a broker starts: the lines of `broker.conf`.
    pub static_config: BTreeMap<String, String>,
    /// Keys applied to the running cluster, as one whole set.
    pub dynamic: DynamicBrokerConfig,
}

/// Check every `spec.config` entry with the broker config table and split
/// it. The first refused entry (in key order) is the error, naming the key.
pub fn validate_config(config: &BTreeMap<String, String>) -> Result<BrokerConfig, ValidationError> {
    let mut checked = BrokerConfig::default();
    for (key, value) in config {
        if value.contains(['\n', '\r']) {
            return Err(ValidationError::InvalidConfigValue { key: key.clone() });
        }
        let table = broker_key(key).ok_or_else(|| ConfigError::UnknownKey {
            scope: "broker",
            key: key.clone(),
        })?;
        table.validate(value)?;
        let value = normalize(table.value_type, value);
        if table.dynamic {
            checked.dynamic.configs.insert(key.clone(), value);
        } else {
            checked.static_config.insert(key.clone(), value);
        }
    }
    Ok(checked)
}

/// A value as the operator writes and compares it: trimmed, list items
/// trimmed and joined by `,`.
fn normalize(value_type: ValueType, value: &str) -> String {
    match value_type {
        ValueType::List => value
            .split(',')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(","),
        _ => value.trim().to_string(),
    }
}

/// True when two values of broker key `key` mean the same: equal once
/// normalized, or the same number.
pub fn same_value(key: &str, a: &str, b: &str) -> bool {
    let Some(table) = broker_key(key) else {
        return a == b;
    };
    let (a, b) = (
        normalize(table.value_type, a),
        normalize(table.value_type, b),
    );
    if a == b {
        return true;
    }
    match table.value_type {
        ValueType::Int | ValueType::Long => {
            matches!((a.parse::<i64>(), b.parse::<i64>()), (Ok(x), Ok(y)) if x == y)
        }
        ValueType::Double => {
            matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

impl BrokerConfig {
    /// True when the cluster's dynamic config (`GET /v1/config`) differs
    /// from the desired set, so that the whole set must be `PUT`: a key
    /// missing, extra, or with another value.
    pub fn push_needed(&self, current: &DynamicBrokerConfig) -> bool {
        let desired = &self.dynamic.configs;
        desired.len() != current.configs.len()
            || desired.iter().any(|(key, value)| {
                current
                    .configs
                    .get(key)
                    .is_none_or(|now| !same_value(key, value, now))
            })
    }
}
