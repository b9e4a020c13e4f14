//! SCRAM (RFC 5802) with SHA-256 and SHA-512 (RFC 7677), server side.
//!
//! A credential is what Kafka stores: salt, StoredKey, ServerKey and the
//! iteration count, never the password nor the SaltedPassword. The exchange
//! is client-first → server-first (combined nonce, salt, iterations) →
//! client-final (proof) → server-final (server signature).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

use super::ScramMechanism;

/// A user's stored SCRAM credential for one mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramCredential {
    /// Salt of the SaltedPassword.
    pub salt: Vec<u8>,
    /// H(ClientKey): checks the client's proof.
    pub stored_key: Vec<u8>,
    /// HMAC(SaltedPassword, "Server Key"): signs the server-final message.
    pub server_key: Vec<u8>,
    /// PBKDF2 iterations of the SaltedPassword.
    pub iterations: u32,
}

impl ScramCredential {
    /// The credential of a SaltedPassword, as AlterUserScramCredentials
    /// carries it (the client salts the password).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: &[u8],
        salted_password: &[u8],
        iterations: u32,
    ) -> Self {
        let client_key = mac(mechanism, salted_password, b"Client Key");
        Self {
            salt: salt.to_vec(),
            stored_key: hash(mechanism, &client_key),
            server_key: mac(mechanism, salted_password, b"Server Key"),
            iterations,
        }
    }

    /// The credential of a password (tests, and PLAIN's check).
    pub fn from_password(
        mechanism: ScramMechanism,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Self {
        let salted = salted_password(mechanism, password, salt, iterations);
        Self::from_salted_password(mechanism, salt, &salted, iterations)
    }

    /// Whether `password` is the password of this credential.
    pub fn matches_password(&self, mechanism: ScramMechanism, password: &[u8]) -> bool {
        let other = Self::from_password(mechanism, password, &self.salt, self.iterations);
        constant_time_eq(&other.stored_key, &self.stored_key)
    }
}

/// PBKDF2-HMAC of `password` (Hi() in RFC 5802).
pub fn salted_password(
    mechanism: ScramMechanism,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Vec<u8> {
    let (algorithm, len) = match mechanism {
        ScramMechanism::ScramSha256 => (pbkdf2::PBKDF2_HMAC_SHA256, 32),
        ScramMechanism::ScramSha512 => (pbkdf2::PBKDF2_HMAC_SHA512, 64),
    };
    let mut out = vec![0; len];
    let rounds = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(algorithm, rounds, salt, password, &mut out);
    out
}

fn mac(mechanism: ScramMechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    let algorithm = match mechanism {
        ScramMechanism::ScramSha256 => hmac::HMAC_SHA256,
        ScramMechanism::ScramSha512 => hmac::HMAC_SHA512,
    };
    hmac::sign(&hmac::Key::new(algorithm, key), data)
        .as_ref()
        .to_vec()
}

fn hash(mechanism: ScramMechanism, data: &[u8]) -> Vec<u8> {
    let algorithm = match mechanism {
        ScramMechanism::ScramSha256 => &digest::SHA256,
        ScramMechanism::ScramSha512 => &digest::SHA512,
    };
    digest::digest(algorithm, data).as_ref().to_vec()
}

/// Compares without an early exit, so timing tells nothing of where a
/// forged key first differs.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a SCRAM message is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    /// Not a SCRAM message of the expected kind.
    #[error("invalid SCRAM message: {0}")]
    Malformed(&'static str),
    /// Channel binding, which Kafka does not support over SASL.
    #[error("SCRAM channel binding is not supported")]
    ChannelBinding,
    /// The authorization id names another user.
    #[error("authorization id differs from the user name")]
    AuthzId,
    /// Wrong proof, or no such user.
    #[error("{}", super::AUTHENTICATION_FAILED)]
    Failed,
}

/// A parsed client-first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    /// The user name (saslname decoded).
    pub user: String,
    gs2_header: String,
    bare: String,
    nonce: String,
}

/// Parses a client-first message: `n,[a=authzid],n=user,r=nonce[,ext]`.
pub fn parse_client_first(message: &[u8]) -> Result<ClientFirst, ScramError> {
    let text = std::str::from_utf8(message).map_err(|_| ScramError::Malformed("not UTF-8"))?;
    let mut parts = text.splitn(3, ',');
    let flag = parts.next().unwrap_or_default();
    let authzid = parts.next().ok_or(ScramError::Malformed("no gs2 header"))?;
    let bare = parts.next().ok_or(ScramError::Malformed("no gs2 header"))?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err(ScramError::ChannelBinding),
        _ => return Err(ScramError::Malformed("bad channel binding flag")),
    }
    let mut attrs = bare.split(',');
    let user = attrs
        .next()
        .and_then(|a| a.strip_prefix("n="))
        .ok_or(ScramError::Malformed("no user name"))?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .filter(|n| !n.is_empty())
        .ok_or(ScramError::Malformed("no client nonce"))?;
    if attrs.any(|a| a.starts_with("m=")) {
        return Err(ScramError::Malformed("unsupported mandatory extension"));
    }
    let user = decode_saslname(user)?;
    if !authzid.is_empty()
        && authzid.strip_prefix("a=").map(decode_saslname) != Some(Ok(user.clone()))
    {
        return Err(ScramError::AuthzId);
    }
    Ok(ClientFirst {
        user,
        gs2_header: format!("{flag},{authzid},"),
        bare: bare.to_string(),
        nonce: nonce.to_string(),
    })
}

fn decode_saslname(name: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let escaped = rest.get(i..i + 3);
        match escaped {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed("bad escape in user name")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(ScramError::Malformed("empty user name"));
    }
    Ok(out)
}

/// The server's half of an exchange after the server-first message.
#[derive(Debug, Clone)]
pub struct ScramExchange {
    mechanism: ScramMechanism,
    client_first: ClientFirst,
    server_first: String,
    nonce: String,
    /// `None`: the user does not exist; the exchange continues with a
    /// made-up salt and fails at the proof, like a wrong password.
    credential: Option<ScramCredential>,
}

impl ScramExchange {
    /// Answers `client_first` with a server-first message. `fallback_salt`
    /// and [`crate::sasl::scram::FALLBACK_ITERATIONS`] stand in for the
    /// credential of a user that does not exist.
    pub fn start(
        mechanism: ScramMechanism,
        client_first: ClientFirst,
        credential: Option<ScramCredential>,
        server_nonce: &str,
        fallback_salt: &[u8],
    ) -> (Self, String) {
        let nonce = format!("{}{server_nonce}", client_first.nonce);
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.as_slice(), c.iterations),
            None => (fallback_salt, FALLBACK_ITERATIONS),
        };
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(salt));
        let exchange = Self {
            mechanism,
            client_first,
            server_first: server_first.clone(),
            nonce,
            credential,
        };
        (exchange, server_first)
    }

    /// Whether the client-final nonce is the combined nonce. librdkafka
    /// before 2.6.1 (kcat among its users) sends the client nonce once more
    /// in front of it (librdkafka#4895); Kafka 3.8.1–3.9 accepts that form
    /// and so does this broker, for that form only: the server nonce still
    /// has to be there whole, so a replayed exchange still fails.
    fn nonce_matches(&self, nonce: &str) -> bool {
        nonce == self.nonce
            || nonce
                .strip_prefix(self.client_first.nonce.as_str())
                .is_some_and(|rest| rest == self.nonce)
    }

    /// The authenticated user name.
    pub fn user(&self) -> &str {
        &self.client_first.user
    }

    /// Checks the client-final message's proof; answers the server-final
    /// message (`v=<server signature>`).
    pub fn finish(&self, client_final: &[u8]) -> Result<String, ScramError> {
        let text =
            std::str::from_utf8(client_final).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed("no proof"))?;
        let mut attrs = without_proof.split(',');
        let binding = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .and_then(|c| B64.decode(c).ok())
            .ok_or(ScramError::Malformed("no channel binding"))?;
        if binding != self.client_first.gs2_header.as_bytes() {
            return Err(ScramError::Malformed(
                "channel binding differs from the gs2 header",
            ));
        }
        let nonce = attrs.next().and_then(|a| a.strip_prefix("r="));
        if !nonce.is_some_and(|n| self.nonce_matches(n)) {
            return Err(ScramError::Malformed("nonce differs from the server's"));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("proof is not base64"))?;
        let credential = self.credential.as_ref().ok_or(ScramError::Failed)?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first.bare, self.server_first
        );
        let signature = mac(
            self.mechanism,
            &credential.stored_key,
            auth_message.as_bytes(),
        );
        if proof.len() != signature.len() {
            return Err(ScramError::Failed);
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        if !constant_time_eq(&hash(self.mechanism, &client_key), &credential.stored_key) {
            return Err(ScramError::Failed);
        }
        let server_signature = mac(
            self.mechanism,
            &credential.server_key,
            auth_message.as_bytes(),
        );
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

/// Iterations announced for a user that does not exist (Kafka's least).
pub const FALLBACK_ITERATIONS: u32 = chronik_api::security::MIN_SCRAM_ITERATIONS;
