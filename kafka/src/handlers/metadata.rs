//! Metadata: brokers (at their addresses on the client's listener),
//! controller, topics with partition leaders.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::ResponseError;

use super::{sb, topic_name, Handlers, RequestContext};
use crate::backend::{Backend, TopicInfo};
use chronik_api::security::AclOperation::Describe;

fn topic_entry(version: i16, topic: &TopicInfo) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .map(|p| {
            let error = if p.leader < 0 {
                ResponseError::LeaderNotAvailable.code()
            } else {
                0
            };
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(p.partition)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(if version >= 7 { p.leader_epoch } else { -1 })
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(if version >= 10 {
            topic.id
        } else {
            uuid::Uuid::nil()
        })
        .with_partitions(partitions)
}

fn unknown_topic(name: Option<&str>, id: uuid::Uuid) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
        .with_name(name.map(topic_name))
        .with_topic_id(id)
}

fn unauthorized(name: &str) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
        .with_name(Some(topic_name(name)))
}

/// Handles Metadata. Unknown topics are answered with `UNKNOWN_TOPIC_OR_PARTITION`
/// (no auto-creation). Topics the principal may not Describe are left out
/// of "all topics" and answered with `TOPIC_AUTHORIZATION_FAILED` when
/// named (whether they exist or not), as Kafka does; asked by id, they are
/// unknown.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: MetadataRequest,
) -> MetadataResponse {
    let backend = &handlers.backend;
    let cluster = handlers.cluster_on(&ctx.listener).await;
    let (cluster, topics) = match (cluster, backend.list_topics().await) {
        (Ok(c), Ok(t)) => (c, t),
        _ => return MetadataResponse::default(),
    };
    let brokers = cluster
        .brokers
        .iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.node_id))
                .with_host(sb(&b.host))
                .with_port(b.port)
        })
        .collect();
    // v0: an empty list means all topics; v1+: null means all.
    let wanted = match request.topics {
        None => None,
        Some(list) if list.is_empty() && ctx.api_version == 0 => None,
        Some(list) => Some(list),
    };
    let access = handlers.access(ctx).await;
    let entries = match wanted {
        None => topics
            .iter()
            .filter(|t| access.topic(Describe, &t.name))
            .map(|t| topic_entry(ctx.api_version, t))
            .collect(),
        Some(list) => list
            .iter()
            .map(|t| {
                if let Some(name) = &t.name {
                    if !access.topic(Describe, name.as_str()) {
                        return unauthorized(name.as_str());
                    }
                }
                let found = match &t.name {
                    Some(name) => topics.iter().find(|i| i.name == name.as_str()),
                    None => topics
                        .iter()
                        .find(|i| i.id == t.topic_id && access.topic(Describe, &i.name)),
                };
                match found {
                    Some(info) => topic_entry(ctx.api_version, info),
                    None => unknown_topic(t.name.as_ref().map(|n| n.as_str()), t.topic_id),
                }
            })
            .collect(),
    };
    let response = MetadataResponse::default()
        .with_brokers(brokers)
        .with_topics(entries);
    // Controller id exists from v1, cluster id from v2.
    match ctx.api_version {
        0 => response,
        1 => response.with_controller_id(BrokerId(cluster.controller_id)),
        _ => response
            .with_controller_id(BrokerId(cluster.controller_id))
            .with_cluster_id(Some(sb(&cluster.cluster_id))),
    }
}
