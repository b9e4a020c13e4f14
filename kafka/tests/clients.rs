//! Real Kafka clients (kcat, kafka-python, confluent-kafka) against
//! `chronik-kafka-dev` on an ephemeral loopback port. Missing clients fail the test.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use chronik_testkit::kcat::require_kcat;
use chronik_testkit::python::{check, run_script};
use support::dev_broker;

#[test]
fn produce_10000_acks_all_and_consume_all_in_order_with_keys_and_headers() {
    let broker = dev_broker(&[]);
    let out = run_script(
        "produce_consume.py",
        &[
            "--bootstrap",
            &broker.bootstrap,
            "--topic",
            "orders",
            "--count",
            "10000",
        ],
    );
    assert!(out.contains("OK produced and consumed 10000"), "{out}");
}

#[test]
fn consumer_group_of_two_splits_commits_and_resumes() {
    let broker = dev_broker(&[]);
    let out = run_script(
        "consumer_group.py",
        &["--bootstrap", &broker.bootstrap, "--topic", "grouped"],
    );
    assert!(out.contains("OK group split and resume"), "{out}");
}

#[test]
fn idempotent_producers_store_each_record_once() {
    let broker = dev_broker(&[]);
    let out = run_script(
        "idempotent_producer.py",
        &["--bootstrap", &broker.bootstrap, "--topic", "idem"],
    );
    assert!(out.contains("OK 4000 idempotent records"), "{out}");
}

fn kcat(args: &[&str], input: Option<&str>) -> String {
    let mut child = chronik_testkit::kcat::command(60)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run kcat: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        if let Some(text) = input {
            stdin
                .write_all(text.as_bytes())
                .unwrap_or_else(|e| panic!("kcat stdin: {e}"));
        }
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("kcat: {e}"));
    check(&format!("kcat {args:?}"), &output)
}

#[test]
fn kcat_lists_produces_and_consumes() {
    require_kcat();
    let broker = dev_broker(&[]);
    let b = broker.bootstrap.as_str();
    run_script(
        "create_topic.py",
        &[
            "--bootstrap",
            b,
            "--topic",
            "kcat-topic",
            "--partitions",
            "3",
        ],
    );
    let listing = kcat(&["-b", b, "-L"], None);
    assert!(
        listing.contains("topic \"kcat-topic\" with 3 partitions"),
        "{listing}"
    );
    let input: String = (0..3000)
        .map(|i| format!("key{}:value{i}\n", i % 50))
        .collect();
    kcat(
        &[
            "-b",
            b,
            "-P",
            "-t",
            "kcat-topic",
            "-K:",
            "-H",
            "origin=kcat",
            "-X",
            "acks=all",
        ],
        Some(&input),
    );
    let consumed = kcat(
        &[
            "-b",
            b,
            "-C",
            "-t",
            "kcat-topic",
            "-e",
            "-q",
            "-f",
            "%p %o %k %s %h\n",
        ],
        None,
    );
    let mut next_offset: BTreeMap<i32, i64> = BTreeMap::new();
    let mut last_value: BTreeMap<i32, i64> = BTreeMap::new();
    let mut count = 0;
    for line in consumed.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 5, "unexpected line {line:?}");
        let partition: i32 = fields[0].parse().expect("partition");
        let offset: i64 = fields[1].parse().expect("offset");
        let value: i64 = fields[3]
            .strip_prefix("value")
            .and_then(|v| v.parse().ok())
            .expect("value");
        assert_eq!(fields[2], format!("key{}", value % 50), "{line}");
        assert_eq!(fields[4], "origin=kcat", "{line}");
        let expected = next_offset.entry(partition).or_insert(0);
        assert_eq!(offset, *expected, "offset gap in partition {partition}");
        *expected += 1;
        let last = last_value.entry(partition).or_insert(-1);
        assert!(value > *last, "order broken in partition {partition}");
        *last = value;
        count += 1;
    }
    assert_eq!(count, 3000);
    assert_eq!(next_offset.len(), 3, "keys should spread over 3 partitions");
}

#[test]
fn compressed_batches_acks_zero_and_confluent_group_and_admin() {
    let broker = dev_broker(&[]);
    let out = run_script(
        "compression_and_admin.py",
        &["--bootstrap", &broker.bootstrap, "--topic", "compressed"],
    );
    assert!(out.contains("OK 2100 records through 4 codecs"), "{out}");
}
