//! JoinGroup (v0–v7).

use std::time::Duration;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::{code, sb, Handlers, RequestContext};
use crate::backend::Backend;
use crate::group::{JoinOutcome, JoinParams};
use chronik_api::security::AclOperation;

fn millis(v: i32) -> Duration {
    Duration::from_millis(u64::try_from(v).unwrap_or(0))
}

fn response(version: i16, outcome: JoinOutcome) -> JoinGroupResponse {
    let members = outcome
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(sb(&m.member_id))
                .with_group_instance_id(m.group_instance_id.as_deref().map(sb))
                .with_metadata(m.metadata)
        })
        .collect();
    // Before v7 the protocol name is not nullable.
    let protocol_name = match outcome.protocol_name {
        None if version < 7 => Some(String::new()),
        other => other,
    };
    // The protocol type is answered from v7.
    let protocol_type = if version >= 7 {
        outcome.protocol_type
    } else {
        None
    };
    JoinGroupResponse::default()
        .with_error_code(code(outcome.error))
        .with_generation_id(outcome.generation_id)
        .with_protocol_type(protocol_type.as_deref().map(sb))
        .with_protocol_name(protocol_name.as_deref().map(sb))
        .with_leader(sb(&outcome.leader))
        .with_member_id(sb(&outcome.member_id))
        .with_members(members)
}

/// Handles JoinGroup; waits for the join phase to complete.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: JoinGroupRequest,
) -> JoinGroupResponse {
    let group_id = request.group_id.to_string();
    let check = handlers.check_group(ctx, AclOperation::Read, &group_id);
    if let Err(e) = check.await {
        return response(
            ctx.api_version,
            JoinOutcome::error(e, request.member_id.to_string()),
        );
    }
    // v0 has no rebalance timeout: it equals the session timeout.
    let rebalance_timeout = if ctx.api_version >= 1 {
        request.rebalance_timeout_ms
    } else {
        request.session_timeout_ms
    };
    let params = JoinParams {
        group_id,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: ctx.client_id.clone(),
        client_host: ctx.client_host.clone(),
        session_timeout: millis(request.session_timeout_ms),
        rebalance_timeout: millis(rebalance_timeout),
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: ctx.api_version >= 4,
    };
    let outcome = handlers.groups.join(params).await;
    response(ctx.api_version, outcome)
}
