//! DeleteRecords through the handlers over the in-memory backend with the
//! simple authorizer: Delete on the topic is required, the log start moves,
//! offsets beyond the high watermark are refused.

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::ResponseError;

use super::test_harness::{call, grant, handlers, simple_authorizer, ADMIN};
use super::*;
use crate::backend::{MemoryBackend, OffsetSpec, TopicPartition};
use crate::test_support::{batch, fetch, produce, Producer};
use chronik_api::security::{AclOperation, ResourceType};

const ALICE: &str = "User:alice";

/// DeleteRecords of partition 0 of `t` to `offset`: (error code, low watermark).
async fn delete(h: &Handlers<MemoryBackend>, who: &str, version: i16, offset: i64) -> (i16, i64) {
    let request = DeleteRecordsRequest::default()
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(topic_name("t"))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(0)
                .with_offset(offset)])])
        .with_timeout_ms(1000);
    match call(
        h,
        who,
        ApiKey::DeleteRecords,
        version,
        RequestBody::DeleteRecords(request),
    )
    .await
    {
        ResponseBody::DeleteRecords(r) => {
            let p = &r.topics[0].partitions[0];
            (p.error_code, p.low_watermark)
        }
        other => panic!("{other:?}"),
    }
}

async fn earliest(h: &Handlers<MemoryBackend>) -> i64 {
    let tp = TopicPartition::new("t", 0);
    h.backend()
        .list_offset(tp, OffsetSpec::Earliest)
        .await
        .expect("offset")
        .offset
}

#[tokio::test]
async fn delete_records_needs_delete_on_the_topic_and_moves_the_log_start() {
    let h = handlers(simple_authorizer(&[ADMIN]), &[("t", 1)]).await;
    for _ in 0..2 {
        let req = produce(vec![(0, Some(batch(3, Producer::NONE, 10)))], -1);
        let ResponseBody::Produce(r) =
            call(&h, ADMIN, ApiKey::Produce, 9, RequestBody::Produce(req)).await
        else {
            panic!("not a produce response");
        };
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    let denied = ResponseError::TopicAuthorizationFailed.code();
    assert_eq!(delete(&h, ALICE, 2, 3).await, (denied, -1));
    assert_eq!(earliest(&h).await, 0);
    grant(&h, ResourceType::Topic, "t", ALICE, AclOperation::Delete).await;
    for version in 0..=2 {
        assert_eq!(delete(&h, ALICE, version, 3).await, (0, 3));
    }
    assert_eq!(earliest(&h).await, 3);
    let out_of_range = ResponseError::OffsetOutOfRange.code();
    assert_eq!(delete(&h, ALICE, 2, 7).await, (out_of_range, -1));
    assert_eq!(delete(&h, ALICE, 2, -2).await, (out_of_range, -1));
    // -1 = the high watermark.
    assert_eq!(delete(&h, ALICE, 2, -1).await, (0, 6));
    let ResponseBody::Fetch(r) = call(
        &h,
        ADMIN,
        ApiKey::Fetch,
        12,
        RequestBody::Fetch(fetch(0, 0, 0)),
    )
    .await
    else {
        panic!("not a fetch response");
    };
    assert_eq!(r.responses[0].partitions[0].error_code, out_of_range);
}
