//! Produce and fetch formats on a 3-broker cluster of real broker
//! processes: every codec produced and consumed (confluent-kafka,
//! kafka-python, kcat with librdkafka 2.0), topic `compression.type`
//! recompressing and decompressing, `max.message.bytes`, `acks=1` offsets,
//! `LogAppendTime` stamped once by the leader (the same stamps after a
//! leader change), ListOffsets by timestamp per record; and raw requests:
//! corrupted compressed batches refused, Produce v13 / Fetch v18 by topic
//! id, KIP-951 leader hints from a broker that does not lead.

mod produce_kit;
mod support;

use chronik_testkit::kcat;
use chronik_testkit::python::{check, read_line_with, run_script, spawn_script};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use produce_kit::{batch, codecs, fix_crc, Raw};
use std::time::Duration;
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);
const CORRUPT_MESSAGE: i16 = 2;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const INVALID_RECORD: i16 = 87;

fn script(action: &str, bootstrap: &str, extra: &[&str]) -> String {
    let mut args = vec![action, "--bootstrap", bootstrap];
    args.extend_from_slice(extra);
    run_script("produce_formats.py", &args)
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// Partition 0's leader and the topic id, asked through `via`.
async fn leader_and_id(c: &TestCluster, via: u64, topic: &str) -> (u64, uuid::Uuid) {
    let deadline = std::time::Instant::now() + 20 * SEC;
    loop {
        let mut raw = Raw::connect(&c.kafka(via)).await;
        let request = MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name(topic))),
        ]));
        let md: MetadataResponse = raw.call(ApiKey::Metadata, 12, &request).await;
        let t = &md.topics[0];
        let leader = t.partitions.first().map_or(-1, |p| p.leader_id.0);
        if leader > 0 {
            return (u64::try_from(leader).expect("id"), t.topic_id);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no leader for {topic}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn produce_request(
    topic: &str,
    id: uuid::Uuid,
    version: i16,
    records: bytes::Bytes,
) -> ProduceRequest {
    let data =
        TopicProduceData::default().with_partition_data(vec![PartitionProduceData::default()
            .with_index(0)
            .with_records(Some(records))]);
    let data = if version >= 13 {
        data.with_topic_id(id)
    } else {
        data.with_name(name(topic))
    };
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![data])
}

fn fetch_request(topic: &str, id: uuid::Uuid, version: i16) -> FetchRequest {
    let t = FetchTopic::default().with_partitions(vec![FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(0)
        .with_partition_max_bytes(1 << 20)]);
    let t = if version >= 13 {
        t.with_topic_id(id)
    } else {
        t.with_topic(name(topic))
    };
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(100)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![t])
}

async fn produce_code(raw: &mut Raw, topic: &str, records: bytes::BytesMut) -> i16 {
    let request = produce_request(topic, uuid::Uuid::nil(), 9, records.freeze());
    let r: ProduceResponse = raw.call(ApiKey::Produce, 9, &request).await;
    let p = &r.responses[0].partition_responses[0];
    eprintln!("{topic}: error {} ({:?})", p.error_code, p.error_message);
    p.error_code
}

/// Stored codec of every batch of partition 0, read from its leader.
async fn stored_codecs(c: &TestCluster, topic: &str) -> Vec<i16> {
    let (leader, id) = leader_and_id(c, 1, topic).await;
    let mut raw = Raw::connect(&c.kafka(leader)).await;
    let r: FetchResponse = raw
        .call(ApiKey::Fetch, 12, &fetch_request(topic, id, 12))
        .await;
    codecs(
        r.responses[0].partitions[0]
            .records
            .as_deref()
            .unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_every_codec_topic_compression_limits_acks1_and_timestamps_with_real_clients() {
    kcat::require_kcat();
    let c = TestCluster::start(3);
    c.wait_ready(&[1, 2, 3], 30 * SEC).await;
    let all = c.kafka_list(&[1, 2, 3]);
    let out = script("codecs", &all, &[]);
    assert!(
        out.contains("OK recompressed-gzip") && out.contains("OK decompressed"),
        "{out}"
    );
    // The broker stored what the topic says, not what the producer sent.
    assert!(stored_codecs(&c, "recompressed-gzip")
        .await
        .iter()
        .all(|c| *c == 1));
    assert!(stored_codecs(&c, "decompressed")
        .await
        .iter()
        .all(|c| *c == 0));
    assert!(stored_codecs(&c, "codec-zstd")
        .await
        .iter()
        .all(|c| *c == 4));
    // compression.type changed on the existing topic: lz4 (3) as sent
    // before, gzip (1) after.
    let out = script("switch_codec", &all, &[]);
    assert!(out.contains("OK switched compression.type"), "{out}");
    let stored = stored_codecs(&c, "switched").await;
    let first_gzip = stored.iter().position(|c| *c == 1);
    assert!(
        stored.first() == Some(&3)
            && first_gzip.is_some_and(|i| stored[i..].iter().all(|c| *c == 1)),
        "stored codecs {stored:?}"
    );
    let out = script("limits", &all, &[]);
    assert!(out.contains("OK max.message.bytes"), "{out}");
    let out = script("acks1", &all, &[]);
    assert!(out.contains("OK acks=1"), "{out}");
    let out = script("timestamps", &all, &[]);
    assert!(out.contains("OK offsets_for_times"), "{out}");
    // kcat (librdkafka 2.0) negotiates its own versions: snappy in, out.
    let produced = kcat::command(30)
        .args([
            "-b",
            &all,
            "-P",
            "-t",
            "codec-snappy",
            "-z",
            "snappy",
            "-p",
            "0",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(b"kcat-1\nkcat-2\nkcat-3\n")?;
            drop(stdin);
            child.wait()
        })
        .expect("kcat produce");
    assert!(produced.success());
    let consumed = kcat::command(30)
        .args([
            "-b",
            &all,
            "-C",
            "-t",
            "codec-snappy",
            "-p",
            "0",
            "-o",
            "200",
            "-e",
            "-q",
        ])
        .output()
        .expect("kcat consume");
    let text = String::from_utf8_lossy(&consumed.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["kcat-1", "kcat-2", "kcat-3"],
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_raw_corrupt_batches_topic_ids_leader_hints_and_log_append_time() {
    let mut c = TestCluster::start(3);
    c.wait_ready(&[1, 2, 3], 30 * SEC).await;
    let all = c.kafka_list(&[1, 2, 3]);
    script("create", &all, &["--topic", "raw"]);
    let (leader, id) = leader_and_id(&c, 1, "raw").await;
    let mut raw = Raw::connect(&c.kafka(leader)).await;
    let now = 1_700_000_000_000i64;

    // Compressed data that does not decompress (the CRC is right).
    let mut bad = batch(&["a", "b", "c"], &[now; 3], Compression::Gzip);
    let end = bad.len();
    bad[end - 8..end - 4].copy_from_slice(b"oops");
    fix_crc(&mut bad);
    assert_eq!(produce_code(&mut raw, "raw", bad).await, CORRUPT_MESSAGE);
    // A header claiming 4 records (and offsets) over 3 compressed ones.
    let mut lying = batch(&["a", "b", "c"], &[now; 3], Compression::Lz4);
    lying[23..27].copy_from_slice(&3i32.to_be_bytes());
    lying[57..61].copy_from_slice(&4i32.to_be_bytes());
    fix_crc(&mut lying);
    assert_eq!(produce_code(&mut raw, "raw", lying).await, INVALID_RECORD);
    // Codec id 5 does not exist.
    let mut unknown = batch(&["a"], &[now], Compression::None);
    unknown[22] |= 5;
    fix_crc(&mut unknown);
    assert_eq!(
        produce_code(&mut raw, "raw", unknown).await,
        CORRUPT_MESSAGE
    );

    // Produce v13 and Fetch v18 by topic id; max timestamp per record.
    let good = batch(
        &["x", "y", "z"],
        &[now, now + 5000, now + 1000],
        Compression::Zstd,
    );
    let request = produce_request("raw", id, 13, good.freeze());
    let r: ProduceResponse = raw.call(ApiKey::Produce, 13, &request).await;
    assert_eq!(r.responses[0].topic_id, id);
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0), "{p:?}");
    let f: FetchResponse = raw
        .call(ApiKey::Fetch, 18, &fetch_request("raw", id, 18))
        .await;
    assert_eq!(f.responses[0].topic_id, id);
    assert_eq!(
        codecs(
            f.responses[0].partitions[0]
                .records
                .as_deref()
                .unwrap_or_default()
        ),
        [4]
    );
    let lo = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name("raw"))
            .with_partitions(vec![
                ListOffsetsPartition::default().with_timestamp(-3)
            ])]);
    let r: ListOffsetsResponse = raw.call(ApiKey::ListOffsets, 7, &lo).await;
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.offset, p.timestamp), (1, now + 5000), "{p:?}");

    // KIP-951: a broker that does not lead names the leader and its endpoint.
    let other = [1, 2, 3]
        .into_iter()
        .find(|n| *n != leader)
        .expect("follower");
    let mut follower = Raw::connect(&c.kafka(other)).await;
    let request = produce_request(
        "raw",
        id,
        13,
        batch(&["h"], &[now], Compression::None).freeze(),
    );
    let r: ProduceResponse = follower.call(ApiKey::Produce, 13, &request).await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, NOT_LEADER_OR_FOLLOWER);
    assert_eq!(i64::from(p.current_leader.leader_id.0), leader as i64);
    assert!(p.current_leader.leader_epoch > 0, "{p:?}");
    let port = c
        .kafka(leader)
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<i32>().ok());
    assert!(
        r.node_endpoints
            .iter()
            .any(|e| i64::from(e.node_id.0) == leader as i64 && Some(e.port) == port),
        "{r:?}"
    );
    let f: FetchResponse = follower
        .call(ApiKey::Fetch, 16, &fetch_request("raw", id, 16))
        .await;
    let p = &f.responses[0].partitions[0];
    assert_eq!(p.error_code, NOT_LEADER_OR_FOLLOWER);
    assert_eq!(i64::from(p.current_leader.leader_id.0), leader as i64);
    assert!(
        f.node_endpoints
            .iter()
            .any(|e| i64::from(e.node_id.0) == leader as i64),
        "{f:?}"
    );

    // LogAppendTime: stamped once by the leader; a new leader serves the
    // same stamps.
    let out = script("appendtime", &all, &["--create"]);
    let stamps = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("TIMESTAMPS="))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no timestamps in {out}"))
    };
    let first = stamps(&out);
    let (old, _) = leader_and_id(&c, 1, "appendtime").await;
    c.kill9(old);
    let rest: Vec<u64> = [1, 2, 3].into_iter().filter(|n| *n != old).collect();
    let via = c.kafka_list(&rest);
    let deadline = std::time::Instant::now() + 30 * SEC;
    loop {
        let (new, _) = leader_and_id(&c, rest[0], "appendtime").await;
        if new != old {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no new leader");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(stamps(&script("appendtime", &via, &[])), first);
}

/// `acks=1` is answered once committed: killing the leader under an `acks=1`
/// producer loses no acknowledged record, and each is stored at the offset
/// its delivery report gave.
#[tokio::test(flavor = "multi_thread")]
async fn produce_acks1_records_survive_a_leader_kill_at_their_reported_offsets() {
    let mut c = TestCluster::start(3);
    c.wait_ready(&[1, 2, 3], 30 * SEC).await;
    let all = c.kafka_list(&[1, 2, 3]);
    let mut child = spawn_script(
        "produce_formats.py",
        &["acks1_failover", "--bootstrap", &all, "--seconds", "6"],
    );
    let (leader, rest) = read_line_with(&mut child, "LEADER");
    let leader: u64 = leader.trim().parse().expect("leader id");
    tokio::time::sleep(2 * SEC).await;
    c.kill9(leader);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("script output");
    check("produce_formats.py acks1_failover", &output);
    let out = rest.join().expect("script output");
    assert!(out.contains("stored at their reported offsets"), "{out}");
}
