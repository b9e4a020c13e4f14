//! Durable Raft state on top of `raft-engine`, TiKV's Raft log store.
//!
//! raft-engine gives us checksummed, append-only log files with group-commit
//! and recovery that truncates a torn tail (`TolerateTailCorruption`) while
//! refusing other corruption, so none of that is written by hand here.
//! Each Raft group is one raft-engine "region"; besides the entries it holds
//! a few keys: the `HardState`, the `ConfState` with the index it was applied
//! at, and the latest state-machine snapshot.

mod engine;
mod meta;
mod unsynced_fs;
mod verify;

pub use engine::{select_test_fs, LogEngine, StorageError};
pub use meta::{DataDirMeta, MetaError, MetaFile};
pub use unsynced_fs::{TestFs, UnsyncedDropFs};
pub use verify::{verify_log, VerifyProgress};

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, Storage};
use std::sync::Arc;

/// Key of the persisted `HardState`.
const KEY_HARD_STATE: &[u8] = b"hard_state";
/// Key of the persisted `ConfState` (see [`ConfRecord`]).
const KEY_CONF_STATE: &[u8] = b"conf_state";
/// Key of the persisted index at which `ConfState` was last changed.
const KEY_CONF_INDEX: &[u8] = b"conf_index";
/// Key of the latest snapshot (metadata and state-machine data).
const KEY_SNAPSHOT: &[u8] = b"snapshot";

/// Writes that must reach disk together, in one fsync'd batch.
#[derive(Default)]
pub struct WriteBatch {
    inner: raft_engine::LogBatch,
}

/// The Raft log and state of one group, as `raft::Storage`.
///
/// Reads come from raft-engine's in-memory index; writes are collected in a
/// [`WriteBatch`] by the node and committed with one fsync per `Ready`.
pub struct RaftStore {
    engine: Arc<LogEngine>,
    group: u64,
    hard_state: HardState,
    conf_state: ConfState,
    conf_index: u64,
    snapshot: Snapshot,
    /// Set when Raft asked for a snapshot newer than the stored one (or one
    /// whose configuration lacks the receiver); the node then takes one.
    snapshot_wanted: std::cell::Cell<bool>,
}

impl RaftStore {
    /// Loads the state of `group` from the engine (empty if never written).
    /// Its entries are not read: [`verify_log`] checks them.
    pub fn open(engine: Arc<LogEngine>, group: u64) -> Result<Self, StorageError> {
        let hard_state = engine
            .get_message::<HardState>(group, KEY_HARD_STATE)?
            .unwrap_or_default();
        let conf_state = engine
            .get_message::<ConfState>(group, KEY_CONF_STATE)?
            .unwrap_or_default();
        let conf_index = engine.get_u64(group, KEY_CONF_INDEX).unwrap_or(0);
        let snapshot = engine
            .get_message::<Snapshot>(group, KEY_SNAPSHOT)?
            .unwrap_or_default();
        let store = Self {
            engine,
            group,
            hard_state,
            conf_state,
            conf_index,
            snapshot,
            snapshot_wanted: std::cell::Cell::new(false),
        };
        Ok(store)
    }

    /// True when nothing was ever persisted for this group.
    pub fn is_empty(&self) -> bool {
        self.hard_state == HardState::default()
            && self.conf_state == ConfState::default()
            && self.snapshot.get_metadata().index == 0
            && self.engine.last_index(self.group).is_none()
    }

    /// Persists an initial snapshot at `index`/`term` holding `conf_state`
    /// and the state-machine `data`: how a fresh cluster is bootstrapped so
    /// that any node that joins later receives the full configuration.
    pub fn bootstrap(
        &mut self,
        conf_state: ConfState,
        data: Vec<u8>,
        index: u64,
        term: u64,
    ) -> Result<(), StorageError> {
        let mut snap = Snapshot::default();
        snap.set_data(data.into());
        let meta = snap.mut_metadata();
        meta.index = index;
        meta.term = term;
        meta.set_conf_state(conf_state);
        let mut batch = WriteBatch::default();
        self.apply_snapshot(&mut batch, snap)?;
        let hs = HardState {
            term,
            commit: index,
            ..Default::default()
        };
        self.set_hard_state(&mut batch, hs)?;
        self.write(batch, true)
    }

    /// Persists only an initial configuration (no entries, no snapshot): how
    /// partition groups start. Until retention compacts a partition's log, a
    /// member added later replicates the whole log from index 1 on top of
    /// the same initial configuration, which every node knows from the
    /// metadata group; after that it starts from the retention snapshot.
    pub fn initialize(&mut self, conf_state: ConfState) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        self.set_conf_state(&mut batch, conf_state, 0)?;
        self.write(batch, true)
    }

    /// Queues entries for append; a conflicting tail is replaced.
    pub fn append(
        &mut self,
        batch: &mut WriteBatch,
        entries: &[Entry],
    ) -> Result<(), StorageError> {
        if entries.is_empty() {
            return Ok(());
        }
        batch
            .inner
            .add_entries::<engine::EntryExt>(self.group, entries)
            .map_err(StorageError::Engine)
    }

    /// Queues a new `HardState`.
    pub fn set_hard_state(
        &mut self,
        batch: &mut WriteBatch,
        hs: HardState,
    ) -> Result<(), StorageError> {
        batch
            .inner
            .put_message(self.group, KEY_HARD_STATE.to_vec(), &hs)
            .map_err(StorageError::Engine)?;
        self.hard_state = hs;
        Ok(())
    }

    /// Updates only the commit index of the `HardState`.
    pub fn set_commit(&mut self, batch: &mut WriteBatch, commit: u64) -> Result<(), StorageError> {
        let mut hs = self.hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(batch, hs)
    }

    /// Queues the `ConfState` produced by applying the conf change at `index`.
    pub fn set_conf_state(
        &mut self,
        batch: &mut WriteBatch,
        cs: ConfState,
        index: u64,
    ) -> Result<(), StorageError> {
        batch
            .inner
            .put_message(self.group, KEY_CONF_STATE.to_vec(), &cs)
            .map_err(StorageError::Engine)?;
        batch
            .inner
            .put(
                self.group,
                KEY_CONF_INDEX.to_vec(),
                index.to_le_bytes().to_vec(),
            )
            .map_err(StorageError::Engine)?;
        self.conf_state = cs;
        self.conf_index = index;
        Ok(())
    }

    /// Replaces the whole group with `snap` (a follower catching up, or bootstrap).
    pub fn apply_snapshot(
        &mut self,
        batch: &mut WriteBatch,
        snap: Snapshot,
    ) -> Result<(), StorageError> {
        let meta = snap.get_metadata().clone();
        batch
            .inner
            .add_command(self.group, raft_engine::Command::Clean);
        batch
            .inner
            .put_message(self.group, KEY_SNAPSHOT.to_vec(), &snap)
            .map_err(StorageError::Engine)?;
        let mut hs = self.hard_state.clone();
        hs.term = hs.term.max(meta.term);
        hs.commit = hs.commit.max(meta.index);
        self.set_hard_state(batch, hs)?;
        self.set_conf_state(batch, meta.get_conf_state().clone(), meta.index)?;
        self.snapshot = snap;
        Ok(())
    }

    /// Stores a snapshot taken locally at `meta.index` and drops the log up to it.
    pub fn compact_with_snapshot(
        &mut self,
        meta: SnapshotMetadata,
        data: Vec<u8>,
    ) -> Result<(), StorageError> {
        let index = meta.index;
        let mut snap = Snapshot::default();
        snap.set_metadata(meta);
        snap.set_data(data.into());
        let mut batch = WriteBatch::default();
        batch
            .inner
            .put_message(self.group, KEY_SNAPSHOT.to_vec(), &snap)
            .map_err(StorageError::Engine)?;
        self.write(batch, true)?;
        self.snapshot = snap;
        self.snapshot_wanted.set(false);
        self.engine.compact_to(self.group, index + 1);
        Ok(())
    }

    /// Writes `batch`, with fsync when `sync` is set.
    pub fn write(&self, mut batch: WriteBatch, sync: bool) -> Result<(), StorageError> {
        self.engine.write(&mut batch.inner, sync)
    }

    /// The log store this group lives in.
    pub fn engine(&self) -> &Arc<LogEngine> {
        &self.engine
    }

    /// The persisted hard state.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The persisted configuration.
    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// Log index whose conf change produced [`Self::conf_state`].
    pub fn conf_index(&self) -> u64 {
        self.conf_index
    }

    /// The latest snapshot (default when none).
    pub fn latest_snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Whether Raft needs a fresher snapshot than the stored one.
    pub fn snapshot_wanted(&self) -> bool {
        self.snapshot_wanted.get()
    }

    fn snapshot_index(&self) -> u64 {
        self.snapshot.get_metadata().index
    }
}

/// Most entries `entries` reserves room for before reading.
const ENTRIES_RESERVE: usize = 1024;

impl Storage for RaftStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.snapshot_index() {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        let last = self.last_index()?;
        if high > last + 1 {
            return Err(raft::Error::Store(raft::StorageError::Unavailable));
        }
        let max = max_size.into();
        // The range can be a lagging follower's whole backlog: reserve for
        // what a bounded read can hold, not for the range.
        let mut out = Vec::with_capacity(((high - low) as usize).min(ENTRIES_RESERVE));
        self.engine
            .fetch_entries(
                self.group,
                low,
                high,
                max.map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
                &mut out,
            )
            .map_err(|e| raft::Error::Store(raft::StorageError::Other(Box::new(e))))?;
        // raft-engine measures its own encoding; raft-rs's contract is the
        // entries' protobuf size, at least one entry.
        raft::util::limit_size(&mut out, max);
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let snap = self.snapshot.get_metadata();
        if idx == snap.index {
            return Ok(snap.term);
        }
        if idx < snap.index {
            return Err(raft::Error::Store(raft::StorageError::Compacted));
        }
        match self.engine.entry(self.group, idx) {
            Ok(Some(e)) => Ok(e.term),
            Ok(None) => Err(raft::Error::Store(raft::StorageError::Unavailable)),
            Err(e) => Err(raft::Error::Store(raft::StorageError::Other(Box::new(e)))),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self
            .engine
            .first_index(self.group)
            .unwrap_or(self.snapshot_index() + 1)
            .max(self.snapshot_index() + 1))
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self
            .engine
            .last_index(self.group)
            .unwrap_or(self.snapshot_index())
            .max(self.snapshot_index()))
    }

    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<Snapshot> {
        let conf = self.snapshot.get_metadata().get_conf_state();
        let knows_receiver = conf.voters.contains(&to) || conf.learners.contains(&to);
        if self.snapshot_index() < request_index || self.snapshot_index() == 0 || !knows_receiver {
            self.snapshot_wanted.set(true);
            return Err(raft::Error::Store(
                raft::StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(self.snapshot.clone())
    }
}

#[cfg(test)]
mod tests;
