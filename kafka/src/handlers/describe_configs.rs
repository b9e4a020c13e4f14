//! DescribeConfigs (v1–v4) for topics: overrides from the backend plus defaults.
//! Handlers resources are answered with an empty config list.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::backend::Backend;
use chronik_api::security::AclOperation::DescribeConfigs;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// Config sources as Kafka numbers them.
const SOURCE_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

/// Topic configuration defaults reported when not overridden.
pub const TOPIC_DEFAULTS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("compression.type", "producer"),
    ("max.message.bytes", "1048588"),
    ("retention.bytes", "-1"),
    ("retention.ms", "604800000"),
];

fn entry(name: &str, value: &str, source: i8) -> DescribeConfigsResourceResult {
    DescribeConfigsResourceResult::default()
        .with_name(sb(name))
        .with_value(Some(sb(value)))
        .with_config_source(source)
}

/// Handles DescribeConfigs.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let access = handlers.access(ctx).await;
    let topics = handlers.backend.list_topics().await.unwrap_or_default();
    let results = request
        .resources
        .iter()
        .map(|r| {
            let base = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match r.resource_type {
                RESOURCE_TOPIC if !access.topic(DescribeConfigs, r.resource_name.as_str()) => base
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                    .with_error_message(Some(sb("not authorized to describe the topic's configs"))),
                RESOURCE_BROKER if !access.cluster(DescribeConfigs) => base
                    .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                    .with_error_message(Some(sb("not authorized to describe broker configs"))),
                RESOURCE_TOPIC => {
                    let Some(info) = topics.iter().find(|t| t.name == r.resource_name.as_str())
                    else {
                        return base
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(sb("unknown topic")));
                    };
                    let mut configs: Vec<DescribeConfigsResourceResult> = info
                        .configs
                        .iter()
                        .map(|(k, v)| entry(k, v, SOURCE_TOPIC))
                        .collect();
                    for (k, v) in TOPIC_DEFAULTS {
                        if !info.configs.contains_key(*k) {
                            configs.push(entry(k, v, SOURCE_DEFAULT));
                        }
                    }
                    if let Some(keys) = &r.configuration_keys {
                        configs.retain(|c| keys.contains(&c.name));
                    }
                    base.with_configs(configs)
                }
                RESOURCE_BROKER => base,
                _ => base
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(sb("unsupported resource type"))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}
