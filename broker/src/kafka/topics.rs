//! Topic and broker views for Metadata responses.

use crate::partition::PartitionRegistry;
use crate::state_machine::TopicInfo as MetaTopic;
use chronik_kafka::backend::{BrokerInfo, ClusterView, PartitionInfo, TopicInfo};
use std::collections::BTreeMap;

/// Brokers as registered in the metadata group ("host:port" each).
pub fn cluster_view(
    cluster_id: &str,
    controller: u64,
    brokers: &BTreeMap<u64, String>,
) -> ClusterView {
    ClusterView {
        cluster_id: cluster_id.to_string(),
        controller_id: super::error::leader_i32(controller),
        brokers: brokers
            .iter()
            .filter_map(|(id, addr)| {
                let (host, port) = addr.rsplit_once(':')?;
                Some(BrokerInfo {
                    node_id: i32::try_from(*id).ok()?,
                    host: host.to_string(),
                    port: port.parse().ok()?,
                })
            })
            .collect(),
    }
}

/// A stable topic id every broker derives alike (FNV-1a of the name and the
/// creating log index).
fn topic_id(t: &MetaTopic) -> uuid::Uuid {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in t.name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    uuid::Uuid::from_u64_pair(h, t.created_index.max(1))
}

/// A topic with each partition's current leader (the group's Raft leader).
pub fn topic_info(t: &MetaTopic, registry: &PartitionRegistry) -> TopicInfo {
    let partitions = t
        .partition_groups
        .iter()
        .enumerate()
        .map(|(p, g)| {
            let index = i32::try_from(p).unwrap_or(i32::MAX);
            let (leader, epoch) = registry.get(&t.name, index).map_or((-1, -1), |s| {
                (
                    super::error::leader_i32(s.leader()),
                    crate::partition::epoch_of(s.term()),
                )
            });
            let replicas: Vec<i32> = g
                .voters
                .iter()
                .filter_map(|v| i32::try_from(*v).ok())
                .collect();
            PartitionInfo {
                partition: index,
                leader,
                leader_epoch: if leader < 0 { -1 } else { epoch },
                isr: replicas.clone(),
                replicas,
            }
        })
        .collect();
    TopicInfo {
        name: t.name.clone(),
        id: topic_id(t),
        partitions,
        replication_factor: i16::try_from(t.partition_groups.first().map_or(1, |g| g.voters.len()))
            .unwrap_or(i16::MAX),
        configs: t.config.clone(),
    }
}
