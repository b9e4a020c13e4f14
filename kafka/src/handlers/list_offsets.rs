//! ListOffsets (v1–v7): earliest (-2), latest (-1), max timestamp (-3), by timestamp.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;

use super::{Handlers, RequestContext};
use crate::backend::{Backend, OffsetSpec, TopicPartition};
use chronik_api::security::AclOperation;

fn spec_from(timestamp: i64) -> Option<OffsetSpec> {
    match timestamp {
        -2 => Some(OffsetSpec::Earliest),
        -1 => Some(OffsetSpec::Latest),
        -3 => Some(OffsetSpec::MaxTimestamp),
        t if t >= 0 => Some(OffsetSpec::Timestamp(t)),
        _ => None,
    }
}

/// Handles ListOffsets.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let access = handlers.access(ctx).await;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let allowed = access.topic(AclOperation::Describe, topic.name.as_str());
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in topic.partitions {
            let entry = ListOffsetsPartitionResponse::default()
                .with_partition_index(p.partition_index)
                .with_timestamp(-1)
                .with_offset(-1)
                .with_leader_epoch(-1);
            if !allowed {
                partitions
                    .push(entry.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
                continue;
            }
            let Some(spec) = spec_from(p.timestamp) else {
                partitions.push(entry.with_error_code(ResponseError::InvalidRequest.code()));
                continue;
            };
            let tp = TopicPartition::new(topic.name.as_str(), p.partition_index);
            partitions.push(match handlers.backend.list_offset(tp, spec).await {
                // The leader epoch field exists from v4.
                Ok(found) if ctx.api_version >= 4 => entry
                    .with_offset(found.offset)
                    .with_timestamp(found.timestamp)
                    .with_leader_epoch(0),
                Ok(found) => entry
                    .with_offset(found.offset)
                    .with_timestamp(found.timestamp),
                Err(e) => entry.with_error_code(e.code()),
            });
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions),
        );
    }
    ListOffsetsResponse::default().with_topics(topics)
}
