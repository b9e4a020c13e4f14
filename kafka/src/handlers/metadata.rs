//! Metadata: brokers (at their addresses on the client's listener),
//! controller, topics with partition leaders; unknown topics are created
//! as Kafka's `auto.create.topics.enable` does (see [`auto_create`]).

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::ResponseError;

use super::{sb, topic_name, Handlers, RequestContext};
use crate::backend::{Backend, BackendError, TopicInfo, TopicSpec};
use crate::topic_name::valid_topic_name;
use chronik_api::security::AclOperation::{Create, Describe};

fn topic_entry(version: i16, topic: &TopicInfo) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .map(|p| {
            let error = if p.leader < 0 {
                ResponseError::LeaderNotAvailable.code()
            } else {
                0
            };
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(p.partition)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(if version >= 7 { p.leader_epoch } else { -1 })
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
        })
        .collect();
    // A topic none of whose partitions has a leader yet (just created) is
    // not usable at all: answered LEADER_NOT_AVAILABLE as a whole too.
    let leaderless = !topic.partitions.is_empty() && topic.partitions.iter().all(|p| p.leader < 0);
    MetadataResponseTopic::default()
        .with_error_code(if leaderless {
            ResponseError::LeaderNotAvailable.code()
        } else {
            0
        })
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(if version >= 10 {
            topic.id
        } else {
            uuid::Uuid::nil()
        })
        .with_partitions(partitions)
}

fn unknown_topic(name: Option<&str>, id: uuid::Uuid) -> MetadataResponseTopic {
    topic_error(ResponseError::UnknownTopicOrPartition, name, id)
}

fn topic_error(error: ResponseError, name: Option<&str>, id: uuid::Uuid) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        .with_name(name.map(topic_name))
        .with_topic_id(id)
}

/// The answer for a named topic that does not exist, as Kafka gives it:
/// with auto creation allowed (the broker's `auto.create.topics.enable` and,
/// from v4, the request's `allow_auto_topic_creation`) and Create on the
/// cluster or the topic, a valid name is created with the broker's
/// `num.partitions`/`default.replication.factor` and answered
/// `LEADER_NOT_AVAILABLE` (the client asks again until it has leaders);
/// without Create `TOPIC_AUTHORIZATION_FAILED`; an invalid name
/// `INVALID_TOPIC_EXCEPTION`; otherwise `UNKNOWN_TOPIC_OR_PARTITION`.
async fn auto_create<B: Backend>(
    handlers: &Handlers<B>,
    allowed: bool,
    may_create: bool,
    name: &str,
) -> MetadataResponseTopic {
    let answer = |e: ResponseError| topic_error(e, Some(name), uuid::Uuid::nil());
    if allowed && !may_create {
        return answer(ResponseError::TopicAuthorizationFailed);
    }
    if !valid_topic_name(name) {
        return answer(ResponseError::InvalidTopicException);
    }
    if !allowed {
        return answer(ResponseError::UnknownTopicOrPartition);
    }
    let spec = TopicSpec {
        name: name.to_owned(),
        partitions: handlers.config.default_partitions,
        replication_factor: handlers.default_replication_factor().await,
        configs: Default::default(),
    };
    match handlers.backend.auto_create_topic(spec).await {
        Ok(())
        | Err(BackendError::TopicAlreadyExists { .. })
        | Err(BackendError::Unavailable { .. })
        | Err(BackendError::Timeout { .. }) => answer(ResponseError::LeaderNotAvailable),
        Err(e) => {
            tracing::debug!(topic = name, error = %e, "topic not auto-created");
            answer(e.response_error())
        }
    }
}

fn unauthorized(name: &str) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
        .with_name(Some(topic_name(name)))
}

impl<B: Backend> Handlers<B> {
    /// The replication factor of a topic created without one:
    /// `default.replication.factor`, capped at the number of brokers.
    pub(super) async fn default_replication_factor(&self) -> i16 {
        let brokers = self
            .backend
            .cluster()
            .await
            .map_or(1, |c| i16::try_from(c.brokers.len()).unwrap_or(i16::MAX));
        self.config.default_replication_factor.min(brokers.max(1))
    }
}

/// Handles Metadata. Unknown topics are created or refused by
/// [`auto_create`]. Topics the principal may not Describe are left out
/// of "all topics" and answered with `TOPIC_AUTHORIZATION_FAILED` when
/// named (whether they exist or not), as Kafka does; asked by id, they are
/// unknown.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: MetadataRequest,
) -> MetadataResponse {
    let backend = &handlers.backend;
    let cluster = handlers.cluster_on(&ctx.listener).await;
    let (cluster, topics) = match (cluster, backend.list_topics().await) {
        (Ok(c), Ok(t)) => (c, t),
        _ => return MetadataResponse::default(),
    };
    let brokers = cluster
        .brokers
        .iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.node_id))
                .with_host(sb(&b.host))
                .with_port(b.port)
        })
        .collect();
    // v0: an empty list means all topics; v1+: null means all.
    let wanted = match request.topics {
        None => None,
        Some(list) if list.is_empty() && ctx.api_version == 0 => None,
        Some(list) => Some(list),
    };
    let access = handlers.access(ctx).await;
    let entries = match wanted {
        None => topics
            .iter()
            .filter(|t| access.topic(Describe, &t.name))
            .map(|t| topic_entry(ctx.api_version, t))
            .collect(),
        Some(list) => {
            let allowed = handlers.config.auto_create_topics_enable
                && (ctx.api_version < 4 || request.allow_auto_topic_creation);
            let cluster_create = allowed && access.cluster(Create);
            let mut entries = Vec::with_capacity(list.len());
            for t in &list {
                if let Some(name) = &t.name {
                    if !access.topic(Describe, name.as_str()) {
                        entries.push(unauthorized(name.as_str()));
                        continue;
                    }
                }
                let found = match &t.name {
                    Some(name) => topics.iter().find(|i| i.name == name.as_str()),
                    None => topics
                        .iter()
                        .find(|i| i.id == t.topic_id && access.topic(Describe, &i.name)),
                };
                entries.push(match (found, &t.name) {
                    (Some(info), _) => topic_entry(ctx.api_version, info),
                    (None, Some(name)) => {
                        let name = name.as_str();
                        let may_create = cluster_create || access.topic(Create, name);
                        auto_create(handlers, allowed, may_create, name).await
                    }
                    (None, None) => unknown_topic(None, t.topic_id),
                });
            }
            entries
        }
    };
    let response = MetadataResponse::default()
        .with_brokers(brokers)
        .with_topics(entries);
    let response =
        if (8..=10).contains(&ctx.api_version) && request.include_cluster_authorized_operations {
            response.with_cluster_authorized_operations(
                super::describe_cluster::authorized_operations(&access),
            )
        } else {
            response
        };
    // Controller id exists from v1, cluster id from v2.
    match ctx.api_version {
        0 => response,
        1 => response.with_controller_id(BrokerId(cluster.controller_id)),
        _ => response
            .with_controller_id(BrokerId(cluster.controller_id))
            .with_cluster_id(Some(sb(&cluster.cluster_id))),
    }
}
