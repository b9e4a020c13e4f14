//! Fetch (v2–v18): committed data only, `max_bytes` / `partition_max_bytes` limits,
//! long poll on `max_wait_ms` / `min_bytes`. Fetch sessions are not kept: every
//! response carries session id 0, which tells clients to send full requests.
//! v13+ names topics by id; `NOT_LEADER_OR_FOLLOWER` carries the KIP-951
//! leader hint (v12+) and the leader's endpoint (v16+). v2–v3 answer legacy
//! message sets: stored batches down-converted to magic 1, as Kafka 3.x did.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::fetch_response::{
    FetchableTopicResponse, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};
use kafka_protocol::ResponseError;
use tokio::time::Instant;

use super::leader_hints::{wants_hint, ClusterSnapshot, TopicIds};
use super::{sb, Handlers, RequestContext};
use crate::authz::Access;
use crate::backend::{Backend, ReadRequest, TopicPartition};
use chronik_api::security::AclOperation;

/// Upper bound on a long poll, whatever the client asks.
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);
/// First version naming topics by id.
const TOPIC_ID_VERSION: i16 = 13;
/// First version with the partition's current leader (KIP-951 hint).
const LEADER_HINT_VERSION: i16 = 12;
/// First version answering v2 record batches (older ones: message sets).
const RECORD_BATCH_VERSION: i16 = 4;
/// First version with the leaders' endpoints.
const NODE_ENDPOINTS_VERSION: i16 = 16;

struct Collected {
    topics: Vec<FetchableTopicResponse>,
    bytes: usize,
    errors: bool,
}

fn usize_of(v: i32) -> usize {
    usize::try_from(v).unwrap_or(0)
}

/// What every collection pass of one request shares.
struct Pass<'a> {
    topics: &'a [FetchTopic],
    access: &'a Access,
    /// Topic names (by id from v13).
    names: Vec<Option<String>>,
    max_bytes: usize,
    with_log_start: bool,
    /// Down-convert to magic-1 message sets (v2–v3).
    legacy: bool,
}

fn empty_partition(partition: i32) -> PartitionData {
    PartitionData::default()
        .with_partition_index(partition)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
}

async fn collect<B: Backend>(handlers: &Handlers<B>, pass: &Pass<'_>) -> Collected {
    let mut out = Collected {
        topics: Vec::with_capacity(pass.topics.len()),
        bytes: 0,
        errors: false,
    };
    for (topic, name) in pass.topics.iter().zip(&pass.names) {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        let allowed = name
            .as_deref()
            .is_some_and(|n| pass.access.topic(AclOperation::Read, n));
        for p in &topic.partitions {
            let remaining = pass.max_bytes.saturating_sub(out.bytes);
            let mut limit = usize_of(p.partition_max_bytes).min(remaining);
            if out.bytes == 0 && limit == 0 {
                // Always let the first non-empty partition make progress.
                limit = 1;
            }
            let entry = empty_partition(p.partition);
            let refused = match name {
                None => Some(ResponseError::UnknownTopicId),
                Some(_) if !allowed => Some(ResponseError::TopicAuthorizationFailed),
                Some(_) => None,
            };
            let (Some(name), None) = (name, refused) else {
                out.errors = true;
                let code = refused.map_or(0, |e| e.code());
                partitions.push(entry.with_error_code(code).with_records(Some(Bytes::new())));
                continue;
            };
            let read = handlers
                .backend
                .read(ReadRequest {
                    partition: TopicPartition::new(name.as_str(), p.partition),
                    offset: p.fetch_offset,
                    max_bytes: limit,
                })
                .await;
            partitions.push(match read {
                Ok(mut r) => {
                    if pass.legacy {
                        r.records = crate::batch::legacy::down_convert(
                            &r.records,
                            p.fetch_offset,
                            limit,
                            out.bytes == 0,
                        );
                    }
                    // Backends return at least one batch; only the first
                    // non-empty partition may go over the limit with it.
                    if out.bytes > 0 && r.records.len() > remaining {
                        r.records = Bytes::new();
                    }
                    out.bytes += r.records.len();
                    entry
                        .with_high_watermark(r.high_watermark)
                        .with_last_stable_offset(r.high_watermark)
                        .with_log_start_offset(if pass.with_log_start {
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
        let response = FetchableTopicResponse::default().with_partitions(partitions);
        out.topics.push(if topic.topic_id.is_nil() {
            response.with_topic(topic.topic.clone())
        } else {
            response.with_topic_id(topic.topic_id)
        });
    }
    out
}

/// Handles Fetch.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: FetchRequest,
) -> FetchResponse {
    let version = ctx.api_version;
    if version >= 7 && request.session_id != 0 {
        return FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code());
    }
    // The broker's `fetch.max.bytes` caps what the client asks for.
    let max_bytes = usize_of(request.max_bytes).min(handlers.config.fetch_max_bytes);
    let min_bytes = usize_of(request.min_bytes).max(1);
    let wait =
        Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    let access = handlers.access(ctx).await;
    let names = if version >= TOPIC_ID_VERSION {
        let ids = TopicIds::load(handlers).await;
        request
            .topics
            .iter()
            .map(|t| ids.name_of(t.topic_id).map(str::to_owned))
            .collect()
    } else {
        request
            .topics
            .iter()
            .map(|t| Some(t.topic.to_string()))
            .collect()
    };
    let pass = Pass {
        topics: &request.topics,
        access: &access,
        names,
        max_bytes,
        with_log_start: version >= 5,
        legacy: version < RECORD_BATCH_VERSION,
    };
    let mut changes = handlers.backend.data_changes();
    let collected = loop {
        changes.borrow_and_update();
        let collected = collect(handlers, &pass).await;
        if collected.bytes >= min_bytes || collected.errors || Instant::now() >= deadline {
            break collected;
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            // Deadline, or the backend stopped notifying: answer with what exists now.
            _ => break collect(handlers, &pass).await,
        }
    };
    let response = FetchResponse::default().with_responses(collected.topics);
    if version >= LEADER_HINT_VERSION {
        return with_leader_hints(handlers, ctx, response, &pass.names).await;
    }
    response
}

/// Fills the KIP-951 hints of the partitions that need one.
async fn with_leader_hints<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    mut response: FetchResponse,
    names: &[Option<String>],
) -> FetchResponse {
    let hinted = response
        .responses
        .iter()
        .any(|t| t.partitions.iter().any(|p| wants_hint(p.error_code)));
    if !hinted {
        return response;
    }
    let with_endpoints = ctx.api_version >= NODE_ENDPOINTS_VERSION;
    let cluster = ClusterSnapshot::load(handlers, ctx, with_endpoints).await;
    let mut leaders = Vec::new();
    for (topic, name) in response.responses.iter_mut().zip(names) {
        let Some(name) = name else { continue };
        for p in &mut topic.partitions {
            if !wants_hint(p.error_code) {
                continue;
            }
            if let Some((leader, epoch)) = cluster.leader_of(name, p.partition_index) {
                p.current_leader = LeaderIdAndEpoch::default()
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(epoch);
                leaders.push(leader);
            }
        }
    }
    if with_endpoints {
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
    }
    response
}
