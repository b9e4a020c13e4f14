//! The ready loop over every Raft group of the node: all groups' entries and
//! hard states reach disk in one raft-engine batch with one fsync, then each
//! group sends its persisted messages, advances and applies.

use super::actor::{FatalError, NodeActor};
use super::proposals::Waiter;
use super::{MembershipError, METADATA_GROUP};
use crate::metrics::OutcomeLabel;
use crate::storage::WriteBatch;
use raft::Ready;
use std::time::Instant;

impl NodeActor {
    /// One turn of the ready loop, in the order raft-rs documents.
    pub(super) fn on_ready(&mut self) -> Result<(), FatalError> {
        let mut meta_ready = if self.raw.has_ready() {
            Some(self.raw.ready())
        } else {
            None
        };
        let mut readies: Vec<(u64, Ready)> = Vec::new();
        for (id, g) in self.groups.iter_mut() {
            if g.raw.has_ready() {
                readies.push((*id, g.raw.ready()));
            }
        }
        if meta_ready.is_none() && readies.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        if let Some(ready) = meta_ready.as_mut() {
            self.stage_metadata(ready, &mut batch)?;
        }
        for (id, ready) in readies.iter_mut() {
            self.stage_group(*id, ready, &mut batch)?;
        }
        // 3. One fsync for every group's entries and hard state ...
        let started = Instant::now();
        self.raw.mut_store().write(batch, true)?;
        self.metrics
            .fsync_seconds
            .observe(started.elapsed().as_secs_f64());
        // 4. ... before the messages that depend on them are sent.
        let mut grew = false;
        if let Some(ready) = meta_ready {
            self.finish_metadata(ready)?;
        }
        for (id, ready) in readies {
            grew |= self.finish_group(id, ready)?;
        }
        if grew {
            self.registry.notify_changes();
        }
        if self.meta_changed {
            self.meta_changed = false;
            self.sync_partition_groups()?;
        }
        Ok(())
    }

    /// Steps 1-3 of the metadata group: messages, snapshot, staged writes.
    fn stage_metadata(
        &mut self,
        ready: &mut Ready,
        batch: &mut WriteBatch,
    ) -> Result<(), FatalError> {
        if ready.ss().is_some() {
            self.on_soft_state_change();
        }
        // 1. Messages that need no persistence go out at once.
        if !ready.messages().is_empty() {
            self.transport.send(METADATA_GROUP, ready.take_messages());
        }
        // 2. A snapshot from the leader replaces state and log.
        if !ready.snapshot().is_empty() {
            let snap = ready.snapshot().clone();
            tracing::info!(
                index = snap.get_metadata().index,
                "applying snapshot from leader"
            );
            self.applier.restore(&snap)?;
            self.raw.mut_store().apply_snapshot(batch, snap)?;
            self.sync_addresses();
            self.meta_changed = true;
        }
        self.raw.mut_store().append(batch, ready.entries())?;
        if let Some(hs) = ready.hs() {
            self.raw.mut_store().set_hard_state(batch, hs.clone())?;
        }
        Ok(())
    }

    /// Steps 4-5 of the metadata group: persisted messages, apply, advance.
    fn finish_metadata(&mut self, mut ready: Ready) -> Result<(), FatalError> {
        if !ready.persisted_messages().is_empty() {
            self.transport
                .send(METADATA_GROUP, ready.take_persisted_messages());
        }
        let committed = ready.take_committed_entries();
        self.apply(committed)?;
        let mut light = self.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            let mut batch = WriteBatch::default();
            self.raw.mut_store().set_commit(&mut batch, commit)?;
            self.raw.mut_store().write(batch, false)?;
        }
        self.transport.send(METADATA_GROUP, light.take_messages());
        self.apply(light.take_committed_entries())?;
        self.raw.advance_apply();
        self.applier.maybe_snapshot(&mut self.raw)?;
        Ok(())
    }

    fn stage_group(
        &mut self,
        id: u64,
        ready: &mut Ready,
        batch: &mut WriteBatch,
    ) -> Result<(), FatalError> {
        let Some(g) = self.groups.get_mut(&id) else {
            return Ok(());
        };
        if ready.ss().is_some() {
            g.publish_leader();
        }
        if !ready.messages().is_empty() {
            self.transport.send(id, ready.take_messages());
        }
        if !ready.snapshot().is_empty() {
            let snap = ready.snapshot().clone();
            g.restore_snapshot(&snap)?;
            g.raw.mut_store().apply_snapshot(batch, snap)?;
        }
        g.raw.mut_store().append(batch, ready.entries())?;
        if let Some(hs) = ready.hs() {
            g.raw.mut_store().set_hard_state(batch, hs.clone())?;
        }
        Ok(())
    }

    fn finish_group(&mut self, id: u64, mut ready: Ready) -> Result<bool, FatalError> {
        let Some(g) = self.groups.get_mut(&id) else {
            return Ok(false);
        };
        if !ready.persisted_messages().is_empty() {
            self.transport.send(id, ready.take_persisted_messages());
        }
        g.persisted();
        let mut grew = g.apply(ready.take_committed_entries())?;
        let mut light = g.raw.advance(ready);
        if let Some(commit) = light.commit_index() {
            let mut batch = WriteBatch::default();
            g.raw.mut_store().set_commit(&mut batch, commit)?;
            g.raw.mut_store().write(batch, false)?;
        }
        self.transport.send(id, light.take_messages());
        grew |= g.apply(light.take_committed_entries())?;
        g.raw.advance_apply();
        Ok(grew)
    }

    fn apply(&mut self, entries: Vec<raft::eraftpb::Entry>) -> Result<(), FatalError> {
        if entries.is_empty() {
            return Ok(());
        }
        let outcomes = self.applier.apply(&mut self.raw, entries)?;
        self.meta_changed = true;
        if outcomes.membership_changed {
            self.sync_addresses();
        }
        for done in outcomes.applied {
            let Some(waiter) = self.pending.take(done.index, done.term) else {
                continue;
            };
            match waiter {
                Waiter::Command(tx) => {
                    let outcome = if done.rejection.is_none() {
                        "committed"
                    } else {
                        "rejected"
                    };
                    self.metrics
                        .proposals
                        .get_or_create(&OutcomeLabel { outcome })
                        .inc();
                    let _ = tx.send(match done.rejection {
                        None => Ok(done.index),
                        Some(r) => Err(r.into()),
                    });
                }
                Waiter::Membership(tx) => {
                    let _ = tx.send(match done.conf_error {
                        None => Ok(self.build_status().membership()),
                        Some(e) => Err(MembershipError::Apply(e).into()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Points the transport at the replicated member URLs.
    pub(super) fn sync_addresses(&mut self) {
        let members: Vec<(u64, String)> = self
            .applier
            .state()
            .members()
            .iter()
            .map(|(id, url)| (*id, url.clone()))
            .collect();
        for (id, url) in &members {
            if *id != self.id {
                self.transport.set_address(*id, url);
            }
        }
        let conf = self.raw.raft.prs().conf().to_conf_state();
        self.transport.retain(|id| {
            conf.voters.contains(&id)
                || conf.learners.contains(&id)
                || members.iter().any(|(m, _)| *m == id)
        });
    }
}
