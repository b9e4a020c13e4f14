//! Judges a [`History`]: what the final reader found against what the
//! producer was told and what the consumer groups committed.
//!
//! - **lost**: an acknowledged record the final reader did not find.
//! - **duplicated**: a record the final reader found more than once
//!   (acknowledged or indeterminate: idempotence must hold for both).
//! - **reordered**: two acknowledged records of a partition stored in another
//!   order than the producer sent them.
//! - **offset conflicts**: one offset acknowledged for two records, or a
//!   record found at another offset than the one it was acknowledged at.
//! - **dirty reads**: a group member consumed a record that is not at that
//!   offset in the final log (it read something that was later lost).
//! - **commits backwards**: a group's acknowledged commits of a partition
//!   going down, or its final committed offset below an acknowledged one.
//!
//! A record whose delivery failed is indeterminate (Jepsen's `info`): it may
//! or may not be stored, and is never counted as lost.

use std::collections::{BTreeMap, HashMap};

use super::history::{seq_of, Event, History};

/// The checker's findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Records acknowledged to the producer.
    pub acknowledged: usize,
    /// Records whose delivery failed (may or may not be stored).
    pub indeterminate: usize,
    /// Records the final reader read.
    pub read: usize,
    /// Acknowledged records missing from the log: (partition, key).
    pub lost: Vec<(i32, String)>,
    /// Records stored more than once: (partition, key, copies).
    pub duplicated: Vec<(i32, String, usize)>,
    /// Pairs of acknowledged records stored out of send order.
    pub reordered: Vec<String>,
    /// Offsets acknowledged for two records, or records stored elsewhere.
    pub offset_conflicts: Vec<String>,
    /// Records consumed by a group that the final log does not hold there.
    pub dirty_reads: Vec<String>,
    /// Committed offsets that went backwards.
    pub commits_backwards: Vec<String>,
}

impl Verdict {
    /// Whether no anomaly was found.
    pub fn is_valid(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.reordered.is_empty()
            && self.offset_conflicts.is_empty()
            && self.dirty_reads.is_empty()
            && self.commits_backwards.is_empty()
    }
}

/// Checks `history` (see the module documentation).
pub fn check(history: &History) -> Verdict {
    let mut v = Verdict::default();
    // (partition, offset) → key, and key → every (partition, offset) stored.
    let mut log: BTreeMap<(i32, i64), String> = BTreeMap::new();
    let mut stored: HashMap<&str, Vec<(i32, i64)>> = HashMap::new();
    let mut acks: Vec<(i32, i64, &str)> = Vec::new();
    for e in &history.events {
        match e {
            Event::Read {
                partition,
                offset,
                key,
            } => {
                v.read += 1;
                if let Some(other) = log.insert((*partition, *offset), key.clone()) {
                    if &other != key {
                        v.offset_conflicts.push(format!(
                            "the reader found {other} and {key} at {partition}/{offset}"
                        ));
                    }
                    continue;
                }
                stored.entry(key).or_default().push((*partition, *offset));
            }
            Event::Ack {
                partition,
                offset,
                key,
            } => acks.push((*partition, *offset, key)),
            Event::Failed { .. } => v.indeterminate += 1,
            _ => {}
        }
    }
    v.acknowledged = acks.len();

    let mut acked_at: HashMap<(i32, i64), &str> = HashMap::new();
    for (p, o, k) in &acks {
        if let Some(other) = acked_at.insert((*p, *o), k) {
            if other != *k {
                v.offset_conflicts
                    .push(format!("offset {p}/{o} acknowledged for {other} and {k}"));
            }
        }
        match stored.get(k).map(Vec::as_slice) {
            None | Some([]) => v.lost.push((*p, k.to_string())),
            Some(places) if !places.contains(&(*p, *o)) => v.offset_conflicts.push(format!(
                "{k} acknowledged at {p}/{o} but stored at {places:?}"
            )),
            Some(_) => {}
        }
    }
    for (k, places) in &stored {
        if places.len() > 1 {
            v.duplicated
                .push((places[0].0, k.to_string(), places.len()));
        }
    }
    v.duplicated.sort();

    // Per partition, acknowledged records in send order must be stored at
    // increasing offsets.
    let mut by_partition: BTreeMap<i32, Vec<(u64, i64, &str)>> = BTreeMap::new();
    for (p, _, k) in &acks {
        if let (Some(seq), Some([(_, o), ..])) = (seq_of(k), stored.get(k).map(Vec::as_slice)) {
            by_partition.entry(*p).or_default().push((seq, *o, k));
        }
    }
    for (p, mut records) in by_partition {
        records.sort();
        for w in records.windows(2) {
            if w[1].1 <= w[0].1 {
                v.reordered.push(format!(
                    "partition {p}: {} (sent first) at {}, {} at {}",
                    w[0].2, w[0].1, w[1].2, w[1].1
                ));
            }
        }
    }

    check_groups(history, &log, &mut v);
    v
}

/// Dirty reads and committed offsets going backwards.
fn check_groups(history: &History, log: &BTreeMap<(i32, i64), String>, v: &mut Verdict) {
    let mut last: HashMap<(&str, i32), i64> = HashMap::new();
    for e in &history.events {
        match e {
            Event::Consumed {
                group,
                partition,
                offset,
                key,
            } if log.get(&(*partition, *offset)) != Some(key) => {
                v.dirty_reads.push(format!(
                    "group {group} consumed {key} at {partition}/{offset}; the log holds {:?}",
                    log.get(&(*partition, *offset))
                ));
            }
            Event::Committed {
                group,
                partition,
                offset,
            } => {
                let prev = last.entry((group, *partition)).or_insert(*offset);
                if *offset < *prev {
                    v.commits_backwards.push(format!(
                        "group {group} partition {partition}: committed {offset} after {prev}"
                    ));
                }
                *prev = (*prev).max(*offset);
            }
            Event::FinalCommitted {
                group,
                partition,
                offset,
            } => {
                if let Some(prev) = last.get(&(group.as_str(), *partition)) {
                    if offset < prev {
                        v.commits_backwards.push(format!(
                            "group {group} partition {partition}: {offset} at the end, \
                             {prev} was acknowledged"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(p: i32, o: i64, seq: u64) -> Event {
        Event::Ack {
            partition: p,
            offset: o,
            key: format!("r-{seq}"),
        }
    }

    fn read(p: i32, o: i64, seq: u64) -> Event {
        Event::Read {
            partition: p,
            offset: o,
            key: format!("r-{seq}"),
        }
    }

    fn commit(o: i64) -> Event {
        Event::Committed {
            group: "g".into(),
            partition: 0,
            offset: o,
        }
    }

    fn verdict(events: Vec<Event>) -> Verdict {
        check(&History { events })
    }

    #[test]
    fn a_clean_history_is_valid() {
        let v = verdict(vec![
            ack(0, 0, 0),
            ack(1, 0, 1),
            ack(0, 1, 2),
            Event::Failed {
                partition: 1,
                key: "r-3".into(),
            },
            commit(1),
            commit(2),
            read(0, 0, 0),
            read(0, 1, 2),
            read(1, 0, 1),
            // The indeterminate record happened to be stored: fine.
            read(1, 1, 3),
        ]);
        assert!(v.is_valid(), "{v:?}");
        assert_eq!((v.acknowledged, v.indeterminate, v.read), (3, 1, 4));
    }

    #[test]
    fn a_missing_acknowledged_record_is_lost_a_missing_failed_one_is_not() {
        let v = verdict(vec![
            ack(0, 0, 0),
            ack(0, 1, 1),
            Event::Failed {
                partition: 0,
                key: "r-2".into(),
            },
            read(0, 0, 0),
        ]);
        assert_eq!(v.lost, vec![(0, "r-1".to_string())]);
        assert!(v.duplicated.is_empty() && v.offset_conflicts.is_empty());
    }

    #[test]
    fn a_record_stored_twice_is_duplicated() {
        let v = verdict(vec![ack(0, 0, 0), read(0, 0, 0), read(0, 1, 0)]);
        assert_eq!(v.duplicated, vec![(0, "r-0".to_string(), 2)]);
        // Reading the same offset twice (a retried fetch) is not.
        let v = verdict(vec![ack(0, 0, 0), read(0, 0, 0), read(0, 0, 0)]);
        assert!(v.is_valid(), "{v:?}");
    }

    #[test]
    fn records_stored_out_of_send_order_are_reordered() {
        let v = verdict(vec![
            ack(0, 1, 0),
            ack(0, 0, 1),
            read(0, 0, 1),
            read(0, 1, 0),
        ]);
        assert_eq!(v.reordered.len(), 1, "{v:?}");
    }

    #[test]
    fn one_offset_for_two_records_is_a_conflict() {
        let v = verdict(vec![ack(0, 0, 0), ack(0, 0, 1), read(0, 0, 1)]);
        assert!(
            v.offset_conflicts
                .iter()
                .any(|c| c.contains("acknowledged for")),
            "{v:?}"
        );
        assert_eq!(v.lost, vec![(0, "r-0".to_string())]);
        // Acknowledged at one offset, stored at another.
        let v = verdict(vec![ack(0, 0, 0), read(0, 3, 0)]);
        assert_eq!(v.offset_conflicts.len(), 1, "{v:?}");
    }

    #[test]
    fn committed_offsets_never_go_backwards() {
        let v = verdict(vec![commit(5), commit(5), commit(3)]);
        assert_eq!(v.commits_backwards.len(), 1, "{v:?}");
        let v = verdict(vec![
            commit(5),
            Event::FinalCommitted {
                group: "g".into(),
                partition: 0,
                offset: 4,
            },
        ]);
        assert_eq!(v.commits_backwards.len(), 1, "{v:?}");
    }

    #[test]
    fn consuming_a_record_the_log_does_not_keep_is_a_dirty_read() {
        let v = verdict(vec![
            Event::Consumed {
                group: "g".into(),
                partition: 0,
                offset: 0,
                key: "r-9".into(),
            },
            read(0, 0, 1),
        ]);
        assert_eq!(v.dirty_reads.len(), 1, "{v:?}");
    }
}
