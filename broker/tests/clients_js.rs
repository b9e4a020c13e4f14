//! kafkajs 2.2 (Node.js, pinned by `kafka/tests/clients/js/package-lock.json`
//! and installed by `cargo xtask deps`) against a cluster of three real
//! brokers: an idempotent producer with acks=all and a consumer reading
//! every record back, a consumer group of two members that commit and a
//! member that rejoins and resumes from the committed offsets, and the
//! admin client (topics, partitions, cluster metadata, groups, offsets).

use chronik_testkit::node::run_program;
use chronik_testkit::TestCluster;
use std::time::Duration;

const SEC: Duration = Duration::from_secs(1);

async fn three_brokers() -> TestCluster {
    let c = TestCluster::start(3);
    c.wait_ready(&[1, 2, 3], 60 * SEC).await;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn kafkajs_idempotent_producer_and_consumer_see_every_record_once() {
    let c = three_brokers().await;
    let out = run_program(
        "produce_consume.js",
        &[
            "--bootstrap",
            &c.kafka(2),
            "--topic",
            "js-orders",
            "--count",
            "2000",
        ],
    );
    assert!(out.contains("OK produced and consumed 2000"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kafkajs_group_of_two_commits_and_a_rejoining_member_resumes() {
    let c = three_brokers().await;
    let out = run_program(
        "consumer_group.js",
        &[
            "--bootstrap",
            &c.kafka_list(&[1, 2, 3]),
            "--topic",
            "js-shared",
            "--group",
            "js-workers",
            "--count",
            "400",
        ],
    );
    assert!(out.contains("OK group of two read 400"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kafkajs_admin_manages_topics_and_reads_groups_and_offsets() {
    let c = three_brokers().await;
    let out = run_program(
        "admin.js",
        &[
            "--bootstrap",
            &c.kafka(3),
            "--topic",
            "js-admin",
            "--group",
            "js-admin-group",
        ],
    );
    assert!(out.contains("OK admin"), "{out}");
}
