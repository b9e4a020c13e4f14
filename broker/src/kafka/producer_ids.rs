//! Producer ids for InitProducerId, reserved in blocks through the metadata
//! log (`AllocateProducerIds`, see `state_machine::producer_ids`): no two
//! brokers, and no two lives of one broker, ever hand out the same id. A
//! broker never reuses a block after a restart: it starts with none and
//! reserves a fresh one.

use crate::node::NodeHandle;
use crate::state_machine::commands;
use chronik_kafka::BackendError;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Ids reserved per command.
pub const BLOCK_SIZE: u32 = 1_000;
/// How long InitProducerId waits for a block before failing (retriable).
const RESERVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a reservation not yet applied is proposed again (the first
/// one may have been dropped, e.g. while no leader was known).
const REPROPOSE_EVERY: Duration = Duration::from_millis(500);
/// How often the local state is checked for the reserved block.
const POLL: Duration = Duration::from_millis(10);

/// The ids of the current block not handed out yet: `next..end`.
#[derive(Debug, Default)]
struct Block {
    next: i64,
    end: i64,
}

/// This broker's producer id source.
pub struct ProducerIdPool {
    node: NodeHandle,
    node_id: u64,
    block: Mutex<Block>,
}

impl ProducerIdPool {
    /// A pool with no block yet: the first call reserves one.
    pub fn new(node: NodeHandle, node_id: u64) -> Self {
        Self {
            node,
            node_id,
            block: Mutex::new(Block::default()),
        }
    }

    /// A producer id no broker handed out before.
    pub async fn next_id(&self) -> Result<i64, BackendError> {
        // Held across a reservation: requests on this broker wait for it
        // rather than reserving blocks of their own.
        let mut block = self.block.lock().await;
        if block.next >= block.end {
            *block = self.reserve().await?;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }

    /// Proposes a reservation (again, until applied) and waits until the
    /// local state holds the block it reserved.
    async fn reserve(&self) -> Result<Block, BackendError> {
        let (a, b) = uuid::Uuid::new_v4().as_u64_pair();
        let request_id = a ^ b;
        let cmd = commands::allocate_producer_ids(self.node_id, request_id, BLOCK_SIZE);
        let deadline = Instant::now() + RESERVE_TIMEOUT;
        let mut next_proposal = Instant::now();
        let unavailable = |_| BackendError::Unavailable {
            reason: "the broker is shutting down",
        };
        let node_id = self.node_id;
        while Instant::now() < deadline {
            if Instant::now() >= next_proposal {
                self.node.forward(cmd.clone()).await.map_err(unavailable)?;
                next_proposal = Instant::now() + REPROPOSE_EVERY;
            }
            let block = self
                .node
                .query(move |sm| sm.producer_id_block(node_id))
                .await
                .map_err(unavailable)?;
            // A repeated proposal may reserve a second block for the same
            // request; whichever is latest is ours, the other is never used.
            if let Some(b) = block.filter(|b| b.request_id == request_id) {
                tracing::debug!(
                    first = b.first,
                    count = b.count,
                    index = b.index,
                    "reserved producer ids"
                );
                return Ok(Block {
                    next: b.first,
                    end: b.first.saturating_add(i64::from(b.count)),
                });
            }
            tokio::time::sleep(POLL).await;
        }
        Err(BackendError::Unavailable {
            reason: "reserving producer ids did not commit in time",
        })
    }
}
