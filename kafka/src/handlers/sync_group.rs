//! SyncGroup (v0–v5).

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::{code, sb, Broker};
use crate::backend::Backend;
use crate::group::{SyncOutcome, SyncParams};

fn response(outcome: SyncOutcome) -> SyncGroupResponse {
    SyncGroupResponse::default()
        .with_error_code(code(outcome.error))
        .with_protocol_type(outcome.protocol_type.as_deref().map(sb))
        .with_protocol_name(outcome.protocol_name.as_deref().map(sb))
        .with_assignment(outcome.assignment)
}

/// Handles SyncGroup; followers wait for the leader's assignment.
pub(crate) async fn handle<B: Backend>(
    broker: &Broker<B>,
    request: SyncGroupRequest,
) -> SyncGroupResponse {
    let group_id = request.group_id.to_string();
    if let Err(e) = broker.check_coordinator(&group_id).await {
        return response(SyncOutcome::error(e));
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
    response(broker.groups.sync(params).await)
}
