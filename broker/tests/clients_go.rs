//! The Go clients of Debian (`cargo xtask deps` installs them) against a
//! cluster of three real brokers:
//!
//! - Shopify sarama 1.22: an idempotent producer with acks=all and a
//!   partition consumer reading every record back, a consumer group of two
//!   members that commit and a member that rejoins and resumes from the
//!   committed offsets, and `ClusterAdmin` (topics, partitions, cluster
//!   metadata, groups, offsets).
//! - segmentio kafka-go 0.2.1, which speaks Produce v2 and Fetch v2 (message
//!   sets, converted by the broker as Kafka 3.x did): topic creation
//!   (CreateTopics v0), its Writer with each codec and partition Readers
//!   reading every record back exactly once, a group of two Readers that
//!   commit and a member that rejoins and resumes, metadata, offsets and
//!   topic deletion.

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

/// kafka-go reads the metadata and offsets of records sarama wrote, and
/// deletes the topic.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_go_reads_metadata_and_offsets_and_deletes_topics() {
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
    // Kafka-go 0.2.1 sends DeleteTopics to the broker it is connected to,
    // and only the controller (the metadata leader) deletes topics.
    let controller = c.kafka(c.wait_leader(&[1, 2, 3], 10 * SEC).await);
    let out = run_program(
        "kafkago",
        &["delete", "--bootstrap", &controller, "--topic", "go-legacy"],
    );
    assert!(out.contains("OK topic deleted"), "{out}");
}

/// The controller first: kafka-go 0.2.1 sends CreateTopics v0 to the
/// broker it is connected to.
async fn controller_first(c: &TestCluster) -> String {
    let leader = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    let mut ids = vec![leader];
    ids.extend([1, 2, 3].into_iter().filter(|&i| i != leader));
    c.kafka_list(&ids)
}

/// kafka-go's Writer (Produce v2, message sets up-converted) with no
/// compression and with each codec it has, and its partition Readers
/// (Fetch v2, batches down-converted): every record back exactly once,
/// in offset order, keys and values intact.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_go_writer_and_readers_see_every_record_once_with_each_codec() {
    let c = three_brokers().await;
    let brokers = controller_first(&c).await;
    for codec in ["none", "gzip", "snappy", "lz4"] {
        let topic = format!("go-legacy-{codec}");
        let out = run_program(
            "kafkago",
            &[
                "produce-consume",
                "--bootstrap",
                &brokers,
                "--topic",
                &topic,
                "--count",
                "1000",
                "--codec",
                codec,
            ],
        );
        assert!(
            out.contains(&format!("OK produced and consumed 1000 ({codec})")),
            "{out}"
        );
    }
}

/// Two kafka-go group Readers (JoinGroup v1, SyncGroup v0, OffsetCommit
/// v2, OffsetFetch v1) read every record together, committing; a member
/// joining later resumes from the committed offsets.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_go_group_of_two_commits_and_a_rejoining_member_resumes() {
    let c = three_brokers().await;
    let brokers = controller_first(&c).await;
    let out = run_program(
        "kafkago",
        &[
            "group",
            "--bootstrap",
            &brokers,
            "--topic",
            "go-legacy-shared",
            "--group",
            "go-legacy-workers",
            "--count",
            "300",
        ],
    );
    assert!(out.contains("OK group of two read 300"), "{out}");
}
