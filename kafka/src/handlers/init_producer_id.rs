//! InitProducerId (v0–v4) for idempotent producers. Transactional ids are refused.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::{Handlers, RequestContext};
use crate::backend::{Backend, ProducerIdentity};
use chronik_api::security::{AclOperation, ResourceType};

/// Handles InitProducerId.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    ctx: &RequestContext,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(error.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    let access = handlers.access(ctx).await;
    match request.transactional_id.as_ref().filter(|t| !t.is_empty()) {
        Some(t) if !access.allows(AclOperation::Write, ResourceType::TransactionalId, t) => {
            return failed(ResponseError::TransactionalIdAuthorizationFailed)
        }
        Some(_) => return failed(ResponseError::InvalidRequest),
        // Kafka 2.8+: IdempotentWrite on the cluster, or Write on any topic.
        None if !access.cluster(AclOperation::IdempotentWrite)
            && !access.any(AclOperation::Write, ResourceType::Topic) =>
        {
            return failed(ResponseError::ClusterAuthorizationFailed)
        }
        None => {}
    }
    let existing = (request.producer_id.0 >= 0).then_some(ProducerIdentity {
        producer_id: request.producer_id.0,
        producer_epoch: request.producer_epoch,
    });
    match handlers.backend.init_producer_id(existing).await {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id.producer_id))
            .with_producer_epoch(id.producer_epoch),
        Err(e) => failed(e.response_error()),
    }
}
