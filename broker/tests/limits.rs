//! One request cannot take the cluster down: topic creations beyond the
//! partition limits or with bad names are refused before anything is
//! proposed (Kafka through kafka-python, and the HTTP API), produce refuses
//! far-future timestamps, and time retention leaves compacted topics alone.
//! Real broker processes, real clients.

mod support;

use chronik_testkit::python::run_script;
use std::time::Duration;
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);
/// Kafka's `INVALID_TOPIC_EXCEPTION`.
const INVALID_TOPIC: i16 = 17;
/// Kafka's `INVALID_PARTITIONS`.
const INVALID_PARTITIONS: i16 = 37;
/// Kafka's `POLICY_VIOLATION`.
const POLICY_VIOLATION: i16 = 44;

fn limits(args: &[&str]) -> String {
    run_script("limits.py", args)
}

/// The `error_code=N` figure `limits.py create` prints.
fn create_code(bootstrap: &str, topic: &str, partitions: &str, validate_only: bool) -> i16 {
    let mut args = vec![
        "create",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--partitions",
        partitions,
    ];
    if validate_only {
        args.push("--validate-only");
    }
    let out = limits(&args);
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("error_code="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no error code in {out}"))
}

/// The `error_code=N` figure `limits.py grow` prints (CreatePartitions).
fn grow_code(bootstrap: &str, topic: &str, total: &str, validate_only: bool) -> i16 {
    let mut args = vec![
        "grow",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--partitions",
        total,
    ];
    if validate_only {
        args.push("--validate-only");
    }
    let out = limits(&args);
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("error_code="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no error code in {out}"))
}

/// `POST /v1/topics` through node `via`: status code and body.
async fn http_create(c: &TestCluster, via: u64, name: &str, partitions: u64) -> (u16, String) {
    let r = c
        .client
        .post(format!("{}/v1/topics", c.specs[&via].http()))
        .json(&serde_json::json!({"name": name, "partitions": partitions}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /v1/topics: {e}"));
    let code = r.status().as_u16();
    (code, r.text().await.unwrap_or_default())
}

async fn topic_names(c: &TestCluster, id: u64) -> Vec<String> {
    let r = c
        .client
        .get(format!("{}/v1/topics", c.specs[&id].http()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /v1/topics: {e}"));
    let topics: Vec<serde_json::Value> = r.json().await.unwrap_or_else(|e| panic!("{e}"));
    topics
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

/// Every broker still answers, and serves a fresh topic end to end.
async fn assert_cluster_serves(c: &TestCluster, topic: &str) {
    for id in 1..=3 {
        assert!(c.status(id).await.is_some(), "broker {id} is down");
    }
    let out = run_script(
        "produce_consume.py",
        &[
            "--bootstrap",
            &c.kafka_list(&[1, 2, 3]),
            "--topic",
            topic,
            "--count",
            "100",
        ],
    );
    assert!(out.contains("OK produced and consumed 100"), "{out}");
}

/// Waits until every broker registered its addresses (Metadata lists all
/// three), then writes marks through `leader` until two land at consecutive
/// indices (no registration in flight); returns the last index.
async fn quiet_mark(c: &TestCluster, leader: u64) -> u64 {
    let deadline = std::time::Instant::now() + 20 * SEC;
    let all = c.kafka_list(&[1, 2, 3]);
    while !limits(&["brokers", "--bootstrap", &all, "--topic", "-"]).contains("brokers=3") {
        assert!(
            std::time::Instant::now() < deadline,
            "brokers never registered"
        );
        tokio::time::sleep(SEC / 5).await;
    }
    loop {
        let a = c.put_via(leader, "mark", "a").await.expect("put");
        let b = c.put_via(leader, "mark", "b").await.expect("put");
        if b == a + 1 {
            return b;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the metadata log never went quiet"
        );
        tokio::time::sleep(SEC / 5).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_two_billion_partitions_are_refused_before_anything_is_proposed() {
    let c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let before = quiet_mark(&c, leader).await;
    let term = c.status(leader).await.map(|s| s.term);
    let all = c.kafka_list(&[1, 2, 3]);
    assert_eq!(
        create_code(&all, "huge", "2000000000", false),
        INVALID_PARTITIONS
    );
    assert_eq!(
        create_code(&all, "huge", "2000000000", true),
        INVALID_PARTITIONS,
        "validate_only"
    );
    for id in 1..=3 {
        let (code, body) = http_create(&c, id, "huge-http", 2_000_000_000).await;
        assert_eq!(code, 400, "via {id}: {body}");
        assert!(body.contains("max-partitions-per-topic"), "{body}");
    }
    let after = c.put_via(leader, "mark", "after").await.expect("put");
    if c.status(leader).await.map(|s| s.term) == term {
        assert_eq!(after, before + 1, "a refused creation was proposed");
    }
    assert_cluster_serves(&c, "served").await;
    let names = topic_names(&c, leader).await;
    assert!(!names.iter().any(|n| n.starts_with("huge")), "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_cluster_limit_and_topic_names_are_enforced_on_both_apis() {
    let mut c = TestCluster::plan(3);
    c.extra_args = vec![
        "--max-partitions-per-topic".into(),
        "6".into(),
        "--max-partitions".into(),
        "10".into(),
    ];
    c.start_all();
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let all = c.kafka_list(&[1, 2, 3]);
    assert_eq!(create_code(&all, "seven", "7", false), INVALID_PARTITIONS);
    assert_eq!(create_code(&all, "five", "5", false), 0);
    // 5 + 6 > 10 partitions in the cluster.
    assert_eq!(create_code(&all, "six", "6", true), POLICY_VIOLATION);
    assert_eq!(create_code(&all, "six", "6", false), POLICY_VIOLATION);
    let (code, body) = http_create(&c, leader, "six-http", 6).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("max-partitions"), "{body}");
    let long = "x".repeat(250);
    for name in ["bad/name", "..", ".", "spaced name", long.as_str()] {
        assert_eq!(
            create_code(&all, name, "1", false),
            INVALID_TOPIC,
            "{name:?}"
        );
        let (code, body) = http_create(&c, leader, name, 1).await;
        assert_eq!(code, 400, "{name:?}: {body}");
    }
    // Growing a topic is checked alike (CreatePartitions): past the
    // per-topic limit, then past the cluster's (6 + 5 more > 10).
    assert_eq!(grow_code(&all, "five", "7", true), INVALID_PARTITIONS);
    assert_eq!(grow_code(&all, "five", "7", false), INVALID_PARTITIONS);
    assert_eq!(create_code(&all, "ok.name_249-", "1", false), 0);
    assert_eq!(grow_code(&all, "ok.name_249-", "6", true), POLICY_VIOLATION);
    assert_eq!(
        grow_code(&all, "ok.name_249-", "6", false),
        POLICY_VIOLATION
    );
    assert_cluster_serves(&c, "two").await;
}

fn retention(action: &str, bootstrap: &str, topic: &str, extra: &[&str]) -> String {
    let mut args = vec![action, "--bootstrap", bootstrap, "--topic", topic];
    args.extend_from_slice(extra);
    run_script("retention.py", &args)
}

/// The Kafka error name `limits.py produce` printed for one record stamped
/// `skew_ms` away from now.
fn produce_at(bootstrap: &str, topic: &str, skew_ms: i64) -> String {
    let skew = skew_ms.to_string();
    let out = limits(&[
        "produce",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        &format!("--skew-ms={skew}"),
    ]);
    out.split_whitespace()
        .find_map(|w| w.strip_prefix("error="))
        .unwrap_or_else(|| panic!("no error in {out}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_far_future_and_too_old_timestamps_are_refused() {
    let c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let all = c.kafka_list(&[1, 2, 3]);
    let out = retention("create", &all, "clock", &[]);
    assert!(out.contains("OK created clock"), "{out}");
    let hour: i64 = 3_600_000;
    // Kafka 4's default message.timestamp.after.max.ms is one hour.
    assert_eq!(produce_at(&all, "clock", 2 * hour), "INVALID_TIMESTAMP");
    assert_eq!(
        produce_at(&all, "clock", 100 * 365 * 24 * hour),
        "INVALID_TIMESTAMP"
    );
    assert_eq!(produce_at(&all, "clock", 0), "NONE");
    assert_eq!(produce_at(&all, "clock", -30 * 24 * hour), "NONE");
    let out = retention(
        "create",
        &all,
        "strict",
        &["--config", "message.timestamp.before.max.ms=60000"],
    );
    assert!(out.contains("OK created strict"), "{out}");
    assert_eq!(produce_at(&all, "strict", -hour), "INVALID_TIMESTAMP");
    assert_eq!(produce_at(&all, "strict", 0), "NONE");
}

/// `limits.py watermarks` of partition 0: (low, high).
fn watermarks(bootstrap: &str, topic: &str) -> (i64, i64) {
    let out = limits(&["watermarks", "--bootstrap", bootstrap, "--topic", topic]);
    let field = |name: &str| {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    (field("low="), field("high="))
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_time_retention_leaves_a_compacted_topic_whole() {
    let c = TestCluster::start(3);
    c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let all = c.kafka_list(&[1, 2, 3]);
    for (topic, policy) in [("aged", "delete"), ("kept", "compact")] {
        let config = format!("cleanup.policy={policy}");
        let args = ["--config", "retention.ms=1500", "--config", config.as_str()];
        let out = retention("create", &all, topic, &args);
        assert!(out.contains(&format!("OK created {topic}")), "{out}");
        let out = retention("produce", &all, topic, &["--count", "50"]);
        assert!(out.contains("OK produced 50"), "{out}");
    }
    // Retention ran on the deleting topic: all but the newest entry went.
    let out = retention(
        "check",
        &all,
        "aged",
        &["--count", "50", "--min-earliest", "45"],
    );
    assert!(out.contains("earliest=45 latest=50"), "{out}");
    // Two more retention rounds (every 2 s on every replica) on the
    // compacted topic, whose records are just as old.
    tokio::time::sleep(5 * SEC).await;
    assert_eq!(watermarks(&all, "kept"), (0, 50));
}
