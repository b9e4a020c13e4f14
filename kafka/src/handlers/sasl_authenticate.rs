//! SaslAuthenticate (v0–v2, KIP-152): one mechanism message each way. The
//! exchange is [`crate::sasl::SaslSession`]'s; a request reaching the
//! handlers (a listener without SASL, or a connection already
//! authenticated) is `ILLEGAL_SASL_STATE`, as in Kafka.

use bytes::Bytes;
use kafka_protocol::messages::SaslAuthenticateResponse;
use kafka_protocol::ResponseError;

use super::sb;

/// A successful step carrying the server's next message.
pub(crate) fn reply(auth_bytes: Vec<u8>) -> SaslAuthenticateResponse {
    // Session lifetime 0: the broker does not ask for re-authentication.
    SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(auth_bytes))
}

/// A failed step.
pub(crate) fn error(error: ResponseError, message: &str) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(sb(message)))
}

/// A SaslAuthenticate outside of an authentication.
pub(crate) fn out_of_state() -> SaslAuthenticateResponse {
    error(
        ResponseError::IllegalSaslState,
        "SaslAuthenticate is only valid after a SaslHandshake on a SASL listener",
    )
}
