//! Storage recovery of a starting broker, run while its HTTP server already
//! answers: raft-engine's recovery (a scan of every log file), the check of
//! every stored entry ([`verify_log`]) and the loading of the metadata
//! group's state. It runs on a blocking thread; a publisher task puts its
//! progress into the status document (`recovery`), which `/livez` reads to
//! tell a long recovery from a stuck one and `/readyz` reports as
//! "recovering storage: …".

use crate::node::{now_ms, BrokerStatus, METADATA_GROUP};
use crate::storage::{verify_log, LogEngine, RaftStore, StorageError, VerifyProgress};
use chronik_api::{Recovery, StartPhase};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the recovery's progress is published.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);

/// Why storage recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The recovery thread panicked or was cancelled.
    #[error("storage recovery of {dir} did not finish: {reason}")]
    Aborted { dir: PathBuf, reason: String },
}

/// The storage of a recovered broker.
pub struct Recovered {
    /// The log store of every group.
    pub engine: Arc<LogEngine>,
    /// The metadata group's Raft state.
    pub meta_store: RaftStore,
}

/// Steps of the recovery, as published.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    OpenEngine = 0,
    Verify = 1,
    LoadMeta = 2,
    Done = 3,
}

impl Step {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::OpenEngine,
            1 => Self::Verify,
            2 => Self::LoadMeta,
            _ => Self::Done,
        }
    }
}

/// Shared between the recovery thread and the publisher.
#[derive(Default)]
struct Shared {
    step: AtomicU8,
    verify: VerifyProgress,
    /// Set by the recovery thread when it returns (or unwinds).
    finished: AtomicBool,
}

/// Marks the recovery finished however the thread leaves.
struct FinishOnDrop(Arc<Shared>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        self.0.finished.store(true, Ordering::Release);
    }
}

/// Opens the Raft log in `dir`, checks every entry and loads the metadata
/// group, publishing progress into `status` meanwhile.
pub async fn recover(
    dir: &Path,
    status: &watch::Sender<BrokerStatus>,
) -> Result<Recovered, RecoveryError> {
    let shared = Arc::new(Shared::default());
    let total_bytes = dir_size(dir);
    let publisher = tokio::spawn(publish(shared.clone(), status.clone(), total_bytes));
    let thread_shared = shared.clone();
    let thread_dir = dir.to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let _finish = FinishOnDrop(thread_shared.clone());
        recover_blocking(&thread_dir, &thread_shared)
    })
    .await;
    // Stopped for good before anyone else (the Raft loop) writes the status.
    publisher.abort();
    let _ = publisher.await;
    let recovered = result.map_err(|e| RecoveryError::Aborted {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })??;
    status.send_modify(|s| {
        if let Some(r) = &mut s.recovery {
            r.step = "starting the Raft loop".to_string();
            r.progress_ms = now_ms();
        }
    });
    Ok(recovered)
}

fn recover_blocking(dir: &Path, shared: &Shared) -> Result<Recovered, StorageError> {
    let started = Instant::now();
    shared.step.store(Step::OpenEngine as u8, Ordering::Release);
    let engine = Arc::new(LogEngine::open(dir)?);
    let opened = started.elapsed();
    shared.step.store(Step::Verify as u8, Ordering::Release);
    verify_log(&engine, &shared.verify)?;
    let verified = started.elapsed();
    shared.step.store(Step::LoadMeta as u8, Ordering::Release);
    let meta_store = RaftStore::open(engine.clone(), METADATA_GROUP)?;
    shared.step.store(Step::Done as u8, Ordering::Release);
    tracing::info!(
        open_ms = opened.as_millis() as u64,
        verify_ms = (verified - opened).as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        checked_bytes = shared.verify.checked_bytes.load(Ordering::Relaxed),
        "storage recovered"
    );
    Ok(Recovered { engine, meta_store })
}

/// Publishes the recovery's progress until it finishes. Progress moves when
/// the checked bytes or the step change; raft-engine's own recovery reports
/// none, so while it runs the thread being alive counts as progress.
async fn publish(shared: Arc<Shared>, status: watch::Sender<BrokerStatus>, total_bytes: u64) {
    let mut last = (u8::MAX, u64::MAX, u64::MAX);
    let mut progress_ms = now_ms();
    loop {
        let finished = shared.finished.load(Ordering::Acquire);
        let step = Step::from_u8(shared.step.load(Ordering::Acquire));
        let checked = shared.verify.checked_bytes.load(Ordering::Relaxed);
        let group = shared.verify.group.load(Ordering::Relaxed);
        let now = (step as u8, checked, group);
        if !finished && (now != last || step == Step::OpenEngine) {
            progress_ms = now_ms();
        }
        last = now;
        let text = match step {
            Step::OpenEngine => "opening the Raft log (raft-engine recovery)".to_string(),
            Step::Verify => format!(
                "checking stored entries: {} of about {} MiB (group {group})",
                checked >> 20,
                total_bytes >> 20
            ),
            Step::LoadMeta => "loading the metadata group".to_string(),
            Step::Done => "storage recovered".to_string(),
        };
        status.send_modify(|s| {
            s.recovery = Some(Recovery {
                phase: StartPhase::Recovering,
                step: text,
                progress_ms,
                checked_bytes: checked,
                total_bytes,
            });
        });
        if finished {
            return;
        }
        tokio::time::sleep(PUBLISH_EVERY).await;
    }
}

/// Bytes of the files directly in `dir` (raft-engine's log files).
fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
