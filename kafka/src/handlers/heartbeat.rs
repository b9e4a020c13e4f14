//! Heartbeat (v0–v4).

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::Handlers;
use crate::backend::Backend;

/// Handles Heartbeat.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    let group_id = request.group_id.as_str();
    let result = match handlers.check_coordinator(group_id).await {
        Ok(()) => {
            handlers
                .groups
                .heartbeat(group_id, request.member_id.as_str(), request.generation_id)
        }
        Err(e) => Err(e),
    };
    HeartbeatResponse::default().with_error_code(result.err().map_or(0, |e| e.code()))
}
