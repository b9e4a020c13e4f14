//! Consumer group membership stored in the metadata group, like Kafka's
//! group metadata records in `__consumer_offsets`: the coordinator (the
//! metadata leader) writes a group's record when a rebalance completes or
//! the group becomes empty, and the next coordinator loads them all. Also
//! the removal of groups (DeleteGroups) and of some of their offsets
//! (OffsetDelete).

use super::{ApplyOutcome, CommandRejection, OffsetMap};
use chronik_proto::meta;
use prost::Message as _;
use std::collections::BTreeMap;

/// Stored group records by group id.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StoredGroups(BTreeMap<String, meta::StoredGroup>);

impl StoredGroups {
    /// Every stored record, by group id.
    pub fn all(&self) -> &BTreeMap<String, meta::StoredGroup> {
        &self.0
    }

    /// Replaces a group's record, unless a coordinator of a later epoch
    /// already wrote it (a stale coordinator's write is refused alike on
    /// every replica).
    pub fn store(&mut self, cmd: meta::StoreGroup) -> ApplyOutcome {
        let Some(group) = cmd.group else {
            return ApplyOutcome::Rejected(CommandRejection::Empty);
        };
        if let Some(stored) = self.0.get(&group.group_id) {
            if stored.coordinator_epoch > group.coordinator_epoch {
                return ApplyOutcome::Rejected(CommandRejection::StaleGroup(group.group_id));
            }
        }
        self.0.insert(group.group_id.clone(), group);
        ApplyOutcome::Done
    }

    /// Removes a group's record and its committed offsets.
    pub fn delete(&mut self, offsets: &mut OffsetMap, cmd: &meta::DeleteGroup) -> ApplyOutcome {
        self.0.remove(&cmd.group);
        offsets.remove(&cmd.group);
        ApplyOutcome::Done
    }

    /// Removes some committed offsets of a group.
    pub fn delete_offsets(offsets: &mut OffsetMap, cmd: &meta::DeleteGroupOffsets) -> ApplyOutcome {
        if let Some(group) = offsets.get_mut(&cmd.group) {
            for p in &cmd.partitions {
                group.remove(&(p.topic.clone(), p.partition));
            }
            if group.is_empty() {
                offsets.remove(&cmd.group);
            }
        }
        ApplyOutcome::Done
    }

    /// The records for a snapshot, in group order.
    pub fn encode(&self) -> Vec<meta::StoredGroup> {
        self.0.values().cloned().collect()
    }

    /// The records of a snapshot.
    pub fn decode(groups: Vec<meta::StoredGroup>) -> Self {
        Self(
            groups
                .into_iter()
                .map(|g| (g.group_id.clone(), g))
                .collect(),
        )
    }

    /// Feeds the digest: each record's canonical encoding (prost encodes
    /// repeated fields and scalars deterministically), in group order.
    pub fn digest_into(&self, mut feed: impl FnMut(&[u8])) {
        for g in self.0.values() {
            feed(&g.encode_to_vec());
        }
    }
}

/// Builders of the group commands.
pub mod commands {
    use super::meta::{self, command::Cmd};
    use prost::Message as _;

    fn encode(cmd: Cmd) -> Vec<u8> {
        meta::Command { cmd: Some(cmd) }.encode_to_vec()
    }

    /// Encodes a group record write.
    pub fn store_group(group: meta::StoredGroup) -> Vec<u8> {
        encode(Cmd::StoreGroup(meta::StoreGroup { group: Some(group) }))
    }

    /// Encodes the removal of a group with its offsets.
    pub fn delete_group(group: &str) -> Vec<u8> {
        encode(Cmd::DeleteGroup(meta::DeleteGroup {
            group: group.to_string(),
        }))
    }

    /// Encodes the removal of some committed offsets of a group.
    pub fn delete_group_offsets(group: &str, partitions: Vec<(String, i32)>) -> Vec<u8> {
        encode(Cmd::DeleteGroupOffsets(meta::DeleteGroupOffsets {
            group: group.to_string(),
            partitions: partitions
                .into_iter()
                .map(|(topic, partition)| meta::GroupPartition { topic, partition })
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_machine::{commands, MetaStateMachine};

    fn record(epoch: u64, generation: i32) -> meta::StoredGroup {
        meta::StoredGroup {
            group_id: "g".into(),
            protocol_type: "consumer".into(),
            generation,
            protocol: "range".into(),
            leader: "m1".into(),
            members: vec![meta::StoredGroupMember {
                member_id: "m1".into(),
                client_id: "c".into(),
                session_timeout_ms: 45_000,
                rebalance_timeout_ms: 300_000,
                subscription: vec![0, 1],
                assignment: vec![2, 3],
                ..Default::default()
            }],
            coordinator_epoch: epoch,
        }
    }

    #[test]
    fn records_survive_a_snapshot_and_a_stale_coordinator_is_refused() {
        let mut sm = MetaStateMachine::default();
        assert_eq!(
            sm.apply(1, &commands::store_group(record(5, 3))).unwrap(),
            ApplyOutcome::Done
        );
        assert_eq!(
            sm.apply(2, &commands::store_group(record(4, 9))).unwrap(),
            ApplyOutcome::Rejected(CommandRejection::StaleGroup("g".into()))
        );
        let restored = MetaStateMachine::restore(&sm.snapshot()).unwrap();
        assert_eq!(restored, sm);
        assert_eq!(restored.digest(), sm.digest());
        assert_eq!(restored.stored_groups().all()["g"].generation, 3);
        sm.apply(3, &commands::delete_group("g")).unwrap();
        assert!(sm.stored_groups().all().is_empty());
        assert_ne!(sm.digest(), restored.digest());
    }
}
