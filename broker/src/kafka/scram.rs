//! The [`chronik_kafka::Backend`] methods of SCRAM credentials and
//! per-listener addresses: reads from this broker's copy of the metadata
//! state (every broker serves every user), writes proposed to the metadata
//! group.

use super::error::{meta_error, unavailable};
use crate::node::NodeHandle;
use crate::state_machine::scram_command;
use chronik_api::security::{ScramMechanism, UserCredentials};
use chronik_kafka::backend::{BackendResult, ListenerAddresses, ScramAlteration};
use chronik_kafka::sasl::ScramCredential;

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

/// Proposes `alterations` as one command and waits for it to apply.
pub async fn alter(node: &NodeHandle, alterations: Vec<ScramAlteration>) -> BackendResult<()> {
    node.propose(scram_command(alterations))
        .await
        .map(|_| ())
        .map_err(meta_error)
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
