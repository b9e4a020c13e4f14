//! SyncGroup (v0–v5).

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::{code, sb, Handlers, RequestContext};
use crate::backend::Backend;
use crate::group::{SyncOutcome, SyncParams};
use chronik_api::security::AclOperation;

fn response(version: i16, outcome: SyncOutcome) -> SyncGroupResponse {
    let response = SyncGroupResponse::default()
        .with_error_code(code(outcome.error))
        .with_assignment(outcome.assignment);
    // Protocol type and name are answered from v5.
    if version >= 5 {
        response
            .with_protocol_type(outcome.protocol_type.as_deref().map(sb))
            .with_protocol_name(outcome.protocol_name.as_deref().map(sb))
    } else {
        response
    }
}

/// Handles SyncGroup; followers wait for the leader's assignment.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: SyncGroupRequest,
) -> SyncGroupResponse {
    let group_id = request.group_id.to_string();
    let check = handlers.check_group(ctx, AclOperation::Read, &group_id);
    if let Err(e) = check.await {
        return response(ctx.api_version, SyncOutcome::error(e));
    }
    let params = SyncParams {
        group_id,
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    response(ctx.api_version, handlers.groups.sync(params).await)
}
