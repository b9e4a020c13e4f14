//! MemoryBackend behaviour the handlers rely on.

use super::*;
use crate::backend::Acks;
use crate::test_support::{batch, Producer};

fn backend() -> MemoryBackend {
    MemoryBackend::new(MemoryBackendConfig {
        node_id: 1,
        advertised_host: "localhost".to_owned(),
        advertised_port: 9092,
        cluster_id: "c".to_owned(),
    })
}

async fn append(b: &MemoryBackend, count: i32, ts: i64) -> i64 {
    let records = batch(count, Producer::NONE, ts);
    let batches = batch::validate(&records).unwrap_or_else(|e| panic!("{e}"));
    b.append(AppendRequest {
        partition: TopicPartition::new("t", 0),
        records,
        batches,
        acks: Acks::All,
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .base_offset
}

async fn with_topic() -> MemoryBackend {
    let b = backend();
    b.create_topic(TopicSpec {
        name: "t".to_owned(),
        partitions: 2,
        replication_factor: 1,
        configs: BTreeMap::new(),
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    b
}

#[tokio::test]
async fn offsets_are_assigned_consecutively() {
    let b = with_topic().await;
    assert_eq!(append(&b, 3, 0).await, 0);
    assert_eq!(append(&b, 2, 0).await, 3);
}

#[tokio::test]
async fn reads_respect_max_bytes_but_return_one_batch() {
    let b = with_topic().await;
    append(&b, 3, 0).await;
    append(&b, 3, 0).await;
    let read = |offset, max_bytes| {
        b.read(ReadRequest {
            partition: TopicPartition::new("t", 0),
            offset,
            max_bytes,
        })
    };
    let one = read(0, 1).await.unwrap_or_else(|e| panic!("{e}"));
    let all = read(0, 1 << 20).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!one.records.is_empty());
    assert_eq!(all.records.len(), 2 * one.records.len());
    assert_eq!(all.high_watermark, 6);
    let none = read(0, 0).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(none.records.is_empty());
    // From the middle of the second batch: that whole batch.
    let tail = read(4, 1 << 20).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tail.records.len(), one.records.len());
    assert!(matches!(
        read(7, 1).await,
        Err(BackendError::OffsetOutOfRange { .. })
    ));
}

#[tokio::test]
async fn list_offsets_by_spec() {
    let b = with_topic().await;
    append(&b, 2, 1_000).await;
    append(&b, 2, 5_000).await;
    let tp = || TopicPartition::new("t", 0);
    let at = |spec| b.list_offset(tp(), spec);
    assert_eq!(at(OffsetSpec::Earliest).await.map(|o| o.offset), Ok(0));
    assert_eq!(at(OffsetSpec::Latest).await.map(|o| o.offset), Ok(4));
    assert_eq!(
        at(OffsetSpec::Timestamp(2_000)).await.map(|o| o.offset),
        Ok(2)
    );
    assert_eq!(
        at(OffsetSpec::Timestamp(9_000)).await.map(|o| o.offset),
        Ok(-1)
    );
    assert_eq!(
        at(OffsetSpec::MaxTimestamp).await,
        Ok(TimestampOffset {
            offset: 3,
            timestamp: 5_001
        })
    );
}

#[tokio::test]
async fn topic_lifecycle_errors() {
    let b = with_topic().await;
    let spec = TopicSpec {
        name: "t".to_owned(),
        partitions: 1,
        replication_factor: 1,
        configs: BTreeMap::new(),
    };
    assert!(matches!(
        b.create_topic(spec).await,
        Err(BackendError::TopicAlreadyExists { .. })
    ));
    assert!(matches!(
        b.create_partitions("t", 1).await,
        Err(BackendError::InvalidPartitions { .. })
    ));
    assert_eq!(b.create_partitions("t", 5).await, Ok(()));
    assert_eq!(b.delete_topic("t").await, Ok(()));
    assert!(matches!(
        b.delete_topic("t").await,
        Err(BackendError::UnknownTopic { .. })
    ));
}
