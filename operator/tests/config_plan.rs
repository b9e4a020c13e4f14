//! `spec.config`, pure: every key checked with the broker config table of
//! `chronik_api::config` (unknown or invalid → `InvalidConfig` naming the
//! key), static keys alone in `broker.conf` and its hash (a dynamic change
//! rolls nothing), the push decision against `GET /v1/config`, and the
//! CRD's description of the field kept in step with the table.

mod support;

use std::collections::BTreeMap;

use chronik_api::config::{ConfigError, DynamicBrokerConfig, BROKER_CONFIGS};
use chronik_operator::build::{build_all, CONFIG_HASH_ANNOTATION};
use chronik_operator::crd::ChronikCluster;
use chronik_operator::validate::{
    same_value, validate, validate_config, ValidatedCluster, ValidationError,
};
use kube::CustomResourceExt;

fn spec_config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn cluster_with_config(pairs: &[(&str, &str)]) -> ChronikCluster {
    let mut cluster = support::cluster("orders", 3);
    cluster.spec.config = spec_config(pairs);
    cluster
}

fn validated(pairs: &[(&str, &str)]) -> ValidatedCluster {
    validate(&cluster_with_config(pairs)).expect("valid spec.config")
}

fn dynamic(pairs: &[(&str, &str)]) -> DynamicBrokerConfig {
    DynamicBrokerConfig {
        configs: spec_config(pairs),
    }
}

/// The pod template's config hash and the `broker.conf` text.
fn hash_and_conf(cluster: &ValidatedCluster) -> (String, String) {
    let objects = build_all(cluster);
    let conf = objects.config_map.data.expect("data")["broker.conf"].clone();
    let annotations = objects
        .statefulset
        .spec
        .template
        .metadata
        .expect("metadata")
        .annotations
        .expect("annotations");
    (annotations[CONFIG_HASH_ANNOTATION].clone(), conf)
}

#[test]
fn an_unknown_key_is_invalid_config_naming_the_key() {
    let error = validate(&cluster_with_config(&[
        ("num.partitions", "3"),
        ("log.retention.hours", "12"),
    ]))
    .unwrap_err();
    assert_eq!(
        error,
        ValidationError::InvalidConfig(ConfigError::UnknownKey {
            scope: "broker",
            key: "log.retention.hours".to_string(),
        })
    );
    assert_eq!(error.reason(), "InvalidConfig");
    let message = error.to_string();
    assert!(message.contains("spec.config"), "{message}");
    assert!(message.contains("log.retention.hours"), "{message}");
    assert!(message.contains("docs/kafka.md"), "{message}");
    // A topic config is not a broker config.
    let error = validate(&cluster_with_config(&[("retention.ms", "1000")])).unwrap_err();
    assert!(error.to_string().contains("retention.ms"), "{error}");
}

#[test]
fn an_invalid_value_is_invalid_config_naming_the_key_and_the_rule() {
    for (key, value, expected) in [
        ("log.retention.ms", "a week", "a 64-bit integer"),
        ("log.retention.ms", "-2", "an integer >= -1"),
        ("num.partitions", "0", "an integer >= 1"),
        ("auto.create.topics.enable", "yes", "true or false"),
        ("compression.type", "brotli", "one of producer"),
        (
            "log.cleanup.policy",
            "compact,compact",
            "a list of delete, compact",
        ),
        ("message.max.bytes", "99999999999", "a 32-bit integer"),
    ] {
        let error = validate(&cluster_with_config(&[(key, value)])).unwrap_err();
        assert_eq!(error.reason(), "InvalidConfig", "{key}={value}");
        let message = error.to_string();
        assert!(message.contains(key), "{key}={value}: {message}");
        assert!(message.contains(expected), "{key}={value}: {message}");
    }
    let error = validate(&cluster_with_config(&[("num.partitions", "3\nx=1")])).unwrap_err();
    assert_eq!(
        error,
        ValidationError::InvalidConfigValue {
            key: "num.partitions".to_string()
        }
    );
    assert_eq!(error.reason(), "InvalidConfig");
    // Other spec errors keep their reason.
    let mut even = support::cluster("orders", 4);
    even.spec.config = spec_config(&[("bogus", "1")]);
    assert_eq!(validate(&even).unwrap_err().reason(), "InvalidSpec");
}

#[test]
fn static_keys_go_to_broker_conf_and_dynamic_keys_to_the_pushed_set() {
    let checked = validate_config(&spec_config(&[
        ("num.partitions", " 6 "),
        ("default.replication.factor", "3"),
        ("log.retention.ms", "86400000"),
        ("log.cleanup.policy", "compact, delete"),
        ("message.max.bytes", "2097152"),
    ]))
    .expect("valid");
    assert_eq!(
        checked.static_config,
        spec_config(&[("default.replication.factor", "3"), ("num.partitions", "6")])
    );
    assert_eq!(
        checked.dynamic,
        dynamic(&[
            ("log.cleanup.policy", "compact,delete"),
            ("log.retention.ms", "86400000"),
            ("message.max.bytes", "2097152"),
        ])
    );
    let cluster = validated(&[("num.partitions", "6"), ("log.retention.ms", "86400000")]);
    let (_, conf) = hash_and_conf(&cluster);
    assert_eq!(
        conf,
        "# Generated by chronik-operator from spec.config\nnum.partitions=6\n"
    );
}

#[test]
fn changing_a_dynamic_key_keeps_the_pod_template_and_a_static_key_changes_it() {
    let base = [("num.partitions", "6"), ("log.retention.ms", "86400000")];
    let (hash, _) = hash_and_conf(&validated(&base));
    // Every dynamic key of the table, changed or added: no new hash.
    for key in BROKER_CONFIGS.iter().filter(|k| k.dynamic) {
        let changed = validated(&[("num.partitions", "6"), (key.name, key.default)]);
        assert_eq!(hash_and_conf(&changed).0, hash, "{}", key.name);
    }
    let none = validated(&[("num.partitions", "6")]);
    assert_eq!(hash_and_conf(&none).0, hash, "dynamic key removed");
    // Every static key: a new hash, so the pods roll.
    for key in BROKER_CONFIGS.iter().filter(|k| !k.dynamic) {
        let value = if key.name == "num.partitions" {
            "7"
        } else {
            key.default
        };
        let changed = validated(&[
            ("num.partitions", "6"),
            ("log.retention.ms", "86400000"),
            (key.name, value),
        ]);
        assert_ne!(hash_and_conf(&changed).0, hash, "{}", key.name);
    }
    // A cluster without spec.config keeps the hash it had before dynamic
    // keys left broker.conf (no roll on an operator upgrade).
    let (empty_hash, empty_conf) = hash_and_conf(&validated(&[]));
    assert_eq!(
        empty_conf,
        "# Generated by chronik-operator from spec.config\n"
    );
    assert_eq!(empty_hash, validated_hash_of_header());
}

/// FNV-1a of the header line alone, as main computed it for an empty spec.config.
fn validated_hash_of_header() -> String {
    chronik_operator::build::config_hash("# Generated by chronik-operator from spec.config\n")
}

#[test]
fn the_set_is_pushed_only_when_the_cluster_differs() {
    let cluster = validated(&[
        ("log.retention.ms", "86400000"),
        ("log.cleanup.policy", "compact,delete"),
        ("log.cleaner.min.cleanable.ratio", "0.25"),
    ]);
    let config = &cluster.config;
    let same = dynamic(&[
        ("log.retention.ms", "86400000"),
        ("log.cleanup.policy", "compact, delete"),
        ("log.cleaner.min.cleanable.ratio", "0.250"),
    ]);
    assert!(!config.push_needed(&same), "same values, other spelling");
    let other_value = dynamic(&[
        ("log.retention.ms", "3600000"),
        ("log.cleanup.policy", "compact,delete"),
        ("log.cleaner.min.cleanable.ratio", "0.25"),
    ]);
    assert!(config.push_needed(&other_value));
    let missing = dynamic(&[("log.retention.ms", "86400000")]);
    assert!(config.push_needed(&missing));
    let mut extra = same.clone();
    extra
        .configs
        .insert("message.max.bytes".to_string(), "2097152".to_string());
    assert!(
        config.push_needed(&extra),
        "a key set elsewhere is reverted"
    );
    // No dynamic key in spec.config: an empty cluster set is in step, any
    // other is cleared.
    let plain = validated(&[("num.partitions", "3")]);
    assert!(!plain.config.push_needed(&DynamicBrokerConfig::default()));
    assert!(plain.config.push_needed(&missing));
    assert!(same_value("log.retention.ms", "0100", "100"));
    assert!(!same_value(
        "log.message.timestamp.type",
        "CreateTime",
        "createtime"
    ));
}

/// The schema of `spec.config` in the generated CRD.
fn config_schema() -> serde_json::Value {
    let crd = serde_json::to_value(ChronikCluster::crd()).expect("crd json");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["config"]
        .clone()
}

#[test]
fn the_crd_describes_spec_config_with_the_table() {
    let schema = config_schema();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"]["type"], "string");
    let text = schema["description"].as_str().expect("description");
    for phrase in [
        "docs/kafka.md",
        "\"Configuration\"",
        "InvalidConfig",
        "Degraded",
        "without a restart",
    ] {
        assert!(text.contains(phrase), "{phrase:?} missing in: {text}");
    }
    // The static keys are listed by name, and exactly those.
    let listed = text
        .split("Static keys (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("a list of static keys");
    let listed: Vec<&str> = listed.split(',').map(str::trim).collect();
    let statics: Vec<&str> = BROKER_CONFIGS
        .iter()
        .filter(|k| !k.dynamic)
        .map(|k| k.name)
        .collect();
    assert_eq!(listed, statics);
    // The dynamic keys are named or covered by "the log.* ... configs".
    for key in BROKER_CONFIGS.iter().filter(|k| k.dynamic) {
        assert!(
            key.name.starts_with("log.") || text.contains(key.name),
            "{} not described",
            key.name
        );
    }
}
