//! OffsetFetch reads committed offsets on the metadata leader only, once
//! it applied an entry of its own term (see `node::read_gate`): a leader
//! just elected could otherwise answer from a state that lacks offsets
//! committed under the previous leader, and a consumer would go back.

use crate::node::read_gate::ReadRefusal;
use crate::node::NodeHandle;
use crate::state_machine::StoredOffset;
use chronik_kafka::BackendError;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long a new leader's OffsetFetch waits for its term's first entry to
/// apply before answering `COORDINATOR_LOAD_IN_PROGRESS` (the client retries).
const LOAD_WAIT: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);

/// The committed offsets of `group`, read as the leader of the metadata group.
pub(super) async fn committed(
    node: &NodeHandle,
    group: &str,
) -> Result<BTreeMap<(String, i32), StoredOffset>, BackendError> {
    let deadline = Instant::now() + LOAD_WAIT;
    loop {
        let wanted = group.to_string();
        let read = node
            .leader_read(move |sm| sm.offsets().get(&wanted).cloned().unwrap_or_default())
            .await
            .map_err(super::error::unavailable)?;
        match read {
            Ok(offsets) => return Ok(offsets),
            Err(ReadRefusal::NotLeader { .. }) => {
                return Err(BackendError::NotCoordinator {
                    group: group.to_string(),
                })
            }
            Err(ReadRefusal::Loading { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(POLL).await;
            }
            Err(ReadRefusal::Loading { term, applied }) => {
                tracing::debug!(term, applied, "OffsetFetch before the new leader caught up");
                return Err(BackendError::CoordinatorLoading {
                    group: group.to_string(),
                });
            }
        }
    }
}
