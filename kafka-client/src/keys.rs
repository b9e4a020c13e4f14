//! Record keys `<run-id>-<i>`, values, and the checks made on what is read
//! back.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

/// The key of record `i` of a run.
pub fn key(run_id: &str, i: u64) -> String {
    format!("{run_id}-{i}")
}

/// The value of record `i`: its key, padded with `.` to `bytes` bytes (never
/// shorter than the key).
pub fn value(run_id: &str, i: u64, bytes: usize) -> Vec<u8> {
    let mut v = key(run_id, i).into_bytes();
    if v.len() < bytes {
        v.resize(bytes, b'.');
    }
    v
}

/// The `i` of a key of run `run_id`; `None` for keys of other runs.
pub fn parse(run_id: &str, key: &[u8]) -> Option<u64> {
    let key = std::str::from_utf8(key).ok()?;
    let rest = key.strip_prefix(run_id)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// What a consumer saw of one run.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Records of the run read (duplicates included).
    pub consumed: u64,
    /// Distinct keys of the run read.
    pub unique: u64,
    /// Records whose key had been read before.
    pub duplicates: u64,
    /// New keys read after a key with a higher `i` in the same partition.
    pub out_of_order: u64,
    /// Keys `0..expect` never read.
    pub missing: u64,
    /// Records read that belong to no run of this id (other runs' records
    /// in the same topic).
    pub other_runs: u64,
}

/// Accumulates a [`Tally`] record by record.
#[derive(Debug, Default)]
pub struct Checker {
    seen: HashSet<u64>,
    highest: HashMap<i32, u64>,
    tally: Tally,
}

impl Checker {
    /// Counts record `i` read from `partition`.
    pub fn observe(&mut self, partition: i32, i: u64) {
        self.tally.consumed += 1;
        if !self.seen.insert(i) {
            self.tally.duplicates += 1;
            return;
        }
        self.tally.unique += 1;
        let highest = self.highest.entry(partition).or_insert(i);
        if i < *highest {
            self.tally.out_of_order += 1;
        } else {
            *highest = i;
        }
    }

    /// Counts a record of another run.
    pub fn other_run(&mut self) {
        self.tally.other_runs += 1;
    }

    /// Whether every key `0..expect` was read.
    pub fn complete(&self, expect: u64) -> bool {
        (0..expect).all(|i| self.seen.contains(&i))
    }

    /// The tally, with `missing` counted against `expect`.
    pub fn finish(mut self, expect: u64) -> Tally {
        self.tally.missing = (0..expect).filter(|i| !self.seen.contains(i)).count() as u64;
        self.tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_other_runs_are_ignored() {
        assert_eq!(parse("run", key("run", 42).as_bytes()), Some(42));
        assert_eq!(parse("run", b"run-x-4"), None);
        assert_eq!(parse("run", b"other-4"), None);
        assert_eq!(parse("run", b"run-"), None);
        assert_eq!(parse("a-b", b"a-b-7"), Some(7));
    }

    #[test]
    fn values_start_with_the_key_and_have_the_requested_size() {
        let v = value("r", 3, 10);
        assert_eq!(v, b"r-3.......");
        assert_eq!(value("run", 12345, 2), b"run-12345");
    }

    #[test]
    fn checker_counts_duplicates_disorder_and_gaps() {
        let mut c = Checker::default();
        for (p, i) in [(0, 0), (1, 1), (0, 2), (0, 2), (1, 5), (1, 3)] {
            c.observe(p, i);
        }
        c.other_run();
        assert!(!c.complete(6));
        let t = c.finish(6);
        assert_eq!(
            t,
            Tally {
                consumed: 6,
                unique: 5,
                duplicates: 1,
                out_of_order: 1,
                missing: 1,
                other_runs: 1,
            }
        );
    }
}
