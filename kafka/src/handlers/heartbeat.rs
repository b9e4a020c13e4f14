//! Heartbeat (v0–v4).

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::Broker;
use crate::backend::Backend;

/// Handles Heartbeat.
pub(crate) async fn handle<B: Backend>(
    broker: &Broker<B>,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    let group_id = request.group_id.as_str();
    let result = match broker.check_coordinator(group_id).await {
        Ok(()) => {
            broker
                .groups
                .heartbeat(group_id, request.member_id.as_str(), request.generation_id)
        }
        Err(e) => Err(e),
    };
    HeartbeatResponse::default().with_error_code(result.err().map_or(0, |e| e.code()))
}
