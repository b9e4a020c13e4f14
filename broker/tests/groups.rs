//! Auto-created topics, group administration and consumer groups across a
//! coordinator change, with real clients against 3 broker processes:
//! a librdkafka producer writes to a topic nobody created (through a broker
//! that is not the controller), a consumer with
//! `allow.auto.create.topics=false` creates nothing; kafka-python and
//! confluent-kafka admin clients delete groups and offsets and describe the
//! cluster; a confluent-kafka group keeps its commits, members and
//! generation when the coordinator (the metadata leader) is `kill -9`ed.

mod support;

use chronik_testkit::python::{check, run_script, spawn_script};
use std::time::Duration;
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);

async fn ready_cluster() -> (TestCluster, u64) {
    let c = TestCluster::start(3);
    let leader = c.wait_leader(&[1, 2, 3], 20 * SEC).await;
    c.wait_ready(&[1, 2, 3], 30 * SEC).await;
    (c, leader)
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_a_producer_creates_the_topic_it_writes_to_and_a_consumer_that_may_not_does_not() {
    let (c, leader) = ready_cluster().await;
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    let out = run_script(
        "groups_auto_create.py",
        &[
            "produce",
            "--bootstrap",
            &c.kafka(follower),
            "--topic",
            "nobody-created-me",
        ],
    );
    // num.partitions defaults to 1, as in Kafka.
    assert!(
        out.contains("OK produced 100 to nobody-created-me partitions=1"),
        "{out}"
    );
    let out = run_script(
        "groups_auto_create.py",
        &[
            "no-create",
            "--bootstrap",
            &c.kafka_list(&[1, 2, 3]),
            "--topic",
            "not-for-consumers",
        ],
    );
    assert!(out.contains("OK not-for-consumers not created"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_admin_clients_delete_groups_and_offsets_and_describe_the_cluster() {
    let (c, _) = ready_cluster().await;
    let out = run_script(
        "groups_admin.py",
        &["--bootstrap", &c.kafka_list(&[1, 2, 3])],
    );
    for line in [
        "OK offset delete",
        "OK offset delete refused while subscribed",
        "OK delete_groups",
        "OK kafka-python describe_cluster brokers=[1, 2, 3]",
        "OK confluent delete_consumer_groups",
        "OK confluent describe_cluster brokers=[1, 2, 3]",
    ] {
        assert!(out.contains(line), "missing {line:?} in {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_a_consumer_group_keeps_offsets_and_generation_when_the_coordinator_dies() {
    let (mut c, _) = ready_cluster().await;
    let pause_file = c.data_dir(1).with_file_name("coordinator-killed");
    let ready_file = c.data_dir(1).with_file_name("group-consumed");
    let (pause, ready) = (pause_file.to_string_lossy(), ready_file.to_string_lossy());
    let bootstrap = c.kafka_list(&[1, 2, 3]);
    let mut group = spawn_script(
        "groups_failover.py",
        &[
            "--bootstrap",
            &bootstrap,
            "--pause-file",
            &pause,
            "--ready-file",
            &ready,
        ],
    );
    while !ready_file.exists() {
        if group.try_wait().expect("script status").is_some() {
            let output = group.wait_with_output().expect("script output");
            check("groups_failover.py", &output);
            panic!("groups_failover.py ended before consuming");
        }
        tokio::time::sleep(SEC / 10).await;
    }
    // The coordinator is the metadata leader at the moment of the kill.
    let coordinator = c.wait_leader(&[1, 2, 3], 10 * SEC).await;
    c.kill9(coordinator);
    let survivors: Vec<u64> = (1..=3).filter(|id| *id != coordinator).collect();
    let next = c.wait_leader(&survivors, 30 * SEC).await;
    assert_ne!(next, coordinator);
    std::fs::write(&pause_file, b"killed").expect("tell the members");
    let output = tokio::task::spawn_blocking(move || group.wait_with_output())
        .await
        .expect("join")
        .expect("group output");
    let out = check("groups_failover.py", &output);
    assert!(
        out.contains("OK read 800 records once, no rebalance"),
        "{out}"
    );
}
