//! What the handler unit tests share: handlers over an in-memory backend
//! with the topics a test needs, the simple authorizer with its super users,
//! requests sent as a named principal, and ACLs that allow.

use std::sync::Arc;

use chronik_api::security::{AclBinding, AclOperation, AclPermission, PatternType, ResourceType};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use uuid::Uuid;

use super::*;
use crate::backend::{MemoryBackend, MemoryBackendConfig, TopicSpec};

/// The super user of [`simple_authorizer`] configs the tests use.
pub(super) const ADMIN: &str = "User:admin";

/// The front-end config with the simple authorizer, `super_users` and no
/// access where no ACL is found.
pub(super) fn simple_authorizer(super_users: &[&str]) -> FrontendConfig {
    FrontendConfig {
        authz: AuthzConfig {
            kind: AuthorizerKind::Simple,
            super_users: super_users
                .iter()
                .map(|who| who.parse().expect("principal"))
                .collect(),
            allow_everyone_if_no_acl_found: false,
        },
        ..FrontendConfig::default()
    }
}

/// Handlers with `config` over a fresh single-node in-memory backend holding
/// `topics` (name, partitions; no config overrides).
pub(super) async fn handlers(
    config: FrontendConfig,
    topics: &[(&str, i32)],
) -> Handlers<MemoryBackend> {
    let backend = Arc::new(MemoryBackend::new(MemoryBackendConfig {
        node_id: 1,
        advertised_host: "127.0.0.1".to_owned(),
        advertised_port: 9092,
        cluster_id: "test".to_owned(),
    }));
    let h = Handlers::new(backend, config);
    for (name, partitions) in topics {
        create_topic(&h, name, *partitions, &[]).await;
    }
    h
}

/// Creates topic `name` with `partitions` and the config overrides `configs`
/// in the backend of `h`; its id.
pub(super) async fn create_topic(
    h: &Handlers<MemoryBackend>,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Uuid {
    let spec = TopicSpec {
        name: name.to_owned(),
        partitions,
        replication_factor: 1,
        configs: configs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    match h.backend().create_topic(spec).await {
        Ok(info) => info.id,
        Err(e) => panic!("create topic {name}: {e}"),
    }
}

/// A session of principal `who` from 127.0.0.1 on listener `plain`.
pub(super) fn session(who: &str) -> Session {
    Session {
        client_host: "127.0.0.1".to_owned(),
        listener: "plain".to_owned(),
        principal: who.parse().expect("principal"),
    }
}

/// `body` as request `key` at `version` (correlation id 1, client id `test`).
pub(super) fn request(key: ApiKey, version: i16, body: RequestBody) -> DecodedRequest {
    DecodedRequest {
        api_key: key,
        header: RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(1)
            .with_client_id(Some(sb("test"))),
        body: Decoded::Body(Box::new(body)),
    }
}

/// The reply of `h` to `body` as request `key` at `version` in `session`.
pub(super) async fn reply(
    h: &Handlers<MemoryBackend>,
    session: &Session,
    key: ApiKey,
    version: i16,
    body: RequestBody,
) -> Reply {
    match h.handle(request(key, version, body), session).await {
        Some(reply) => reply,
        None => panic!("{key:?}: no reply"),
    }
}

/// The response of `h` to `body` as request `key` at `version` sent by `who`.
pub(super) async fn call(
    h: &Handlers<MemoryBackend>,
    who: &str,
    key: ApiKey,
    version: i16,
    body: RequestBody,
) -> ResponseBody {
    reply(h, &session(who), key, version, body).await.body
}

/// The response of `h` to `body` as request `key` at `version` from an
/// unauthenticated connection.
pub(super) async fn call_anonymous(
    h: &Handlers<MemoryBackend>,
    key: ApiKey,
    version: i16,
    body: RequestBody,
) -> ResponseBody {
    let session = Session::anonymous("127.0.0.1", "plain");
    reply(h, &session, key, version, body).await.body
}

/// An ACL allowing `who` operation `op` on the resource of type `t` named
/// `name` (literally), from any host.
pub(super) fn allow(t: ResourceType, name: &str, who: &str, op: AclOperation) -> AclBinding {
    AclBinding {
        resource_type: t,
        resource_name: name.to_owned(),
        pattern_type: PatternType::Literal,
        principal: who.parse().expect("principal"),
        host: "*".to_owned(),
        operation: op,
        permission: AclPermission::Allow,
    }
}

/// Stores [`allow`]`(t, name, who, op)` in the backend of `h`.
pub(super) async fn grant(
    h: &Handlers<MemoryBackend>,
    t: ResourceType,
    name: &str,
    who: &str,
    op: AclOperation,
) {
    let acl = allow(t, name, who, op);
    h.backend().create_acls(vec![acl]).await.expect("acl");
}
