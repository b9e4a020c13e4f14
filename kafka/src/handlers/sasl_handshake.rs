//! SaslHandshake (v0–v1): the client names a mechanism; the answer lists the
//! listener's. The exchange itself is [`crate::sasl::SaslSession`]'s; a
//! handshake reaching the handlers (a listener without SASL, or a connection
//! already authenticated) is `ILLEGAL_SASL_STATE`, as in Kafka.

use kafka_protocol::messages::SaslHandshakeResponse;
use kafka_protocol::ResponseError;

use super::sb;

/// The answer with `error` (if any) and the enabled mechanisms.
pub(crate) fn response(error: Option<ResponseError>, enabled: &[&str]) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default()
        .with_error_code(super::code(error))
        .with_mechanisms(enabled.iter().map(|m| sb(m)).collect())
}

/// A handshake outside of an authentication.
pub(crate) fn out_of_state() -> SaslHandshakeResponse {
    response(Some(ResponseError::IllegalSaslState), &[])
}
