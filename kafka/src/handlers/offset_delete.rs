//! OffsetDelete (v0): removes a group's committed offsets of some
//! partitions. As Kafka: Delete on the group (`GROUP_AUTHORIZATION_FAILED`)
//! and Read on each topic (`TOPIC_AUTHORIZATION_FAILED` per partition);
//! `GROUP_ID_NOT_FOUND` for an unknown group; for a consumer group with
//! members, partitions of topics a member subscribes to keep their offsets
//! (`GROUP_SUBSCRIBED_TO_TOPIC`); another kind of group with members is
//! refused whole (`NON_EMPTY_GROUP`).

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use kafka_protocol::ResponseError;

use super::{code, Handlers, RequestContext};
use crate::backend::{Backend, TopicPartition};
use chronik_api::security::AclOperation::{Delete, Read};

/// Handles OffsetDelete.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let group = request.group_id.as_str();
    let failed = |e: ResponseError| OffsetDeleteResponse::default().with_error_code(e.code());
    if let Err(e) = handlers.check_group(ctx, Delete, group).await {
        return failed(e);
    }
    let subscribed = match handlers.groups.subscribed_topics(group) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let topics = match handlers.backend.list_topics().await {
        Ok(t) => t,
        Err(e) => return failed(e.response_error()),
    };
    let access = handlers.access(ctx).await;
    // Per partition: the error decided before deleting, if any.
    let mut decided: Vec<(String, i32, Option<ResponseError>)> = Vec::new();
    let mut deletable = Vec::new();
    for t in &request.topics {
        let name = t.name.as_str();
        let error = if !access.topic(Read, name) {
            Some(ResponseError::TopicAuthorizationFailed)
        } else if !topics.iter().any(|i| i.name == name) {
            Some(ResponseError::UnknownTopicOrPartition)
        } else if subscribed.contains(name) {
            Some(ResponseError::GroupSubscribedToTopic)
        } else {
            None
        };
        for p in &t.partitions {
            if error.is_none() {
                deletable.push(TopicPartition::new(name, p.partition_index));
            }
            decided.push((name.to_owned(), p.partition_index, error));
        }
    }
    let deleted = if deletable.is_empty() {
        Ok(())
    } else {
        handlers.backend.delete_offsets(group, deletable).await
    };
    let delete_error = deleted.err().map(|e| e.response_error());
    let mut response_topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for (name, partition, error) in decided {
        let entry = OffsetDeleteResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(code(error.or(delete_error)));
        match response_topics.iter_mut().find(|t| t.name.as_str() == name) {
            Some(t) => t.partitions.push(entry),
            None => response_topics.push(
                OffsetDeleteResponseTopic::default()
                    .with_name(super::topic_name(&name))
                    .with_partitions(vec![entry]),
            ),
        }
    }
    OffsetDeleteResponse::default().with_topics(response_topics)
}
