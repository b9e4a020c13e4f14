//! FindCoordinator (v0–v4) for consumer groups (key type 0). Transaction
//! coordinators (key type 1) are not available.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{sb, Handlers, RequestContext};
use crate::authz::Access;
use crate::backend::Backend;
use chronik_api::security::{AclOperation, ResourceType};

async fn lookup<B: Backend>(
    handlers: &Handlers<B>,
    access: &Access,
    listener: &str,
    key_type: i8,
    key: &StrBytes,
) -> Coordinator {
    let base = Coordinator::default()
        .with_key(key.clone())
        .with_node_id(BrokerId(-1))
        .with_port(-1);
    let (resource, denied) = match key_type {
        0 => (ResourceType::Group, ResponseError::GroupAuthorizationFailed),
        _ => (
            ResourceType::TransactionalId,
            ResponseError::TransactionalIdAuthorizationFailed,
        ),
    };
    if !access.allows(AclOperation::Describe, resource, key.as_str()) {
        return base.with_error_code(denied.code());
    }
    if key_type != 0 {
        return base
            .with_error_code(ResponseError::CoordinatorNotAvailable.code())
            .with_error_message(Some(sb("transactions are not supported")));
    }
    let node = match handlers.backend.group_coordinator(key.as_str()).await {
        Ok(node) => node,
        Err(e) => {
            return base
                .with_error_code(ResponseError::CoordinatorNotAvailable.code())
                .with_error_message(Some(sb(&e.to_string())))
        }
    };
    match handlers.broker_info(node, listener).await {
        Some(info) => base
            .with_node_id(BrokerId(info.node_id))
            .with_host(sb(&info.host))
            .with_port(info.port),
        None => base.with_error_code(ResponseError::CoordinatorNotAvailable.code()),
    }
}

/// Handles FindCoordinator.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let access = handlers.access(ctx).await;
    if ctx.api_version >= 4 {
        let mut coordinators = Vec::with_capacity(request.coordinator_keys.len());
        for key in &request.coordinator_keys {
            coordinators
                .push(lookup(handlers, &access, &ctx.listener, request.key_type, key).await);
        }
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let c = lookup(
        handlers,
        &access,
        &ctx.listener,
        request.key_type,
        &request.key,
    )
    .await;
    // The error message exists from v1.
    let message = if ctx.api_version >= 1 {
        c.error_message
    } else {
        None
    };
    FindCoordinatorResponse::default()
        .with_error_code(c.error_code)
        .with_error_message(message)
        .with_node_id(c.node_id)
        .with_host(c.host)
        .with_port(c.port)
}
