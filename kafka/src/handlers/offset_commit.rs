//! OffsetCommit (v2–v8): membership checked by the coordinator, offsets stored
//! through the backend.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use kafka_protocol::ResponseError;

use super::{Handlers, RequestContext};
use crate::backend::{Backend, CommittedOffset, GroupOffset, TopicPartition};
use chronik_api::security::AclOperation::Read;

fn all_with(request: &OffsetCommitRequest, error: Option<ResponseError>) -> OffsetCommitResponse {
    let code = error.map_or(0, |e| e.code());
    let topics = request
        .topics
        .iter()
        .map(|t| {
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// Handles OffsetCommit.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let group_id = request.group_id.to_string();
    if let Err(e) = handlers.check_group(ctx, Read, &group_id).await {
        return all_with(&request, Some(e));
    }
    if let Err(e) = handlers.groups.validate_commit(
        &group_id,
        request.member_id.as_str(),
        request.generation_id_or_member_epoch,
    ) {
        return all_with(&request, Some(e));
    }
    let topics = match handlers.backend.list_topics().await {
        Ok(t) => t,
        Err(e) => return all_with(&request, Some(e.response_error())),
    };
    let access = handlers.access(ctx).await;
    let mut offsets = Vec::new();
    let mut unknown = Vec::new();
    let mut denied = Vec::new();
    for t in &request.topics {
        let info = topics.iter().find(|i| i.name == t.name.as_str());
        if !access.topic(Read, t.name.as_str()) {
            denied.push(t.name.to_string());
            continue;
        }
        for p in &t.partitions {
            let exists = info.is_some_and(|i| {
                usize::try_from(p.partition_index).is_ok_and(|idx| idx < i.partitions.len())
            });
            let tp = TopicPartition::new(t.name.as_str(), p.partition_index);
            if !exists {
                unknown.push(tp);
                continue;
            }
            offsets.push(GroupOffset {
                partition: tp,
                committed: CommittedOffset {
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                },
            });
        }
    }
    let stored = handlers.backend.commit_offsets(&group_id, offsets).await;
    if stored.is_ok() && request.generation_id_or_member_epoch < 0 {
        handlers.groups.ensure_group(&group_id);
    }
    let mut response = all_with(&request, stored.err().map(|e| e.response_error()));
    for topic in &mut response.topics {
        let topic_denied = denied.iter().any(|d| d == topic.name.as_str());
        for p in &mut topic.partitions {
            if topic_denied {
                p.error_code = ResponseError::TopicAuthorizationFailed.code();
                continue;
            }
            let tp = TopicPartition::new(topic.name.as_str(), p.partition_index);
            if unknown.contains(&tp) {
                p.error_code = ResponseError::UnknownTopicOrPartition.code();
            }
        }
    }
    response
}
