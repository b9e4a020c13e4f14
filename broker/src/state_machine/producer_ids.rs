//! Producer ids reserved through the metadata log: a broker proposes
//! `AllocateProducerIds` and hands out ids from the block the command
//! reserved for it. Every replica applies the same commands in the same
//! order, so no id is reserved twice, whichever broker asks, after any
//! restart or leader change.
//!
//! Ids start at 0 and stay below 2^40 in practice: the clock-based ids of
//! earlier versions all had a node id (never 0) in the bits above 40, so
//! the two ranges cannot meet.

use chronik_proto::meta;
use std::collections::BTreeMap;

/// The most ids one command reserves.
pub const MAX_BLOCK: u32 = 1_000_000;

/// A block of producer ids reserved for one broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdBlock {
    /// The request that reserved it (chosen by the broker).
    pub request_id: u64,
    /// Log index of the reserving command.
    pub index: u64,
    /// First id of the block.
    pub first: i64,
    /// How many ids, from `first`.
    pub count: u32,
}

/// The producer id counter and each broker's latest block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerIds {
    next: i64,
    blocks: BTreeMap<u64, ProducerIdBlock>,
}

impl ProducerIds {
    /// The next id to reserve.
    pub fn next(&self) -> i64 {
        self.next
    }

    /// The latest block of each broker, by node id.
    pub fn blocks(&self) -> &BTreeMap<u64, ProducerIdBlock> {
        &self.blocks
    }

    /// Reserves a block at log `index` (a count of 0 or above [`MAX_BLOCK`]
    /// is clamped, so the command always reserves something).
    pub fn allocate(&mut self, index: u64, cmd: &meta::AllocateProducerIds) {
        let count = cmd.count.clamp(1, MAX_BLOCK);
        let block = ProducerIdBlock {
            request_id: cmd.request_id,
            index,
            first: self.next,
            count,
        };
        self.next = self.next.saturating_add(i64::from(count));
        self.blocks.insert(cmd.node_id, block);
    }

    /// The snapshot form.
    pub fn encode(&self) -> (i64, Vec<(u64, meta::ProducerIdBlock)>) {
        let blocks = self
            .blocks
            .iter()
            .map(|(node, b)| {
                let encoded = meta::ProducerIdBlock {
                    request_id: b.request_id,
                    index: b.index,
                    first: b.first,
                    count: b.count,
                };
                (*node, encoded)
            })
            .collect();
        (self.next, blocks)
    }

    /// Rebuilds the counter from a snapshot.
    pub fn decode(
        next: i64,
        blocks: impl IntoIterator<Item = (u64, meta::ProducerIdBlock)>,
    ) -> Self {
        Self {
            next,
            blocks: blocks
                .into_iter()
                .map(|(node, b)| {
                    let block = ProducerIdBlock {
                        request_id: b.request_id,
                        index: b.index,
                        first: b.first,
                        count: b.count,
                    };
                    (node, block)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{commands, MetaStateMachine};

    #[test]
    fn blocks_never_overlap_and_survive_a_snapshot() {
        let mut sm = MetaStateMachine::default();
        let mut seen = Vec::new();
        for (index, node) in [(1, 1), (2, 2), (3, 1), (4, 3)] {
            sm.apply(
                index,
                &commands::allocate_producer_ids(node, index * 10, 100),
            )
            .unwrap();
            let b = sm.producer_id_block(node).unwrap();
            assert_eq!((b.index, b.request_id, b.count), (index, index * 10, 100));
            seen.push(b.first);
        }
        assert_eq!(seen, [0, 100, 200, 300]);
        let restored = MetaStateMachine::restore(&sm.snapshot()).unwrap();
        assert_eq!(restored, sm);
        assert_eq!(restored.digest(), sm.digest());
        let mut again = restored;
        again
            .apply(5, &commands::allocate_producer_ids(2, 7, 0))
            .unwrap();
        let b = again.producer_id_block(2).unwrap();
        assert_eq!(
            (b.first, b.count),
            (400, 1),
            "a zero count still reserves one id"
        );
    }
}
