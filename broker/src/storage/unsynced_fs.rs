//! Test-only raft-engine filesystem that makes a process crash behave like a
//! power loss.
//!
//! `kill -9` leaves the kernel's page cache intact, so a missing fsync is
//! invisible to crash tests on a real filesystem. [`UnsyncedDropFs`] keeps
//! every write made since a file's last `sync` in process memory and applies
//! it to the real file only inside `sync`, right before the real fsync. When
//! the process dies (or the filesystem value is dropped) exactly the writes
//! no completed fsync covered are gone, as after a power cut. In torn mode it
//! also, at random, lets a prefix of a write reach the real file early (the
//! kernel may write back dirty pages at any time, in any order), so a crash
//! can leave a torn last record behind.
//!
//! File creation, renames and deletes go straight to the real filesystem:
//! raft-engine fsyncs the directory after each of them that matters (new log
//! file, recycled file), so treating them as durable is what it relies on.
//! `allocate` is a no-op, which raft-engine accepts (`EOPNOTSUPP`).
//!
//! Selected with the hidden `--test-fs` flag; never the default.

use raft_engine::env::{FileSystem, Handle, Permission, WriteExt};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Result as IoResult, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Which test filesystem the Raft log runs on (test-only; see `--test-fs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestFs {
    /// Writes not covered by a completed fsync are lost at a crash.
    DropUnsynced,
    /// As `drop-unsynced`, and a random prefix of an unsynced write may
    /// reach the disk early, so a crash can tear the last record.
    DropUnsyncedTorn,
}

/// A write or truncate made since the file's last sync.
enum Op {
    Write { offset: usize, data: Vec<u8> },
    Truncate(usize),
}

/// One file: the real file holds what was synced (plus any early leaks),
/// `pending` what was written since, in order.
struct FileState {
    file: File,
    /// Logical size as the running process sees it.
    len: usize,
    pending: Vec<Op>,
}

impl FileState {
    fn open(path: &Path, create: bool) -> IoResult<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        let len = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
        Ok(Self {
            file,
            len,
            pending: Vec::new(),
        })
    }

    /// Reads what the process would see: the real file with every pending
    /// operation replayed over it.
    fn read_at(&self, offset: usize, buf: &mut [u8]) -> IoResult<usize> {
        let n = self.len.saturating_sub(offset).min(buf.len());
        let out = &mut buf[..n];
        let mut done = 0;
        while done < n {
            match self
                .file
                .read_at(&mut out[done..], (offset + done) as u64)?
            {
                0 => break,
                k => done += k,
            }
        }
        out[done..].fill(0);
        let end = offset + n;
        for op in &self.pending {
            match op {
                Op::Write { offset: at, data } => {
                    let lo = (*at).max(offset);
                    let hi = (at + data.len()).min(end);
                    if lo < hi {
                        out[lo - offset..hi - offset].copy_from_slice(&data[lo - at..hi - at]);
                    }
                }
                Op::Truncate(t) => {
                    if *t < end {
                        out[(*t).max(offset) - offset..].fill(0);
                    }
                }
            }
        }
        Ok(n)
    }

    /// Applies the pending operations to the real file, then fsyncs it.
    fn sync(&mut self) -> IoResult<()> {
        for op in self.pending.drain(..) {
            match op {
                Op::Write { offset, data } => self.file.write_all_at(&data, offset as u64)?,
                Op::Truncate(t) => self.file.set_len(t as u64)?,
            }
        }
        self.file.sync_all()
    }
}

/// A small seeded generator (xorshift64*), enough to choose torn writes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// raft-engine [`FileSystem`] that loses unsynced writes at a crash.
pub struct UnsyncedDropFs {
    /// Shared per-path state, so a reopened file sees its pending writes as
    /// it would through the page cache.
    files: Mutex<HashMap<PathBuf, Arc<Mutex<FileState>>>>,
    /// Set in torn mode.
    torn: Option<Arc<Mutex<Rng>>>,
}

impl UnsyncedDropFs {
    /// A filesystem in `mode`; `seed` drives the torn-write choices.
    pub fn new(mode: TestFs, seed: u64) -> Self {
        let torn = match mode {
            TestFs::DropUnsynced => None,
            TestFs::DropUnsyncedTorn => Some(Arc::new(Mutex::new(Rng(seed | 1)))),
        };
        Self {
            files: Mutex::new(HashMap::new()),
            torn,
        }
    }

    fn files(&self) -> MutexGuard<'_, HashMap<PathBuf, Arc<Mutex<FileState>>>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn handle(&self, path: &Path, create: bool) -> IoResult<UnsyncedHandle> {
        let mut files = self.files();
        let state = match files.get(path) {
            Some(state) => state.clone(),
            None => {
                let state = Arc::new(Mutex::new(FileState::open(path, create)?));
                files.insert(path.to_path_buf(), state.clone());
                state
            }
        };
        Ok(UnsyncedHandle {
            state,
            torn: self.torn.clone(),
        })
    }
}

/// An open file of [`UnsyncedDropFs`].
pub struct UnsyncedHandle {
    state: Arc<Mutex<FileState>>,
    torn: Option<Arc<Mutex<Rng>>>,
}

impl UnsyncedHandle {
    fn state(&self) -> MutexGuard<'_, FileState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write_at(&self, offset: usize, data: &[u8]) -> IoResult<()> {
        let mut state = self.state();
        state.len = state.len.max(offset + data.len());
        state.pending.push(Op::Write {
            offset,
            data: data.to_vec(),
        });
        // One write in four leaks a random prefix to the real file early,
        // as a kernel writeback racing the crash would.
        if let Some(rng) = &self.torn {
            let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
            if rng.next() % 4 == 0 && !data.is_empty() {
                let prefix = (rng.next() % data.len() as u64) as usize;
                state.file.write_all_at(&data[..prefix], offset as u64)?;
            }
        }
        Ok(())
    }

    fn truncate_to(&self, offset: usize) {
        let mut state = self.state();
        state.len = offset;
        state.pending.push(Op::Truncate(offset));
    }
}

impl Handle for UnsyncedHandle {
    fn truncate(&self, offset: usize) -> IoResult<()> {
        self.truncate_to(offset);
        Ok(())
    }

    fn file_size(&self) -> IoResult<usize> {
        Ok(self.state().len)
    }

    fn sync(&self) -> IoResult<()> {
        self.state().sync()
    }
}

/// Reader and writer over an [`UnsyncedHandle`] with its own position.
pub struct UnsyncedFile {
    handle: Arc<UnsyncedHandle>,
    offset: usize,
}

impl Read for UnsyncedFile {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        let n = self.handle.state().read_at(self.offset, buf)?;
        self.offset += n;
        Ok(n)
    }
}

impl Write for UnsyncedFile {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        self.handle.write_at(self.offset, buf)?;
        self.offset += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> IoResult<()> {
        Ok(())
    }
}

impl Seek for UnsyncedFile {
    fn seek(&mut self, pos: SeekFrom) -> IoResult<u64> {
        let target = match pos {
            SeekFrom::Start(o) => i128::from(o),
            SeekFrom::Current(d) => self.offset as i128 + i128::from(d),
            SeekFrom::End(d) => self.handle.state().len as i128 + i128::from(d),
        };
        self.offset = usize::try_from(target).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range")
        })?;
        Ok(self.offset as u64)
    }
}

impl WriteExt for UnsyncedFile {
    fn truncate(&mut self, offset: usize) -> IoResult<()> {
        self.handle.truncate_to(offset);
        self.offset = offset;
        Ok(())
    }

    fn allocate(&mut self, _offset: usize, _size: usize) -> IoResult<()> {
        Ok(())
    }
}

impl FileSystem for UnsyncedDropFs {
    type Handle = UnsyncedHandle;
    type Reader = UnsyncedFile;
    type Writer = UnsyncedFile;

    fn create<P: AsRef<Path>>(&self, path: P) -> IoResult<Self::Handle> {
        self.handle(path.as_ref(), true)
    }

    fn open<P: AsRef<Path>>(&self, path: P, _perm: Permission) -> IoResult<Self::Handle> {
        self.handle(path.as_ref(), false)
    }

    fn delete<P: AsRef<Path>>(&self, path: P) -> IoResult<()> {
        let mut files = self.files();
        std::fs::remove_file(path.as_ref())?;
        files.remove(path.as_ref());
        Ok(())
    }

    fn rename<P: AsRef<Path>>(&self, src_path: P, dst_path: P) -> IoResult<()> {
        let mut files = self.files();
        std::fs::rename(src_path.as_ref(), dst_path.as_ref())?;
        match files.remove(src_path.as_ref()) {
            Some(state) => files.insert(dst_path.as_ref().to_path_buf(), state),
            None => files.remove(dst_path.as_ref()),
        };
        Ok(())
    }

    fn new_reader(&self, handle: Arc<Self::Handle>) -> IoResult<Self::Reader> {
        Ok(UnsyncedFile { handle, offset: 0 })
    }

    fn new_writer(&self, handle: Arc<Self::Handle>) -> IoResult<Self::Writer> {
        Ok(UnsyncedFile { handle, offset: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fs: &UnsyncedDropFs, path: &Path, at: u64, data: &[u8]) -> Arc<UnsyncedHandle> {
        let handle = Arc::new(fs.create(path).unwrap());
        let mut w = fs.new_writer(handle.clone()).unwrap();
        w.seek(SeekFrom::Start(at)).unwrap();
        w.write_all(data).unwrap();
        handle
    }

    fn read_all(fs: &UnsyncedDropFs, path: &Path) -> Vec<u8> {
        let handle = Arc::new(fs.open(path, Permission::ReadOnly).unwrap());
        let mut out = Vec::new();
        fs.new_reader(handle)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn a_crash_keeps_only_what_was_synced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let fs = UnsyncedDropFs::new(TestFs::DropUnsynced, 1);
        let handle = write(&fs, &path, 0, b"synced;");
        handle.sync().unwrap();
        write(&fs, &path, 7, b"unsynced");
        // The running process sees everything, as through the page cache.
        assert_eq!(read_all(&fs, &path), b"synced;unsynced");
        assert_eq!(handle.file_size().unwrap(), 15);
        // Crash: the process state (and with it the unsynced tail) is gone.
        drop((fs, handle));
        assert_eq!(std::fs::read(&path).unwrap(), b"synced;");
        let fs = UnsyncedDropFs::new(TestFs::DropUnsynced, 1);
        assert_eq!(read_all(&fs, &path), b"synced;");
    }

    #[test]
    fn truncates_and_overwrites_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let fs = UnsyncedDropFs::new(TestFs::DropUnsynced, 1);
        let handle = write(&fs, &path, 0, b"abcdefgh");
        handle.sync().unwrap();
        handle.truncate(3).unwrap();
        write(&fs, &path, 5, b"XY");
        assert_eq!(read_all(&fs, &path), b"abc\0\0XY");
        handle.sync().unwrap();
        drop((fs, handle));
        assert_eq!(std::fs::read(&path).unwrap(), b"abc\0\0XY");
    }

    #[test]
    fn torn_mode_leaks_at_most_a_prefix_of_unsynced_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let fs = UnsyncedDropFs::new(TestFs::DropUnsyncedTorn, 42);
        let handle = write(&fs, &path, 0, b"head");
        handle.sync().unwrap();
        let tail: Vec<u8> = (0..200u8).collect();
        for i in 0..50 {
            write(&fs, &path, 4 + i * 200, &tail);
        }
        drop((fs, handle));
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[..4], b"head");
        // Every byte past the synced prefix is either a hole or the byte
        // the unsynced write put there.
        for (i, b) in on_disk[4..].iter().enumerate() {
            assert!(*b == 0 || *b == tail[i % 200], "byte {i} is {b}");
        }
        assert!(on_disk.len() > 4, "seed 42 tears at least one write");
    }

    fn entries(range: std::ops::Range<u64>) -> Vec<raft::eraftpb::Entry> {
        range
            .map(|index| raft::eraftpb::Entry {
                index,
                term: 1,
                data: vec![index as u8; 300].into(),
                ..Default::default()
            })
            .collect()
    }

    fn config(dir: &Path, recovery_mode: raft_engine::RecoveryMode) -> raft_engine::Config {
        raft_engine::Config {
            dir: dir.display().to_string(),
            recovery_mode,
            ..Default::default()
        }
    }

    /// raft-engine on this filesystem: batches written with sync survive a
    /// crash, the unsynced ones after them do not, and a torn tail is
    /// truncated by `TolerateTailCorruption` (the broker's recovery mode).
    #[test]
    fn raft_engine_keeps_exactly_the_synced_batches_across_a_crash() {
        use super::super::engine::EntryExt;
        use raft_engine::{LogBatch, RecoveryMode};
        for seed in 1..=12 {
            let dir = tempfile::tempdir().unwrap();
            {
                let fs = Arc::new(UnsyncedDropFs::new(TestFs::DropUnsyncedTorn, seed));
                let engine = raft_engine::Engine::open_with_file_system(
                    config(dir.path(), RecoveryMode::TolerateTailCorruption),
                    fs,
                )
                .unwrap();
                for (range, sync) in [(1..21, true), (21..41, false), (41..61, false)] {
                    let mut batch = LogBatch::default();
                    batch.add_entries::<EntryExt>(1, &entries(range)).unwrap();
                    engine.write(&mut batch, sync).unwrap();
                }
                assert_eq!(engine.last_index(1), Some(60));
                // Crash: no graceful close (raft-engine syncs on drop), the
                // process state with the unsynced writes is simply gone.
                // The leaked engine still holds the directory's lock, so
                // the disk as it is now is recovered from a copy.
                std::mem::forget(engine);
            }
            let disk = tempfile::tempdir().unwrap();
            for file in std::fs::read_dir(dir.path()).unwrap() {
                let path = file.unwrap().path();
                if path.file_name().is_some_and(|n| n != "LOCK") {
                    std::fs::copy(&path, disk.path().join(path.file_name().unwrap())).unwrap();
                }
            }
            let engine = raft_engine::Engine::open(config(
                disk.path(),
                RecoveryMode::TolerateTailCorruption,
            ))
            .unwrap_or_else(|e| panic!("seed {seed}: recovery failed: {e}"));
            assert_eq!(engine.last_index(1), Some(20), "seed {seed}");
            let mut out = Vec::new();
            engine
                .fetch_entries_to::<EntryExt>(1, 1, 21, None, &mut out)
                .unwrap();
            assert_eq!(out, entries(1..21), "seed {seed}");
        }
    }
}
