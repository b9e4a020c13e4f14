//! `offsets.retention.minutes`: committed offsets of consumer groups that
//! have been idle for longer are dropped from the metadata store.
//!
//! Replicas must agree on what is dropped, so nothing here reads a replica's
//! clock at apply time. Each commit carries the time the coordinator proposed
//! it (`commit_timestamp_ms`, in the log), and expiry is itself a replicated
//! command, `ExpireOffsets {now_ms, retention_ms, active_groups}`, proposed by
//! the metadata leader (the group coordinator) when its local state shows a
//! group to expire. Applying it looks only at the command and the state.
//!
//! A group expires when it has no members on the coordinator and its newest
//! commit is at least the retention old: a group that is consuming keeps its
//! offsets however long it goes without committing (Kafka's rule since
//! KIP-211). Right after a leader change the new coordinator knows no members
//! yet, so it proposes nothing until it has led for a whole check interval.

use crate::node::{NodeHandle, RaftRole};
use crate::state_machine::{OffsetMap, StoredOffset};
use chronik_proto::meta::{self, command::Cmd};
use prost::Message as _;
use std::collections::BTreeMap;
use std::time::Duration;

/// Kafka's `offsets.retention.minutes` default: 7 days.
pub const DEFAULT_RETENTION_MINUTES: u64 = 7 * 24 * 60;
/// Kafka's `offsets.retention.check.interval.ms` default: 10 minutes.
pub const DEFAULT_CHECK_INTERVAL_MS: u64 = 600_000;

/// When offsets expire and how often the leader looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetRetention {
    /// `offsets.retention.minutes`, in milliseconds.
    pub retention_ms: i64,
    /// `offsets.retention.check.interval.ms`.
    pub check_interval: Duration,
}

/// True when a group's offsets are due: its newest commit is known and at
/// least `retention_ms` older than `now_ms`.
fn due(offsets: &BTreeMap<(String, i32), StoredOffset>, now_ms: i64, retention_ms: i64) -> bool {
    let newest = offsets
        .values()
        .map(|o| o.commit_timestamp_ms)
        .max()
        .unwrap_or(0);
    newest > 0 && now_ms.saturating_sub(newest) >= retention_ms
}

/// Applies an `ExpireOffsets` command: a function of the command and the
/// state only, so every replica drops the same groups.
pub fn expire(offsets: &mut OffsetMap, cmd: &meta::ExpireOffsets) {
    offsets.retain(|group, o| {
        cmd.active_groups.contains(group) || !due(o, cmd.now_ms, cmd.retention_ms)
    });
}

/// The command expiring what is due at `now_ms`, or `None` when nothing is.
pub fn plan(
    offsets: &OffsetMap,
    now_ms: i64,
    retention_ms: i64,
    active_groups: Vec<String>,
) -> Option<Vec<u8>> {
    let any = offsets
        .iter()
        .any(|(g, o)| !active_groups.contains(g) && due(o, now_ms, retention_ms));
    any.then(|| {
        meta::Command {
            cmd: Some(Cmd::ExpireOffsets(meta::ExpireOffsets {
                now_ms,
                retention_ms,
                active_groups,
            })),
        }
        .encode_to_vec()
    })
}

/// Runs the leader's periodic check: `active_groups` lists the groups with
/// members on this broker's coordinator.
pub fn spawn(
    node: NodeHandle,
    active_groups: impl Fn() -> Vec<String> + Send + 'static,
    settings: OffsetRetention,
) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(settings.check_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The term in which this node was leader at the previous check.
        let mut led_in: Option<u64> = None;
        loop {
            ticker.tick().await;
            let status = node.status();
            let leading = (status.role == RaftRole::Leader).then_some(status.term);
            let settled = leading.is_some() && leading == led_in;
            led_in = leading;
            if !settled {
                continue;
            }
            let active = active_groups();
            let now_ms = i64::try_from(crate::node::now_ms()).unwrap_or(i64::MAX);
            let retention_ms = settings.retention_ms;
            let planned = node
                .query(move |sm| plan(sm.offsets(), now_ms, retention_ms, active))
                .await;
            match planned {
                Ok(Some(cmd)) => match node.propose(cmd).await {
                    Ok(index) => tracing::info!(index, "expired idle consumer group offsets"),
                    Err(e) => tracing::debug!(error = %e, "offset expiry not proposed"),
                },
                Ok(None) => {}
                Err(_) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(at: i64) -> StoredOffset {
        StoredOffset {
            offset: 1,
            leader_epoch: -1,
            metadata: None,
            commit_timestamp_ms: at,
        }
    }

    fn state() -> OffsetMap {
        let mut offsets = OffsetMap::new();
        offsets
            .entry("idle".into())
            .or_default()
            .insert(("t".into(), 0), offset(1_000));
        let recent = offsets.entry("recent".into()).or_default();
        recent.insert(("t".into(), 0), offset(1_000));
        recent.insert(("t".into(), 1), offset(9_500));
        offsets
            .entry("consuming".into())
            .or_default()
            .insert(("t".into(), 0), offset(1_000));
        offsets
            .entry("legacy".into())
            .or_default()
            .insert(("t".into(), 0), offset(0));
        offsets
    }

    /// Idle groups expire by their newest commit; groups with members and
    /// offsets of unknown age stay; the outcome depends on the command only,
    /// so two replicas applying it agree.
    #[test]
    fn expiry_is_decided_by_the_command_and_the_state() {
        let active = vec!["consuming".to_string()];
        assert_eq!(plan(&state(), 5_000, 5_000, active.clone()), None);
        let cmd = plan(&state(), 10_000, 5_000, active).expect("idle is due");
        let Some(Cmd::ExpireOffsets(cmd)) =
            meta::Command::decode(cmd.as_slice()).expect("decodes").cmd
        else {
            panic!("not an ExpireOffsets command");
        };
        let (mut a, mut b) = (state(), state());
        expire(&mut a, &cmd);
        expire(&mut b, &cmd);
        assert_eq!(a, b);
        let groups: Vec<&str> = a.keys().map(String::as_str).collect();
        assert_eq!(groups, ["consuming", "legacy", "recent"]);
    }
}
