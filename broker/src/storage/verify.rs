//! The check of every stored entry at start: raft-engine's recovery reads
//! the log files' item headers but checks an entry's checksum only when the
//! entry is read, so corruption before the torn-tail region would otherwise
//! surface deep inside Raft (a panic in the middle of a replay). Reading each
//! group's log once stops the node with a clear error instead.
//!
//! It runs while the HTTP server already answers (`/livez` follows its
//! progress, `/readyz` says "recovering storage"), in bounded chunks that
//! report the bytes checked.

use super::{LogEngine, StorageError};
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of entries read per chunk: bounds memory and keeps progress moving.
const CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// What [`verify_log`] has done so far, read by the status publisher.
#[derive(Debug, Default)]
pub struct VerifyProgress {
    /// Bytes of entry data read and checked.
    pub checked_bytes: AtomicU64,
    /// The group being checked.
    pub group: AtomicU64,
}

/// Reads every entry of every group stored in `engine`, checking its
/// checksum; the first failure is returned with the group and index range.
pub fn verify_log(engine: &LogEngine, progress: &VerifyProgress) -> Result<(), StorageError> {
    let mut groups = engine.groups();
    groups.sort_unstable();
    let mut buf = Vec::new();
    for group in groups {
        progress.group.store(group, Ordering::Relaxed);
        let (Some(first), Some(last)) = (engine.first_index(group), engine.last_index(group))
        else {
            continue;
        };
        let mut low = first;
        while low <= last {
            let high = last + 1;
            buf.clear();
            engine
                .fetch_entries(group, low, high, Some(CHUNK_BYTES), &mut buf)
                .map_err(|e| StorageError::Corrupt {
                    group,
                    low,
                    high,
                    source: Box::new(e),
                })?;
            let bytes: usize = buf.iter().map(|e| e.data.len() + e.context.len()).sum();
            progress
                .checked_bytes
                .fetch_add(bytes as u64, Ordering::Relaxed);
            // raft-engine answers at least one entry for a non-empty range.
            low += buf.len().max(1) as u64;
        }
    }
    Ok(())
}
