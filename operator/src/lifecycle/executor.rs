//! Carries out the broker part of a planned step through the admin API.

use super::admin::{AdminClient, AdminError, Membership};
use super::plan::Action;

/// What executing an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Executed {
    /// A committed membership change; the membership after it.
    Membership(Membership),
    /// The action is Kubernetes' (pod deletion); the caller does it.
    NotABrokerAction,
}

/// Performs membership actions on the leader. Holds no state of its own:
/// everything it needs to resume is in the plan (and so in `status`).
pub struct Executor {
    admin: AdminClient,
}

impl Executor {
    pub fn new(admin: AdminClient) -> Self {
        Self { admin }
    }

    /// Carry out `action`, asking `leader` first (a 421 is followed to the
    /// real leader). Every action is idempotent on the broker: adding an
    /// existing learner with the same URL, removing an absent member,
    /// promoting a voter or transferring to the current leader change nothing.
    pub async fn execute(&self, leader: u64, action: &Action) -> Result<Executed, AdminError> {
        let membership = match action {
            Action::AddLearner { id, url } => self.admin.add_learner(leader, *id, url).await?,
            Action::Promote { id } => self.admin.promote(leader, *id).await?,
            Action::RemoveMember { id } => self.admin.remove(leader, *id).await?,
            Action::TransferLeader { to, .. } => self.admin.transfer_leader(leader, *to).await?,
            Action::DeletePod { .. } => return Ok(Executed::NotABrokerAction),
        };
        Ok(Executed::Membership(membership))
    }
}
