//! AlterConfigs (v0–v2): replaces a topic's whole set of config overrides,
//! or the dynamic cluster-wide broker configs, with the listed ones (a null
//! value leaves the key out). Unknown keys, invalid values and static broker
//! keys are refused with `INVALID_CONFIG` naming the key.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::config_change::{alter_each, apply, target, Refusal};
use super::{Handlers, RequestContext};
use crate::backend::Backend;

async fn alter<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    r: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), Refusal> {
    let target = target(handlers, ctx, r.resource_type, r.resource_name.as_str()).await?;
    let config: BTreeMap<String, String> = r
        .configs
        .iter()
        .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
        .collect();
    apply(handlers, &target, config, validate_only).await
}

/// Handles AlterConfigs.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let validate_only = request.validate_only;
    let responses = alter_each(&request.resources, |r| {
        alter(handlers, ctx, r, validate_only)
    })
    .await;
    AlterConfigsResponse::default().with_responses(responses)
}
