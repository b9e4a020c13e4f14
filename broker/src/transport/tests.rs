//! A snapshot the transport drops before it leaves is reported, and the
//! leader then sends the follower another one.

use super::*;
use raft::eraftpb::{ConfState, Snapshot};
use raft::storage::MemStorage;
use raft::{Config, ProgressState, RawNode, SnapshotStatus};

/// What the transport's mailbox accepts in these tests.
struct Event(#[allow(dead_code)] PeerEvent);

impl From<PeerEvent> for Event {
    fn from(e: PeerEvent) -> Self {
        Event(e)
    }
}

fn transport() -> (Transport<Event>, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel(16);
    let sender = SenderInfo {
        cluster_id: "c".into(),
        node_id: 1,
        url: "http://127.0.0.1:1".into(),
        incarnation: "i".into(),
    };
    (Transport::new(sender, tx, Metrics::new()), rx)
}

fn message(to: u64, ty: MessageType) -> Message {
    let mut m = Message {
        to,
        from: 1,
        ..Default::default()
    };
    m.set_msg_type(ty);
    m
}

/// Peer `id` with a queue of one message that nobody drains (a stuck link).
fn stuck_peer(t: &mut Transport<Event>, id: u64) -> mpsc::Receiver<(u64, Message)> {
    let (tx, rx) = mpsc::channel(1);
    t.peers.insert(
        id,
        PeerHandle {
            url: "http://stuck".into(),
            queue: tx,
        },
    );
    rx
}

#[tokio::test]
async fn snapshots_dropped_on_a_full_queue_or_without_address_are_reported() {
    let (mut t, _mailbox) = transport();
    let _queue = stuck_peer(&mut t, 2);
    t.send(
        5,
        vec![
            message(2, MessageType::MsgAppend),
            // The queue is full now: both are dropped, only the snapshot
            // must be reported (Raft resends appends on its own).
            message(2, MessageType::MsgAppend),
            message(2, MessageType::MsgSnapshot),
        ],
    );
    t.send(0, vec![message(3, MessageType::MsgSnapshot)]);
    assert_eq!(t.take_dropped_snapshots(), [(5, 2), (0, 3)]);
    assert!(t.take_dropped_snapshots().is_empty(), "reported once");
}

/// A leader of {1, 2} whose log starts after a snapshot at index 10.
fn leader() -> RawNode<MemStorage> {
    let storage = MemStorage::new();
    let mut snap = Snapshot::default();
    snap.mut_metadata().index = 10;
    snap.mut_metadata().term = 1;
    snap.mut_metadata()
        .set_conf_state(ConfState::from((vec![1, 2], vec![])));
    storage.wl().apply_snapshot(snap).unwrap();
    let cfg = Config {
        id: 1,
        applied: 10,
        ..Default::default()
    };
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let mut raw = RawNode::new(&cfg, storage, &logger).unwrap();
    raw.raft.become_candidate();
    raw.raft.become_leader();
    raw
}

fn snapshots_to(raw: &mut RawNode<MemStorage>, to: u64) -> usize {
    raw.raft
        .msgs
        .drain(..)
        .filter(|m| m.to == to && m.get_msg_type() == MessageType::MsgSnapshot)
        .count()
}

fn from_follower(raw: &RawNode<MemStorage>, ty: MessageType) -> Message {
    let mut m = message(1, ty);
    m.from = 2;
    m.term = raw.raft.term;
    m
}

#[tokio::test]
async fn a_reported_drop_makes_the_leader_send_the_snapshot_again() {
    let mut raw = leader();
    raw.raft.msgs.clear();
    // The follower has nothing: it rejects the leader's first append.
    let mut reject = from_follower(&raw, MessageType::MsgAppendResponse);
    reject.reject = true;
    reject.index = 10;
    reject.reject_hint = 0;
    raw.step(reject).unwrap();
    let msgs: Vec<Message> = std::mem::take(&mut raw.raft.msgs);
    assert_eq!(
        msgs.iter()
            .filter(|m| m.get_msg_type() == MessageType::MsgSnapshot)
            .count(),
        1
    );
    assert_eq!(
        raw.raft.prs().get(2).unwrap().state,
        ProgressState::Snapshot
    );

    // The transport drops it (full queue).
    let (mut t, _mailbox) = transport();
    let _queue = stuck_peer(&mut t, 2);
    t.send(0, vec![message(2, MessageType::MsgAppend)]);
    t.send(0, msgs);
    let dropped = t.take_dropped_snapshots();
    assert_eq!(dropped, [(0, 2)]);

    // Unreported, the follower stays in Snapshot state: heartbeats bring
    // no new snapshot.
    raw.step(from_follower(&raw, MessageType::MsgHeartbeatResponse))
        .unwrap();
    assert_eq!(snapshots_to(&mut raw, 2), 0);

    // What the node does with the transport's report.
    for (_, to) in dropped {
        raw.report_snapshot(to, SnapshotStatus::Failure);
    }
    assert_eq!(raw.raft.prs().get(2).unwrap().state, ProgressState::Probe);
    raw.step(from_follower(&raw, MessageType::MsgHeartbeatResponse))
        .unwrap();
    assert_eq!(
        snapshots_to(&mut raw, 2),
        1,
        "the follower gets its snapshot"
    );
}
