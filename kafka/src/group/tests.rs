//! Group membership state machine.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::*;

fn join_params(member_id: &str) -> JoinParams {
    JoinParams {
        group_id: "g".to_owned(),
        member_id: member_id.to_owned(),
        group_instance_id: None,
        client_id: "c".to_owned(),
        client_host: "h".to_owned(),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(5),
        protocol_type: "consumer".to_owned(),
        protocols: vec![("range".to_owned(), Bytes::from_static(b"m"))],
        require_known_member_id: true,
    }
}

async fn join_new(c: &GroupCoordinator) -> JoinOutcome {
    let first = c.join(join_params("")).await;
    assert_eq!(first.error, Some(ResponseError::MemberIdRequired));
    c.join(join_params(&first.member_id)).await
}

fn sync(member: &JoinOutcome, assignments: Vec<(String, Bytes)>) -> SyncParams {
    SyncParams {
        group_id: "g".to_owned(),
        generation_id: member.generation_id,
        member_id: member.member_id.clone(),
        assignments,
    }
}

#[tokio::test]
async fn single_member_joins_syncs_and_heartbeats() {
    let c = GroupCoordinator::start();
    let a = join_new(&c).await;
    assert_eq!(a.error, None);
    assert_eq!(a.generation_id, 1);
    assert_eq!(a.leader, a.member_id);
    assert_eq!(a.members.len(), 1);
    let s = c
        .sync(sync(
            &a,
            vec![(a.member_id.clone(), Bytes::from_static(b"all"))],
        ))
        .await;
    assert_eq!(s.assignment, Bytes::from_static(b"all"));
    assert_eq!(c.heartbeat("g", &a.member_id, 1), Ok(()));
    assert_eq!(
        c.heartbeat("g", &a.member_id, 0),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        c.heartbeat("g", "stranger", 1),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(c.validate_commit("g", &a.member_id, 1), Ok(()));
    assert_eq!(c.describe("g").map(|d| d.state), Some(GroupState::Stable));
}

#[tokio::test]
async fn second_member_triggers_rebalance_and_both_get_assignments() {
    let c = GroupCoordinator::start();
    let a = join_new(&c).await;
    c.sync(sync(&a, vec![])).await;
    let first = c.join(join_params("")).await;
    let b_id = first.member_id.clone();
    let b_join = {
        let c = c.clone();
        tokio::spawn(async move { c.join(join_params(&b_id)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        c.heartbeat("g", &a.member_id, a.generation_id),
        Err(ResponseError::RebalanceInProgress)
    );
    // While the group prepares the rebalance, A still commits what it read.
    assert_eq!(
        c.validate_commit("g", &a.member_id, a.generation_id),
        Ok(())
    );
    let a2 = c.join(join_params(&a.member_id)).await;
    let b = b_join.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a2.generation_id, 2);
    assert_eq!(b.generation_id, 2);
    let leader = if a2.leader == a2.member_id { &a2 } else { &b };
    let follower = if a2.leader == a2.member_id { &b } else { &a2 };
    assert_eq!(leader.members.len(), 2);
    assert!(follower.members.is_empty());
    let follower_sync = {
        let c = c.clone();
        let params = sync(follower, vec![]);
        tokio::spawn(async move { c.sync(params).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let assignments = vec![
        (leader.member_id.clone(), Bytes::from_static(b"p0")),
        (follower.member_id.clone(), Bytes::from_static(b"p1")),
    ];
    assert_eq!(
        c.sync(sync(leader, assignments)).await.assignment,
        Bytes::from_static(b"p0")
    );
    let fs = follower_sync.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fs.assignment, Bytes::from_static(b"p1"));
}

#[tokio::test]
async fn leaving_and_expiry_shrink_the_group() {
    let c = GroupCoordinator::start();
    let a = join_new(&c).await;
    c.sync(sync(&a, vec![])).await;
    assert_eq!(c.leave("g", &[(a.member_id.clone(), None)]), vec![Ok(())]);
    assert_eq!(c.describe("g").map(|d| d.state), Some(GroupState::Empty));
    assert_eq!(c.validate_commit("g", "", -1), Ok(()));

    let b = join_new(&c).await;
    c.sync(sync(&b, vec![])).await;
    c.tick(Instant::now() + Duration::from_secs(60));
    let d = c.describe("g").unwrap_or_else(|| panic!("group gone"));
    assert_eq!(d.state, GroupState::Empty);
    assert!(d.members.is_empty());
    assert_eq!(
        c.heartbeat("g", &b.member_id, b.generation_id),
        Err(ResponseError::UnknownMemberId)
    );
}

#[tokio::test]
async fn incompatible_protocols_are_refused() {
    let c = GroupCoordinator::start();
    join_new(&c).await;
    let mut other = join_params("");
    other.require_known_member_id = false;
    other.protocols = vec![("roundrobin".to_owned(), Bytes::new())];
    assert_eq!(
        c.join(other).await.error,
        Some(ResponseError::InconsistentGroupProtocol)
    );
}

#[tokio::test]
async fn members_that_do_not_rejoin_are_dropped_at_the_rebalance_deadline() {
    let c = GroupCoordinator::start();
    let a = join_new(&c).await;
    c.sync(sync(&a, vec![])).await;
    // A second member starts a rebalance; `a` keeps heartbeating but never rejoins.
    let first = c.join(join_params("")).await;
    let b_id = first.member_id.clone();
    let b_join = {
        let c = c.clone();
        tokio::spawn(async move { c.join(join_params(&b_id)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        c.describe("g").map(|d| d.state),
        Some(GroupState::PreparingRebalance)
    );
    c.tick(Instant::now() + Duration::from_secs(6));
    let b = b_join.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.error, None);
    assert_eq!(b.leader, b.member_id);
    assert_eq!(b.members.len(), 1);
    assert_eq!(
        c.heartbeat("g", &a.member_id, a.generation_id),
        Err(ResponseError::UnknownMemberId)
    );
}
