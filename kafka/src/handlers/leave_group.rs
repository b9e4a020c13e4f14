//! LeaveGroup (v0–v4): one member before v3, a batch of members from v3.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::{Handlers, RequestContext};
use crate::backend::Backend;
use chronik_api::security::AclOperation;

/// Handles LeaveGroup.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let group_id = request.group_id.to_string();
    let check = handlers.check_group(ctx, AclOperation::Read, &group_id);
    if let Err(e) = check.await {
        return LeaveGroupResponse::default().with_error_code(e.code());
    }
    if ctx.api_version < 3 {
        let results = handlers
            .groups
            .leave(&group_id, &[(request.member_id.to_string(), None)]);
        let error = results.into_iter().next().and_then(Result::err);
        return LeaveGroupResponse::default().with_error_code(error.map_or(0, |e| e.code()));
    }
    let members: Vec<(String, Option<String>)> = request
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.group_instance_id.as_ref().map(|s| s.to_string()),
            )
        })
        .collect();
    let results = handlers.groups.leave(&group_id, &members);
    let responses = request
        .members
        .iter()
        .zip(results)
        .map(|(m, r)| {
            MemberResponse::default()
                .with_member_id(m.member_id.clone())
                .with_group_instance_id(m.group_instance_id.clone())
                .with_error_code(r.err().map_or(0, |e| e.code()))
        })
        .collect();
    LeaveGroupResponse::default().with_members(responses)
}
