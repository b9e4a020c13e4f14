//! Thin wrapper over `raft_engine::Engine` with our error type.
//!
//! The engine runs on the real filesystem, or, in power-loss tests only, on
//! [`UnsyncedDropFs`] (selected once per process with [`select_test_fs`]).

use super::unsynced_fs::{TestFs, UnsyncedDropFs};
use raft::eraftpb::Entry;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The test filesystem every engine of this process opens on, if any.
static TEST_FS: OnceLock<(TestFs, u64)> = OnceLock::new();

/// Makes every [`LogEngine`] opened afterwards in this process run on the
/// test filesystem `mode` (torn writes chosen from `seed`). Test-only: the
/// broker refuses `--test-fs` unless `CHRONIK_ENABLE_TEST_FS=1`. The first
/// selection wins.
pub fn select_test_fs(mode: TestFs, seed: u64) {
    if TEST_FS.set((mode, seed)).is_ok() {
        tracing::warn!(
            ?mode,
            seed,
            "TEST ONLY: Raft log on a filesystem that drops unsynced writes at a crash"
        );
    }
}

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

/// The engine on the filesystem it was opened with.
enum Inner {
    Disk(raft_engine::Engine),
    DropUnsynced(raft_engine::Engine<UnsyncedDropFs>),
}

/// Runs `$body` with `$e` bound to the engine, whatever its filesystem.
macro_rules! on_engine {
    ($self:expr, $e:ident => $body:expr) => {
        match &$self.inner {
            Inner::Disk($e) => $body,
            Inner::DropUnsynced($e) => $body,
        }
    };
}

/// The log store shared by every Raft group of a broker.
pub struct LogEngine {
    inner: Inner,
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
        let open_error = |source| StorageError::Open {
            path: dir.to_path_buf(),
            source,
        };
        let inner = match TEST_FS.get() {
            None => Inner::Disk(raft_engine::Engine::open(cfg).map_err(open_error)?),
            Some(&(mode, seed)) => Inner::DropUnsynced(
                raft_engine::Engine::open_with_file_system(
                    cfg,
                    Arc::new(UnsyncedDropFs::new(mode, seed)),
                )
                .map_err(open_error)?,
            ),
        };
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
        on_engine!(self, e => e.write(batch, sync))
            .map(|_| ())
            .map_err(StorageError::Engine)
    }

    pub(super) fn get_message<M: protobuf::Message>(
        &self,
        group: u64,
        key: &[u8],
    ) -> Result<Option<M>, StorageError> {
        match on_engine!(self, e => e.get(group, key)) {
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
        let bytes = on_engine!(self, e => e.get(group, key))?;
        let arr: [u8; 8] = bytes.as_slice().try_into().ok()?;
        Some(u64::from_le_bytes(arr))
    }

    /// The entry at `index` of `group`, if stored (thread-safe; used by the
    /// Kafka read path).
    pub fn entry(&self, group: u64, index: u64) -> Result<Option<Entry>, StorageError> {
        on_engine!(self, e => e.get_entry::<EntryExt>(group, index)).map_err(StorageError::Engine)
    }

    pub(super) fn fetch_entries(
        &self,
        group: u64,
        low: u64,
        high: u64,
        max_size: Option<usize>,
        out: &mut Vec<Entry>,
    ) -> Result<(), StorageError> {
        on_engine!(self, e => e.fetch_entries_to::<EntryExt>(group, low, high, max_size, out))
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
        on_engine!(self, e => e.raft_groups())
    }

    pub(super) fn first_index(&self, group: u64) -> Option<u64> {
        on_engine!(self, e => e.first_index(group))
    }

    pub(super) fn last_index(&self, group: u64) -> Option<u64> {
        on_engine!(self, e => e.last_index(group))
    }

    pub(super) fn compact_to(&self, group: u64, index: u64) {
        on_engine!(self, e => e.compact_to(group, index));
        // Reclaims log files whose every entry is now compacted away.
        if let Err(e) = on_engine!(self, e => e.purge_expired_files()) {
            tracing::warn!(error = %e, "purging compacted Raft log files failed");
        }
    }
}
