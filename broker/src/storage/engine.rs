//! Thin wrapper over `raft_engine::Engine` with our error type.

use raft::eraftpb::Entry;
use std::path::{Path, PathBuf};

/// Failures of the durable Raft store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// raft-engine refused to open the log directory (includes corruption
    /// other than a torn tail, which is truncated during recovery).
    #[error("cannot open the Raft log in {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: raft_engine::Error,
    },
    /// A read or write of the Raft log failed.
    #[error("Raft log I/O failed: {0}")]
    Engine(#[source] raft_engine::Error),
    /// Entries failed their checksum (corruption before the torn-tail region).
    #[error("Raft log of group {group} is corrupt between index {low} and {high}: {source}")]
    Corrupt {
        group: u64,
        low: u64,
        high: u64,
        #[source]
        source: Box<StorageError>,
    },
    /// A stored value could not be decoded.
    #[error("stored key {key} of group {group} is corrupt: {source}")]
    Decode {
        group: u64,
        key: String,
        #[source]
        source: protobuf::ProtobufError,
    },
}

/// Tells raft-engine how to find the index of a raft-rs entry.
pub(super) struct EntryExt;

impl raft_engine::MessageExt for EntryExt {
    type Entry = Entry;

    fn index(e: &Entry) -> u64 {
        e.index
    }
}

/// The log store shared by every Raft group of a broker.
pub struct LogEngine {
    inner: raft_engine::Engine,
}

impl LogEngine {
    /// Opens (or creates) the log in `dir`, recovering from a torn tail.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        Self::open_with_file_size(dir, None)
    }

    /// Like [`Self::open`], rotating log files at `target_file_size` bytes.
    pub fn open_with_file_size(
        dir: &Path,
        target_file_size: Option<u64>,
    ) -> Result<Self, StorageError> {
        let mut cfg = raft_engine::Config {
            dir: dir.display().to_string(),
            recovery_mode: raft_engine::RecoveryMode::TolerateTailCorruption,
            ..Default::default()
        };
        if let Some(size) = target_file_size {
            cfg.target_file_size = raft_engine::ReadableSize(size);
        }
        let inner = raft_engine::Engine::open(cfg).map_err(|source| StorageError::Open {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self { inner })
    }

    pub(super) fn write(
        &self,
        batch: &mut raft_engine::LogBatch,
        sync: bool,
    ) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.inner
            .write(batch, sync)
            .map(|_| ())
            .map_err(StorageError::Engine)
    }

    pub(super) fn get_message<M: protobuf::Message>(
        &self,
        group: u64,
        key: &[u8],
    ) -> Result<Option<M>, StorageError> {
        match self.inner.get(group, key) {
            None => Ok(None),
            Some(bytes) => {
                let mut m = M::new();
                m.merge_from_bytes(&bytes)
                    .map_err(|source| StorageError::Decode {
                        group,
                        key: String::from_utf8_lossy(key).into_owned(),
                        source,
                    })?;
                Ok(Some(m))
            }
        }
    }

    pub(super) fn get_u64(&self, group: u64, key: &[u8]) -> Option<u64> {
        let bytes = self.inner.get(group, key)?;
        let arr: [u8; 8] = bytes.as_slice().try_into().ok()?;
        Some(u64::from_le_bytes(arr))
    }

    /// The entry at `index` of `group`, if stored (thread-safe; used by the
    /// Kafka read path).
    pub fn entry(&self, group: u64, index: u64) -> Result<Option<Entry>, StorageError> {
        self.inner
            .get_entry::<EntryExt>(group, index)
            .map_err(StorageError::Engine)
    }

    pub(super) fn fetch_entries(
        &self,
        group: u64,
        low: u64,
        high: u64,
        max_size: Option<usize>,
        out: &mut Vec<Entry>,
    ) -> Result<(), StorageError> {
        self.inner
            .fetch_entries_to::<EntryExt>(group, low, high, max_size, out)
            .map(|_| ())
            .map_err(StorageError::Engine)
    }

    /// Drops everything stored for `group` (a deleted partition).
    pub fn remove_group(&self, group: u64) -> Result<(), StorageError> {
        let mut batch = raft_engine::LogBatch::default();
        batch.add_command(group, raft_engine::Command::Clean);
        self.write(&mut batch, true)
    }

    /// Every group with something stored.
    pub fn groups(&self) -> Vec<u64> {
        self.inner.raft_groups()
    }

    pub(super) fn first_index(&self, group: u64) -> Option<u64> {
        self.inner.first_index(group)
    }

    pub(super) fn last_index(&self, group: u64) -> Option<u64> {
        self.inner.last_index(group)
    }

    pub(super) fn compact_to(&self, group: u64, index: u64) {
        self.inner.compact_to(group, index);
        // Reclaims log files whose every entry is now compacted away.
        if let Err(e) = self.inner.purge_expired_files() {
            tracing::warn!(error = %e, "purging compacted Raft log files failed");
        }
    }
}
