//! Heartbeat (v0–v4).

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{Handlers, RequestContext};
use crate::backend::Backend;
use chronik_api::security::AclOperation;

/// Handles Heartbeat.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    let group_id = request.group_id.as_str();
    let check = handlers.check_group(ctx, AclOperation::Read, group_id);
    let result = match check.await {
        Ok(()) => {
            handlers
                .groups
                .heartbeat(group_id, request.member_id.as_str(), request.generation_id)
        }
        Err(e) => Err(e),
    };
    HeartbeatResponse::default().with_error_code(result.err().map_or(0, |e| e.code()))
}
