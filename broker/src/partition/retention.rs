//! Retention by time and size: which prefix of a partition's log may go.
//!
//! Kafka semantics, per partition, at the granularity of one stored produce
//! entry (whole record batches): time retention deletes entries from the
//! front while their largest timestamp is older than `retention.ms`; size
//! retention deletes entries from the front while the rest would still hold
//! at least `retention.bytes`. The newest entry (the active tail) is never
//! deleted. `-1` disables either limit.
//!
//! Only a topic whose `cleanup.policy` is `delete` (the default) is subject
//! to this per-replica retention. A topic whose policy lists `compact` is
//! compacted by commands in its Raft log instead, and `compact,delete`
//! applies its retention as part of each compaction, identically on every
//! replica (see [`super::compaction`]).
//!
//! Entries wholly below the log start offset (moved by DeleteRecords) are
//! deleted by the next check whatever the policy.

use super::compaction::CompactionParams;
use super::{IndexEntry, PartitionIndex};
use chronik_api::config::{ConfigError, ConfigLayers};
use std::collections::BTreeMap;

/// Topic config key of the time limit.
const RETENTION_MS: &str = "retention.ms";
/// Topic config key of the size limit.
const RETENTION_BYTES: &str = "retention.bytes";
/// Topic config key listing the cleanup policies (`delete`, `compact`).
const CLEANUP_POLICY: &str = "cleanup.policy";

/// A retention config value the table refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct InvalidRetention(#[from] pub ConfigError);

/// The retention limits of one topic (`None` = unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Largest age of a batch, by its largest timestamp, in milliseconds.
    pub ms: Option<i64>,
    /// Bytes of batches each partition keeps.
    pub bytes: Option<u64>,
}

impl Default for RetentionPolicy {
    /// The table's defaults (Kafka's: 7 days, unlimited size).
    fn default() -> Self {
        Self::resolve(&ConfigLayers::default(), &BTreeMap::new()).unwrap_or(Self::KEEP_ALL)
    }
}

/// A limit's effective value (`-1` = unlimited).
fn limit(
    layers: &ConfigLayers,
    overrides: &BTreeMap<String, String>,
    key: &'static str,
) -> Result<Option<i64>, InvalidRetention> {
    let value = layers.topic_checked(overrides, key)?.value;
    Ok(value.trim().parse::<i64>().ok().filter(|n| *n >= 0))
}

/// The effective value of topic config `key` for a topic with `overrides`
/// over the broker `layers` (topic override, dynamic broker default, static
/// `--config` value, the table's default). Every config lookup of partition
/// cleanup goes through here, read at the time of use.
pub fn topic_config(
    layers: &ConfigLayers,
    overrides: &BTreeMap<String, String>,
    key: &str,
) -> String {
    layers
        .topic_value(overrides, key)
        .map(|v| v.value)
        .unwrap_or_default()
}

fn lists(layers: &ConfigLayers, overrides: &BTreeMap<String, String>, policy: &str) -> bool {
    topic_config(layers, overrides, CLEANUP_POLICY)
        .split(',')
        .any(|p| p.trim() == policy)
}

/// Whether the topic's effective `cleanup.policy` lists `compact`.
pub fn is_compacted(layers: &ConfigLayers, overrides: &BTreeMap<String, String>) -> bool {
    lists(layers, overrides, "compact")
}

impl CompactionParams {
    /// The parameters of a compaction at `now_ms` of a topic with
    /// `overrides` over the broker `layers`. Values the table refuses (only
    /// possible in a log written before validation) count as Kafka's
    /// defaults.
    pub fn resolve(
        layers: &ConfigLayers,
        overrides: &BTreeMap<String, String>,
        now_ms: i64,
    ) -> Self {
        let long = |key: &str| {
            let value = topic_config(layers, overrides, key).trim().parse::<i64>();
            value.unwrap_or_else(|_| {
                topic_config(&ConfigLayers::default(), &BTreeMap::new(), key)
                    .parse()
                    .unwrap_or(-1)
            })
        };
        let deletes = lists(layers, overrides, "delete");
        let retention = |key| Some(long(key)).filter(|v| *v >= 0 && deletes);
        Self {
            now_ms,
            min_compaction_lag_ms: long("min.compaction.lag.ms").max(0),
            delete_retention_ms: long("delete.retention.ms").max(0),
            retention_ms: retention(RETENTION_MS),
            retention_bytes: retention(RETENTION_BYTES).map(i64::unsigned_abs),
        }
    }
}

impl RetentionPolicy {
    /// No retention: every entry stays.
    pub const KEEP_ALL: Self = Self {
        ms: None,
        bytes: None,
    };

    /// The per-replica policy of a topic with `overrides` over the broker
    /// `layers` (dynamic cluster-wide defaults, static `--config` values, the
    /// table). Topics whose policy lists `compact` keep all here: their
    /// retention runs inside the replicated compaction.
    pub fn resolve(
        layers: &ConfigLayers,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, InvalidRetention> {
        // Unchecked: a policy without `delete` (even an empty one) keeps all.
        if !lists(layers, overrides, "delete") || is_compacted(layers, overrides) {
            return Ok(Self::KEEP_ALL);
        }
        Ok(Self {
            ms: limit(layers, overrides, RETENTION_MS)?,
            bytes: limit(layers, overrides, RETENTION_BYTES)?.map(|b| b.unsigned_abs()),
        })
    }

    /// The policy a topic's config overrides give, with the table's
    /// defaults.
    pub fn from_configs(configs: &BTreeMap<String, String>) -> Result<Self, InvalidRetention> {
        Self::resolve(&ConfigLayers::default(), configs)
    }

    /// The last entry retention deletes at `now_ms` (everything up to and
    /// including it goes), or `None` when nothing is due. Entries wholly
    /// below the log start offset (DeleteRecords) always go. Walks only the
    /// deleted prefix, so a check costs little when nothing is due.
    pub fn cut(&self, index: &PartitionIndex, now_ms: i64) -> Option<IndexEntry> {
        let entries = index.entries();
        // The newest entry always stays.
        let deletable = entries.len().checked_sub(1)?;
        let mut remaining = index.total_size();
        let mut cut = None;
        for e in entries.iter().take(deletable) {
            let expired = self
                .ms
                .is_some_and(|ms| e.max_timestamp < now_ms.saturating_sub(ms));
            let oversized = self
                .bytes
                .is_some_and(|b| remaining.saturating_sub(e.size as u64) >= b);
            let deleted = e.next_offset <= index.log_start_offset();
            if !expired && !oversized && !deleted {
                break;
            }
            remaining -= e.size as u64;
            cut = Some(*e);
        }
        cut
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

    /// Entries of 100 bytes at timestamps 1000, 2000, ... (raft index = i + 1).
    fn index(n: u64) -> PartitionIndex {
        let mut idx = PartitionIndex::default();
        for i in 0..n {
            idx.push(i + 1, 10, 1000 * (i as i64 + 1), 100);
        }
        idx
    }

    #[test]
    fn policy_parses_overrides_and_kafka_defaults() {
        assert_eq!(
            RetentionPolicy::from_configs(&BTreeMap::new()),
            Ok(RetentionPolicy {
                ms: Some(604_800_000),
                bytes: None
            })
        );
        assert_eq!(
            RetentionPolicy::from_configs(&configs(&[
                ("retention.ms", "-1"),
                ("retention.bytes", "4096")
            ])),
            Ok(RetentionPolicy {
                ms: None,
                bytes: Some(4096)
            })
        );
        assert!(RetentionPolicy::from_configs(&configs(&[("retention.ms", "soon")])).is_err());
        assert!(RetentionPolicy::from_configs(&configs(&[("retention.bytes", "-2")])).is_err());
    }

    #[test]
    fn compacted_topics_are_left_to_compaction_commands() {
        let limits = [("retention.ms", "1000"), ("retention.bytes", "100")];
        let with = |policy: &str| {
            let mut c = configs(&limits);
            c.insert(CLEANUP_POLICY.into(), policy.into());
            RetentionPolicy::from_configs(&c)
        };
        assert_eq!(with("compact"), Ok(RetentionPolicy::KEEP_ALL));
        assert_eq!(with(""), Ok(RetentionPolicy::KEEP_ALL));
        let deleting = RetentionPolicy {
            ms: Some(1000),
            bytes: Some(100),
        };
        assert_eq!(with("delete"), Ok(deleting));
        assert_eq!(with("compact, delete"), Ok(RetentionPolicy::KEEP_ALL));
        assert_eq!(
            RetentionPolicy::from_configs(&configs(&limits)),
            Ok(deleting)
        );
        assert_eq!(RetentionPolicy::KEEP_ALL.cut(&index(5), i64::MAX), None);
    }

    #[test]
    fn size_retention_keeps_at_least_the_limit() {
        let idx = index(10);
        let policy = RetentionPolicy {
            ms: None,
            bytes: Some(350),
        };
        // 1000 bytes stored; dropping 6 entries leaves 400 >= 350, a 7th
        // would leave 300.
        assert_eq!(policy.cut(&idx, 0).map(|e| e.raft_index), Some(6));
        let exact = RetentionPolicy {
            ms: None,
            bytes: Some(1000),
        };
        assert_eq!(exact.cut(&idx, 0), None);
    }

    #[test]
    fn time_retention_drops_the_expired_prefix_but_never_the_tail() {
        let idx = index(5);
        let policy = RetentionPolicy {
            ms: Some(2500),
            bytes: None,
        };
        // Cutoff 3500: entries stamped 1000..=3000 are older.
        assert_eq!(policy.cut(&idx, 6000).map(|e| e.next_offset), Some(30));
        // Everything expired: the newest entry stays.
        assert_eq!(policy.cut(&idx, 100_000).map(|e| e.raft_index), Some(4));
        assert_eq!(policy.cut(&idx, 3000), None);
        assert_eq!(RetentionPolicy::default().cut(&idx, 6000), None);
    }

    #[test]
    fn either_limit_deletes_and_a_young_entry_stops_the_prefix() {
        let mut idx = PartitionIndex::default();
        idx.push(1, 1, 9000, 100);
        idx.push(2, 1, 1000, 100);
        idx.push(3, 1, 9000, 100);
        let by_time = RetentionPolicy {
            ms: Some(1000),
            bytes: None,
        };
        // The first entry is young, so the old one behind it stays too.
        assert_eq!(by_time.cut(&idx, 9500), None);
        let both = RetentionPolicy {
            ms: Some(1000),
            bytes: Some(150),
        };
        assert_eq!(both.cut(&idx, 9500).map(|e| e.raft_index), Some(2));
        assert_eq!(
            RetentionPolicy::default().cut(&PartitionIndex::default(), 0),
            None
        );
    }
}
