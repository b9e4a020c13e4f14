//! The limit rules, and the metadata state machine refusing committed
//! creations beyond the hard caps.

use super::*;
use crate::state_machine::{commands, ApplyOutcome, CommandRejection, MetaStateMachine};
use std::collections::BTreeMap;

#[test]
fn creations_are_checked_against_name_count_and_both_limits() {
    let limits = TopicLimits {
        max_partitions_per_topic: 6,
        max_partitions: 10,
    };
    assert_eq!(limits.check_create("ok", 6, 4), Ok(()));
    assert!(matches!(
        limits.check_create("a/b", 1, 0),
        Err(LimitError::InvalidName { .. })
    ));
    assert!(matches!(
        limits.check_create("zero", 0, 0),
        Err(LimitError::NoPartitions { .. })
    ));
    let huge = limits.check_create("huge", 2_000_000_000, 0).unwrap_err();
    assert!(matches!(huge, LimitError::PerTopic { limit: 6, .. }));
    assert!(
        huge.to_string().contains("--max-partitions-per-topic"),
        "{huge}"
    );
    let over = limits.check_create("six", 6, 5).unwrap_err();
    assert!(matches!(over, LimitError::PerCluster { total: 11, .. }));
    assert_eq!(over.setting(), Some("--max-partitions"));
    // Growing counts only the partitions added.
    assert_eq!(limits.check_partitions("g", 4, 6, 8), Ok(()));
    assert!(limits.check_partitions("g", 4, 6, 9).is_err());
    assert_eq!(TopicLimits::default().max_partitions_per_topic, 1_000);
    assert_eq!(TopicLimits::default().max_partitions, 10_000);
}

/// Applies `cmds` from index 1 on a fresh state machine.
fn replay(cmds: &[Vec<u8>]) -> (MetaStateMachine, Vec<ApplyOutcome>) {
    let mut sm = MetaStateMachine::default();
    sm.set_voters(vec![1, 2, 3]);
    let outcomes = cmds
        .iter()
        .zip(1..)
        .map(|(cmd, index)| sm.apply(index, cmd).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    (sm, outcomes)
}

#[test]
fn a_committed_creation_beyond_the_hard_limits_is_refused_alike_on_every_replay() {
    let log = vec![
        commands::create_topic("huge", 2_000_000_000, BTreeMap::new()),
        commands::create_topic("small", 2, BTreeMap::new()),
        commands::create_partitions("small", u32::MAX),
        commands::create_topic("edge", HARD_MAX_PARTITIONS_PER_TOPIC, BTreeMap::new()),
    ];
    let (sm, outcomes) = replay(&log);
    assert!(
        matches!(
            &outcomes[0],
            ApplyOutcome::Rejected(CommandRejection::PartitionLimit(
                LimitError::PerTopic { .. }
            ))
        ),
        "{:?}",
        outcomes[0]
    );
    assert_eq!(outcomes[1], ApplyOutcome::Done);
    assert!(matches!(
        &outcomes[2],
        ApplyOutcome::Rejected(CommandRejection::PartitionLimit(_))
    ));
    assert_eq!(outcomes[3], ApplyOutcome::Done);
    assert!(!sm.topics().contains_key("huge"));
    // No group was allocated for the refused commands: ids run on from 1.
    let groups: Vec<u64> = sm.topics()["small"]
        .partition_groups
        .iter()
        .map(|g| g.group_id)
        .collect();
    assert_eq!(groups, [1, 2]);
    assert_eq!(sm.topics()["edge"].partition_groups[0].group_id, 3);
    // Every replica, and every restart, ends in the same state.
    let (again, outcomes_again) = replay(&log);
    assert_eq!(again, sm);
    assert_eq!(outcomes_again, outcomes);
    let restored = MetaStateMachine::restore(&sm.snapshot()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restored.topics(), sm.topics());
}

#[test]
fn the_cluster_cap_holds_at_apply_time() {
    let per_topic = HARD_MAX_PARTITIONS_PER_TOPIC;
    let full = HARD_MAX_PARTITIONS / per_topic;
    let mut log: Vec<Vec<u8>> = (0..full)
        .map(|i| commands::create_topic(&format!("t{i}"), per_topic, BTreeMap::new()))
        .collect();
    log.push(commands::create_topic("one-more", 1, BTreeMap::new()));
    let (sm, outcomes) = replay(&log);
    assert!(outcomes[..outcomes.len() - 1]
        .iter()
        .all(|o| *o == ApplyOutcome::Done));
    assert!(matches!(
        outcomes.last(),
        Some(ApplyOutcome::Rejected(CommandRejection::PartitionLimit(
            LimitError::PerCluster { .. }
        )))
    ));
    assert!(!sm.topics().contains_key("one-more"));
}
