//! Auto-created topics in Metadata, DeleteGroups, OffsetDelete and
//! DescribeCluster through the handlers and the in-memory backend.

use std::time::Duration;

use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::test_harness::{self, allow, handlers, simple_authorizer};
use super::*;
use crate::backend::{CommittedOffset, GroupOffset, MemoryBackend, TopicPartition};
use crate::group::JoinParams;
use chronik_api::security::{AclOperation, ResourceType};

async fn with_config(config: FrontendConfig) -> Handlers<MemoryBackend> {
    handlers(config, &[("t", 2)]).await
}

/// The response to `body` sent by `who` at `version`, as the request its type is.
async fn call(
    h: &Handlers<MemoryBackend>,
    who: &str,
    version: i16,
    body: RequestBody,
) -> ResponseBody {
    let key = match &body {
        RequestBody::Metadata(_) => ApiKey::Metadata,
        RequestBody::DeleteGroups(_) => ApiKey::DeleteGroups,
        RequestBody::OffsetDelete(_) => ApiKey::OffsetDelete,
        RequestBody::DescribeCluster(_) => ApiKey::DescribeCluster,
        other => panic!("not used here: {other:?}"),
    };
    test_harness::call(h, who, key, version, body).await
}

/// Metadata for `names`: each topic's error code.
async fn metadata(
    h: &Handlers<MemoryBackend>,
    who: &str,
    version: i16,
    allow: bool,
    names: &[&str],
) -> Vec<i16> {
    let request = MetadataRequest::default()
        .with_topics(Some(
            names
                .iter()
                .map(|n| {
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(n)))
                })
                .collect(),
        ))
        .with_allow_auto_topic_creation(allow || version < 4);
    match call(h, who, version, RequestBody::Metadata(request)).await {
        ResponseBody::Metadata(r) => r.topics.iter().map(|t| t.error_code).collect(),
        other => panic!("{other:?}"),
    }
}

async fn exists(h: &Handlers<MemoryBackend>, name: &str) -> Option<usize> {
    let topics = h.backend().list_topics().await.expect("topics");
    topics
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.partitions.len())
}

const ANON: &str = "User:ANONYMOUS";

#[tokio::test]
async fn metadata_creates_unknown_topics_as_kafka_does() {
    let h = with_config(FrontendConfig::default()).await;
    let codes = metadata(&h, ANON, 1, true, &["fresh", "bad/name", "t"]).await;
    let leader = ResponseError::LeaderNotAvailable.code();
    let invalid = ResponseError::InvalidTopicException.code();
    assert_eq!(codes, [leader, invalid, 0]);
    assert_eq!(exists(&h, "fresh").await, Some(1), "num.partitions is 1");
    assert_eq!(metadata(&h, ANON, 1, true, &["fresh"]).await, [0]);
    // Until it has a leader, the topic as a whole is not available.
    let tp = TopicPartition::new("fresh", 0);
    assert!(h.backend().set_foreign_leader(&tp, Some(-1)));
    assert_eq!(metadata(&h, ANON, 1, true, &["fresh"]).await, [leader]);
    // v4+: the client's allow_auto_topic_creation=false is honoured.
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    let codes = metadata(&h, ANON, 12, false, &["other", "bad/name"]).await;
    assert_eq!(codes, [unknown, invalid]);
    assert_eq!(exists(&h, "other").await, None);
    // auto.create.topics.enable=false.
    let off = with_config(FrontendConfig {
        auto_create_topics_enable: false,
        ..FrontendConfig::default()
    })
    .await;
    assert_eq!(metadata(&off, ANON, 12, true, &["other"]).await, [unknown]);
    assert_eq!(exists(&off, "other").await, None);
}

#[tokio::test]
async fn auto_creation_needs_create_on_the_cluster_or_the_topic() {
    let h = with_config(simple_authorizer(&[])).await;
    let (alice, bob) = ("User:alice", "User:bob");
    let topic = ResourceType::Topic;
    let acls = vec![
        allow(topic, "a1", alice, AclOperation::Describe),
        allow(topic, "a2", alice, AclOperation::Describe),
        allow(topic, "a2", alice, AclOperation::Create),
        allow(topic, "b", bob, AclOperation::Describe),
        allow(
            ResourceType::Cluster,
            "kafka-cluster",
            bob,
            AclOperation::Create,
        ),
    ];
    h.backend().create_acls(acls).await.expect("acls");
    let denied = ResponseError::TopicAuthorizationFailed.code();
    let leader = ResponseError::LeaderNotAvailable.code();
    assert_eq!(
        metadata(&h, alice, 12, true, &["a1", "a2", "b"]).await,
        [denied, leader, denied]
    );
    assert_eq!(metadata(&h, bob, 12, true, &["b"]).await, [leader]);
    assert_eq!(exists(&h, "a1").await, None);
    assert_eq!(exists(&h, "a2").await, Some(1));
    assert_eq!(exists(&h, "b").await, Some(1));
}

async fn commit(h: &Handlers<MemoryBackend>, group: &str, partitions: &[i32]) {
    let offsets = partitions
        .iter()
        .map(|p| GroupOffset {
            partition: TopicPartition::new("t", *p),
            committed: CommittedOffset {
                offset: 5,
                leader_epoch: -1,
                metadata: None,
            },
        })
        .collect();
    h.backend()
        .commit_offsets(group, offsets)
        .await
        .expect("commit");
}

async fn committed(h: &Handlers<MemoryBackend>, group: &str) -> Vec<i32> {
    let found = h.backend().fetch_offsets(group, None).await.expect("fetch");
    found.iter().map(|o| o.partition.partition).collect()
}

async fn delete_groups(h: &Handlers<MemoryBackend>, groups: &[&str]) -> Vec<i16> {
    let request = DeleteGroupsRequest::default()
        .with_groups_names(groups.iter().map(|g| group_id(g)).collect());
    match call(h, ANON, 2, RequestBody::DeleteGroups(request)).await {
        ResponseBody::DeleteGroups(r) => r.results.iter().map(|r| r.error_code).collect(),
        other => panic!("{other:?}"),
    }
}

/// OffsetDelete of partition 0 of "t": top-level and partition codes.
async fn offset_delete(h: &Handlers<MemoryBackend>, group: &str) -> (i16, Vec<i16>) {
    let request = OffsetDeleteRequest::default()
        .with_group_id(group_id(group))
        .with_topics(vec![
            offset_delete_request::OffsetDeleteRequestTopic::default()
                .with_name(topic_name("t"))
                .with_partitions(vec![
                    offset_delete_request::OffsetDeleteRequestPartition::default(),
                ]),
        ]);
    match call(h, ANON, 0, RequestBody::OffsetDelete(request)).await {
        ResponseBody::OffsetDelete(r) => (
            r.error_code,
            r.topics
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
                .collect(),
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn empty_groups_lose_offsets_and_are_deleted_live_ones_are_not() {
    let h = with_config(FrontendConfig::default()).await;
    commit(&h, "idle", &[0, 1]).await;
    assert_eq!(offset_delete(&h, "idle").await, (0, vec![0]));
    assert_eq!(committed(&h, "idle").await, [1]);
    let not_found = ResponseError::GroupIdNotFound.code();
    assert_eq!(delete_groups(&h, &["idle", "never"]).await, [0, not_found]);
    assert!(committed(&h, "idle").await.is_empty());
    assert_eq!(delete_groups(&h, &["idle"]).await, [not_found]);
    assert_eq!(offset_delete(&h, "idle").await.0, not_found);

    // A member subscribed to "t" (consumer protocol v0 subscription).
    commit(&h, "live", &[0]).await;
    let subscription = bytes::Bytes::from_static(b"\0\0\0\0\0\x01\0\x01t\xff\xff\xff\xff");
    let joined = h
        .groups
        .join(JoinParams {
            group_id: "live".to_owned(),
            member_id: String::new(),
            group_instance_id: None,
            client_id: "c".to_owned(),
            client_host: "h".to_owned(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(5),
            protocol_type: "consumer".to_owned(),
            protocols: vec![("range".to_owned(), subscription)],
            require_known_member_id: false,
        })
        .await;
    assert_eq!(joined.error, None);
    let subscribed = ResponseError::GroupSubscribedToTopic.code();
    assert_eq!(offset_delete(&h, "live").await, (0, vec![subscribed]));
    assert_eq!(committed(&h, "live").await, [0]);
    assert_eq!(
        delete_groups(&h, &["live"]).await,
        [ResponseError::NonEmptyGroup.code()]
    );
}

#[tokio::test]
async fn describe_cluster_lists_brokers_and_refuses_controller_endpoints() {
    let h = with_config(FrontendConfig::default()).await;
    let request =
        DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
    let ResponseBody::DescribeCluster(r) =
        call(&h, ANON, 1, RequestBody::DescribeCluster(request)).await
    else {
        panic!("not a DescribeCluster response")
    };
    assert_eq!(
        (r.error_code, r.controller_id.0, r.brokers.len()),
        (0, 1, 1)
    );
    assert_eq!(r.cluster_id.as_str(), "test");
    assert_ne!(r.cluster_authorized_operations & (1 << 8), 0, "Describe");
    let controllers = DescribeClusterRequest::default().with_endpoint_type(2);
    let ResponseBody::DescribeCluster(r) =
        call(&h, ANON, 1, RequestBody::DescribeCluster(controllers)).await
    else {
        panic!("not a DescribeCluster response")
    };
    assert_eq!(r.error_code, ResponseError::UnsupportedEndpointType.code());
}
