//! The node's errors as the Kafka front end reports them: the one place
//! where Raft-side failures become [`BackendError`]s (and so Kafka error
//! codes).

use crate::node::{AppendError, NodeError};
use crate::state_machine::CommandRejection;
use crate::topic_limits::{LimitError, PER_TOPIC_FLAG};
use chronik_kafka::backend::TopicPartition;
use chronik_kafka::BackendError;

/// A node id as Kafka carries it: `-1` for none (0) or one out of range.
pub(super) fn leader_i32(id: u64) -> i32 {
    if id == 0 {
        -1
    } else {
        i32::try_from(id).unwrap_or(-1)
    }
}

/// Maps a metadata proposal failure to what the Kafka front end reports.
pub(super) fn meta_error(e: NodeError) -> BackendError {
    match e {
        NodeError::Rejected(CommandRejection::TopicExists(topic)) => {
            BackendError::TopicAlreadyExists { topic }
        }
        NodeError::Rejected(CommandRejection::UnknownTopic(topic)) => {
            BackendError::UnknownTopic { topic }
        }
        NodeError::Rejected(CommandRejection::PartitionCount {
            name,
            current,
            requested,
        }) => BackendError::InvalidPartitions {
            topic: name,
            current: i32::try_from(current).unwrap_or(i32::MAX),
            requested: i32::try_from(requested).unwrap_or(i32::MAX),
        },
        NodeError::Rejected(CommandRejection::PartitionLimit(e)) => limit_error(e),
        NodeError::NotLeader { .. } => BackendError::Unavailable {
            reason: "this broker does not lead the metadata group",
        },
        NodeError::Timeout(_) => BackendError::Unavailable {
            reason: "the metadata group did not commit in time",
        },
        _ => BackendError::Unavailable {
            reason: "the metadata group refused the request",
        },
    }
}

/// Maps a topic limit refusal to Kafka's codes: `INVALID_TOPIC_EXCEPTION`
/// for a name, `INVALID_PARTITIONS` for a count below one or over the
/// per-topic limit, `POLICY_VIOLATION` for the cluster limit.
pub(super) fn limit_error(e: LimitError) -> BackendError {
    match e {
        LimitError::InvalidName { name } => BackendError::InvalidTopic {
            topic: name,
            reason: "topic names are 1 to 249 characters of [a-zA-Z0-9._-], not \".\" or \"..\"",
        },
        LimitError::NoPartitions { topic, requested } => BackendError::InvalidPartitions {
            topic,
            current: 0,
            requested: i32::try_from(requested).unwrap_or(i32::MIN),
        },
        LimitError::PerTopic {
            topic,
            requested,
            limit,
        } => BackendError::PartitionLimit {
            topic,
            requested,
            limit: u64::from(limit),
            setting: PER_TOPIC_FLAG,
        },
        e @ LimitError::PerCluster { .. } => BackendError::PolicyViolation {
            message: e.to_string(),
        },
    }
}

/// A local metadata read fails only when the node is gone.
pub(super) fn unavailable(_: NodeError) -> BackendError {
    BackendError::Unavailable {
        reason: "the broker is shutting down",
    }
}

/// Maps a produce's failure in partition `tp` to what the Kafka front end
/// reports.
pub(super) fn append_error(tp: &TopicPartition, e: AppendError) -> BackendError {
    match e {
        AppendError::NotLeader { leader_id, .. } => BackendError::NotLeader {
            topic: tp.topic.clone(),
            partition: tp.partition,
            leader: leader_i32(leader_id),
        },
        AppendError::GroupNotOpen { .. } => BackendError::Unavailable {
            reason: "partition group not created on this broker yet",
        },
        AppendError::ShuttingDown => BackendError::Unavailable {
            reason: "broker shutting down",
        },
        AppendError::InvalidEntry { .. } => BackendError::Unavailable {
            reason: "stored entry is not a valid record set",
        },
        AppendError::Sequence { source, .. } => source.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic_limits::TopicLimits;
    use chronik_kafka::idempotence::SequenceError;

    #[test]
    fn limit_refusals_carry_kafkas_codes() {
        let limits = TopicLimits::default();
        let code = |r: Result<(), LimitError>| r.map_err(|e| limit_error(e).code());
        assert_eq!(code(limits.check_create("a b", 1, 0)), Err(17));
        assert_eq!(code(limits.check_create("t", 0, 0)), Err(37));
        assert_eq!(code(limits.check_create("t", 2_000_000_000, 0)), Err(37));
        assert_eq!(code(limits.check_create("t", 10, 9_995)), Err(44));
        let committed =
            NodeError::Rejected(CommandRejection::PartitionLimit(LimitError::PerTopic {
                topic: "t".into(),
                requested: 20_000,
                limit: 10_000,
            }));
        assert_eq!(meta_error(committed).code(), 37);
    }

    #[test]
    fn produce_failures_keep_their_kafka_errors() {
        let tp = TopicPartition::new("t".to_string(), 2);
        let map = |e| append_error(&tp, e);
        let not_leader = |leader| BackendError::NotLeader {
            topic: "t".into(),
            partition: 2,
            leader,
        };
        let partition_group = 7;
        assert_eq!(
            map(AppendError::NotLeader {
                partition_group,
                leader_id: 3
            }),
            not_leader(3)
        );
        assert_eq!(
            map(AppendError::NotLeader {
                partition_group,
                leader_id: 0
            }),
            not_leader(-1)
        );
        assert!(matches!(
            map(AppendError::ShuttingDown),
            BackendError::Unavailable { .. }
        ));
        assert_eq!(
            map(AppendError::Sequence {
                partition_group,
                source: SequenceError::OutOfOrder {
                    producer_id: 1,
                    sequence: 5,
                    expected: 0
                }
            }),
            BackendError::OutOfOrderSequence {
                producer_id: 1,
                sequence: 5,
                expected: 0
            }
        );
        assert_eq!(
            map(AppendError::Sequence {
                partition_group,
                source: SequenceError::FencedEpoch {
                    producer_id: 1,
                    epoch: 0,
                    current: 1
                }
            }),
            BackendError::InvalidProducerEpoch {
                producer_id: 1,
                epoch: 0,
                current: 1
            }
        );
    }
}
