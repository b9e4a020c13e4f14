//! Produce (v2–v13): acks 0, 1 and all. Batches are validated (framing, CRC,
//! codec, record count after decompression) here and appended through the
//! backend, which applies the topic's produce configs; partitions of one
//! request are appended concurrently. v13 names topics by id; v10+ answers
//! `NOT_LEADER_OR_FOLLOWER` with the KIP-951 leader hint. v2 carries a
//! legacy message set (magic 0/1), up-converted to one v2 batch first.

use std::time::Duration;

use futures::future::join_all;
use kafka_protocol::messages::produce_response::{
    LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{BrokerId, ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;

use super::leader_hints::{wants_hint, ClusterSnapshot, TopicIds};
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
/// First version carrying KIP-951 leader hints.
const LEADER_HINT_VERSION: i16 = 10;
/// First version naming topics by id.
const TOPIC_ID_VERSION: i16 = 13;
/// First version carrying v2 record batches (older ones: message sets).
const RECORD_BATCH_VERSION: i16 = 3;

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
        | BatchError::RecordCountMismatch { .. }
        | BatchError::RecordCount { .. } => ResponseError::InvalidRecord,
        BatchError::Records {
            source: batch::records::RecordsError::Malformed { .. },
            ..
        } => ResponseError::InvalidRecord,
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
    let records = if version < RECORD_BATCH_VERSION {
        match batch::legacy::up_convert(&records) {
            Ok(r) => r,
            Err(e) => {
                let code = match e {
                    batch::legacy::LegacyError::Corrupt { .. } => ResponseError::CorruptMessage,
                    batch::legacy::LegacyError::Invalid { .. } => ResponseError::InvalidRecord,
                };
                return error_response(version, index, code, e.to_string());
            }
        }
    } else {
        records
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
        Acks::All | Acks::Leader => match tokio::time::timeout(timeout, append).await {
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
        Acks::None => append.await,
    };
    match outcome {
        Ok(o) => PartitionProduceResponse::default()
            .with_index(index)
            .with_base_offset(o.base_offset)
            .with_log_append_time_ms(o.log_append_time_ms)
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
    let ids = if version >= TOPIC_ID_VERSION {
        TopicIds::load(handlers).await
    } else {
        TopicIds::default()
    };
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic in request.topic_data {
        let name = if version >= TOPIC_ID_VERSION {
            ids.name_of(topic.topic_id).map(str::to_owned)
        } else {
            Some(topic.name.to_string())
        };
        let allowed = name
            .as_deref()
            .is_some_and(|n| access.topic(AclOperation::Write, n));
        let partitions = join_all(topic.partition_data.into_iter().map(|p| {
            let topic = name.as_deref();
            async move {
                let refuse = |error, message: &str| {
                    error_response(version, p.index, error, message.to_owned())
                };
                match (acks, topic) {
                    (None, _) => refuse(
                        ResponseError::InvalidRequiredAcks,
                        "acks must be 0, 1 or -1",
                    ),
                    (Some(_), None) => refuse(ResponseError::UnknownTopicId, "unknown topic id"),
                    (Some(_), Some(_)) if !allowed => refuse(
                        ResponseError::TopicAuthorizationFailed,
                        "not authorized to write to the topic",
                    ),
                    (Some(_), Some(_)) if transactional => refuse(
                        ResponseError::InvalidRequest,
                        "transactions are not supported",
                    ),
                    (Some(acks), Some(topic)) => {
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
        let entry = TopicProduceResponse::default().with_partition_responses(partitions);
        responses.push(if version >= TOPIC_ID_VERSION {
            entry.with_topic_id(topic.topic_id)
        } else {
            entry.with_name(topic.name)
        });
    }
    if acks == Some(Acks::None) {
        return None;
    }
    let response = ProduceResponse::default().with_responses(responses);
    if version >= LEADER_HINT_VERSION {
        return Some(with_leader_hints(handlers, ctx, response, &ids).await);
    }
    Some(response)
}

/// Fills the KIP-951 hints of the partitions that need one.
async fn with_leader_hints<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    mut response: ProduceResponse,
    ids: &TopicIds,
) -> ProduceResponse {
    let hinted = response.responses.iter().any(|t| {
        t.partition_responses
            .iter()
            .any(|p| wants_hint(p.error_code))
    });
    if !hinted {
        return response;
    }
    let cluster = ClusterSnapshot::load(handlers, ctx, true).await;
    let mut leaders = Vec::new();
    for topic in &mut response.responses {
        let name = if ctx.api_version >= TOPIC_ID_VERSION {
            ids.name_of(topic.topic_id).unwrap_or_default().to_owned()
        } else {
            topic.name.to_string()
        };
        for p in &mut topic.partition_responses {
            if !wants_hint(p.error_code) {
                continue;
            }
            if let Some((leader, epoch)) = cluster.leader_of(&name, p.index) {
                p.current_leader = LeaderIdAndEpoch::default()
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(epoch);
                leaders.push(leader);
            }
        }
    }
    response.node_endpoints = cluster
        .endpoints(leaders)
        .into_iter()
        .map(|b| {
            NodeEndpoint::default()
                .with_node_id(BrokerId(b.node_id))
                .with_host(sb(&b.host))
                .with_port(b.port)
        })
        .collect();
    response
}
