//! Group records: written when a rebalance completes and when a group
//! empties, and a coordinator loading them keeps members, generation and
//! assignments (heartbeats go on without a rebalance).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::*;

/// Records what the coordinator stores; refuses everything when `refuse`.
#[derive(Default)]
struct Recorder {
    records: Mutex<Vec<(u64, StoredGroup)>>,
    refuse: bool,
}

impl GroupStore for Recorder {
    fn store(&self, epoch: u64, group: StoredGroup) -> StoreFuture {
        let result = if self.refuse {
            Err(ResponseError::NotCoordinator)
        } else {
            self.records
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((epoch, group));
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }
}

impl Recorder {
    fn last(&self) -> (u64, StoredGroup) {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.last().cloned().expect("a stored record")
    }
}

fn params(member_id: &str) -> JoinParams {
    JoinParams {
        group_id: "g".to_owned(),
        member_id: member_id.to_owned(),
        group_instance_id: Some("i1".to_owned()),
        client_id: "c".to_owned(),
        client_host: "h".to_owned(),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(5),
        protocol_type: "consumer".to_owned(),
        protocols: vec![("range".to_owned(), Bytes::from_static(b"sub"))],
        require_known_member_id: false,
    }
}

fn sync_params(joined: &JoinOutcome) -> SyncParams {
    SyncParams {
        group_id: "g".to_owned(),
        generation_id: joined.generation_id,
        member_id: joined.member_id.clone(),
        assignments: vec![(joined.member_id.clone(), Bytes::from_static(b"p0"))],
    }
}

#[tokio::test]
async fn a_new_coordinator_keeps_members_generation_and_assignment() {
    let store = Arc::new(Recorder::default());
    let first = GroupCoordinator::start_with_store(store.clone());
    first.load(1, Vec::new());
    let joined = first.join(params("")).await;
    assert_eq!((joined.error, joined.generation_id), (None, 1));
    let synced = first.sync(sync_params(&joined)).await;
    assert_eq!(synced.assignment, Bytes::from_static(b"p0"));
    let (epoch, record) = store.last();
    assert_eq!((epoch, record.generation, record.members.len()), (1, 1, 1));
    assert_eq!(record.members[0].assignment, Bytes::from_static(b"p0"));
    assert_eq!(record.members[0].subscription, Bytes::from_static(b"sub"));

    // The next coordinator loads the record: the member heartbeats at its
    // generation, and a SyncGroup of that generation returns its assignment.
    let next = GroupCoordinator::start_with_store(store.clone());
    next.load(2, vec![record]);
    assert_eq!(next.heartbeat("g", &joined.member_id, 1), Ok(()));
    assert_eq!(
        next.heartbeat("g", &joined.member_id, 2),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        next.describe("g").map(|d| d.state),
        Some(GroupState::Stable)
    );
    let again = next.sync(sync_params(&joined)).await;
    assert_eq!(again.assignment, Bytes::from_static(b"p0"));
    assert_eq!(next.validate_commit("g", &joined.member_id, 1), Ok(()));

    // Leaving empties the group: an empty record of the next generation.
    assert_eq!(
        next.leave("g", &[(joined.member_id.clone(), None)]),
        [Ok(())]
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (epoch, record) = store.last();
    assert_eq!((epoch, record.generation), (2, 2));
    assert!(record.members.is_empty());
    assert_eq!(next.check_deletable("g"), Ok(()));
}

#[tokio::test]
async fn an_assignment_that_cannot_be_stored_is_not_handed_out() {
    let store = Arc::new(Recorder {
        refuse: true,
        ..Recorder::default()
    });
    let c = GroupCoordinator::start_with_store(store);
    c.load(1, Vec::new());
    let joined = c.join(params("")).await;
    let synced = c.sync(sync_params(&joined)).await;
    assert_eq!(synced.error, Some(ResponseError::NotCoordinator));
    assert_eq!(
        c.heartbeat("g", &joined.member_id, 1),
        Err(ResponseError::RebalanceInProgress)
    );
}

#[test]
fn subscriptions_are_read_without_trusting_counts() {
    // Version 0, topics ["a", "bc"], null user data.
    let sub = Bytes::from_static(b"\0\0\0\0\0\x02\0\x01a\0\x02bc\xff\xff\xff\xff");
    let topics = persist::subscribed_topics(&sub).expect("parses");
    assert_eq!(topics.into_iter().collect::<Vec<_>>(), ["a", "bc"]);
    let hostile = Bytes::from_static(b"\0\0\x7f\xff\xff\xff\0\x01a");
    assert_eq!(persist::subscribed_topics(&hostile), None);
}

#[tokio::test]
async fn members_may_commit_while_a_rebalance_is_prepared() {
    let c = GroupCoordinator::start();
    let a = c.join(params("")).await;
    c.sync(sync_params(&a)).await;
    // A second member joining starts a rebalance; the first one, told by
    // its heartbeat, commits what it consumed before rejoining (Kafka
    // accepts it; only between join and sync is a commit refused).
    let mut second = params("");
    second.group_instance_id = Some("i2".to_owned());
    let pending = {
        let c = Arc::clone(&c);
        tokio::spawn(async move { c.join(second).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        c.heartbeat("g", &a.member_id, 1),
        Err(ResponseError::RebalanceInProgress)
    );
    assert_eq!(c.validate_commit("g", &a.member_id, 1), Ok(()));
    let rejoined = c.join(params(&a.member_id)).await;
    assert_eq!(rejoined.generation_id, 2);
    assert_eq!(
        c.validate_commit("g", &a.member_id, 2),
        Err(ResponseError::RebalanceInProgress)
    );
    assert_eq!(pending.await.expect("join").generation_id, 2);
}
