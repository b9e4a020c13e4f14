//! Authorization in the handlers, with sessions of named principals: each
//! API checks Kafka's operation on Kafka's resource, answers with Kafka's
//! code, and a denied request changes nothing.

use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::test_harness::{allow, call, grant, handlers, simple_authorizer, ADMIN};
use super::*;
use crate::backend::{MemoryBackend, OffsetSpec, TopicPartition};
use crate::test_support::{batch, fetch, produce, Producer};
use chronik_api::security::{AclOperation, ResourceType};

async fn secured() -> Handlers<MemoryBackend> {
    handlers(simple_authorizer(&[ADMIN]), &[("t", 1), ("hidden", 1)]).await
}

async fn produce_code(h: &Handlers<MemoryBackend>, who: &str) -> i16 {
    let req = produce(vec![(0, Some(batch(2, Producer::NONE, 10)))], -1);
    match call(h, who, ApiKey::Produce, 9, RequestBody::Produce(req)).await {
        ResponseBody::Produce(r) => r.responses[0].partition_responses[0].error_code,
        other => panic!("{other:?}"),
    }
}

async fn fetch_code(h: &Handlers<MemoryBackend>, who: &str) -> i16 {
    match call(
        h,
        who,
        ApiKey::Fetch,
        12,
        RequestBody::Fetch(fetch(0, 0, 0)),
    )
    .await
    {
        ResponseBody::Fetch(r) => r.responses[0].partitions[0].error_code,
        other => panic!("{other:?}"),
    }
}

async fn end_offset(h: &Handlers<MemoryBackend>) -> i64 {
    let tp = TopicPartition::new("t", 0);
    h.backend()
        .list_offset(tp, OffsetSpec::Latest)
        .await
        .expect("offset")
        .offset
}

fn create_acl(op: i8, principal: &str) -> RequestBody {
    RequestBody::CreateAcls(CreateAclsRequest::default().with_creations(vec![
        create_acls_request::AclCreation::default()
            .with_resource_type(2)
            .with_resource_name(sb("t"))
            .with_resource_pattern_type(3)
            .with_principal(sb(principal))
            .with_host(sb("*"))
            .with_operation(op)
            .with_permission_type(3),
    ]))
}

fn acl_codes(body: ResponseBody) -> Vec<i16> {
    match body {
        ResponseBody::CreateAcls(r) => r.results.iter().map(|r| r.error_code).collect(),
        other => panic!("{other:?}"),
    }
}

const DENIED_TOPIC: i16 = 29;
const DENIED_GROUP: i16 = 30;
const DENIED_CLUSTER: i16 = 31;

#[test]
fn codes_are_kafkas() {
    assert_eq!(ResponseError::TopicAuthorizationFailed.code(), DENIED_TOPIC);
    assert_eq!(ResponseError::GroupAuthorizationFailed.code(), DENIED_GROUP);
    assert_eq!(
        ResponseError::ClusterAuthorizationFailed.code(),
        DENIED_CLUSTER
    );
}

#[tokio::test]
async fn without_acls_nothing_is_written_and_a_write_acl_opens_the_topic() {
    let h = secured().await;
    assert_eq!(produce_code(&h, "User:alice").await, DENIED_TOPIC);
    assert_eq!(end_offset(&h).await, 0, "a denied produce writes nothing");
    // Only a principal with Alter on the cluster may create ACLs.
    let denied = call(
        &h,
        "User:alice",
        ApiKey::CreateAcls,
        3,
        create_acl(4, "User:alice"),
    )
    .await;
    assert_eq!(acl_codes(denied), [DENIED_CLUSTER]);
    assert!(h.backend().acls().await.expect("acls").is_empty());
    let created = call(
        &h,
        ADMIN,
        ApiKey::CreateAcls,
        3,
        create_acl(4, "User:alice"),
    )
    .await;
    assert_eq!(acl_codes(created), [0]);
    assert_eq!(produce_code(&h, "User:alice").await, 0);
    assert_eq!(end_offset(&h).await, 2);
    assert_eq!(produce_code(&h, "User:bob").await, DENIED_TOPIC);
    // Write does not imply Read.
    assert_eq!(fetch_code(&h, "User:alice").await, DENIED_TOPIC);
}

#[tokio::test]
async fn read_only_consumes_but_cannot_produce() {
    let h = secured().await;
    assert_eq!(produce_code(&h, ADMIN).await, 0, "super users bypass");
    grant(
        &h,
        ResourceType::Topic,
        "t",
        "User:reader",
        AclOperation::Read,
    )
    .await;
    assert_eq!(fetch_code(&h, "User:reader").await, 0);
    assert_eq!(produce_code(&h, "User:reader").await, DENIED_TOPIC);
    assert_eq!(end_offset(&h).await, 2);
}

#[tokio::test]
async fn metadata_hides_topics_the_principal_may_not_describe() {
    let h = secured().await;
    grant(
        &h,
        ResourceType::Topic,
        "t",
        "User:alice",
        AclOperation::Read,
    )
    .await;
    let all = MetadataRequest::default().with_topics(None);
    let ResponseBody::Metadata(r) = call(
        &h,
        "User:alice",
        ApiKey::Metadata,
        12,
        RequestBody::Metadata(all),
    )
    .await
    else {
        panic!("not metadata")
    };
    let names: Vec<String> = r
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    assert_eq!(names, ["t"]);
    let named = MetadataRequest::default().with_topics(Some(
        ["hidden", "absent"]
            .into_iter()
            .map(|n| {
                metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(n)))
            })
            .collect(),
    ));
    let ResponseBody::Metadata(r) = call(
        &h,
        "User:alice",
        ApiKey::Metadata,
        12,
        RequestBody::Metadata(named),
    )
    .await
    else {
        panic!("not metadata")
    };
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(
        codes,
        [DENIED_TOPIC, DENIED_TOPIC],
        "existing or not, the answer is the same"
    );
    assert!(r.topics.iter().all(|t| t.partitions.is_empty()));
}

#[tokio::test]
async fn group_acls_gate_consumer_groups() {
    let h = secured().await;
    let join = || {
        RequestBody::JoinGroup(
            JoinGroupRequest::default()
                .with_group_id(group_id("g"))
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(10_000)
                .with_protocol_type(sb("consumer"))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(sb("range"))
                .with_metadata(bytes::Bytes::new())]),
        )
    };
    let ResponseBody::JoinGroup(r) = call(&h, "User:alice", ApiKey::JoinGroup, 7, join()).await
    else {
        panic!("not join")
    };
    assert_eq!(r.error_code, DENIED_GROUP);
    assert!(h.groups.list().is_empty(), "a denied join creates no group");
    let find = FindCoordinatorRequest::default().with_key(sb("g"));
    let ResponseBody::FindCoordinator(r) = call(
        &h,
        "User:alice",
        ApiKey::FindCoordinator,
        3,
        RequestBody::FindCoordinator(find.clone()),
    )
    .await
    else {
        panic!("not find")
    };
    assert_eq!(r.error_code, DENIED_GROUP);
    grant(
        &h,
        ResourceType::Group,
        "g",
        "User:alice",
        AclOperation::Read,
    )
    .await;
    let ResponseBody::FindCoordinator(r) = call(
        &h,
        "User:alice",
        ApiKey::FindCoordinator,
        3,
        RequestBody::FindCoordinator(find),
    )
    .await
    else {
        panic!("not find")
    };
    assert_eq!(r.error_code, 0, "Read implies Describe");
    // Version 3 requires a known member id: the first join answers MEMBER_ID_REQUIRED, not a denial.
    let ResponseBody::JoinGroup(r) = call(&h, "User:alice", ApiKey::JoinGroup, 7, join()).await
    else {
        panic!("not join")
    };
    assert_eq!(r.error_code, ResponseError::MemberIdRequired.code());
    // ListGroups shows only the groups the principal may describe.
    let listed = |who: &'static str| {
        let h = &h;
        async move {
            let body = RequestBody::ListGroups(ListGroupsRequest::default());
            match call(h, who, ApiKey::ListGroups, 4, body).await {
                ResponseBody::ListGroups(r) => r.groups.len(),
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(
        h.groups.list().len(),
        1,
        "the allowed join created the group"
    );
    assert_eq!(listed("User:alice").await, 1);
    assert_eq!(listed("User:bob").await, 0);
}

#[tokio::test]
async fn denied_topic_admin_changes_nothing() {
    let h = secured().await;
    let create = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("new"))
            .with_num_partitions(1)
            .with_replication_factor(1),
    ]);
    let ResponseBody::CreateTopics(r) = call(
        &h,
        "User:alice",
        ApiKey::CreateTopics,
        7,
        RequestBody::CreateTopics(create.clone()),
    )
    .await
    else {
        panic!("not create")
    };
    assert_eq!(r.topics[0].error_code, DENIED_TOPIC);
    let delete = DeleteTopicsRequest::default().with_topic_names(vec![topic_name("t")]);
    let ResponseBody::DeleteTopics(r) = call(
        &h,
        "User:alice",
        ApiKey::DeleteTopics,
        4,
        RequestBody::DeleteTopics(delete),
    )
    .await
    else {
        panic!("not delete")
    };
    assert_eq!(r.responses[0].error_code, DENIED_TOPIC);
    let topics: Vec<String> = h
        .backend()
        .list_topics()
        .await
        .expect("topics")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(topics, ["hidden", "t"]);
    // Create on the cluster allows creating any topic.
    grant(
        &h,
        ResourceType::Cluster,
        "kafka-cluster",
        "User:alice",
        AclOperation::Create,
    )
    .await;
    let ResponseBody::CreateTopics(r) = call(
        &h,
        "User:alice",
        ApiKey::CreateTopics,
        7,
        RequestBody::CreateTopics(create),
    )
    .await
    else {
        panic!("not create")
    };
    assert_eq!(r.topics[0].error_code, 0);
}

#[tokio::test]
async fn idempotent_producers_need_idempotent_write_or_write_on_some_topic() {
    let h = secured().await;
    let init = || {
        RequestBody::InitProducerId(
            InitProducerIdRequest::default().with_producer_id(ProducerId(-1)),
        )
    };
    let ResponseBody::InitProducerId(r) =
        call(&h, "User:alice", ApiKey::InitProducerId, 4, init()).await
    else {
        panic!("not init")
    };
    assert_eq!(r.error_code, DENIED_CLUSTER);
    grant(
        &h,
        ResourceType::Topic,
        "t",
        "User:alice",
        AclOperation::Write,
    )
    .await;
    let ResponseBody::InitProducerId(r) =
        call(&h, "User:alice", ApiKey::InitProducerId, 4, init()).await
    else {
        panic!("not init")
    };
    assert_eq!(r.error_code, 0);
}

#[tokio::test]
async fn describe_and_delete_acls_use_filters() {
    let h = secured().await;
    h.backend()
        .create_acls(vec![
            allow(ResourceType::Topic, "t", "User:alice", AclOperation::Read),
            allow(ResourceType::Topic, "*", "User:bob", AclOperation::Read),
            allow(ResourceType::Group, "g", "User:alice", AclOperation::Read),
        ])
        .await
        .expect("acls");
    let describe = DescribeAclsRequest::default()
        .with_resource_type_filter(2)
        .with_resource_name_filter(Some(sb("t")))
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_pattern_type_filter(2)
        .with_operation(1)
        .with_permission_type(1);
    let ResponseBody::DescribeAcls(r) = call(
        &h,
        "User:alice",
        ApiKey::DescribeAcls,
        3,
        RequestBody::DescribeAcls(describe.clone()),
    )
    .await
    else {
        panic!("not describe")
    };
    assert_eq!(r.error_code, DENIED_CLUSTER);
    let ResponseBody::DescribeAcls(r) = call(
        &h,
        ADMIN,
        ApiKey::DescribeAcls,
        3,
        RequestBody::DescribeAcls(describe),
    )
    .await
    else {
        panic!("not describe")
    };
    assert_eq!(r.error_code, 0);
    let names: Vec<String> = r
        .resources
        .iter()
        .map(|r| r.resource_name.to_string())
        .collect();
    assert_eq!(
        names,
        ["*", "t"],
        "MATCH finds the wildcard and the literal"
    );
    let delete = DeleteAclsRequest::default().with_filters(vec![
        delete_acls_request::DeleteAclsFilter::default()
            .with_resource_type_filter(1)
            .with_pattern_type_filter(1)
            .with_principal_filter(Some(sb("User:alice")))
            .with_resource_name_filter(None)
            .with_host_filter(None)
            .with_operation(1)
            .with_permission_type(1),
        // An unknown resource type is refused on its own.
        delete_acls_request::DeleteAclsFilter::default()
            .with_resource_type_filter(0)
            .with_pattern_type_filter(1)
            .with_operation(1)
            .with_permission_type(1),
    ]);
    let ResponseBody::DeleteAcls(r) = call(
        &h,
        "User:alice",
        ApiKey::DeleteAcls,
        3,
        RequestBody::DeleteAcls(delete.clone()),
    )
    .await
    else {
        panic!("not delete")
    };
    assert!(r
        .filter_results
        .iter()
        .all(|f| f.error_code == DENIED_CLUSTER));
    assert_eq!(
        h.backend().acls().await.expect("acls").len(),
        3,
        "a denied delete removes nothing"
    );
    let ResponseBody::DeleteAcls(r) = call(
        &h,
        ADMIN,
        ApiKey::DeleteAcls,
        3,
        RequestBody::DeleteAcls(delete),
    )
    .await
    else {
        panic!("not delete")
    };
    assert_eq!(r.filter_results[0].error_code, 0);
    assert_eq!(r.filter_results[0].matching_acls.len(), 2);
    assert_eq!(
        r.filter_results[1].error_code,
        ResponseError::InvalidRequest.code()
    );
    let left = h.backend().acls().await.expect("acls");
    assert_eq!(
        left,
        [allow(
            ResourceType::Topic,
            "*",
            "User:bob",
            AclOperation::Read
        )]
    );
}

fn alter_scram(user: &str) -> RequestBody {
    RequestBody::AlterUserScramCredentials(
        AlterUserScramCredentialsRequest::default().with_upsertions(vec![
            alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
                .with_name(sb(user))
                .with_mechanism(2)
                .with_iterations(4096)
                .with_salt(bytes::Bytes::from_static(b"salt"))
                .with_salted_password(bytes::Bytes::from_static(&[7u8; 64])),
        ]),
    )
}

async fn scram_users(h: &Handlers<MemoryBackend>, who: &str) -> (i16, usize) {
    let body =
        RequestBody::DescribeUserScramCredentials(DescribeUserScramCredentialsRequest::default());
    match call(h, who, ApiKey::DescribeUserScramCredentials, 0, body).await {
        ResponseBody::DescribeUserScramCredentials(r) => (r.error_code, r.results.len()),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn scram_credentials_need_alter_and_describe_on_the_cluster() {
    let h = secured().await;
    let refused = match call(
        &h,
        "User:alice",
        ApiKey::AlterUserScramCredentials,
        0,
        alter_scram("eve"),
    )
    .await
    {
        ResponseBody::AlterUserScramCredentials(r) => r.results,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0].error_code,
        ResponseError::ClusterAuthorizationFailed.code()
    );
    assert_eq!(
        scram_users(&h, "User:alice").await.0,
        ResponseError::ClusterAuthorizationFailed.code()
    );
    // Nothing was stored; a super user may create and describe.
    assert_eq!(scram_users(&h, ADMIN).await, (0, 0));
    match call(
        &h,
        ADMIN,
        ApiKey::AlterUserScramCredentials,
        0,
        alter_scram("eve"),
    )
    .await
    {
        ResponseBody::AlterUserScramCredentials(r) => assert_eq!(r.results[0].error_code, 0),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(scram_users(&h, ADMIN).await, (0, 1));
    // Alter on the cluster granted to alice lets her manage users.
    grant(
        &h,
        ResourceType::Cluster,
        "kafka-cluster",
        "User:alice",
        AclOperation::Alter,
    )
    .await;
    match call(
        &h,
        "User:alice",
        ApiKey::AlterUserScramCredentials,
        0,
        alter_scram("bob"),
    )
    .await
    {
        ResponseBody::AlterUserScramCredentials(r) => assert_eq!(r.results[0].error_code, 0),
        other => panic!("unexpected {other:?}"),
    }
    // Alter implies Describe, as in Kafka.
    assert_eq!(scram_users(&h, "User:alice").await, (0, 2));
}
