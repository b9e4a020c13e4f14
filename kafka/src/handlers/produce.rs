//! Produce (v3–v11): acks 0, 1 and all. Batches are validated (framing, CRC, record
//! count against offsets) here and appended through the backend; partitions of one
//! request are appended concurrently.

use std::time::Duration;

use futures::future::join_all;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::backend::{Acks, AppendRequest, Backend, TopicPartition};
use crate::batch::{self, BatchError};
use chronik_api::security::AclOperation;

fn acks_from(raw: i16) -> Option<Acks> {
    match raw {
        0 => Some(Acks::None),
        1 => Some(Acks::Leader),
        -1 => Some(Acks::All),
        _ => None,
    }
}

/// First version carrying a per-partition error message.
const ERROR_MESSAGE_VERSION: i16 = 8;
/// First version carrying the log start offset.
const LOG_START_VERSION: i16 = 5;

fn error_response(
    version: i16,
    index: i32,
    error: ResponseError,
    message: String,
) -> PartitionProduceResponse {
    let entry = PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(error.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1);
    if version >= ERROR_MESSAGE_VERSION {
        entry.with_error_message(Some(sb(&message)))
    } else {
        entry
    }
}

fn batch_error_code(e: &BatchError) -> ResponseError {
    match e {
        BatchError::Transactional { .. }
        | BatchError::InvalidOffsetDelta { .. }
        | BatchError::RecordCountMismatch { .. } => ResponseError::InvalidRecord,
        BatchError::UnsupportedMagic { .. } => ResponseError::UnsupportedForMessageFormat,
        _ => ResponseError::CorruptMessage,
    }
}

/// One partition's part of a Produce request.
struct PartitionWrite<'a> {
    version: i16,
    topic: &'a str,
    index: i32,
    records: Option<bytes::Bytes>,
    acks: Acks,
    timeout: Duration,
}

async fn produce_partition<B: Backend>(
    handlers: &Handlers<B>,
    w: PartitionWrite<'_>,
) -> PartitionProduceResponse {
    let PartitionWrite {
        version,
        topic,
        index,
        records,
        acks,
        timeout,
    } = w;
    let Some(records) = records else {
        return error_response(
            version,
            index,
            ResponseError::InvalidRecord,
            "null record set".to_owned(),
        );
    };
    let batches = match batch::validate_produced(&records) {
        Ok(b) => b,
        Err(e) => return error_response(version, index, batch_error_code(&e), e.to_string()),
    };
    let append = handlers.backend.append(AppendRequest {
        partition: TopicPartition::new(topic, index),
        records,
        batches,
        acks,
    });
    let outcome = match acks {
        Acks::All => match tokio::time::timeout(timeout, append).await {
            Ok(r) => r,
            Err(_) => {
                return error_response(
                    version,
                    index,
                    ResponseError::RequestTimedOut,
                    "replication did not complete within timeout_ms".to_owned(),
                )
            }
        },
        _ => append.await,
    };
    match outcome {
        Ok(o) => PartitionProduceResponse::default()
            .with_index(index)
            .with_base_offset(o.base_offset)
            .with_log_append_time_ms(-1)
            .with_log_start_offset(if version >= LOG_START_VERSION {
                o.log_start_offset
            } else {
                -1
            }),
        Err(e) => error_response(version, index, e.response_error(), e.to_string()),
    }
}

/// Handles Produce; `None` for `acks=0` (no response is sent).
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: ProduceRequest,
) -> Option<ProduceResponse> {
    let version = ctx.api_version;
    let acks = acks_from(request.acks);
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms.max(1)).unwrap_or(1));
    let transactional = request.transactional_id.is_some();
    let access = handlers.access(ctx).await;
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic in request.topic_data {
        let name = topic.name.clone();
        let allowed = access.topic(AclOperation::Write, name.as_str());
        let partitions = join_all(topic.partition_data.into_iter().map(|p| {
            let topic = name.as_str();
            async move {
                match acks {
                    None => error_response(
                        version,
                        p.index,
                        ResponseError::InvalidRequiredAcks,
                        "acks must be 0, 1 or -1".to_owned(),
                    ),
                    Some(_) if !allowed => error_response(
                        version,
                        p.index,
                        ResponseError::TopicAuthorizationFailed,
                        "not authorized to write to the topic".to_owned(),
                    ),
                    Some(_) if transactional => error_response(
                        version,
                        p.index,
                        ResponseError::InvalidRequest,
                        "transactions are not supported".to_owned(),
                    ),
                    Some(acks) => {
                        let write = PartitionWrite {
                            version,
                            topic,
                            index: p.index,
                            records: p.records,
                            acks,
                            timeout,
                        };
                        produce_partition(handlers, write).await
                    }
                }
            }
        }))
        .await;
        responses.push(
            TopicProduceResponse::default()
                .with_name(name)
                .with_partition_responses(partitions),
        );
    }
    if acks == Some(Acks::None) {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}
