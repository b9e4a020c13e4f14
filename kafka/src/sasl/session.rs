//! One connection's SASL progress: handshake (mechanism chosen among the
//! listener's), then the mechanism's messages, until a principal is known.
//! Every failure answers with its error and then closes the connection, as
//! Kafka does.

use std::sync::OnceLock;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use ring::rand::{SecureRandom, SystemRandom};

use super::scram::{self, ScramError, ScramExchange};
use super::{plain, SaslMechanism, AUTHENTICATION_FAILED};
use crate::backend::Backend;
use crate::handlers::Principal;

/// What a connection does after a SASL message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send the reply and keep reading.
    Continue(Vec<u8>),
    /// Send the reply; the connection is now `principal`.
    Authenticated(Vec<u8>, Principal),
    /// Answer with this error, then close the connection.
    Fail(ResponseError, String),
}

#[derive(Debug)]
enum State {
    AwaitHandshake,
    AwaitToken(SaslMechanism),
    ScramFinal(Box<ScramExchange>),
    Done,
}

/// The SASL state of one connection on an authenticating listener.
#[derive(Debug)]
pub struct SaslSession {
    enabled: Vec<SaslMechanism>,
    state: State,
    /// SaslHandshake v0: the tokens that follow are raw frames, not
    /// SaslAuthenticate requests.
    raw_tokens: bool,
}

impl SaslSession {
    /// A connection that has not shaken hands yet.
    pub fn new(enabled: Vec<SaslMechanism>) -> Self {
        Self {
            enabled,
            state: State::AwaitHandshake,
            raw_tokens: false,
        }
    }

    /// The listener's mechanisms, by Kafka name.
    pub fn enabled_names(&self) -> Vec<&'static str> {
        self.enabled.iter().map(|m| m.name()).collect()
    }

    /// Whether the next frame is a raw token (after a v0 handshake).
    pub fn expects_raw_token(&self) -> bool {
        self.raw_tokens && !matches!(self.state, State::AwaitHandshake | State::Done)
    }

    /// Handles SaslHandshake's `mechanism` at `version`: `Ok` when enabled,
    /// else `UNSUPPORTED_SASL_MECHANISM` (or `ILLEGAL_SASL_STATE` when a
    /// handshake already happened).
    pub fn handshake(&mut self, mechanism: &str, version: i16) -> Result<(), ResponseError> {
        if !matches!(self.state, State::AwaitHandshake) {
            return Err(ResponseError::IllegalSaslState);
        }
        let chosen = SaslMechanism::from_name(mechanism)
            .filter(|m| self.enabled.contains(m))
            .ok_or(ResponseError::UnsupportedSaslMechanism)?;
        self.state = State::AwaitToken(chosen);
        self.raw_tokens = version == 0;
        Ok(())
    }

    /// Handles one authentication message (SaslAuthenticate's bytes or a
    /// raw token).
    pub async fn authenticate<B: Backend>(&mut self, backend: &B, token: &[u8]) -> SaslStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        let step = match state {
            State::AwaitToken(SaslMechanism::Plain) => plain_step(backend, token).await,
            State::AwaitToken(SaslMechanism::Scram(m)) => match scram::parse_client_first(token) {
                Ok(first) => {
                    let user = first.user.clone();
                    match backend.scram_credentials(&user).await {
                        Ok(found) => {
                            let credential = found.into_iter().find(|(k, _)| *k == m).map(|c| c.1);
                            let (exchange, reply) = ScramExchange::start(
                                m,
                                first,
                                credential,
                                &server_nonce(),
                                &fallback_salt(&user),
                            );
                            self.state = State::ScramFinal(Box::new(exchange));
                            SaslStep::Continue(reply.into_bytes())
                        }
                        Err(e) => lookup_failed(&e),
                    }
                }
                Err(e) => failed(&e),
            },
            State::ScramFinal(exchange) => match exchange.finish(token) {
                Ok(reply) => {
                    SaslStep::Authenticated(reply.into_bytes(), Principal::user(exchange.user()))
                }
                Err(e) => failed(&e),
            },
            State::AwaitHandshake | State::Done => SaslStep::Fail(
                ResponseError::IllegalSaslState,
                "SaslAuthenticate before a SaslHandshake".to_string(),
            ),
        };
        step
    }
}

async fn plain_step<B: Backend>(backend: &B, token: &[u8]) -> SaslStep {
    let parsed = match plain::parse(token) {
        Ok(p) => p,
        Err(e) => return failed(&e),
    };
    match backend.scram_credentials(&parsed.user).await {
        Ok(found) if plain::verify(&found, &parsed.password) => {
            SaslStep::Authenticated(Vec::new(), Principal::user(&parsed.user))
        }
        Ok(_) => failed(&ScramError::Failed),
        Err(e) => lookup_failed(&e),
    }
}

fn failed(e: &ScramError) -> SaslStep {
    tracing::debug!(error = %e, "SASL authentication failed");
    let message = match e {
        ScramError::Failed => AUTHENTICATION_FAILED.to_string(),
        other => format!("Authentication failed: {other}"),
    };
    SaslStep::Fail(ResponseError::SaslAuthenticationFailed, message)
}

fn lookup_failed(e: &crate::BackendError) -> SaslStep {
    tracing::warn!(error = %e, "SASL credential lookup failed");
    SaslStep::Fail(
        ResponseError::SaslAuthenticationFailed,
        "Authentication failed: credentials are unavailable, retry later".to_string(),
    )
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0; N];
    // The system generator only fails when the OS has no entropy source;
    // a broker cannot run without one.
    if SystemRandom::new().fill(&mut out).is_err() {
        tracing::error!("the system random generator failed");
    }
    out
}

/// A fresh server nonce: 32 random letters and digits, as Kafka's (some
/// clients, librdkafka 2.0 among them, mangle a nonce holding `+` or `/`).
fn server_nonce() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    random_bytes::<32>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The salt announced for a user that does not exist: stable for the user
/// within this process (a second attempt sees the same salt, as for a real
/// user) and unpredictable from outside.
fn fallback_salt(user: &str) -> Vec<u8> {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    let secret = SECRET.get_or_init(random_bytes::<32>);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::sign(&key, user.as_bytes()).as_ref()[..16].to_vec()
}

/// The bytes to send for a raw-token reply (length-prefixed, no header).
pub fn raw_frame(token: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(token.len() + 4);
    out.extend_from_slice(&u32::try_from(token.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(token);
    Bytes::from(out)
}
