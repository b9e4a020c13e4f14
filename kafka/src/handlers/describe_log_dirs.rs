//! DescribeLogDirs (v1–v4): this broker's log directory (one per broker)
//! with the size and offset lag of every replica it holds, filtered by the
//! requested topics and partitions (null: all). Needs Describe on the
//! cluster, as Kafka checks it: otherwise no directory is listed and, from
//! v3, the answer carries `CLUSTER_AUTHORIZATION_FAILED`.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use kafka_protocol::ResponseError;

use super::{sb, topic_name, Handlers, RequestContext};
use crate::backend::{Backend, LogDirDescription};
use chronik_api::security::AclOperation;

/// The replicas of `dir` that `wanted` names (every one when `None`), by topic.
fn topics(
    dir: &LogDirDescription,
    wanted: Option<&BTreeSet<(String, i32)>>,
) -> Vec<DescribeLogDirsTopic> {
    let mut by_topic: BTreeMap<&str, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for r in &dir.replicas {
        let key = (r.partition.topic.clone(), r.partition.partition);
        if wanted.is_some_and(|w| !w.contains(&key)) {
            continue;
        }
        by_topic.entry(&r.partition.topic).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(r.partition.partition)
                .with_partition_size(r.size)
                .with_offset_lag(r.offset_lag)
                .with_is_future_key(false),
        );
    }
    by_topic
        .into_iter()
        .map(|(name, partitions)| {
            DescribeLogDirsTopic::default()
                .with_name(topic_name(name))
                .with_partitions(partitions)
        })
        .collect()
}

/// Handles DescribeLogDirs.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let version = ctx.api_version;
    if !handlers.access(ctx).await.cluster(AclOperation::Describe) {
        let response = DescribeLogDirsResponse::default();
        return if version >= 3 {
            response.with_error_code(ResponseError::ClusterAuthorizationFailed.code())
        } else {
            response
        };
    }
    let wanted: Option<BTreeSet<(String, i32)>> = request.topics.map(|ts| {
        ts.iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| (t.topic.as_str().to_string(), *p))
            })
            .collect()
    });
    let dir = match handlers.backend.describe_log_dir().await {
        Ok(dir) => dir,
        Err(e) if version >= 3 => {
            return DescribeLogDirsResponse::default().with_error_code(e.code());
        }
        Err(_) => return DescribeLogDirsResponse::default(),
    };
    let mut result = DescribeLogDirsResult::default()
        .with_log_dir(sb(&dir.path))
        .with_topics(topics(&dir, wanted.as_ref()));
    if version >= 4 {
        result = result
            .with_total_bytes(dir.total_bytes)
            .with_usable_bytes(dir.usable_bytes);
    }
    DescribeLogDirsResponse::default().with_results(vec![result])
}
