//! DeleteRecords through the handlers over the in-memory backend with the
//! simple authorizer: Delete on the topic is required, the log start moves,
//! offsets beyond the high watermark are refused.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::*;
use crate::authz::{AuthorizerKind, AuthzConfig};
use crate::backend::{MemoryBackend, MemoryBackendConfig, OffsetSpec, TopicPartition, TopicSpec};
use crate::test_support::{batch, fetch, produce, Producer};
use chronik_api::security::{AclBinding, AclOperation, AclPermission, PatternType, ResourceType};

const ADMIN: &str = "User:admin";
const ALICE: &str = "User:alice";

async fn handlers() -> Handlers<MemoryBackend> {
    let backend = Arc::new(MemoryBackend::new(MemoryBackendConfig {
        node_id: 1,
        advertised_host: "127.0.0.1".to_owned(),
        advertised_port: 9092,
        cluster_id: "test".to_owned(),
    }));
    let spec = TopicSpec {
        name: "t".to_owned(),
        partitions: 1,
        replication_factor: 1,
        configs: Default::default(),
    };
    backend.create_topic(spec).await.expect("create topic");
    let config = FrontendConfig {
        authz: AuthzConfig {
            kind: AuthorizerKind::Simple,
            super_users: vec![ADMIN.parse().expect("principal")],
            allow_everyone_if_no_acl_found: false,
        },
        ..FrontendConfig::default()
    };
    Handlers::new(backend, config)
}

async fn call(
    h: &Handlers<MemoryBackend>,
    who: &str,
    key: ApiKey,
    version: i16,
    body: RequestBody,
) -> ResponseBody {
    let request = DecodedRequest {
        api_key: key,
        header: RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(1)
            .with_client_id(Some(sb("test"))),
        body: Decoded::Body(Box::new(body)),
    };
    let session = Session {
        client_host: "127.0.0.1".to_owned(),
        listener: "plain".to_owned(),
        principal: who.parse().expect("principal"),
    };
    match h.handle(request, &session).await {
        Some(reply) => reply.body,
        None => panic!("{key:?}: no reply"),
    }
}

/// DeleteRecords of partition 0 of `t` to `offset`: (error code, low watermark).
async fn delete(h: &Handlers<MemoryBackend>, who: &str, version: i16, offset: i64) -> (i16, i64) {
    let request = DeleteRecordsRequest::default()
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(topic_name("t"))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(0)
                .with_offset(offset)])])
        .with_timeout_ms(1000);
    match call(
        h,
        who,
        ApiKey::DeleteRecords,
        version,
        RequestBody::DeleteRecords(request),
    )
    .await
    {
        ResponseBody::DeleteRecords(r) => {
            let p = &r.topics[0].partitions[0];
            (p.error_code, p.low_watermark)
        }
        other => panic!("{other:?}"),
    }
}

async fn earliest(h: &Handlers<MemoryBackend>) -> i64 {
    let tp = TopicPartition::new("t", 0);
    h.backend()
        .list_offset(tp, OffsetSpec::Earliest)
        .await
        .expect("offset")
        .offset
}

#[tokio::test]
async fn delete_records_needs_delete_on_the_topic_and_moves_the_log_start() {
    let h = handlers().await;
    for _ in 0..2 {
        let req = produce(vec![(0, Some(batch(3, Producer::NONE, 10)))], -1);
        let ResponseBody::Produce(r) =
            call(&h, ADMIN, ApiKey::Produce, 9, RequestBody::Produce(req)).await
        else {
            panic!("not a produce response");
        };
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    let denied = ResponseError::TopicAuthorizationFailed.code();
    assert_eq!(delete(&h, ALICE, 2, 3).await, (denied, -1));
    assert_eq!(earliest(&h).await, 0);
    let acl = AclBinding {
        resource_type: ResourceType::Topic,
        resource_name: "t".to_owned(),
        pattern_type: PatternType::Literal,
        principal: ALICE.parse().expect("principal"),
        host: "*".to_owned(),
        operation: AclOperation::Delete,
        permission: AclPermission::Allow,
    };
    h.backend().create_acls(vec![acl]).await.expect("acl");
    for version in 0..=2 {
        assert_eq!(delete(&h, ALICE, version, 3).await, (0, 3));
    }
    assert_eq!(earliest(&h).await, 3);
    let out_of_range = ResponseError::OffsetOutOfRange.code();
    assert_eq!(delete(&h, ALICE, 2, 7).await, (out_of_range, -1));
    assert_eq!(delete(&h, ALICE, 2, -2).await, (out_of_range, -1));
    // -1 = the high watermark.
    assert_eq!(delete(&h, ALICE, 2, -1).await, (0, 6));
    let ResponseBody::Fetch(r) = call(
        &h,
        ADMIN,
        ApiKey::Fetch,
        12,
        RequestBody::Fetch(fetch(0, 0, 0)),
    )
    .await
    else {
        panic!("not a fetch response");
    };
    assert_eq!(r.responses[0].partitions[0].error_code, out_of_range);
}
