//! The Go clients of Debian (`cargo xtask deps` installs them) against a
//! cluster of three real brokers:
//!
//! - Shopify sarama 1.22: an idempotent producer with acks=all and a
//!   partition consumer reading every record back, a consumer group of two
//!   members that commit and a member that rejoins and resumes from the
//!   committed offsets, and `ClusterAdmin` (topics, partitions, cluster
//!   metadata, groups, offsets).
//! - segmentio kafka-go 0.2.1: what that release can speak to a broker
//!   without the pre-KIP-896 Produce and Fetch versions (metadata, offsets,
//!   topic deletion), and the refusal of its Produce v2 writes.

use chronik_testkit::golang::run_program;
use chronik_testkit::TestCluster;
use std::time::Duration;

const SEC: Duration = Duration::from_secs(1);

async fn three_brokers() -> TestCluster {
    let c = TestCluster::start(3);
    c.wait_ready(&[1, 2, 3], 60 * SEC).await;
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn sarama_idempotent_producer_and_consumer_see_every_record_once() {
    let c = three_brokers().await;
    let out = run_program(
        "sarama",
        &[
            "produce-consume",
            "--bootstrap",
            &c.kafka(2),
            "--topic",
            "go-orders",
            "--count",
            "2000",
        ],
    );
    assert!(out.contains("OK produced and consumed 2000"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sarama_group_of_two_commits_and_a_rejoining_member_resumes() {
    let c = three_brokers().await;
    let out = run_program(
        "sarama",
        &[
            "group",
            "--bootstrap",
            &c.kafka_list(&[1, 2, 3]),
            "--topic",
            "go-shared",
            "--group",
            "go-workers",
            "--count",
            "400",
        ],
    );
    assert!(out.contains("OK group of two read 400"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sarama_admin_manages_topics_and_reads_groups_and_offsets() {
    let c = three_brokers().await;
    let out = run_program(
        "sarama",
        &[
            "admin",
            "--bootstrap",
            &c.kafka(3),
            "--topic",
            "go-admin",
            "--group",
            "go-admin-group",
        ],
    );
    assert!(out.contains("OK admin"), "{out}");
}

/// kafka-go reads the metadata and offsets of records sarama wrote, its own
/// Produce v2 write is refused without appending anything, and it deletes
/// the topic.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_go_reads_metadata_and_offsets_deletes_topics_and_is_refused_produce_v2() {
    let c = three_brokers().await;
    let bootstrap = c.kafka(1);
    let topic = ["--bootstrap", &bootstrap, "--topic", "go-legacy"];
    let out = run_program(
        "sarama",
        &[&["produce-consume"], &topic[..], &["--count", "300"]].concat(),
    );
    assert!(out.contains("OK produced and consumed 300"), "{out}");
    // Sarama 1.22 leaves the batches' max timestamp at -1: after two
    // retention checks (every 2 s) every record must still be there.
    tokio::time::sleep(5 * SEC).await;
    let out = run_program(
        "kafkago",
        &[&["metadata"], &topic[..], &["--count", "300"]].concat(),
    );
    assert!(out.contains("OK metadata: 3 partitions"), "{out}");
    let out = run_program("kafkago", &[&["produce-refused"], &topic[..]].concat());
    assert!(out.contains("OK produce refused"), "{out}");
    // Kafka-go 0.2.1 sends DeleteTopics to the broker it is connected to,
    // and only the controller (the metadata leader) deletes topics.
    let controller = c.kafka(c.wait_leader(&[1, 2, 3], 10 * SEC).await);
    let out = run_program(
        "kafkago",
        &["delete", "--bootstrap", &controller, "--topic", "go-legacy"],
    );
    assert!(out.contains("OK topic deleted"), "{out}");
}
