//! Config handler tests over the in-memory backend: IncrementalAlterConfigs
//! operations, AlterConfigs replacing the set, validation naming the key,
//! `validate_only`, and DescribeConfigs sources and synonyms.

use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::test_harness::{self, call_anonymous as call, create_topic, simple_authorizer};
use super::*;
use crate::backend::MemoryBackend;

async fn handlers() -> Handlers<MemoryBackend> {
    let h = test_harness::handlers(FrontendConfig::default(), &[]).await;
    create_topic(&h, "t", 1, &[("retention.ms", "1000")]).await;
    h
}

/// One IncrementalAlterConfigs resource: (error code, message).
async fn incremental(
    handlers: &Handlers<MemoryBackend>,
    resource_type: i8,
    name: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, String) {
    let configs = ops
        .iter()
        .map(|(k, op, v)| {
            AlterableConfig::default()
                .with_name(sb(k))
                .with_config_operation(*op)
                .with_value(v.map(sb))
        })
        .collect();
    let request = IncrementalAlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(sb(name))
            .with_configs(configs)]);
    let body = RequestBody::IncrementalAlterConfigs(request);
    let ResponseBody::IncrementalAlterConfigs(r) =
        call(handlers, ApiKey::IncrementalAlterConfigs, 1, body).await
    else {
        panic!("not an IncrementalAlterConfigs response");
    };
    let r = &r.responses[0];
    (
        r.error_code,
        r.error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

/// The topic's described configs: name → (value, source, synonym names).
async fn describe(
    handlers: &Handlers<MemoryBackend>,
    name: &str,
) -> Vec<(String, String, i8, Vec<String>)> {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    let request = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(sb(name))
            .with_configuration_keys(Some(vec![
                sb("cleanup.policy"),
                sb("retention.ms"),
            ]))]);
    let ResponseBody::DescribeConfigs(r) = call(
        handlers,
        ApiKey::DescribeConfigs,
        4,
        RequestBody::DescribeConfigs(request),
    )
    .await
    else {
        panic!("not a DescribeConfigs response");
    };
    r.results[0]
        .configs
        .iter()
        .map(|c| {
            assert!(c.documentation.is_some() && c.config_type != 0, "{c:?}");
            (
                c.name.to_string(),
                c.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                c.config_source,
                c.synonyms.iter().map(|s| s.name.to_string()).collect(),
            )
        })
        .collect()
}

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

#[tokio::test]
async fn incremental_operations_change_the_overrides() {
    let h = handlers().await;
    let ok = incremental(
        &h,
        2,
        "t",
        &[("cleanup.policy", APPEND, Some("compact"))],
        false,
    )
    .await;
    assert_eq!(ok.0, 0, "{}", ok.1);
    let described = describe(&h, "t").await;
    assert_eq!(
        described[0].1, "delete,compact",
        "APPEND starts from the default"
    );
    assert_eq!(described[0].2, 1);
    let ok = incremental(
        &h,
        2,
        "t",
        &[
            ("cleanup.policy", SUBTRACT, Some("delete")),
            ("retention.ms", DELETE, None),
        ],
        false,
    )
    .await;
    assert_eq!(ok.0, 0, "{}", ok.1);
    let described = describe(&h, "t").await;
    assert_eq!(described[0].1, "compact");
    assert_eq!((described[1].1.as_str(), described[1].2), ("604800000", 5));
    assert_eq!(described[1].3, ["log.retention.ms"]);
    let bad = incremental(&h, 2, "t", &[("retention.ms", APPEND, Some("5"))], false).await;
    assert_eq!(bad.0, ResponseError::InvalidConfig.code());
    assert!(bad.1.contains("retention.ms"), "{}", bad.1);
    let bad = incremental(&h, 2, "t", &[("segment.hours", SET, Some("5"))], false).await;
    assert!(bad.1.contains("segment.hours"), "{}", bad.1);
    let dup = incremental(
        &h,
        2,
        "t",
        &[
            ("retention.ms", SET, Some("5")),
            ("retention.ms", DELETE, None),
        ],
        false,
    )
    .await;
    assert_eq!(dup.0, ResponseError::InvalidRequest.code());
    let missing = incremental(&h, 2, "nope", &[("retention.ms", SET, Some("5"))], false).await;
    assert_eq!(missing.0, ResponseError::UnknownTopicOrPartition.code());
    let dry = incremental(&h, 2, "t", &[("retention.ms", SET, Some("5"))], true).await;
    assert_eq!(dry.0, 0);
    assert_eq!(
        describe(&h, "t").await[1].1,
        "604800000",
        "validate_only changes nothing"
    );
}

#[tokio::test]
async fn a_dynamic_broker_default_is_every_topics_default() {
    let h = handlers().await;
    let ok = incremental(&h, 4, "", &[("log.retention.ms", SET, Some("5000"))], false).await;
    assert_eq!(ok.0, 0, "{}", ok.1);
    let described = describe(&h, "t").await;
    assert_eq!(
        (described[1].1.as_str(), described[1].2),
        ("1000", 1),
        "the override wins"
    );
    assert_eq!(
        described[1].3,
        ["retention.ms", "log.retention.ms", "log.retention.ms"]
    );
    incremental(&h, 2, "t", &[("retention.ms", DELETE, None)], false).await;
    let described = describe(&h, "t").await;
    assert_eq!((described[1].1.as_str(), described[1].2), ("5000", 3));
    let static_key = incremental(&h, 4, "1", &[("num.partitions", SET, Some("3"))], false).await;
    assert_eq!(static_key.0, ResponseError::InvalidConfig.code());
    assert!(static_key.1.contains("num.partitions"), "{}", static_key.1);
    let bad_name = incremental(
        &h,
        4,
        "broker-1",
        &[("log.retention.ms", SET, Some("1"))],
        false,
    )
    .await;
    assert_eq!(bad_name.0, ResponseError::InvalidRequest.code());
}

#[tokio::test]
async fn alter_configs_replaces_the_whole_set() {
    use kafka_protocol::messages::alter_configs_request::{
        AlterConfigsResource as Resource, AlterableConfig as Config,
    };
    let h = handlers().await;
    let request = AlterConfigsRequest::default().with_resources(vec![Resource::default()
        .with_resource_type(2)
        .with_resource_name(sb("t"))
        .with_configs(vec![Config::default()
            .with_name(sb("cleanup.policy"))
            .with_value(Some(sb("compact")))])]);
    let ResponseBody::AlterConfigs(r) = call(
        &h,
        ApiKey::AlterConfigs,
        2,
        RequestBody::AlterConfigs(request),
    )
    .await
    else {
        panic!("not an AlterConfigs response");
    };
    assert_eq!(r.responses[0].error_code, 0);
    let described = describe(&h, "t").await;
    assert_eq!((described[0].1.as_str(), described[0].2), ("compact", 1));
    assert_eq!(described[1].2, 5, "retention.ms is no longer overridden");
}

#[tokio::test]
async fn altering_configs_needs_alter_configs_and_a_denied_change_changes_nothing() {
    let open = handlers().await;
    let h = Handlers::new(open.backend().clone(), simple_authorizer(&[]));
    const ALICE: &str = "User:alice";
    let mut codes = Vec::new();
    for (resource_type, name, key) in [(2, "t", "retention.ms"), (4, "", "log.retention.ms")] {
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(sb(name))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(sb(key))
                    .with_config_operation(SET)
                    .with_value(Some(sb("5")))]),
        ]);
        let body = RequestBody::IncrementalAlterConfigs(request);
        let ResponseBody::IncrementalAlterConfigs(r) =
            test_harness::call(&h, ALICE, ApiKey::IncrementalAlterConfigs, 1, body).await
        else {
            panic!("not an IncrementalAlterConfigs response");
        };
        codes.push(r.responses[0].error_code);
    }
    assert_eq!(
        codes,
        [
            ResponseError::TopicAuthorizationFailed.code(),
            ResponseError::ClusterAuthorizationFailed.code()
        ]
    );
    let described = describe(&open, "t").await;
    assert_eq!((described[1].1.as_str(), described[1].2), ("1000", 1));
}
