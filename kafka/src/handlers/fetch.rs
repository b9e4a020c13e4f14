//! Fetch (v4–v12): committed data only, `max_bytes` / `partition_max_bytes` limits,
//! long poll on `max_wait_ms` / `min_bytes`. Fetch sessions are not kept: every
//! response carries session id 0, which tells clients to send full requests.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;
use tokio::time::Instant;

use super::{Handlers, RequestContext};
use crate::authz::Access;
use crate::backend::{Backend, ReadRequest, TopicPartition};
use chronik_api::security::AclOperation;

/// Upper bound on a long poll, whatever the client asks.
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);

struct Collected {
    topics: Vec<FetchableTopicResponse>,
    bytes: usize,
    errors: bool,
}

fn usize_of(v: i32) -> usize {
    usize::try_from(v).unwrap_or(0)
}

async fn collect<B: Backend>(
    handlers: &Handlers<B>,
    topics: &[FetchTopic],
    access: &Access,
    max_bytes: usize,
    with_log_start: bool,
) -> Collected {
    let mut out = Collected {
        topics: Vec::with_capacity(topics.len()),
        bytes: 0,
        errors: false,
    };
    for topic in topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        let allowed = access.topic(AclOperation::Read, topic.topic.as_str());
        for p in &topic.partitions {
            let remaining = max_bytes.saturating_sub(out.bytes);
            let mut limit = usize_of(p.partition_max_bytes).min(remaining);
            if out.bytes == 0 && limit == 0 {
                // Always let the first non-empty partition make progress.
                limit = 1;
            }
            let entry = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1);
            if !allowed {
                out.errors = true;
                partitions.push(
                    entry
                        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                        .with_records(Some(Bytes::new())),
                );
                continue;
            }
            let read = handlers
                .backend
                .read(ReadRequest {
                    partition: TopicPartition::new(topic.topic.as_str(), p.partition),
                    offset: p.fetch_offset,
                    max_bytes: limit,
                })
                .await;
            partitions.push(match read {
                Ok(mut r) => {
                    // Backends return at least one batch; only the first
                    // non-empty partition may go over the limit with it.
                    if out.bytes > 0 && r.records.len() > remaining {
                        r.records = Bytes::new();
                    }
                    out.bytes += r.records.len();
                    entry
                        .with_high_watermark(r.high_watermark)
                        .with_last_stable_offset(r.high_watermark)
                        .with_log_start_offset(if with_log_start {
                            r.log_start_offset
                        } else {
                            -1
                        })
                        .with_aborted_transactions(Some(Vec::new()))
                        .with_records(Some(r.records))
                }
                Err(e) => {
                    out.errors = true;
                    entry
                        .with_error_code(e.code())
                        .with_records(Some(Bytes::new()))
                }
            });
        }
        out.topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    out
}

/// Handles Fetch.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: FetchRequest,
) -> FetchResponse {
    let with_log_start = ctx.api_version >= 5;
    if ctx.api_version >= 7 && request.session_id != 0 {
        return FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code());
    }
    // The broker's `fetch.max.bytes` caps what the client asks for.
    let max_bytes = if ctx.api_version >= 3 {
        usize_of(request.max_bytes)
    } else {
        usize::MAX
    }
    .min(handlers.config.fetch_max_bytes);
    let min_bytes = usize_of(request.min_bytes).max(1);
    let wait =
        Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    let access = handlers.access(ctx).await;
    let mut changes = handlers.backend.data_changes();
    loop {
        changes.borrow_and_update();
        let collected = collect(
            handlers,
            &request.topics,
            &access,
            max_bytes,
            with_log_start,
        )
        .await;
        if collected.bytes >= min_bytes || collected.errors || Instant::now() >= deadline {
            return FetchResponse::default().with_responses(collected.topics);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            // Deadline, or the backend stopped notifying: answer with what exists now.
            _ => {
                let collected = collect(
                    handlers,
                    &request.topics,
                    &access,
                    max_bytes,
                    with_log_start,
                )
                .await;
                return FetchResponse::default().with_responses(collected.topics);
            }
        }
    }
}
