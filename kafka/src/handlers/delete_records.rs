//! DeleteRecords (v0–v2): moves each partition's log start offset forward
//! (`-1` = to the high watermark). Authorized as Kafka does: `Delete` on
//! the topic.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use kafka_protocol::ResponseError;

use super::{Handlers, RequestContext};
use crate::backend::{Backend, TopicPartition};
use chronik_api::security::AclOperation;

/// Handles DeleteRecords.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let access = handlers.access(ctx).await;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let allowed = access.topic(AclOperation::Delete, topic.name.as_str());
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in topic.partitions {
            let entry = DeleteRecordsPartitionResult::default()
                .with_partition_index(p.partition_index)
                .with_low_watermark(-1);
            let result = if !allowed {
                Err(ResponseError::TopicAuthorizationFailed.code())
            } else if p.offset < -1 {
                Err(ResponseError::OffsetOutOfRange.code())
            } else {
                let tp = TopicPartition::new(topic.name.as_str(), p.partition_index);
                handlers
                    .backend
                    .delete_records(tp, p.offset)
                    .await
                    .map_err(|e| e.code())
            };
            partitions.push(match result {
                Ok(low_watermark) => entry.with_low_watermark(low_watermark),
                Err(code) => entry.with_error_code(code),
            });
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(topic.name)
                .with_partitions(partitions),
        );
    }
    DeleteRecordsResponse::default().with_topics(topics)
}
