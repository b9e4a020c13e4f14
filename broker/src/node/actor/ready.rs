//! The ready loop over every Raft group of the node: all groups' entries and
//! hard states reach disk in one raft-engine batch with one fsync, then each
//! group sends its persisted messages, advances and applies.

use super::{FatalError, NodeActor};
use crate::storage::WriteBatch;

impl NodeActor {
    /// One turn of the ready loop, in the order raft-rs documents.
    pub(super) fn on_ready(&mut self) -> Result<(), FatalError> {
        self.report_dropped_snapshots();
        let mut meta_ready = self.meta.ready();
        let mut readies = self.partitions.readies();
        if meta_ready.is_none() && readies.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        if let Some(ready) = meta_ready.as_mut() {
            if ready.ss().is_some() {
                self.on_soft_state_change();
            }
            // Steps 1-2 (messages, snapshot) and the staged writes.
            self.meta.stage(ready, &mut batch, &mut self.peers)?;
        }
        for (id, ready) in readies.iter_mut() {
            self.partitions
                .stage(*id, ready, &mut batch, &mut self.peers)?;
        }
        // 3. One fsync for every group's entries and hard state ...
        self.meta.write_synced(batch)?;
        // 4. ... before the messages that depend on them are sent.
        let mut grew = false;
        if let Some(ready) = meta_ready {
            self.meta.finish(ready, &mut self.peers)?;
        }
        for (id, ready) in readies {
            grew |= self.partitions.finish(id, ready, &mut self.peers)?;
        }
        if grew {
            self.partitions.notify_changes();
        }
        if self.meta.take_changed() {
            self.partitions.sync(self.meta.state())?;
        }
        for group in self.meta.state().take_elections() {
            crate::node::partition_admin::act_on_election(&mut self.partitions, group);
        }
        Ok(())
    }
}
