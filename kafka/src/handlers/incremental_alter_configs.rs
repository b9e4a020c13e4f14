//! IncrementalAlterConfigs (v0–v1): SET, DELETE, APPEND and SUBTRACT on
//! single keys of a topic's overrides or of the dynamic cluster-wide broker
//! configs. APPEND and SUBTRACT apply to list keys (`cleanup.policy`,
//! `log.cleanup.policy`) and start from the key's effective value.

use std::collections::{BTreeMap, HashSet};

use chronik_api::config::{broker_key, topic_key, ConfigKey, ValueType};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::ResponseError;

use super::config_change::{alter_each, apply, layers, target, Refusal, Target};
use super::{Handlers, RequestContext};
use crate::backend::Backend;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn invalid(message: String) -> Refusal {
    (ResponseError::InvalidConfig, message)
}

/// The key's effective value now, split as a list.
async fn current_list<B: Backend>(
    handlers: &Handlers<B>,
    target: &Target,
    key: &ConfigKey,
) -> Result<Vec<String>, Refusal> {
    let layers = layers(handlers).await?;
    let value = match target {
        Target::Topic { current, .. } => layers.topic_value(current, key.name),
        Target::Brokers { .. } => layers.broker_value(key.name),
    }
    .map(|v| v.value)
    .unwrap_or_default();
    Ok(value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

async fn apply_op<B: Backend>(
    handlers: &Handlers<B>,
    target: &Target,
    config: &mut BTreeMap<String, String>,
    op: &AlterableConfig,
) -> Result<(), Refusal> {
    let name = op.name.to_string();
    let value = op.value.as_ref().map(|v| v.to_string());
    let key = match target {
        Target::Topic { .. } => topic_key(&name),
        Target::Brokers { .. } => broker_key(&name),
    };
    let list_key = key.filter(|k| k.value_type == ValueType::List);
    match (op.config_operation, value, list_key) {
        (DELETE, _, _) => {
            config.remove(&name);
        }
        (SET, Some(v), _) => {
            config.insert(name, v);
        }
        (APPEND | SUBTRACT, Some(v), Some(key)) => {
            let mut items = current_list(handlers, target, key).await?;
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if op.config_operation == APPEND && !items.iter().any(|i| i == item) {
                    items.push(item.to_string());
                } else if op.config_operation == SUBTRACT {
                    items.retain(|i| i != item);
                }
            }
            config.insert(name, items.join(","));
        }
        (APPEND | SUBTRACT, Some(_), None) => {
            return Err(invalid(format!(
                "{name}: APPEND and SUBTRACT apply to list configs only"
            )))
        }
        (SET | APPEND | SUBTRACT, None, _) => {
            return Err(invalid(format!("{name}: a value is required")))
        }
        (other, _, _) => return Err(invalid(format!("{name}: unknown operation {other}"))),
    }
    Ok(())
}

async fn alter<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    r: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), Refusal> {
    let mut seen = HashSet::new();
    if let Some(dup) = r.configs.iter().find(|c| !seen.insert(c.name.as_str())) {
        return Err((
            ResponseError::InvalidRequest,
            format!("{} is listed more than once", dup.name.as_str()),
        ));
    }
    let target = target(handlers, ctx, r.resource_type, r.resource_name.as_str()).await?;
    let mut config = target.current().clone();
    for op in &r.configs {
        apply_op(handlers, &target, &mut config, op).await?;
    }
    apply(handlers, &target, config, validate_only).await
}

/// Handles IncrementalAlterConfigs.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let validate_only = request.validate_only;
    let responses = alter_each(&request.resources, |r| {
        alter(handlers, ctx, r, validate_only)
    })
    .await;
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
