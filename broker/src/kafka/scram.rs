//! The [`chronik_kafka::Backend`] methods of SCRAM credentials and
//! per-listener addresses: reads from this broker's copy of the metadata
//! state (every broker serves every user), writes proposed to the metadata
//! group.

use super::error::{meta_error, unavailable};
use crate::node::NodeHandle;
use crate::state_machine::{scram_command, MetaStateMachine};
use chronik_api::security::{ScramMechanism, UserCredentials};
use chronik_kafka::backend::{BackendResult, ListenerAddresses, ScramAlteration};
use chronik_kafka::sasl::ScramCredential;
use chronik_kafka::BackendError;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// `user`'s credentials.
pub async fn credentials(
    node: &NodeHandle,
    user: &str,
) -> BackendResult<Vec<(ScramMechanism, ScramCredential)>> {
    let user = user.to_string();
    node.query(move |sm| sm.scram().of(&user))
        .await
        .map_err(unavailable)
}

/// Every user with credentials.
pub async fn users(node: &NodeHandle) -> BackendResult<Vec<UserCredentials>> {
    node.query(|sm| sm.scram().users())
        .await
        .map_err(unavailable)
}

/// How long AlterUserScramCredentials waits for its changes to apply here.
const ALTER_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a change not applied yet is forwarded again (the first may be
/// dropped while no leader is known).
const REPROPOSE_EVERY: Duration = Duration::from_millis(500);

fn applied(sm: &MetaStateMachine, alterations: &[ScramAlteration]) -> bool {
    alterations.iter().all(|a| match a {
        ScramAlteration::Upsert {
            user,
            mechanism,
            credential,
        } => sm
            .scram()
            .of(user)
            .iter()
            .any(|(m, c)| m == mechanism && c == credential),
        ScramAlteration::Delete { user, mechanism } => {
            sm.scram().of(user).iter().all(|(m, _)| m != mechanism)
        }
    })
}

/// Forwards `alterations` as one command to the metadata leader (any broker
/// answers AlterUserScramCredentials) until this broker has applied them.
/// Applying the same changes twice leaves the same state.
pub async fn alter(node: &NodeHandle, alterations: Vec<ScramAlteration>) -> BackendResult<()> {
    let cmd = scram_command(alterations.clone());
    let alterations = Arc::new(alterations);
    let deadline = Instant::now() + ALTER_TIMEOUT;
    let mut next_proposal = Instant::now();
    while Instant::now() < deadline {
        if Instant::now() >= next_proposal {
            node.forward(cmd.clone()).await.map_err(meta_error)?;
            next_proposal = Instant::now() + REPROPOSE_EVERY;
        }
        let wanted = alterations.clone();
        if node
            .query(move |sm| applied(sm, &wanted))
            .await
            .map_err(unavailable)?
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(BackendError::Unavailable {
        reason: "the SCRAM credential change did not commit in time",
    })
}

/// Each listener's broker addresses.
pub async fn listener_addresses(node: &NodeHandle) -> BackendResult<ListenerAddresses> {
    let all = node
        .query(|sm| sm.listeners().all().clone())
        .await
        .map_err(unavailable)?;
    let mut out = ListenerAddresses::new();
    for (id, listeners) in all {
        let Ok(node_id) = i32::try_from(id) else {
            continue;
        };
        for (name, addr) in listeners {
            let parsed = addr
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<i32>().ok()?)));
            if let Some(host_port) = parsed {
                out.entry(name).or_default().insert(node_id, host_port);
            }
        }
    }
    Ok(out)
}
