//! DescribeProducers (v0): the live idempotent producers of each partition
//! (id, epoch, last sequence, last timestamp), answered by the partition's
//! leader from its replicated producer state. Needs Read on the topic
//! (`TOPIC_AUTHORIZATION_FAILED`), as Kafka checks it. There are no
//! transactions, so coordinator epoch and transaction start are `-1`.

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::backend::{Backend, TopicPartition};
use crate::idempotence::ActiveProducer;
use chronik_api::security::AclOperation;

fn producer_state(p: &ActiveProducer) -> ProducerState {
    ProducerState::default()
        .with_producer_id(ProducerId(p.producer_id))
        .with_producer_epoch(i32::from(p.producer_epoch))
        .with_last_sequence(p.last_sequence)
        .with_last_timestamp(p.last_timestamp)
        .with_coordinator_epoch(-1)
        .with_current_txn_start_offset(-1)
}

/// Handles DescribeProducers.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let access = handlers.access(ctx).await;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let allowed = access.topic(AclOperation::Read, topic.name.as_str());
        let mut partitions = Vec::with_capacity(topic.partition_indexes.len());
        for index in topic.partition_indexes {
            let entry = PartitionResponse::default().with_partition_index(index);
            if !allowed {
                partitions
                    .push(entry.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
                continue;
            }
            let tp = TopicPartition::new(topic.name.as_str(), index);
            partitions.push(match handlers.backend.describe_producers(tp).await {
                Ok(producers) => {
                    entry.with_active_producers(producers.iter().map(producer_state).collect())
                }
                Err(e) => entry
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(&e.to_string()))),
            });
        }
        topics.push(
            TopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions),
        );
    }
    DescribeProducersResponse::default().with_topics(topics)
}
