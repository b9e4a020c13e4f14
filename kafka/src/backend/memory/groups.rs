//! The in-memory backend's stored groups: the records the coordinator
//! writes, and their removal with the group's offsets.

use super::State;
use crate::backend::{LoadedGroups, StoredGroup, TopicPartition};

/// Every stored group, and an empty record for each group that has only
/// committed offsets.
pub(super) fn load(state: &State) -> LoadedGroups {
    let mut groups: Vec<StoredGroup> = state.groups.values().cloned().collect();
    for id in state.offsets.keys() {
        if !state.groups.contains_key(id) {
            groups.push(StoredGroup {
                group_id: id.clone(),
                ..StoredGroup::default()
            });
        }
    }
    LoadedGroups { epoch: 0, groups }
}

/// Replaces the group's record.
pub(super) fn store(state: &mut State, group: StoredGroup) {
    state.groups.insert(group.group_id.clone(), group);
}

/// Removes the group's record and offsets.
pub(super) fn delete(state: &mut State, group: &str) {
    state.groups.remove(group);
    state.offsets.remove(group);
}

/// Removes some committed offsets of `group`.
pub(super) fn delete_offsets(state: &mut State, group: &str, partitions: &[TopicPartition]) {
    if let Some(offsets) = state.offsets.get_mut(group) {
        for tp in partitions {
            offsets.remove(tp);
        }
    }
}
