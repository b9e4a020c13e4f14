//! What a connection on a SASL listener does with a frame before it has
//! authenticated: ApiVersions passes to the handlers, SaslHandshake and
//! SaslAuthenticate (or a raw token after a v0 handshake) drive the
//! [`SaslSession`], anything else closes the connection (Kafka's behaviour).

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;

use super::session::raw_frame;
use super::{SaslSession, SaslStep};
use crate::backend::Backend;
use crate::codec::{self, CodecError, Decoded, RequestBody, ResponseBody};
use crate::handlers::{sasl_authenticate, sasl_handshake, Principal};

/// The fate of one frame of an unauthenticated connection.
#[derive(Debug)]
pub enum Gate {
    /// Send `bytes`; then, if `principal` is set, the connection is
    /// authenticated; if `close`, close it.
    Reply {
        /// Encoded response frame.
        bytes: Bytes,
        /// The authenticated principal, on success.
        principal: Option<Principal>,
        /// Close after sending (a failed or refused step).
        close: bool,
    },
    /// Serve it as any request (ApiVersions).
    PassThrough(Bytes),
    /// A request other than ApiVersions and SASL before authenticating.
    Refuse(i16),
}

fn step_reply(
    step: SaslStep,
    encode: impl Fn(SaslStep) -> Result<Bytes, CodecError>,
) -> Result<Gate, CodecError> {
    let (principal, close) = match &step {
        SaslStep::Continue(_) => (None, false),
        SaslStep::Authenticated(_, p) => (Some(p.clone()), false),
        SaslStep::Fail(..) => (None, true),
    };
    Ok(Gate::Reply {
        bytes: encode(step)?,
        principal,
        close,
    })
}

/// Decides what to do with `frame`.
pub async fn admit<B: Backend>(
    sasl: &mut SaslSession,
    backend: &B,
    frame: Bytes,
) -> Result<Gate, CodecError> {
    if sasl.expects_raw_token() {
        let step = sasl.authenticate(backend, &frame).await;
        return step_reply(step, |s| {
            Ok(match s {
                SaslStep::Continue(b) | SaslStep::Authenticated(b, _) => raw_frame(&b),
                // A v0 client learns of a failure by the connection closing.
                SaslStep::Fail(..) => Bytes::new(),
            })
        });
    }
    let (key, _, _) = codec::peek_header(&frame)?;
    match ApiKey::try_from(key) {
        Ok(ApiKey::ApiVersions) => return Ok(Gate::PassThrough(frame)),
        Ok(ApiKey::SaslHandshake | ApiKey::SaslAuthenticate) => {}
        _ => return Ok(Gate::Refuse(key)),
    }
    let request = codec::decode_request(frame)?;
    let correlation_id = request.header.correlation_id;
    let version = request.header.request_api_version;
    let Decoded::Body(body) = request.body else {
        return Ok(Gate::Refuse(key));
    };
    let encode = |body: ResponseBody| codec::encode_response(correlation_id, version, &body);
    match *body {
        RequestBody::SaslHandshake(r) => {
            let result = sasl.handshake(r.mechanism.as_str(), version);
            let response = sasl_handshake::response(result.err(), &sasl.enabled_names());
            Ok(Gate::Reply {
                bytes: encode(ResponseBody::SaslHandshake(response))?,
                principal: None,
                close: result.is_err(),
            })
        }
        RequestBody::SaslAuthenticate(r) => {
            let step = sasl.authenticate(backend, &r.auth_bytes).await;
            step_reply(step, |s| {
                let response = match s {
                    SaslStep::Continue(b) | SaslStep::Authenticated(b, _) => {
                        sasl_authenticate::reply(b)
                    }
                    SaslStep::Fail(e, message) => sasl_authenticate::error(e, &message),
                };
                encode(ResponseBody::SaslAuthenticate(response))
            })
        }
        _ => Ok(Gate::Refuse(key)),
    }
}
