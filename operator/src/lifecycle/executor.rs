//! Carries out the broker part of a planned step through the admin API.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::admin::{AdminClient, AdminError, Membership};
use super::observe::Addresses;
use super::plan::Action;

/// What executing an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Executed {
    /// A committed membership change; the membership after it.
    Membership(Membership),
    /// The action is Kubernetes' (pod deletion); the caller does it.
    NotABrokerAction,
}

/// Carries out membership actions (HTTP in production, recorded in tests).
pub trait MembershipApi: Send + Sync {
    /// Carry out `action` on the cluster whose members live at `addresses`,
    /// asking member `leader` first.
    fn execute(
        &self,
        addresses: Arc<dyn Addresses>,
        leader: u64,
        action: Action,
    ) -> BoxFuture<'static, Result<Executed, AdminError>>;
}

/// Performs membership actions on the leader over HTTP. Holds no state of
/// its own: everything it needs to resume is in the plan (and so in `status`).
#[derive(Debug, Clone)]
pub struct Executor {
    timeout: Duration,
}

impl Executor {
    /// `timeout` bounds each HTTP call (a change is answered once committed).
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    /// Carry out `action`, asking `leader` first (a 421 is followed to the
    /// real leader). Every action is idempotent on the broker: adding an
    /// existing learner with the same URL, removing an absent member,
    /// promoting a voter or transferring to the current leader change nothing.
    pub async fn run(
        &self,
        addresses: Arc<dyn Addresses>,
        leader: u64,
        action: &Action,
    ) -> Result<Executed, AdminError> {
        let admin = AdminClient::new(addresses, self.timeout)?;
        let membership = match action {
            Action::AddLearner { id, url } => admin.add_learner(leader, *id, url).await?,
            Action::Promote { id } => admin.promote(leader, *id).await?,
            Action::RemoveMember { id } => admin.remove(leader, *id).await?,
            Action::TransferLeader { to, .. } => admin.transfer_leader(leader, *to).await?,
            Action::DeletePod { .. } => return Ok(Executed::NotABrokerAction),
        };
        Ok(Executed::Membership(membership))
    }
}

impl MembershipApi for Executor {
    fn execute(
        &self,
        addresses: Arc<dyn Addresses>,
        leader: u64,
        action: Action,
    ) -> BoxFuture<'static, Result<Executed, AdminError>> {
        let executor = self.clone();
        Box::pin(async move { executor.run(addresses, leader, &action).await })
    }
}
