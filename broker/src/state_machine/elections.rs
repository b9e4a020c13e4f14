//! Preferred leader elections asked through the metadata log
//! (`ElectPreferredLeaders`, Kafka's ElectLeaders): the command changes no
//! replicated state; applying it queues the partition groups for the node,
//! which hands each to its preferred leader where it leads the group or is
//! that leader (see `node::partition_admin`). The queue is not part of the
//! snapshot or the digest.

use super::{meta, ApplyOutcome, Cmd};
use prost::Message;
use std::sync::Mutex;

/// Partition groups whose election was applied and not yet acted on.
#[derive(Debug, Default)]
pub struct ElectionRequests(Mutex<Vec<u64>>);

impl ElectionRequests {
    /// Queues the groups of an applied command.
    pub fn request(&self, groups: Vec<u64>) -> ApplyOutcome {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(groups);
        ApplyOutcome::Done
    }

    /// Takes the queued groups.
    pub fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A copy starts with nothing queued: requests are acted on by the state
/// machine that applied them.
impl Clone for ElectionRequests {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Queued requests are not state: they never make two machines differ.
impl PartialEq for ElectionRequests {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl super::MetaStateMachine {
    /// The partition groups whose preferred leader election applied since
    /// the last call.
    pub fn take_elections(&self) -> Vec<u64> {
        self.elections.take()
    }
}

/// The command asking for preferred leader elections of `groups`.
pub fn elect_preferred_command(groups: Vec<u64>) -> Vec<u8> {
    meta::Command {
        cmd: Some(Cmd::ElectPreferredLeaders(meta::ElectPreferredLeaders {
            group_ids: groups,
        })),
    }
    .encode_to_vec()
}
