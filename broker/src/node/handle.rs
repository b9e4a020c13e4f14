//! The node's mailbox: what it accepts ([`NodeMsg`]) and the cloneable
//! handle the HTTP API and the Kafka adapter call it through.

use super::error::{AppendError, NodeError};
use super::membership::MembershipChange;
use super::partition_group::AppendReply;
use super::read_gate::{LeaderRead, ReadRefusal};
use super::status::{BrokerStatus, Membership};
use crate::state_machine::{MetaStateMachine, TopicInfo};
use crate::transport::PeerEvent;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// What the node's mailbox accepts.
pub enum NodeMsg {
    /// What the transport heard from peers.
    Peer(PeerEvent),
    /// Produced record batches for a partition group.
    Append {
        partition_group: u64,
        data: Vec<u8>,
        /// Answer once on the leader's disk (`acks=1`/`0`) instead of applied.
        local_ack: bool,
        reply: AppendReply,
    },
    /// An encoded metadata command.
    Propose {
        data: Vec<u8>,
        reply: oneshot::Sender<Result<u64, NodeError>>,
    },
    /// One membership step, answered once applied.
    ChangeMembership {
        change: MembershipChange,
        reply: oneshot::Sender<Result<Membership, NodeError>>,
    },
    /// Move leadership to `target` (0: the most caught-up voter).
    TransferLeader {
        target: u64,
        reply: oneshot::Sender<Result<Membership, NodeError>>,
    },
    /// A read of the local metadata state.
    Query(Box<dyn FnOnce(&MetaStateMachine) + Send>),
    /// A read only the metadata leader answers, once it applied an entry of
    /// its term (see [`super::read_gate`]).
    LeaderRead(LeaderRead),
    /// A metadata command proposed from any member: Raft forwards it to
    /// the leader; nobody waits for it (the caller watches the state). Not
    /// for commands that create partitions (only the leader's own
    /// proposals carry the voters).
    Forward(Vec<u8>),
    /// Work over the partition groups (partition admin requests).
    Partitions(super::partition_admin::PartitionTask),
    /// Hand off leadership and stop; answered when stopped.
    Shutdown(oneshot::Sender<()>),
}

impl From<PeerEvent> for NodeMsg {
    fn from(e: PeerEvent) -> Self {
        NodeMsg::Peer(e)
    }
}

/// A cheap, cloneable handle to the node task.
#[derive(Clone)]
pub struct NodeHandle {
    tx: mpsc::Sender<NodeMsg>,
    status: watch::Receiver<BrokerStatus>,
    request_timeout: Duration,
}

impl NodeHandle {
    /// A handle sending to the node's mailbox `tx` and reading its `status`.
    pub fn new(tx: mpsc::Sender<NodeMsg>, status: watch::Receiver<BrokerStatus>) -> Self {
        Self {
            tx,
            status,
            request_timeout: Duration::from_secs(10),
        }
    }

    pub(super) async fn send(&self, msg: NodeMsg) -> Result<(), NodeError> {
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
        f: impl FnOnce(&MetaStateMachine) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.send(NodeMsg::Query(Box::new(move |sm| {
            let _ = tx.send(f(sm));
        })))
        .await?;
        rx.await.map_err(|_| NodeError::ShuttingDown)
    }

    /// Runs `f` on the metadata state if this node leads and applied an
    /// entry of its term; otherwise returns why not.
    pub async fn leader_read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&MetaStateMachine) -> T + Send + 'static,
    ) -> Result<Result<T, ReadRefusal>, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.send(NodeMsg::LeaderRead(Box::new(move |sm| {
            let _ = tx.send(sm.map(f));
        })))
        .await?;
        rx.await.map_err(|_| NodeError::ShuttingDown)
    }

    /// Proposes a metadata command from any member without waiting for it
    /// (see [`NodeMsg::Forward`]).
    pub async fn forward(&self, data: Vec<u8>) -> Result<(), NodeError> {
        self.send(NodeMsg::Forward(data)).await
    }

    /// Proposes produced record batches to partition group
    /// `partition_group`; resolves with the base offset once the entry is
    /// committed and applied, or with `-1` once it is on the leader's disk
    /// when `local_ack` is set.
    pub async fn append(
        &self,
        partition_group: u64,
        data: Vec<u8>,
        local_ack: bool,
    ) -> Result<i64, AppendError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(NodeMsg::Append {
                partition_group,
                data,
                local_ack,
                reply,
            })
            .await
            .map_err(|_| AppendError::ShuttingDown)?;
        rx.await.map_err(|_| AppendError::ShuttingDown)?
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
