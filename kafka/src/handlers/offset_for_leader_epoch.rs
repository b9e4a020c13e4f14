//! OffsetForLeaderEpoch (v2–v4): the end offset of a leader epoch, which
//! consumers (KIP-320) ask for after a leader change to detect a truncated
//! log. Needs ClusterAction on the cluster (replicas) or Describe on the
//! topic (consumers), as Kafka checks it (`TOPIC_AUTHORIZATION_FAILED`).

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use super::{Handlers, RequestContext};
use crate::backend::{Backend, EpochLookup, TopicPartition};
use crate::leader_epochs::{UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
use chronik_api::security::AclOperation;

/// Handles OffsetForLeaderEpoch.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let access = handlers.access(ctx).await;
    let cluster_action = access.cluster(AclOperation::ClusterAction);
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let allowed = cluster_action || access.topic(AclOperation::Describe, topic.topic.as_str());
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in topic.partitions {
            let entry = EpochEndOffset::default()
                .with_partition(p.partition)
                .with_leader_epoch(UNDEFINED_EPOCH)
                .with_end_offset(UNDEFINED_EPOCH_OFFSET);
            if !allowed {
                partitions
                    .push(entry.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
                continue;
            }
            let tp = TopicPartition::new(topic.topic.as_str(), p.partition);
            let answer = handlers
                .backend
                .offset_for_leader_epoch(tp, p.current_leader_epoch, p.leader_epoch)
                .await;
            partitions.push(match answer {
                Ok(EpochLookup::EndOffset(end)) => entry
                    .with_leader_epoch(end.leader_epoch)
                    .with_end_offset(end.end_offset),
                Ok(EpochLookup::FencedLeaderEpoch) => {
                    entry.with_error_code(ResponseError::FencedLeaderEpoch.code())
                }
                Ok(EpochLookup::UnknownLeaderEpoch) => {
                    entry.with_error_code(ResponseError::UnknownLeaderEpoch.code())
                }
                Err(e) => entry.with_error_code(e.code()),
            });
        }
        topics.push(
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic)
                .with_partitions(partitions),
        );
    }
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
