//! ACLs of the [`super::RaftBackend`]: answered from the ACLs this broker
//! applied (like topics), written through the metadata log from any broker
//! (the command is forwarded to the leader by Raft and re-proposed until
//! this broker applied its effect; both commands are idempotent).

use crate::node::NodeHandle;
use crate::state_machine::{acls, MetaStateMachine};
use chronik_api::security::AclBinding;
use chronik_kafka::{backend::BackendResult, BackendError};
use std::time::Duration;
use tokio::time::Instant;

/// How long a write waits for this broker to apply it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// A forwarded proposal can be dropped (no leader yet): propose again this often.
const REPROPOSE_EVERY: Duration = Duration::from_millis(500);
/// How often the local state is checked.
const POLL: Duration = Duration::from_millis(10);

fn unavailable(_: crate::node::NodeError) -> BackendError {
    BackendError::Unavailable {
        reason: "the broker is shutting down",
    }
}

/// The ACLs this broker applied, in canonical order.
pub(super) async fn applied(node: &NodeHandle) -> BackendResult<Vec<AclBinding>> {
    node.query(|sm| sm.acls().all().iter().cloned().collect())
        .await
        .map_err(unavailable)
}

/// Adds `list` and waits until this broker applied it.
pub(super) async fn create(node: &NodeHandle, list: Vec<AclBinding>) -> BackendResult<()> {
    let cmd = acls::create_command(&list);
    replicate(node, cmd, move |sm| {
        list.iter().all(|a| sm.acls().all().contains(a))
    })
    .await
}

/// Removes `list` and waits until this broker applied it.
pub(super) async fn delete(node: &NodeHandle, list: Vec<AclBinding>) -> BackendResult<()> {
    let cmd = acls::delete_command(&list);
    replicate(node, cmd, move |sm| {
        !list.iter().any(|a| sm.acls().all().contains(a))
    })
    .await
}

async fn replicate(
    node: &NodeHandle,
    cmd: Vec<u8>,
    done: impl Fn(&MetaStateMachine) -> bool + Clone + Send + 'static,
) -> BackendResult<()> {
    let deadline = Instant::now() + WRITE_TIMEOUT;
    let mut next_proposal = Instant::now();
    while Instant::now() < deadline {
        if Instant::now() >= next_proposal {
            node.forward(cmd.clone()).await.map_err(unavailable)?;
            next_proposal = Instant::now() + REPROPOSE_EVERY;
        }
        if node.query(done.clone()).await.map_err(unavailable)? {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    Err(BackendError::Unavailable {
        reason: "the ACL change did not commit in time",
    })
}
