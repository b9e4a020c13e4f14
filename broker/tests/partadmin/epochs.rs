//! OffsetForLeaderEpoch: the epoch is the partition group's Raft term
//! (Metadata's leader epoch); an epoch ends where the next one starts;
//! Kafka's fencing codes; fetched batches carry the epoch that wrote them;
//! a librdkafka consumer validates its position after a leader kill and
//! goes on without loss, duplicate or reset.

use super::{create_topic, node, raw, wait_leader_where, SEC};
use chronik_testkit::cluster::TestCluster;
use chronik_testkit::python::{self, read_line_with, spawn_script};

const NONE: i16 = 0;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const FENCED_LEADER_EPOCH: i16 = 74;
const UNKNOWN_LEADER_EPOCH: i16 = 75;

#[tokio::test(flavor = "multi_thread")]
async fn offset_for_leader_epoch_ends_each_raft_term_where_the_next_begins() {
    let mut c = TestCluster::start(3);
    let meta = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    create_topic(&c, meta, "epochs", 1).await;
    // Partition 0's preferred leader (broker 1, see `node::balance`) leads
    // first and takes leadership back after its restart.
    let (first, e1) = wait_leader_where(&c, meta, "epochs", 0, 30 * SEC, |l, _| l == 1).await;
    let first_addr = c.kafka(node(first));
    assert_eq!(
        raw::produce(&first_addr, "epochs", 0, "a", 10).await,
        Some((NONE, 0))
    );
    // The current epoch ends at the log end.
    assert_eq!(
        raw::epoch_end(&first_addr, "epochs", 0, e1, e1).await,
        Some((NONE, e1, 10))
    );
    c.kill9(node(first));
    let survivors: Vec<u64> = (1..=3).filter(|id| *id != node(first)).collect();
    let (second, e2) = wait_leader_where(&c, survivors[0], "epochs", 0, 30 * SEC, |l, e| {
        l != first && e > e1
    })
    .await;
    let second_addr = c.kafka(node(second));
    assert_eq!(
        raw::produce(&second_addr, "epochs", 0, "b", 5).await,
        Some((NONE, 10))
    );
    // The old epoch ends where the new leader's began; the new one at the end.
    assert_eq!(
        raw::epoch_end(&second_addr, "epochs", 0, e2, e1).await,
        Some((NONE, e1, 10))
    );
    assert_eq!(
        raw::epoch_end(&second_addr, "epochs", 0, e2, e2).await,
        Some((NONE, e2, 15))
    );
    // A term between them without entries answers the largest earlier epoch.
    if e2 > e1 + 1 {
        let between = raw::epoch_end(&second_addr, "epochs", 0, e2, e2 - 1).await;
        assert_eq!(between, Some((NONE, e1, 10)));
    }
    // Epoch 0, which ListOffsets answers and no record has, keeps a
    // client's position (the log end), so librdkafka sees no truncation.
    assert_eq!(
        raw::epoch_end(&second_addr, "epochs", 0, e2, 0).await,
        Some((NONE, 0, 15))
    );
    assert_eq!(
        raw::epoch_end(&second_addr, "epochs", 0, e2, e2 + 3).await,
        Some((NONE, -1, -1)),
        "an epoch beyond the current one is undefined"
    );
    // Kafka's fencing: a stale client epoch, a future one; then leadership.
    let fenced = raw::epoch_end(&second_addr, "epochs", 0, e1, e1).await;
    assert_eq!(fenced.map(|f| f.0), Some(FENCED_LEADER_EPOCH));
    let unknown = raw::epoch_end(&second_addr, "epochs", 0, e2 + 1, e1).await;
    assert_eq!(unknown.map(|f| f.0), Some(UNKNOWN_LEADER_EPOCH));
    let follower = survivors
        .iter()
        .find(|id| **id != node(second))
        .expect("a follower");
    let answer = raw::epoch_end(&c.kafka(*follower), "epochs", 0, e2, e1).await;
    assert_eq!(answer.map(|f| f.0), Some(NOT_LEADER_OR_FOLLOWER));
    let answer = raw::epoch_end(&second_addr, "epochs", 7, -1, e1).await;
    assert_eq!(answer.map(|f| f.0), Some(UNKNOWN_TOPIC_OR_PARTITION));
    // Fetched batches carry the epoch that wrote them, as Kafka's leader stamps them.
    let batches = raw::batch_epochs(&second_addr, "epochs", 0).await;
    assert_eq!(batches.first().map(|b| b.0), Some(0));
    for (base, epoch) in &batches {
        assert_eq!(*epoch, if *base < 10 { e1 } else { e2 }, "{batches:?}");
    }
    // The killed broker comes back, rebuilds its epochs by replaying its log
    // and takes back its preferred partition: the same answers from it.
    c.spawn(node(first));
    let (third, e3) = wait_leader_where(&c, node(first), "epochs", 0, 60 * SEC, |l, e| {
        l == first && e > e2
    })
    .await;
    let third_addr = c.kafka(node(third));
    assert_eq!(
        raw::epoch_end(&third_addr, "epochs", 0, e3, e1).await,
        Some((NONE, e1, 10))
    );
    assert_eq!(
        raw::epoch_end(&third_addr, "epochs", 0, e3, e2).await,
        Some((NONE, e2, 15))
    );
    assert_eq!(
        raw::epoch_end(&third_addr, "epochs", 0, e3, e3).await,
        Some((NONE, e3, 15))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_librdkafka_consumer_validates_its_position_after_a_leader_kill() {
    consume_across_a_leader_kill("beginning").await;
}

/// The position of a consumer that started at the end comes from
/// ListOffsets (epoch 0): it is kept too, nothing is read twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_librdkafka_consumer_positioned_by_list_offsets_keeps_its_position() {
    consume_across_a_leader_kill("end").await;
}

async fn consume_across_a_leader_kill(start: &str) {
    let mut c = TestCluster::start(3);
    let meta = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    create_topic(&c, meta, "validated", 1).await;
    let (leader, _) = wait_leader_where(&c, meta, "validated", 0, 20 * SEC, |_, _| true).await;
    let go = c.data_dir(1).with_file_name("partadmin-go");
    let go_path = go.to_string_lossy().into_owned();
    let bootstrap = c.kafka_list(&[1, 2, 3]);
    let mut script = spawn_script(
        "partadmin_consumer.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--topic",
            "validated",
            "--count",
            "2000",
            "--go-file",
            &go_path,
            "--start",
            start,
        ],
    );
    let (consumed, rest) = read_line_with(&mut script, "CONSUMED");
    assert_eq!(consumed, "2000");
    c.kill9(node(leader));
    std::fs::write(&go, b"go").expect("let the script go on");
    let output = tokio::task::spawn_blocking(move || script.wait_with_output())
        .await
        .expect("join")
        .expect("script output");
    python::check("partadmin_consumer.py", &output);
    let out = rest.join().expect("script output");
    assert!(
        out.contains("OK consumed 4000 in order, validated"),
        "{out}"
    );
}
