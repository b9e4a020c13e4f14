//! DescribeConfigs (v1–v4) for topics and brokers: every key of
//! `chronik_api::config` with its effective value, source, synonyms (the
//! layers that set it, most specific first), type and documentation.
//!
//! A topic key resolves to the topic's override, the dynamic cluster-wide
//! broker default of its synonym, the broker's static `--config` value, or
//! the table's default ([`ConfigLayers`]). A broker resource named by a
//! broker id lists every broker key; the empty name lists the dynamic
//! cluster-wide defaults only, as Kafka does.

use std::collections::BTreeMap;

use chronik_api::config::{
    ConfigKey, ConfigLayers, ConfigSource, ResolvedValue, BROKER_CONFIGS, TOPIC_CONFIGS,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::backend::{Backend, TopicInfo};
use chronik_api::security::AclOperation::DescribeConfigs;

/// Kafka's resource type of a topic.
pub(crate) const RESOURCE_TOPIC: i8 = 2;
/// Kafka's resource type of a broker.
pub(crate) const RESOURCE_BROKER: i8 = 4;

/// What to include beside names and values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detail {
    /// The layers under the effective value (`include_synonyms`).
    pub synonyms: bool,
    /// Type (v3+).
    pub types: bool,
    /// One line of documentation (v3+ `include_documentation`).
    pub docs: bool,
}

/// One described key from its lookup chain (effective value first).
pub(crate) fn entry(
    key: &ConfigKey,
    chain: &[ResolvedValue],
    read_only: bool,
    detail: Detail,
) -> DescribeConfigsResourceResult {
    let (value, source) = chain.first().map_or((None, ConfigSource::Default), |v| {
        (Some(sb(&v.value)), v.source)
    });
    let mut out = DescribeConfigsResourceResult::default()
        .with_name(sb(key.name))
        .with_value(value)
        .with_read_only(read_only)
        .with_config_source(source.kafka_code());
    if detail.synonyms {
        out = out.with_synonyms(
            chain
                .iter()
                .map(|v| {
                    DescribeConfigsSynonym::default()
                        .with_name(sb(v.name))
                        .with_value(Some(sb(&v.value)))
                        .with_source(v.source.kafka_code())
                })
                .collect(),
        );
    }
    if detail.types {
        out = out.with_config_type(key.value_type.kafka_code());
    }
    if detail.docs {
        out = out.with_documentation(Some(sb(key.doc)));
    }
    out
}

/// Every topic key of a topic with `overrides`, in table order.
pub(crate) fn topic_entries(
    layers: &ConfigLayers,
    overrides: &BTreeMap<String, String>,
    detail: Detail,
) -> Vec<DescribeConfigsResourceResult> {
    TOPIC_CONFIGS
        .iter()
        .map(|key| entry(key, &layers.topic_chain(overrides, key), false, detail))
        .collect()
}

fn broker_entries(
    layers: &ConfigLayers,
    name: &str,
    detail: Detail,
) -> Vec<DescribeConfigsResourceResult> {
    BROKER_CONFIGS
        .iter()
        .filter(|key| !name.is_empty() || layers.dynamic.contains_key(key.name))
        .map(|key| {
            let mut chain = layers.broker_chain(key);
            if name.is_empty() {
                chain.truncate(1);
            }
            entry(key, &chain, !key.dynamic, detail)
        })
        .collect()
}

fn describe_topic(
    r: &DescribeConfigsResource,
    topics: &[TopicInfo],
    layers: &ConfigLayers,
    detail: Detail,
    base: DescribeConfigsResult,
) -> DescribeConfigsResult {
    let Some(info) = topics.iter().find(|t| t.name == r.resource_name.as_str()) else {
        return base
            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
            .with_error_message(Some(sb("unknown topic")));
    };
    let mut configs = topic_entries(layers, &info.configs, detail);
    // Overrides stored before keys were checked stay visible.
    for (name, value) in &info.configs {
        if chronik_api::config::topic_key(name).is_none() {
            configs.push(
                DescribeConfigsResourceResult::default()
                    .with_name(sb(name))
                    .with_value(Some(sb(value)))
                    .with_config_source(ConfigSource::TopicOverride.kafka_code()),
            );
        }
    }
    base.with_configs(configs)
}

fn describe_broker<B: Backend>(
    handlers: &Handlers<B>,
    r: &DescribeConfigsResource,
    layers: &ConfigLayers,
    detail: Detail,
    base: DescribeConfigsResult,
) -> DescribeConfigsResult {
    let name = r.resource_name.as_str();
    if !name.is_empty() && name.parse::<i32>().ok() != Some(handlers.backend.node_id()) {
        return base
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(sb(&format!(
                "broker {name:?} is not this broker ({}); ask that broker",
                handlers.backend.node_id()
            ))));
    }
    base.with_configs(broker_entries(layers, name, detail))
}

/// Handles DescribeConfigs.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let access = handlers.access(ctx).await;
    let topics = handlers.backend.list_topics().await.unwrap_or_default();
    let layers = handlers.backend.config_layers().await.unwrap_or_default();
    let detail = Detail {
        synonyms: request.include_synonyms,
        types: ctx.api_version >= 3,
        docs: ctx.api_version >= 3 && request.include_documentation,
    };
    let results = request
        .resources
        .iter()
        .map(|r| {
            let base = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let mut result = match r.resource_type {
                RESOURCE_TOPIC if !access.topic(DescribeConfigs, r.resource_name.as_str()) => base
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                    .with_error_message(Some(sb("not authorized to describe the topic's configs"))),
                RESOURCE_BROKER if !access.cluster(DescribeConfigs) => base
                    .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                    .with_error_message(Some(sb("not authorized to describe broker configs"))),
                RESOURCE_TOPIC => describe_topic(r, &topics, &layers, detail, base),
                RESOURCE_BROKER => describe_broker(handlers, r, &layers, detail, base),
                _ => base
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(sb("unsupported resource type"))),
            };
            if let Some(keys) = &r.configuration_keys {
                result.configs.retain(|c| keys.contains(&c.name));
            }
            result
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}
