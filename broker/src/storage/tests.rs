use super::*;
use raft::eraftpb::{ConfState, Entry, HardState};
use std::path::Path;

fn entry(index: u64, term: u64, size: usize) -> Entry {
    Entry {
        index,
        term,
        data: vec![index as u8; size].into(),
        ..Default::default()
    }
}

/// Opens the store as a starting broker does: the engine, the check of
/// every stored entry, then the group.
fn open(dir: &Path, file_size: Option<u64>) -> Result<RaftStore, StorageError> {
    let engine = Arc::new(LogEngine::open_with_file_size(dir, file_size)?);
    verify_log(&engine, &VerifyProgress::default())?;
    RaftStore::open(engine, 0)
}

fn write_entries(store: &mut RaftStore, range: std::ops::RangeInclusive<u64>, size: usize) {
    for i in range {
        let mut b = WriteBatch::default();
        store.append(&mut b, &[entry(i, 2, size)]).unwrap();
        store.write(b, true).unwrap();
    }
}

fn log_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "raftlog"))
        .collect();
    v.sort();
    v
}

#[test]
fn state_and_entries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = open(dir.path(), None).unwrap();
        assert!(s.is_empty());
        let cs = ConfState {
            voters: vec![1, 2, 3],
            ..Default::default()
        };
        s.bootstrap(cs.clone(), b"state".to_vec(), 1, 1).unwrap();
        write_entries(&mut s, 2..=10, 16);
        let mut b = WriteBatch::default();
        let hs = HardState {
            term: 2,
            vote: 3,
            commit: 9,
            ..Default::default()
        };
        s.set_hard_state(&mut b, hs).unwrap();
        s.write(b, true).unwrap();
    }
    let s = open(dir.path(), None).unwrap();
    assert!(!s.is_empty());
    let st = s.initial_state().unwrap();
    assert_eq!(st.hard_state.vote, 3);
    assert_eq!(st.hard_state.commit, 9);
    assert_eq!(st.conf_state.voters, vec![1, 2, 3]);
    assert_eq!(s.first_index().unwrap(), 2);
    assert_eq!(s.last_index().unwrap(), 10);
    assert_eq!(s.term(1).unwrap(), 1, "term of the snapshot index is kept");
    assert_eq!(s.term(5).unwrap(), 2);
    let ents = s
        .entries(2, 11, None, GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(ents.len(), 9);
    assert_eq!(ents[3], entry(5, 2, 16));
    assert!(matches!(
        s.entries(1, 3, None, GetEntriesContext::empty(false)),
        Err(raft::Error::Store(raft::StorageError::Compacted))
    ));
    assert_eq!(s.latest_snapshot().get_data(), b"state");
}

#[test]
fn a_conflicting_tail_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path(), None).unwrap();
    write_entries(&mut s, 1..=5, 8);
    let mut b = WriteBatch::default();
    s.append(&mut b, &[entry(4, 3, 8)]).unwrap();
    s.write(b, true).unwrap();
    assert_eq!(s.last_index().unwrap(), 4);
    assert_eq!(s.term(4).unwrap(), 3);
}

#[test]
fn compaction_keeps_the_snapshot_and_drops_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path(), None).unwrap();
    write_entries(&mut s, 1..=20, 8);
    let meta = SnapshotMetadata {
        index: 15,
        term: 2,
        conf_state: Some(ConfState {
            voters: vec![1, 2, 3],
            ..Default::default()
        })
        .into(),
        ..Default::default()
    };
    s.compact_with_snapshot(meta, b"sm".to_vec()).unwrap();
    drop(s);
    let s = open(dir.path(), None).unwrap();
    assert_eq!(s.first_index().unwrap(), 16);
    assert_eq!(s.last_index().unwrap(), 20);
    assert_eq!(s.term(15).unwrap(), 2);
    assert_eq!(s.snapshot(0, 2).unwrap().get_metadata().index, 15);
    assert!(!s.snapshot_wanted());
    // A node missing from the snapshot's configuration needs a newer one.
    assert!(matches!(
        s.snapshot(0, 4),
        Err(raft::Error::Store(
            raft::StorageError::SnapshotTemporarilyUnavailable
        ))
    ));
    assert!(s.snapshot_wanted());
}

#[test]
fn applying_a_snapshot_replaces_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path(), None).unwrap();
    write_entries(&mut s, 1..=5, 8);
    let mut snap = raft::eraftpb::Snapshot::default();
    snap.mut_metadata().index = 50;
    snap.mut_metadata().term = 4;
    snap.mut_metadata().mut_conf_state().voters = vec![1, 2];
    let mut b = WriteBatch::default();
    s.apply_snapshot(&mut b, snap).unwrap();
    s.write(b, true).unwrap();
    write_entries(&mut s, 51..=52, 8);
    drop(s);
    let s = open(dir.path(), None).unwrap();
    assert_eq!(s.first_index().unwrap(), 51);
    assert_eq!(s.last_index().unwrap(), 52);
    assert_eq!(s.conf_index(), 50);
    assert_eq!(s.hard_state().commit, 50);
    assert_eq!(s.conf_state().voters, vec![1, 2]);
}

#[test]
fn a_torn_tail_is_truncated_on_recovery() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = open(dir.path(), None).unwrap();
        write_entries(&mut s, 1..=50, 100);
    }
    let files = log_files(dir.path());
    let last = files.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    // Cut the file in the middle of the last record, as a crash mid-write would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(len - 40)
        .unwrap();
    let s = open(dir.path(), None).expect("a torn tail must not stop the node");
    let last_index = s.last_index().unwrap();
    assert!((45..50).contains(&last_index), "last index {last_index}");
    let e = s
        .entries(1, last_index + 1, None, GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(e.len() as u64, last_index);
    assert_eq!(e[10], entry(11, 2, 100));
}

#[test]
fn corruption_before_the_tail_stops_the_node() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = open(dir.path(), Some(8 * 1024)).unwrap();
        write_entries(&mut s, 1..=200, 512);
    }
    let files = log_files(dir.path());
    assert!(files.len() > 2, "expected several log files, got {files:?}");
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xa5;
    }
    std::fs::write(&files[0], bytes).unwrap();
    let err = open(dir.path(), Some(8 * 1024))
        .err()
        .expect("corruption must be refused");
    assert!(
        matches!(
            err,
            StorageError::Open { .. } | StorageError::Corrupt { .. }
        ),
        "{err}"
    );
}

/// raft-rs's `Storage::entries` contract: with `max_size` the answer is the
/// longest prefix within it (by the entries' protobuf size), and at least one
/// entry however large; without it, the whole range.
#[test]
fn entries_honour_max_size() {
    use protobuf::Message as _;
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(dir.path(), None).unwrap();
    s.bootstrap(ConfState::default(), Vec::new(), 1, 1).unwrap();
    write_entries(&mut s, 2..=101, 1000);
    let ctx = || GetEntriesContext::empty(false);
    let size = u64::from(entry(2, 2, 1000).compute_size());
    let bounded = s.entries(2, 102, 10 * size, ctx()).unwrap();
    assert_eq!(bounded.len(), 10, "a prefix of 10 entries fits");
    assert_eq!(bounded[9].index, 11);
    let one = s.entries(2, 102, 1, ctx()).unwrap();
    assert_eq!(one.len(), 1, "at least one entry, however small the limit");
    assert_eq!(s.entries(2, 102, None, ctx()).unwrap().len(), 100);
    assert_eq!(s.entries(2, 102, u64::MAX, ctx()).unwrap().len(), 100);
}
