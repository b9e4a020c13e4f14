//! The Raft node: one task owns the `RawNode` and all Raft state; the rest
//! of the broker talks to it through [`NodeHandle`] (a mailbox).

mod actor;
mod apply;
mod balance;
mod group;
mod groups;
mod membership;
mod proposals;
mod ready;
mod reconcile;
mod retention;
mod status;

pub use actor::{NodeActor, NodeParts};
pub use group::raft_config;
/// The error that stops the Raft task.
pub mod actor_error {
    pub use super::actor::FatalError;
}
pub use membership::{MembershipChange, MembershipError};
pub use status::{
    now_ms, BrokerStatus, GroupsSummary, MemberRole, MemberStatus, Membership, PeerRefusal,
    RaftRole,
};

use crate::state_machine::{CommandRejection, TopicInfo};
use raft::eraftpb::Message;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Id of the metadata Raft group.
pub const METADATA_GROUP: u64 = 0;

/// Why a request to the node failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    #[error("this node is not the leader (leader: {leader_id}, Raft URL {leader_raft_url:?})")]
    NotLeader {
        leader_id: u64,
        leader_raft_url: String,
    },
    #[error("the proposal was dropped: leadership changed before it committed")]
    Dropped,
    #[error("timed out after {0:?} waiting for the cluster")]
    Timeout(Duration),
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Membership(#[from] MembershipError),
    #[error("the command was rejected: {0}")]
    Rejected(#[from] CommandRejection),
    #[error("leadership transfer to {target} did not complete in time")]
    TransferTimedOut { target: u64 },
}

/// What the node's mailbox accepts.
pub(crate) enum NodeMsg {
    /// Raft messages from a peer by group (already checked by the transport).
    Raft(Vec<(u64, Message)>),
    /// Produced record batches for a partition group.
    Append {
        group: u64,
        data: Vec<u8>,
        /// Answer once on the leader's disk (`acks=1`/`0`) instead of applied.
        local_ack: bool,
        reply: group::AppendReply,
    },
    /// A peer announced itself (URL and incarnation).
    PeerSeen {
        id: u64,
        url: String,
        incarnation: String,
    },
    Unreachable(u64),
    /// A peer refused our Raft traffic with this reason.
    Refused {
        by: u64,
        reason: String,
    },
    SnapshotDelivered {
        group: u64,
        to: u64,
        ok: bool,
    },
    Propose {
        data: Vec<u8>,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    ChangeMembership {
        change: MembershipChange,
        reply: oneshot::Sender<Result<Membership, NodeError>>,
    },
    TransferLeader {
        target: u64,
        reply: oneshot::Sender<Result<Membership, NodeError>>,
    },
    Query(Box<dyn FnOnce(&crate::state_machine::MetaStateMachine) + Send>),
    Shutdown(oneshot::Sender<()>),
}

/// A cheap, cloneable handle to the node task.
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::Sender<NodeMsg>,
    status: watch::Receiver<BrokerStatus>,
    request_timeout: Duration,
}

impl NodeHandle {
    pub(crate) fn new(tx: mpsc::Sender<NodeMsg>, status: watch::Receiver<BrokerStatus>) -> Self {
        Self {
            tx,
            status,
            request_timeout: Duration::from_secs(10),
        }
    }

    pub(crate) async fn send(&self, msg: NodeMsg) -> Result<(), NodeError> {
        self.tx.send(msg).await.map_err(|_| NodeError::ShuttingDown)
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, NodeError>>) -> NodeMsg,
    ) -> Result<T, NodeError> {
        let (reply, rx) = oneshot::channel();
        self.send(make(reply)).await?;
        match tokio::time::timeout(self.request_timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(NodeError::ShuttingDown),
            Err(_) => Err(NodeError::Timeout(self.request_timeout)),
        }
    }

    /// The latest published status.
    pub fn status(&self) -> BrokerStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every published status.
    pub fn watch_status(&self) -> watch::Receiver<BrokerStatus> {
        self.status.clone()
    }

    /// Proposes an encoded metadata command; returns its log index once applied.
    pub async fn propose(&self, data: Vec<u8>) -> Result<u64, NodeError> {
        self.call(|reply| NodeMsg::Propose { data, reply }).await
    }

    /// Changes the membership; answered once the change is committed and applied.
    pub async fn change_membership(
        &self,
        change: MembershipChange,
    ) -> Result<Membership, NodeError> {
        self.call(|reply| NodeMsg::ChangeMembership { change, reply })
            .await
    }

    /// Moves leadership to `target` (0: the most caught-up voter).
    pub async fn transfer_leader(&self, target: u64) -> Result<Membership, NodeError> {
        self.call(|reply| NodeMsg::TransferLeader { target, reply })
            .await
    }

    /// Reads the local (possibly stale) metadata state.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&crate::state_machine::MetaStateMachine) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.send(NodeMsg::Query(Box::new(move |sm| {
            let _ = tx.send(f(sm));
        })))
        .await?;
        rx.await.map_err(|_| NodeError::ShuttingDown)
    }

    /// Proposes produced record batches to partition group `group`; resolves
    /// with the base offset once the entry is committed and applied, or with
    /// `-1` once it is on the leader's disk when `local_ack` is set.
    pub async fn append(
        &self,
        group: u64,
        data: Vec<u8>,
        local_ack: bool,
    ) -> Result<i64, chronik_kafka::BackendError> {
        let unavailable = chronik_kafka::BackendError::Unavailable {
            reason: "broker shutting down",
        };
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(NodeMsg::Append {
                group,
                data,
                local_ack,
                reply,
            })
            .await
            .map_err(|_| unavailable.clone())?;
        rx.await.map_err(|_| unavailable)?
    }

    /// The local topic registry.
    pub async fn topics(&self) -> Result<BTreeMap<String, TopicInfo>, NodeError> {
        self.query(|sm| sm.topics().clone()).await
    }

    /// Asks the node to hand off leadership and stop; resolves when it has.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(NodeMsg::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}
