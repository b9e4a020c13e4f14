//! ElectLeaders (v0–v2): preferred elections move each partition's
//! leadership to its preferred replica; unclean elections are refused the
//! way Kafka refuses them when they are not possible (Raft never elects a
//! replica that may lack committed records). Needs Alter on the cluster
//! (`CLUSTER_AUTHORIZATION_FAILED`), as Kafka checks it. Partitions are
//! elected concurrently, each waiting at most the request's `timeout_ms`.

use std::time::Duration;

use futures::future::join_all;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::ResponseError;

use super::{sb, topic_name, Handlers, RequestContext};
use crate::backend::{Backend, ElectionOutcome, ElectionType, TopicPartition};
use chronik_api::security::AclOperation;

/// Longest wait per partition, whatever the request asks.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// The (topic, partitions) the request names; every partition of every
/// topic when it names none (null).
async fn wanted<B: Backend>(
    handlers: &Handlers<B>,
    request: &ElectLeadersRequest,
) -> Vec<(TopicName, Vec<i32>)> {
    match &request.topic_partitions {
        Some(list) => list
            .iter()
            .map(|t| (t.topic.clone(), t.partitions.clone()))
            .collect(),
        None => handlers
            .backend
            .list_topics()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let partitions = t.partitions.iter().map(|p| p.partition).collect();
                (topic_name(&t.name), partitions)
            })
            .collect(),
    }
}

fn result(partition: i32, error: Option<ResponseError>) -> PartitionResult {
    PartitionResult::default()
        .with_partition_id(partition)
        .with_error_code(super::code(error))
        .with_error_message(error.map(|e| sb(&format!("{e:?}"))))
}

fn outcome_error(outcome: ElectionOutcome) -> Option<ResponseError> {
    match outcome {
        ElectionOutcome::Elected => None,
        ElectionOutcome::NotNeeded => Some(ResponseError::ElectionNotNeeded),
        ElectionOutcome::PreferredLeaderNotAvailable => {
            Some(ResponseError::PreferredLeaderNotAvailable)
        }
        ElectionOutcome::EligibleLeadersNotAvailable => {
            Some(ResponseError::EligibleLeadersNotAvailable)
        }
    }
}

/// Handles ElectLeaders.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: ElectLeadersRequest,
) -> ElectLeadersResponse {
    let election = if ctx.api_version == 0 {
        Some(ElectionType::Preferred)
    } else {
        ElectionType::from_wire(request.election_type)
    };
    let authorized = handlers.access(ctx).await.cluster(AclOperation::Alter);
    let refusal = if !authorized {
        Some(ResponseError::ClusterAuthorizationFailed)
    } else if election.is_none() {
        Some(ResponseError::InvalidRequest)
    } else {
        None
    };
    // An unauthorized "every partition" request learns nothing of the topics.
    let topics = if authorized || request.topic_partitions.is_some() {
        wanted(handlers, &request).await
    } else {
        Vec::new()
    };
    let timeout =
        Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0)).min(MAX_WAIT);
    let mut results = Vec::with_capacity(topics.len());
    for (topic, partitions) in topics {
        let partition_results = match (refusal, election) {
            (None, Some(election)) => {
                join_all(partitions.iter().map(|p| async {
                    let tp = TopicPartition::new(topic.as_str(), *p);
                    let error = match handlers.backend.elect_leader(tp, election, timeout).await {
                        Ok(outcome) => outcome_error(outcome),
                        Err(e) => Some(e.response_error()),
                    };
                    result(*p, error)
                }))
                .await
            }
            _ => partitions.iter().map(|p| result(*p, refusal)).collect(),
        };
        results.push(
            ReplicaElectionResult::default()
                .with_topic(topic)
                .with_partition_result(partition_results),
        );
    }
    let mut response = ElectLeadersResponse::default().with_replica_election_results(results);
    if ctx.api_version >= 1 && refusal == Some(ResponseError::ClusterAuthorizationFailed) {
        response = response.with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    response
}
