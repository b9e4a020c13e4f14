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

fn frame(
    key: kafka_protocol::messages::ApiKey,
    version: i16,
    body: &crate::codec::RequestBody,
) -> bytes::Bytes {
    use kafka_protocol::messages::RequestHeader;
    use kafka_protocol::protocol::Encodable as _;
    let mut buf = bytes::BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .encode(&mut buf, key.request_header_version(version))
        .unwrap_or_else(|e| panic!("{e}"));
    body.encode_into(&mut buf, version)
        .unwrap_or_else(|e| panic!("{e}"));
    buf.freeze()
}

/// Before authenticating, only ApiVersions passes; a v0 handshake is
/// followed by a raw token answered with a raw (length-prefixed) frame.
#[tokio::test]
async fn the_gate_admits_sasl_and_api_versions_only_and_takes_raw_tokens_after_v0() {
    use super::gate::{admit, Gate};
    use crate::codec::RequestBody;
    use kafka_protocol::messages::{
        ApiKey, ApiVersionsRequest, MetadataRequest, SaslHandshakeRequest,
    };
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
    let mut session = SaslSession::new(vec![SaslMechanism::Plain]);
    let metadata = frame(
        ApiKey::Metadata,
        4,
        &RequestBody::Metadata(MetadataRequest::default()),
    );
    assert!(matches!(
        admit(&mut session, &backend, metadata).await,
        Ok(Gate::Refuse(3))
    ));
    let versions = frame(
        ApiKey::ApiVersions,
        3,
        &RequestBody::ApiVersions(ApiVersionsRequest::default()),
    );
    assert!(matches!(
        admit(&mut session, &backend, versions).await,
        Ok(Gate::PassThrough(_))
    ));
    let handshake = frame(
        ApiKey::SaslHandshake,
        0,
        &RequestBody::SaslHandshake(
            SaslHandshakeRequest::default().with_mechanism(crate::handlers::sb("PLAIN")),
        ),
    );
    match admit(&mut session, &backend, handshake).await {
        Ok(Gate::Reply {
            principal: None,
            close: false,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(session.expects_raw_token());
    match admit(
        &mut session,
        &backend,
        bytes::Bytes::from_static(b"\0alice\0pw"),
    )
    .await
    {
        Ok(Gate::Reply {
            bytes,
            principal: Some(p),
            close: false,
        }) => {
            assert_eq!(p, Principal::user("alice"));
            assert_eq!(&bytes[..], &[0, 0, 0, 0], "an empty raw token");
        }
        other => panic!("{other:?}"),
    }
    let mut session = SaslSession::new(vec![SaslMechanism::Plain]);
    let wrong = frame(
        ApiKey::SaslHandshake,
        1,
        &RequestBody::SaslHandshake(
            SaslHandshakeRequest::default().with_mechanism(crate::handlers::sb("GSSAPI")),
        ),
    );
    match admit(&mut session, &backend, wrong).await {
        Ok(Gate::Reply {
            principal: None,
            close: true,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}
