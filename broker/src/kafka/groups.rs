//! The "groups" part of [`super::RaftBackend`]: topics created by Metadata
//! (`auto.create.topics.enable`), consumer group records stored in and
//! loaded from the metadata group, and the removal of groups and offsets.
//! The coordinator is the metadata leader; its epoch is the leader's term.

use crate::node::read_gate::ReadRefusal;
use crate::node::NodeHandle;
use crate::state_machine::commands;
use chronik_kafka::backend::{LoadedGroups, StoredGroup, StoredMember, TopicPartition, TopicSpec};
use chronik_kafka::BackendError;
use chronik_proto::meta;
use std::time::Duration;
use tokio::time::Instant;

/// How long a new coordinator waits for its term's first entry to apply
/// before answering `COORDINATOR_LOAD_IN_PROGRESS` (the client retries).
const LOAD_WAIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);

/// The term this node leads the metadata group in, if it does.
pub(super) fn coordinator_epoch(node: &NodeHandle, me: u64) -> Option<u64> {
    let status = node.status();
    (status.leader_id == me && status.leader_id != 0).then_some(status.term)
}

/// Creates a topic for Metadata: proposed on the metadata leader, forwarded
/// to it (without waiting) from any other broker, as Kafka brokers forward
/// auto-creations to the controller. A duplicate is refused when it
/// applies, changing nothing.
pub(super) async fn auto_create(
    node: &NodeHandle,
    me: u64,
    spec: &TopicSpec,
) -> Result<(), BackendError> {
    let partitions =
        u32::try_from(spec.partitions).map_err(|_| BackendError::InvalidPartitions {
            topic: spec.name.clone(),
            current: 0,
            requested: spec.partitions,
        })?;
    let cmd = commands::create_topic(&spec.name, partitions, spec.configs.clone());
    if node.status().leader_id == me {
        return node
            .propose(cmd)
            .await
            .map(|_| ())
            .map_err(super::error::meta_error);
    }
    node.forward(cmd).await.map_err(super::error::unavailable)
}

fn member_from(m: meta::StoredGroupMember) -> StoredMember {
    StoredMember {
        member_id: m.member_id,
        group_instance_id: m.has_group_instance_id.then_some(m.group_instance_id),
        client_id: m.client_id,
        client_host: m.client_host,
        session_timeout_ms: m.session_timeout_ms,
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        subscription: m.subscription.into(),
        assignment: m.assignment.into(),
    }
}

fn member_to(m: StoredMember) -> meta::StoredGroupMember {
    meta::StoredGroupMember {
        member_id: m.member_id,
        has_group_instance_id: m.group_instance_id.is_some(),
        group_instance_id: m.group_instance_id.unwrap_or_default(),
        client_id: m.client_id,
        client_host: m.client_host,
        session_timeout_ms: m.session_timeout_ms,
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        subscription: m.subscription.to_vec(),
        assignment: m.assignment.to_vec(),
    }
}

fn group_from(g: meta::StoredGroup) -> StoredGroup {
    StoredGroup {
        group_id: g.group_id,
        protocol_type: g.protocol_type,
        generation: g.generation,
        protocol: g.protocol,
        leader: g.leader,
        members: g.members.into_iter().map(member_from).collect(),
    }
}

/// Every stored group and every group with offsets only, read as the
/// metadata leader once it applied an entry of its term (so the records
/// of every earlier coordinator are in).
pub(super) async fn load(node: &NodeHandle, me: u64) -> Result<LoadedGroups, BackendError> {
    let deadline = Instant::now() + LOAD_WAIT;
    loop {
        let read = node
            .leader_read(|sm| {
                let mut groups: Vec<StoredGroup> = sm
                    .stored_groups()
                    .all()
                    .values()
                    .cloned()
                    .map(group_from)
                    .collect();
                for id in sm.offsets().keys() {
                    if !sm.stored_groups().all().contains_key(id) {
                        groups.push(StoredGroup {
                            group_id: id.clone(),
                            ..StoredGroup::default()
                        });
                    }
                }
                groups
            })
            .await
            .map_err(super::error::unavailable)?;
        match read {
            Ok(groups) => {
                let epoch = coordinator_epoch(node, me).ok_or(not_coordinator())?;
                return Ok(LoadedGroups { epoch, groups });
            }
            Err(ReadRefusal::NotLeader { .. }) => return Err(not_coordinator()),
            Err(ReadRefusal::Loading { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(POLL).await;
            }
            Err(ReadRefusal::Loading { .. }) => {
                return Err(BackendError::CoordinatorLoading {
                    group: String::new(),
                })
            }
        }
    }
}

fn not_coordinator() -> BackendError {
    BackendError::NotCoordinator {
        group: String::new(),
    }
}

/// Writes a group's record as the coordinator of `epoch`; any failure is
/// `NOT_COORDINATOR` (the members find the coordinator again).
pub(super) async fn store(
    node: &NodeHandle,
    me: u64,
    epoch: u64,
    group: StoredGroup,
) -> Result<(), BackendError> {
    let id = group.group_id.clone();
    let refused = || BackendError::NotCoordinator { group: id.clone() };
    if coordinator_epoch(node, me) != Some(epoch) {
        return Err(refused());
    }
    let record = meta::StoredGroup {
        group_id: group.group_id,
        protocol_type: group.protocol_type,
        generation: group.generation,
        protocol: group.protocol,
        leader: group.leader,
        members: group.members.into_iter().map(member_to).collect(),
        coordinator_epoch: epoch,
    };
    match propose_within(node, commands::store_group(record), &id).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::debug!(group = %id, error = %e, "group record refused");
            Err(refused())
        }
    }
}

/// Removes a group's record and offsets.
pub(super) async fn delete(node: &NodeHandle, group: &str) -> Result<(), BackendError> {
    propose_within(node, commands::delete_group(group), group).await
}

/// Removes some committed offsets of a group.
pub(super) async fn delete_offsets(
    node: &NodeHandle,
    group: &str,
    partitions: Vec<TopicPartition>,
) -> Result<(), BackendError> {
    let partitions = partitions
        .into_iter()
        .map(|tp| (tp.topic, tp.partition))
        .collect();
    propose_within(
        node,
        commands::delete_group_offsets(group, partitions),
        group,
    )
    .await
}

/// How long a group write (a group record, committed offsets, a deletion)
/// may wait for its metadata entry to apply. A proposal whose entry a new
/// leader replaced is otherwise only answered once the log grows past its
/// index, which on an idle cluster may be never; the request, and every
/// request queued behind it on the client's connection, would hang. Well
/// under librdkafka's 60 s request timeout and the usual session timeouts.
pub(super) const GROUP_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Proposes a group write, answering `NOT_COORDINATOR` (clients find the
/// coordinator again and retry) when it fails or does not apply within
/// [`GROUP_WRITE_TIMEOUT`].
pub(super) async fn propose_within(
    node: &NodeHandle,
    command: Vec<u8>,
    group: &str,
) -> Result<(), BackendError> {
    match tokio::time::timeout(GROUP_WRITE_TIMEOUT, node.propose(command)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(super::error::meta_error(e)),
        Err(_) => {
            tracing::warn!(
                group,
                "group write not applied in time; answering NOT_COORDINATOR"
            );
            Err(BackendError::NotCoordinator {
                group: group.to_string(),
            })
        }
    }
}
