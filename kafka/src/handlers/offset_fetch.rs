//! OffsetFetch (v1–v7): committed offsets from the backend; `-1` where none.

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
use kafka_protocol::ResponseError;

use super::{sb, topic_name, Handlers, RequestContext};
use crate::backend::{Backend, GroupOffset, TopicPartition};
use chronik_api::security::AclOperation::Describe;

fn partition_entry(
    version: i16,
    index: i32,
    found: Option<&GroupOffset>,
) -> OffsetFetchResponsePartition {
    // The committed leader epoch exists from v5.
    let epoch = |e: i32| if version >= 5 { e } else { -1 };
    let entry = OffsetFetchResponsePartition::default().with_partition_index(index);
    match found {
        Some(o) => entry
            .with_committed_offset(o.committed.offset)
            .with_committed_leader_epoch(epoch(o.committed.leader_epoch))
            .with_metadata(Some(sb(o.committed.metadata.as_deref().unwrap_or("")))),
        None => entry
            .with_committed_offset(-1)
            .with_committed_leader_epoch(-1)
            .with_metadata(Some(sb(""))),
    }
}

/// Handles OffsetFetch.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let group_id = request.group_id.to_string();
    // v1 has no top-level error code: the error goes on every requested partition.
    let failed = |e: ResponseError| {
        if ctx.api_version >= 2 {
            return OffsetFetchResponse::default().with_error_code(e.code());
        }
        let topics = request
            .topics
            .iter()
            .flatten()
            .map(|t| {
                OffsetFetchResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partition_indexes
                            .iter()
                            .map(|p| {
                                partition_entry(ctx.api_version, *p, None).with_error_code(e.code())
                            })
                            .collect(),
                    )
            })
            .collect();
        OffsetFetchResponse::default().with_topics(topics)
    };
    if let Err(e) = handlers.check_group(ctx, Describe, &group_id).await {
        return failed(e);
    }
    let access = handlers.access(ctx).await;
    // v1 has no "all topics" (null) form.
    let wanted: Option<Vec<TopicPartition>> = match (&request.topics, ctx.api_version) {
        (None, v) if v >= 2 => None,
        (None, _) => Some(Vec::new()),
        (Some(topics), _) => Some(
            topics
                .iter()
                .flat_map(|t| {
                    t.partition_indexes
                        .iter()
                        .map(|p| TopicPartition::new(t.name.as_str(), *p))
                })
                .collect(),
        ),
    };
    let found = match handlers
        .backend
        .fetch_offsets(&group_id, wanted.clone())
        .await
    {
        Ok(f) => f,
        Err(e) => return failed(e.response_error()),
    };
    let topics = match (&request.topics, wanted) {
        (Some(requested), _) => requested
            .iter()
            .map(|t| {
                OffsetFetchResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partition_indexes
                            .iter()
                            .map(|p| {
                                if !access.topic(Describe, t.name.as_str()) {
                                    return partition_entry(ctx.api_version, *p, None)
                                        .with_error_code(
                                            ResponseError::TopicAuthorizationFailed.code(),
                                        );
                                }
                                let hit = found.iter().find(|o| {
                                    o.partition.topic == t.name.as_str()
                                        && o.partition.partition == *p
                                });
                                partition_entry(ctx.api_version, *p, hit)
                            })
                            .collect(),
                    )
            })
            .collect(),
        (None, _) => {
            let mut by_topic: Vec<OffsetFetchResponseTopic> = Vec::new();
            for o in found
                .iter()
                .filter(|o| access.topic(Describe, &o.partition.topic))
            {
                let entry = partition_entry(ctx.api_version, o.partition.partition, Some(o));
                match by_topic
                    .iter_mut()
                    .find(|t| t.name.as_str() == o.partition.topic)
                {
                    Some(t) => t.partitions.push(entry),
                    None => by_topic.push(
                        OffsetFetchResponseTopic::default()
                            .with_name(topic_name(&o.partition.topic))
                            .with_partitions(vec![entry]),
                    ),
                }
            }
            by_topic
        }
    };
    OffsetFetchResponse::default().with_topics(topics)
}
