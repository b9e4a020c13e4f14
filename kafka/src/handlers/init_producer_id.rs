//! InitProducerId (v0–v4) for idempotent producers. Transactional ids are refused.

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::Handlers;
use crate::backend::{Backend, ProducerIdentity};

/// Handles InitProducerId.
pub(crate) async fn handle<B: Backend>(
    handlers: &Handlers<B>,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(error.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if request
        .transactional_id
        .as_ref()
        .is_some_and(|t| !t.is_empty())
    {
        return failed(ResponseError::InvalidRequest);
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
