//! AlterConfigs (v0–v2): replaces a topic's whole set of config overrides,
//! or the dynamic cluster-wide broker configs, with the listed ones (a null
//! value leaves the key out). Unknown keys, invalid values and static broker
//! keys are refused with `INVALID_CONFIG` naming the key.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::config_change::{apply, target, Refusal};
use super::{sb, Handlers, RequestContext};
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
    let mut responses = Vec::with_capacity(request.resources.len());
    for r in &request.resources {
        let base = AlterConfigsResourceResponse::default()
            .with_resource_type(r.resource_type)
            .with_resource_name(r.resource_name.clone());
        responses.push(match alter(handlers, ctx, r, request.validate_only).await {
            Ok(()) => base,
            Err((error, message)) => base
                .with_error_code(error.code())
                .with_error_message(Some(sb(&message))),
        });
    }
    AlterConfigsResponse::default().with_responses(responses)
}
