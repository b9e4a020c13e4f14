//! Topic and broker configs on a 3-broker cluster of real processes, with
//! kafka-python's KafkaAdminClient and confluent-kafka's AdminClient:
//! creation with configs (bad ones refused naming the key, validate_only),
//! DescribeConfigs sources and synonyms (the static `--config` value
//! included), AlterConfigs and IncrementalAlterConfigs on topics and
//! brokers, a retention change taking effect on existing data, and the
//! broker's `GET/PUT /v1/config`.

mod support;

use chronik_api::config::DynamicBrokerConfig;
use chronik_api::{ErrorBody, NotLeaderBody};
use chronik_testkit::python::run_script;
use std::time::Duration;
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);

/// A cluster whose brokers read `settings` from a `--config` file.
async fn cluster_with(settings: &str) -> TestCluster {
    cluster_with_args(settings, &[]).await
}

/// The same, with more flags.
async fn cluster_with_args(settings: &str, extra: &[&str]) -> TestCluster {
    let mut c = TestCluster::plan(3);
    let file = c.dir.path().join("broker.conf");
    std::fs::write(&file, settings).expect("write broker.conf");
    c.extra_args = vec!["--config".into(), file.to_string_lossy().into_owned()];
    c.extra_args.extend(extra.iter().map(|a| a.to_string()));
    c.start_all();
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c.wait_ready(&[1, 2, 3], 30 * SEC).await;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_clients_create_alter_and_describe_configs() {
    let c = cluster_with("# static broker configs\nmessage.max.bytes=2000000\nnum.partitions=2\n")
        .await;
    let out = run_script(
        "config_kafka_python.py",
        &[
            "--bootstrap",
            &c.kafka_list(&[1, 2, 3]),
            "--topic",
            "kp",
            "--broker",
            "2",
            "--static",
            "max.message.bytes=2000000",
            "--default-partitions",
            "2",
        ],
    );
    assert!(out.contains("OK kafka-python configs"), "{out}");
    let out = run_script(
        "config_confluent.py",
        &[
            "configs",
            "--bootstrap",
            &c.kafka_list(&[1, 2, 3]),
            "--topic",
            "ck",
            "--broker",
            "3",
        ],
    );
    assert!(out.contains("OK confluent configs"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_changed_with_the_admin_client_takes_effect_without_recreating_the_topic() {
    let c = cluster_with("").await;
    let out = run_script(
        "config_confluent.py",
        &[
            "retention",
            "--bootstrap",
            &c.kafka_list(&[1, 2, 3]),
            "--topic",
            "aged",
        ],
    );
    assert!(out.contains("OK retention changed in place"), "{out}");
}

/// `max.message.bytes` and `cleanup.policy` changed with confluent-kafka's
/// AdminClient on existing topics: the next produce is refused (and let in
/// again), and a delete-policy log is compacted once it becomes `compact`.
#[tokio::test(flavor = "multi_thread")]
async fn size_and_cleanup_policy_changed_with_the_admin_client_apply_to_existing_topics() {
    let c = cluster_with("").await;
    let out = run_script(
        "config_live.py",
        &["--bootstrap", &c.kafka_list(&[1, 2, 3]), "--topic", "live"],
    );
    assert!(
        out.contains("OK max.message.bytes changed in place"),
        "{out}"
    );
    assert!(out.contains("OK cleanup.policy changed in place"), "{out}");
}

async fn put_config(c: &TestCluster, id: u64, body: &str) -> (u16, String) {
    let r = c
        .client
        .put(format!("{}/v1/config", c.specs[&id].http()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("PUT /v1/config");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

async fn get_config(c: &TestCluster, id: u64) -> DynamicBrokerConfig {
    let r = c
        .client
        .get(format!("{}/v1/config", c.specs[&id].http()))
        .send()
        .await
        .expect("GET /v1/config");
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.expect("DynamicBrokerConfig")
}

#[tokio::test(flavor = "multi_thread")]
async fn http_config_replaces_the_dynamic_set_on_the_leader_only() {
    let c = cluster_with("log.retention.ms=3000000\n").await;
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let follower = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("follower");
    assert_eq!(
        get_config(&c, follower).await,
        DynamicBrokerConfig::default()
    );
    let wanted = r#"{"configs":{"log.retention.ms":"60000","compression.type":"lz4"}}"#;
    let (code, body) = put_config(&c, leader, wanted).await;
    assert_eq!(code, 200, "{body}");
    let answered: DynamicBrokerConfig = serde_json::from_str(&body).expect("body");
    assert_eq!(answered.configs["compression.type"], "lz4");
    let (code, body) = put_config(&c, follower, wanted).await;
    assert_eq!(code, 421, "{body}");
    let not_leader: NotLeaderBody = serde_json::from_str(&body).expect("NotLeaderBody");
    assert_eq!(not_leader.leader_id, leader);
    for (bad, key) in [
        (r#"{"configs":{"num.partitions":"3"}}"#, "num.partitions"),
        (
            r#"{"configs":{"log.retention.hours":"3"}}"#,
            "log.retention.hours",
        ),
        (
            r#"{"configs":{"log.retention.ms":"soon"}}"#,
            "log.retention.ms",
        ),
    ] {
        let (code, body) = put_config(&c, leader, bad).await;
        assert_eq!(code, 400, "{body}");
        let error: ErrorBody = serde_json::from_str(&body).expect("ErrorBody");
        assert!(error.error.contains(key), "{}", error.error);
    }
    // Every broker applies the set; a PUT of fewer keys drops the others.
    let deadline = tokio::time::Instant::now() + 10 * SEC;
    while get_config(&c, follower).await != answered {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the set never reached {follower}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, _) = put_config(&c, leader, r#"{"configs":{"compression.type":"gzip"}}"#).await;
    assert_eq!(code, 200);
    let config = get_config(&c, leader).await;
    assert_eq!(config.configs.len(), 1, "{config:?}");
}

#[test]
fn a_bad_config_file_stops_the_broker_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (settings, key) in [
        ("log.retention.hours=1\n", "log.retention.hours"),
        ("num.partitions=0\n", "num.partitions"),
    ] {
        let file = dir.path().join("broker.conf");
        std::fs::write(&file, settings).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chronik-broker"))
            .args(["--node-id", "1", "--config"])
            .arg(&file)
            .env_remove("HOSTNAME")
            .output()
            .expect("run chronik-broker");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(key), "{err}");
    }
}

/// Waits until broker `id` answers `wanted` on `GET /v1/config`.
async fn wait_config(c: &TestCluster, id: u64, wanted: &DynamicBrokerConfig) {
    let deadline = tokio::time::Instant::now() + 30 * SEC;
    loop {
        let got = c
            .client
            .get(format!("{}/v1/config", c.specs[&id].http()))
            .send()
            .await
            .ok();
        let got = match got {
            Some(r) if r.status().is_success() => r.json::<DynamicBrokerConfig>().await.ok(),
            _ => None,
        };
        if got.as_ref() == Some(wanted) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "broker {id} never applied {wanted:?} (has {got:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With a snapshot every 2 entries, the restarted broker loads the set from
/// a snapshot of the metadata state.
#[tokio::test(flavor = "multi_thread")]
async fn the_dynamic_set_survives_a_leader_kill_and_a_restart() {
    let mut c = cluster_with_args("", &["--snapshot-interval", "2"]).await;
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let body = r#"{"configs":{"log.retention.ms":"120000"}}"#;
    let (code, body) = put_config(&c, leader, body).await;
    assert_eq!(code, 200, "{body}");
    let wanted: DynamicBrokerConfig = serde_json::from_str(&body).expect("body");
    c.kill9(leader);
    let others: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    let new_leader = c.wait_leader(&others, 20 * SEC).await;
    wait_config(&c, new_leader, &wanted).await;
    c.spawn(leader);
    wait_config(&c, leader, &wanted).await;
}
