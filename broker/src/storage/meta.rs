//! The data directory's identity file.
//!
//! `meta.json` records which cluster and which node id a data directory
//! belongs to, plus an incarnation UUID minted when the directory was first
//! used. A disk from another cluster or another node is refused at start; a
//! wiped disk gets a new incarnation, which peers see in every message.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const META_FILE: &str = "meta.json";
const FORMAT: u32 = 1;

/// Contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataDirMeta {
    /// Layout version of the data directory.
    pub format: u32,
    /// Cluster the directory belongs to.
    pub cluster_id: String,
    /// Raft node id the directory belongs to.
    pub node_id: u64,
    /// Minted when the directory was initialised; changes when a disk is wiped.
    pub incarnation: String,
}

/// Why a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("cannot use data directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} has format {found}, this broker understands format {FORMAT}")]
    Format { path: PathBuf, found: u32 },
    #[error(
        "data directory {path} belongs to cluster {found:?}, not {expected:?}; \
         refusing to start (wipe it to join this cluster)"
    )]
    ForeignCluster {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "data directory {path} belongs to node {found}, not node {expected}; \
         refusing to start (wipe it to reuse the disk)"
    )]
    ForeignNode {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error(
        "data directory {path} holds a Raft log but no {META_FILE}; refusing to guess its owner"
    )]
    MissingMeta { path: PathBuf },
}

/// The Raft log's directory inside a data directory.
const RAFT_DIR: &str = "raft";

/// Makes a directory's entries (creations, renames) durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Opens or creates `meta.json` in a data directory.
pub struct MetaFile;

impl MetaFile {
    /// Returns the directory's meta, creating it (with a new incarnation) if
    /// the directory is fresh, and refusing a directory owned by someone else.
    /// The second value is true when the directory was fresh.
    pub fn open_or_create(
        dir: &Path,
        cluster_id: &str,
        node_id: u64,
    ) -> Result<(DataDirMeta, bool), MetaError> {
        let io = |source| MetaError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(META_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let meta: DataDirMeta =
                    serde_json::from_slice(&bytes).map_err(|source| MetaError::Parse {
                        path: path.clone(),
                        source,
                    })?;
                Self::check(&path, &meta, cluster_id, node_id)?;
                Ok((meta, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let raft_dir = dir.join(RAFT_DIR);
                let has_log = std::fs::read_dir(&raft_dir)
                    .map(|mut d| d.next().is_some())
                    .unwrap_or(false);
                if has_log {
                    return Err(MetaError::MissingMeta {
                        path: dir.to_path_buf(),
                    });
                }
                let meta = DataDirMeta {
                    format: FORMAT,
                    cluster_id: cluster_id.to_string(),
                    node_id,
                    incarnation: uuid::Uuid::new_v4().to_string(),
                };
                Self::write(dir, &meta)?;
                Ok((meta, true))
            }
            Err(source) => Err(MetaError::Io { path, source }),
        }
    }

    fn check(
        path: &Path,
        meta: &DataDirMeta,
        cluster_id: &str,
        node_id: u64,
    ) -> Result<(), MetaError> {
        if meta.format != FORMAT {
            return Err(MetaError::Format {
                path: path.to_path_buf(),
                found: meta.format,
            });
        }
        if meta.cluster_id != cluster_id {
            return Err(MetaError::ForeignCluster {
                path: path.to_path_buf(),
                found: meta.cluster_id.clone(),
                expected: cluster_id.to_string(),
            });
        }
        if meta.node_id != node_id {
            return Err(MetaError::ForeignNode {
                path: path.to_path_buf(),
                found: meta.node_id,
                expected: node_id,
            });
        }
        Ok(())
    }

    /// Atomically replaces `meta.json` (write, fsync, rename, fsync dir).
    /// The `raft/` directory is created first and made durable by the same
    /// directory fsync (and the data directory by one of its parent), so a
    /// power loss cannot keep the identity yet lose the log directory's
    /// entry, which would pass for a member with an empty log.
    fn write(dir: &Path, meta: &DataDirMeta) -> Result<(), MetaError> {
        let io = |source| MetaError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let tmp = dir.join(format!("{META_FILE}.tmp"));
        let bytes = serde_json::to_vec_pretty(meta).map_err(|source| MetaError::Parse {
            path: tmp.clone(),
            source,
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::create_dir_all(dir.join(RAFT_DIR)).map_err(io)?;
        std::fs::rename(&tmp, dir.join(META_FILE)).map_err(io)?;
        sync_dir(dir).map_err(io)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent).map_err(io)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_dir_gets_an_identity_that_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (m1, fresh) = MetaFile::open_or_create(dir.path(), "c1", 2).unwrap();
        assert!(fresh);
        let (m2, fresh) = MetaFile::open_or_create(dir.path(), "c1", 2).unwrap();
        assert!(!fresh);
        assert_eq!(m1, m2);
        // The log directory exists (made durable with the identity) and,
        // while empty, does not count as a log.
        assert!(dir.path().join(RAFT_DIR).is_dir());
        assert!(!dir.path().join(format!("{META_FILE}.tmp")).exists());
    }

    #[test]
    fn foreign_dirs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        MetaFile::open_or_create(dir.path(), "c1", 2).unwrap();
        let e = MetaFile::open_or_create(dir.path(), "c2", 2).unwrap_err();
        assert!(matches!(e, MetaError::ForeignCluster { .. }), "{e}");
        let e = MetaFile::open_or_create(dir.path(), "c1", 3).unwrap_err();
        assert!(
            matches!(
                e,
                MetaError::ForeignNode {
                    found: 2,
                    expected: 3,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn a_wiped_disk_gets_a_new_incarnation_and_a_log_without_meta_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (m1, _) = MetaFile::open_or_create(dir.path(), "c1", 1).unwrap();
        std::fs::remove_file(dir.path().join(META_FILE)).unwrap();
        let (m2, fresh) = MetaFile::open_or_create(dir.path(), "c1", 1).unwrap();
        assert!(fresh);
        assert_ne!(m1.incarnation, m2.incarnation);
        std::fs::remove_file(dir.path().join(META_FILE)).unwrap();
        std::fs::create_dir_all(dir.path().join("raft")).unwrap();
        std::fs::write(dir.path().join("raft/0000000000000001.raftlog"), b"x").unwrap();
        let e = MetaFile::open_or_create(dir.path(), "c1", 1).unwrap_err();
        assert!(matches!(e, MetaError::MissingMeta { .. }), "{e}");
    }

    #[test]
    fn garbage_meta_is_a_parse_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(META_FILE), b"{not json").unwrap();
        let e = MetaFile::open_or_create(dir.path(), "c1", 1).unwrap_err();
        assert!(matches!(e, MetaError::Parse { .. }), "{e}");
    }
}
