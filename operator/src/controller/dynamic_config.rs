//! The dynamic keys of `spec.config` on the running cluster: read the
//! brokers' `GET /v1/config` from the leader and, when it differs from the
//! desired set, `PUT /v1/config` the whole set. No pod restarts for this;
//! static keys go through `broker.conf` and a roll instead.

use std::sync::Arc;

use crate::brokers::{BrokerApi, BrokerError};
use crate::lifecycle::RaftView;
use crate::validate::ValidatedCluster;

/// What pushing the dynamic config did in this pass.
#[derive(Debug)]
pub(super) enum Pushed {
    /// Not tried: the cluster is paused or has no leader.
    Skipped,
    /// The cluster already runs the desired set.
    InSync,
    /// The desired set was `PUT` and committed.
    Applied,
    /// The brokers refused the set (`400`), the message naming the key.
    Refused(String),
    /// The call failed (unreachable, leadership moving); the next pass
    /// tries again.
    Failed(BrokerError),
}

impl Pushed {
    /// The `Degraded` message when the brokers refused the set.
    pub(super) fn refusal(&self) -> Option<String> {
        match self {
            Self::Refused(message) => Some(format!(
                "the brokers refused the dynamic keys of spec.config: {message}"
            )),
            _ => None,
        }
    }
}

/// Bring the cluster's dynamic broker config to `cluster.config.dynamic`,
/// through the leader `raft.leader_id`; paused clusters are left alone.
pub(super) async fn push(
    brokers: &dyn BrokerApi,
    cluster: &ValidatedCluster,
    raft: Option<&RaftView>,
) -> Pushed {
    let Some(raft) = raft.filter(|_| !cluster.paused) else {
        return Pushed::Skipped;
    };
    let members = Arc::new(cluster.broker_api_addresses());
    let current = match brokers.get_config(members.clone(), raft.leader_id).await {
        Ok(current) => current,
        Err(error) => return Pushed::Failed(error),
    };
    if !cluster.config.push_needed(&current) {
        return Pushed::InSync;
    }
    let desired = cluster.config.dynamic.clone();
    match brokers.put_config(members, raft.leader_id, desired).await {
        Ok(_) => Pushed::Applied,
        Err(BrokerError::Http {
            code: 400, message, ..
        }) => Pushed::Refused(message),
        Err(error) => Pushed::Failed(error),
    }
}
