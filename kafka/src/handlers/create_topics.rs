//! CreateTopics (v0–v7; v0–v1 through `codec::legacy`). Manual replica assignments are not supported.
//! Every config is checked against `chronik_api::config` (`INVALID_CONFIG`
//! naming the key for an unknown key or an invalid value); v5+ answers the
//! new topic's every config with its source, as DescribeConfigs does.

use std::collections::{BTreeMap, HashSet};

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::backend::{Backend, TopicSpec};
use crate::topic_name::valid_topic_name;
use chronik_api::security::AclOperation::Create;

fn result(name: &CreatableTopic, error: ResponseError, message: String) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(name.name.clone())
        .with_error_code(error.code())
        .with_error_message(Some(sb(&message)))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
}

/// Resets fields the version cannot carry (partition count and replication factor
/// exist from v5).
fn fit(version: i16, r: CreatableTopicResult) -> CreatableTopicResult {
    if version >= 5 {
        r
    } else {
        r.with_num_partitions(-1).with_replication_factor(-1)
    }
}

fn spec_for<B: Backend>(
    handlers: &Handlers<B>,
    topic: &CreatableTopic,
) -> Result<TopicSpec, Box<CreatableTopicResult>> {
    let name = topic.name.as_str();
    if !valid_topic_name(name) {
        return Err(Box::new(result(
            topic,
            ResponseError::InvalidTopicException,
            format!("invalid topic name {name:?}"),
        )));
    }
    if !topic.assignments.is_empty() {
        return Err(Box::new(result(
            topic,
            ResponseError::InvalidRequest,
            "manual replica assignment is not supported".to_owned(),
        )));
    }
    let partitions = match topic.num_partitions {
        -1 => handlers.config.default_partitions,
        n if n >= 1 => n,
        n => {
            return Err(Box::new(result(
                topic,
                ResponseError::InvalidPartitions,
                format!("invalid partition count {n}"),
            )))
        }
    };
    let replication_factor = match topic.replication_factor {
        -1 => handlers.config.default_replication_factor,
        n if n >= 1 => n,
        n => {
            return Err(Box::new(result(
                topic,
                ResponseError::InvalidReplicationFactor,
                format!("invalid replication factor {n}"),
            )))
        }
    };
    let mut configs = BTreeMap::new();
    for c in &topic.configs {
        let key = c.name.as_str();
        let Some(value) = &c.value else {
            return Err(Box::new(result(
                topic,
                ResponseError::InvalidConfig,
                format!("{key}: a null value is not allowed"),
            )));
        };
        if let Err(e) = chronik_api::config::validate_topic_config(key, value) {
            return Err(Box::new(result(
                topic,
                ResponseError::InvalidConfig,
                e.to_string(),
            )));
        }
        configs.insert(key.to_owned(), value.to_string());
    }
    Ok(TopicSpec {
        name: name.to_owned(),
        partitions,
        replication_factor,
        configs,
    })
}

/// Every config of a new topic with `overrides`, as v5+ answers them.
fn created_configs(
    layers: &chronik_api::config::ConfigLayers,
    overrides: &BTreeMap<String, String>,
) -> Vec<CreatableTopicConfigs> {
    chronik_api::config::TOPIC_CONFIGS
        .iter()
        .filter_map(|key| {
            let v = layers.topic_value(overrides, key.name)?;
            Some(
                CreatableTopicConfigs::default()
                    .with_name(sb(key.name))
                    .with_value(Some(sb(&v.value)))
                    .with_config_source(v.source.kafka_code()),
            )
        })
        .collect()
}

/// Handles CreateTopics.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    // Partition count, replication factor and configs are answered from v5, the
    // topic id from v7.
    let detailed = ctx.api_version >= 5;
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = request
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.to_string()))
        .map(|t| t.name.to_string())
        .collect();
    let access = handlers.access(ctx).await;
    let cluster_create = access.cluster(Create);
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        if duplicates.contains(topic.name.as_str()) {
            results.push(fit(
                ctx.api_version,
                result(
                    topic,
                    ResponseError::InvalidRequest,
                    "topic listed more than once".to_owned(),
                ),
            ));
            continue;
        }
        if !cluster_create && !access.topic(Create, topic.name.as_str()) {
            results.push(fit(
                ctx.api_version,
                result(
                    topic,
                    ResponseError::TopicAuthorizationFailed,
                    "not authorized to create the topic".to_owned(),
                ),
            ));
            continue;
        }
        let spec = match spec_for(handlers, topic) {
            Ok(spec) if topic.replication_factor == -1 => TopicSpec {
                replication_factor: handlers.default_replication_factor().await,
                ..spec
            },
            Ok(spec) => spec,
            Err(r) => {
                results.push(fit(ctx.api_version, *r));
                continue;
            }
        };
        if request.validate_only {
            // The backend's own checks (partition limits) run too, so a
            // dry run answers what the creation would.
            if let Err(e) = handlers.backend.validate_topic(&spec).await {
                results.push(fit(
                    ctx.api_version,
                    result(topic, e.response_error(), e.to_string()),
                ));
                continue;
            }
            let entry = CreatableTopicResult::default().with_name(topic.name.clone());
            results.push(if detailed {
                entry
                    .with_num_partitions(spec.partitions)
                    .with_replication_factor(spec.replication_factor)
            } else {
                entry
            });
            continue;
        }
        match handlers.backend.create_topic(spec).await {
            Ok(info) => {
                let layers = handlers.backend.config_layers().await.unwrap_or_default();
                let configs = created_configs(&layers, &info.configs);
                let entry = CreatableTopicResult::default().with_name(topic.name.clone());
                let entry = if ctx.api_version >= 7 {
                    entry.with_topic_id(info.id)
                } else {
                    entry
                };
                results.push(if detailed {
                    entry
                        .with_num_partitions(i32::try_from(info.partitions.len()).unwrap_or(-1))
                        .with_replication_factor(info.replication_factor)
                        .with_configs(Some(configs))
                } else {
                    entry
                });
            }
            Err(e) => results.push(fit(
                ctx.api_version,
                result(topic, e.response_error(), e.to_string()),
            )),
        }
    }
    CreateTopicsResponse::default().with_topics(results)
}
