//! Proposals waiting for their log entry to be applied.
//!
//! A proposal is identified by the (index, term) its entry got on the leader.
//! When index `i` is applied, the waiter for `i` succeeds if the applied
//! entry has the same term, and fails otherwise (the entry was replaced).
//! Waiters below `i` whose entries were never applied fail likewise.

use super::error::NodeError;
use super::status::Membership;
use std::collections::BTreeMap;
use tokio::sync::oneshot;

/// Who waits for an entry.
pub enum Waiter {
    Command(oneshot::Sender<Result<u64, NodeError>>),
    Membership(oneshot::Sender<Result<Membership, NodeError>>),
}

impl Waiter {
    /// Completes the waiter with an error.
    pub fn fail(self, err: NodeError) {
        match self {
            Waiter::Command(tx) => {
                let _ = tx.send(Err(err));
            }
            Waiter::Membership(tx) => {
                let _ = tx.send(Err(err));
            }
        }
    }
}

/// Waiters by log index.
#[derive(Default)]
pub struct Pending {
    by_index: BTreeMap<u64, (u64, Waiter)>,
}

impl Pending {
    /// Registers a waiter for the entry at `index` in `term`.
    pub fn insert(&mut self, index: u64, term: u64, waiter: Waiter) {
        if let Some((_, old)) = self.by_index.insert(index, (term, waiter)) {
            old.fail(NodeError::Dropped);
        }
    }

    /// Takes the waiter of the entry applied at `index` with `term`, failing
    /// the ones before it and one registered for another term.
    pub fn take(&mut self, index: u64, term: u64) -> Option<Waiter> {
        while let Some(entry) = self.by_index.first_entry() {
            if *entry.key() >= index {
                break;
            }
            entry.remove().1.fail(NodeError::Dropped);
        }
        match self.by_index.remove(&index) {
            Some((t, w)) if t == term => Some(w),
            Some((_, w)) => {
                w.fail(NodeError::Dropped);
                None
            }
            None => None,
        }
    }

    /// Fails every waiter (shutdown).
    pub fn fail_all(&mut self, err: NodeError) {
        for (_, (_, w)) in std::mem::take(&mut self.by_index) {
            w.fail(err.clone());
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_entries_fail_and_matching_ones_succeed() {
        let mut p = Pending::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, _rx2) = oneshot::channel();
        let (tx3, mut rx3) = oneshot::channel();
        p.insert(5, 2, Waiter::Command(tx1));
        p.insert(6, 2, Waiter::Command(tx2));
        p.insert(7, 2, Waiter::Command(tx3));
        assert!(p.take(6, 2).is_some());
        assert_eq!(rx1.try_recv().unwrap(), Err(NodeError::Dropped));
        assert!(
            p.take(7, 3).is_none(),
            "another term at index 7 replaced it"
        );
        assert_eq!(rx3.try_recv().unwrap(), Err(NodeError::Dropped));
        assert!(p.is_empty());
    }
}
