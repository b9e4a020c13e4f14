//! SCRAM against RFC 7677's SCRAM-SHA-256 example, PLAIN, and a session's
//! order of steps.

use super::scram::{parse_client_first, ScramError, ScramExchange};
use super::*;
use crate::backend::{Backend, ScramAlteration};
use crate::{MemoryBackend, MemoryBackendConfig};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kafka_protocol::ResponseError;

const SHA256: ScramMechanism = ScramMechanism::ScramSha256;
const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn rfc_credential() -> ScramCredential {
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap_or_default();
    ScramCredential::from_password(SHA256, b"pencil", &salt, 4096)
}

fn rfc_exchange(credential: Option<ScramCredential>) -> ScramExchange {
    let first = parse_client_first(CLIENT_FIRST.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.user, "user");
    let (exchange, server_first) =
        ScramExchange::start(SHA256, first, credential, SERVER_NONCE, b"unused");
    if server_first != SERVER_FIRST {
        assert!(server_first.starts_with("r=rOprNGfwEbeRWgbNEkqO%hvYD"));
    }
    exchange
}

#[test]
fn rfc_7677_sha256_exchange() {
    let exchange = rfc_exchange(Some(rfc_credential()));
    assert_eq!(
        exchange.finish(CLIENT_FINAL.as_bytes()),
        Ok(SERVER_FINAL.to_string())
    );
    let (_, server_first) = ScramExchange::start(
        SHA256,
        parse_client_first(CLIENT_FIRST.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
        Some(rfc_credential()),
        SERVER_NONCE,
        b"",
    );
    assert_eq!(server_first, SERVER_FIRST);
}

#[test]
fn a_wrong_proof_or_unknown_user_fails_alike() {
    let wrong = rfc_credential();
    let other = ScramCredential::from_password(SHA256, b"pencil2", &wrong.salt, 4096);
    let fails = rfc_exchange(Some(other)).finish(CLIENT_FINAL.as_bytes());
    assert_eq!(fails, Err(ScramError::Failed));
    let unknown = rfc_exchange(None).finish(CLIENT_FINAL.as_bytes());
    assert_eq!(unknown, Err(ScramError::Failed));
    assert_eq!(
        unknown.map_err(|e| e.to_string()),
        fails.map_err(|e| e.to_string())
    );
    // librdkafka < 2.6.1 repeats the client nonce in front: still checked.
    let doubled = CLIENT_FINAL.replace(
        "r=rOprNGfwEbeRWgbNEkqO%",
        "r=rOprNGfwEbeRWgbNEkqOrOprNGfwEbeRWgbNEkqO%",
    );
    assert_eq!(
        rfc_exchange(Some(rfc_credential())).finish(doubled.as_bytes()),
        Err(ScramError::Failed),
        "the proof covers the message as sent"
    );
    let tampered = CLIENT_FINAL.replace("r=rOprNGfwEbeRWgbNEkqO%", "r=rOprNGfwEbeRWgbNEkqX%");
    assert!(matches!(
        rfc_exchange(Some(rfc_credential())).finish(tampered.as_bytes()),
        Err(ScramError::Malformed(_))
    ));
}

#[test]
fn client_first_messages_are_checked() {
    assert_eq!(
        parse_client_first(b"p=tls-unique,,n=u,r=x"),
        Err(ScramError::ChannelBinding)
    );
    assert_eq!(
        parse_client_first(b"n,a=other,n=u,r=x"),
        Err(ScramError::AuthzId)
    );
    assert!(parse_client_first(b"n,a=u,n=u,r=x").is_ok());
    assert!(parse_client_first(b"n,,n=u").is_err());
    assert!(parse_client_first(b"n,,n=a=3Fb,r=x").is_err());
    let escaped = parse_client_first(b"n,,n=a=2Cb=3Dc,r=x").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(escaped.user, "a,b=c");
}

#[test]
fn plain_checks_the_password_against_the_stored_credential() {
    let salt = b"0123456789abcdef";
    let creds = vec![(
        ScramMechanism::ScramSha512,
        ScramCredential::from_password(ScramMechanism::ScramSha512, b"s3cret", salt, 4096),
    )];
    assert!(plain::verify(&creds, b"s3cret"));
    assert!(!plain::verify(&creds, b"s3cret!"));
    assert!(!plain::verify(&[], b"s3cret"));
    let token = plain::parse(b"\0alice\0s3cret").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(token.user, "alice");
    assert_eq!(plain::parse(b"bob\0alice\0pw"), Err(ScramError::AuthzId));
    assert!(plain::parse(b"alice\0pw").is_err());
}

fn backend_with_alice() -> MemoryBackend {
    MemoryBackend::new(MemoryBackendConfig {
        node_id: 1,
        advertised_host: "localhost".into(),
        advertised_port: 9092,
        cluster_id: "c".into(),
    })
}

#[tokio::test]
async fn a_session_follows_handshake_then_authenticate() {
    let backend = backend_with_alice();
    let credential =
        ScramCredential::from_password(ScramMechanism::ScramSha512, b"pw", b"salt-of-alice", 4096);
    backend
        .alter_scram_credentials(vec![ScramAlteration::Upsert {
            user: "alice".into(),
            mechanism: ScramMechanism::ScramSha512,
            credential,
        }])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plain_only = vec![SaslMechanism::Plain];
    let mut session = SaslSession::new(plain_only.clone());
    assert!(matches!(
        session.authenticate(&backend, b"\0alice\0pw").await,
        SaslStep::Fail(ResponseError::IllegalSaslState, _)
    ));
    let mut session = SaslSession::new(plain_only.clone());
    assert_eq!(
        session.handshake("SCRAM-SHA-512", 1),
        Err(ResponseError::UnsupportedSaslMechanism)
    );
    let mut session = SaslSession::new(plain_only.clone());
    assert_eq!(session.handshake("PLAIN", 1), Ok(()));
    assert_eq!(
        session.handshake("PLAIN", 1),
        Err(ResponseError::IllegalSaslState)
    );
    match session.authenticate(&backend, b"\0alice\0pw").await {
        SaslStep::Authenticated(_, p) => assert_eq!(p, Principal::user("alice")),
        other => panic!("{other:?}"),
    }
    let mut session = SaslSession::new(plain_only);
    assert_eq!(session.handshake("PLAIN", 1), Ok(()));
    assert_eq!(
        session.authenticate(&backend, b"\0alice\0nope").await,
        SaslStep::Fail(
            ResponseError::SaslAuthenticationFailed,
            AUTHENTICATION_FAILED.to_string()
        )
    );
}

use crate::handlers::Principal;
