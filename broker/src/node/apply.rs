//! Applies committed entries to the metadata state machine and to Raft's
//! configuration, and takes snapshots that let the log be compacted.

use super::error::FatalError;
use super::log_conf::LogConf;
use crate::state_machine::{ApplyOutcome, CommandRejection, MetaStateMachine};
use crate::storage::{RaftStore, WriteBatch};
use protobuf::Message as _;
use raft::eraftpb::{
    ConfChangeType, ConfChangeV2, ConfState, Entry, EntryType, Snapshot, SnapshotMetadata,
};
use raft::{RawNode, Storage};
use std::cell::Cell;

/// What one applied entry means to a waiting proposer.
pub struct Applied {
    pub index: u64,
    pub term: u64,
    pub rejection: Option<CommandRejection>,
    pub conf_error: Option<String>,
}

/// The results of applying a batch of entries.
#[derive(Default)]
pub struct Outcomes {
    pub applied: Vec<Applied>,
    pub membership_changed: bool,
}

/// Owns the state machine and applies entries to it.
pub struct Applier {
    state: MetaStateMachine,
    snapshot_interval: u64,
    /// The configuration as of the last applied entry (not Raft's latest).
    log_conf: LogConf,
    /// The latest digest and the applied index it belongs to (every change
    /// of the state advances the index, so the digest is hashed once per
    /// index, not once per status).
    digest: Cell<Option<(u64, u64)>>,
}

impl Applier {
    /// `conf` is the configuration at `state`'s applied index (the
    /// snapshot's it was restored from).
    pub fn new(state: MetaStateMachine, snapshot_interval: u64, conf: &ConfState) -> Self {
        Self {
            state,
            snapshot_interval,
            log_conf: LogConf::from_conf_state(conf),
            digest: Cell::new(None),
        }
    }

    /// The state's digest and the applied index it belongs to.
    pub fn digest(&self) -> (u64, u64) {
        let applied = self.state.applied();
        match self.digest.get() {
            Some((index, digest)) if index == applied => (index, digest),
            _ => {
                let digest = self.state.digest();
                self.digest.set(Some((applied, digest)));
                (applied, digest)
            }
        }
    }

    pub fn state(&self) -> &MetaStateMachine {
        &self.state
    }

    /// Replaces the state with a snapshot's data.
    pub fn restore(&mut self, snap: &Snapshot) -> Result<(), FatalError> {
        let mut state = MetaStateMachine::restore(snap.get_data())?;
        state.advance(snap.get_metadata().index);
        self.state = state;
        self.digest.set(None);
        self.log_conf = LogConf::from_conf_state(snap.get_metadata().get_conf_state());
        Ok(())
    }

    /// Applies committed entries in order.
    pub fn apply(
        &mut self,
        raw: &mut RawNode<RaftStore>,
        entries: Vec<Entry>,
    ) -> Result<Outcomes, FatalError> {
        let mut out = Outcomes::default();
        let mut conf_batch = WriteBatch::default();
        // Log order, not Raft's latest configuration: see `log_conf`.
        self.state.set_voters(self.log_conf.voters());
        for entry in entries {
            let index = entry.index;
            if index <= self.state.applied() {
                continue;
            }
            let mut applied = Applied {
                index,
                term: entry.term,
                rejection: None,
                conf_error: None,
            };
            match entry.get_entry_type() {
                EntryType::EntryNormal => {
                    if let ApplyOutcome::Rejected(r) = self.state.apply(index, entry.get_data())? {
                        applied.rejection = Some(r);
                    }
                }
                EntryType::EntryConfChange | EntryType::EntryConfChangeV2 => {
                    applied.conf_error = self.apply_conf_change(raw, &entry, &mut conf_batch)?;
                    if applied.conf_error.is_none() {
                        self.log_conf.apply(&decode_conf_change(&entry)?);
                    }
                    out.membership_changed = true;
                    self.state.set_voters(self.log_conf.voters());
                    self.state.advance(index);
                }
            }
            out.applied.push(applied);
        }
        raw.mut_store().write(conf_batch, false)?;
        Ok(out)
    }

    /// Applies a conf change to Raft (unless the persisted `ConfState` already
    /// includes it, which happens when entries are replayed after a restart)
    /// and records member URLs. Returns the reason if Raft refused it.
    fn apply_conf_change(
        &mut self,
        raw: &mut RawNode<RaftStore>,
        entry: &Entry,
        batch: &mut WriteBatch,
    ) -> Result<Option<String>, FatalError> {
        let cc = decode_conf_change(entry)?;
        let index = entry.index;
        if index > raw.store().conf_index() {
            match raw.apply_conf_change(&cc) {
                Ok(cs) => raw.mut_store().set_conf_state(batch, cs, index)?,
                Err(e) => {
                    tracing::warn!(index, error = %e, "conf change refused by raft");
                    return Ok(Some(e.to_string()));
                }
            }
        }
        let url = String::from_utf8_lossy(entry.get_context()).into_owned();
        for change in cc.get_changes() {
            match change.get_change_type() {
                ConfChangeType::AddNode | ConfChangeType::AddLearnerNode => {
                    if url.is_empty() {
                        self.state.readmit(change.node_id);
                    } else {
                        self.state.set_member(change.node_id, url.clone());
                    }
                }
                ConfChangeType::RemoveNode => self.state.remove_member(change.node_id, index),
            }
            tracing::info!(index, node = change.node_id, change = ?change.get_change_type(), "membership changed");
        }
        Ok(None)
    }

    /// Takes a snapshot and compacts the log once enough entries were applied.
    pub fn maybe_snapshot(&mut self, raw: &mut RawNode<RaftStore>) -> Result<(), FatalError> {
        let applied = self.state.applied();
        let snap_index = raw.store().latest_snapshot().get_metadata().index;
        if applied < snap_index + self.snapshot_interval
            && !(raw.store().snapshot_wanted() && applied > snap_index)
        {
            return Ok(());
        }
        let term = raw.store().term(applied)?;
        // While a restart replays entries, Raft's configuration already
        // includes conf changes past `applied`: the snapshot records the
        // configuration as of its own index (see `log_conf`).
        let conf_state = if applied >= raw.store().conf_index() {
            raw.raft.prs().conf().to_conf_state()
        } else {
            self.log_conf.to_conf_state()
        };
        let meta = SnapshotMetadata {
            index: applied,
            term,
            conf_state: Some(conf_state).into(),
            ..Default::default()
        };
        tracing::debug!(index = applied, "taking a snapshot of the metadata store");
        raw.mut_store()
            .compact_with_snapshot(meta, self.state.snapshot())?;
        Ok(())
    }
}

pub(super) fn decode_conf_change(entry: &Entry) -> Result<ConfChangeV2, FatalError> {
    let bad = |e: protobuf::ProtobufError| FatalError::Raft(raft::Error::CodecError(e));
    match entry.get_entry_type() {
        EntryType::EntryConfChangeV2 => {
            ConfChangeV2::parse_from_bytes(entry.get_data()).map_err(bad)
        }
        _ => {
            // Chronik proposes V2 only; a V1 entry is converted field by field.
            let v1 = raft::eraftpb::ConfChange::parse_from_bytes(entry.get_data()).map_err(bad)?;
            let mut single = raft::eraftpb::ConfChangeSingle {
                node_id: v1.node_id,
                ..Default::default()
            };
            single.set_change_type(v1.get_change_type());
            let mut cc = ConfChangeV2::default();
            cc.mut_changes().push(single);
            Ok(cc)
        }
    }
}
