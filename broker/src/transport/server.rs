//! Incoming side of the transport: the `RaftTransport` gRPC service.
//!
//! With peer TLS, a stream is bound to the node id of its client
//! certificate: a sender claiming another node, or a message whose Raft
//! `from` is not that node, is refused with PermissionDenied, counted by
//! reason, and never reaches Raft.

use super::{Inbox, PeerEvent};
use crate::metrics::{Metrics, ReasonLabel};
use crate::tls::PeerConn;
use chronik_api::BrokerStatus;
use chronik_proto::raft::raft_transport_server::{RaftTransport, RaftTransportServer};
use chronik_proto::raft::{
    BatchAck, RaftBatch, RaftEnvelope, SenderInfo, SnapshotReply, SnapshotRequest,
};
use protobuf::Message as _;
use raft::eraftpb::Message;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

/// Why an incoming batch is refused.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("stream did not identify its sender")]
    NoSender,
    #[error("sender belongs to cluster {theirs:?}, this node to {ours:?}")]
    OtherCluster { theirs: String, ours: String },
    #[error("undecodable raft message: {0}")]
    Decode(#[source] protobuf::ProtobufError),
    #[error("message claims to be from node {claimed}, stream is from node {sender}")]
    Spoofed { claimed: u64, sender: u64 },
    #[error(
        "node {id} was removed from the cluster at index {index}; \
         wipe its data directory or add it again as a learner"
    )]
    Removed { id: u64, index: u64 },
    #[error(
        "peer TLS is on and the connection's client certificate names no node \
         (a URI SAN urn:chronik:node:<id> is required to send Raft traffic)"
    )]
    NoCertificate,
    #[error("sender claims to be node {claimed}, its certificate is for node {certified}")]
    CertificateMismatch { claimed: u64, certified: u64 },
}

impl Refusal {
    /// The metric label of this refusal.
    fn reason(&self) -> &'static str {
        match self {
            Self::NoSender => "no_sender",
            Self::OtherCluster { .. } => "other_cluster",
            Self::Decode(_) => "decode",
            Self::Spoofed { .. } => "spoofed",
            Self::Removed { .. } => "removed",
            Self::NoCertificate => "no_certificate",
            Self::CertificateMismatch { .. } => "certificate_mismatch",
        }
    }

    /// Whether the sender is not who it claims: answered PermissionDenied
    /// (the stream ends) rather than as a refused batch.
    fn is_forgery(&self) -> bool {
        matches!(
            self,
            Self::Spoofed { .. } | Self::NoCertificate | Self::CertificateMismatch { .. }
        )
    }
}

/// The gRPC service that feeds peers' messages into the Raft mailbox (of
/// message type `M`).
pub struct RaftService<M> {
    cluster_id: String,
    mailbox: mpsc::Sender<M>,
    metrics: Arc<Metrics>,
    /// The node's status: which members were removed.
    status: watch::Receiver<BrokerStatus>,
    /// Whether connections are mutual TLS, each bound to its certificate's node.
    peer_tls: bool,
}

// Derived `Clone` would demand `M: Clone`; only the sender is cloned.
impl<M> Clone for RaftService<M> {
    fn clone(&self) -> Self {
        Self {
            cluster_id: self.cluster_id.clone(),
            mailbox: self.mailbox.clone(),
            metrics: self.metrics.clone(),
            status: self.status.clone(),
            peer_tls: self.peer_tls,
        }
    }
}

impl<M: Inbox> RaftService<M> {
    /// A service for `cluster_id` delivering to `mailbox`; `status` says
    /// which members were removed (their traffic is refused).
    pub fn new(
        cluster_id: String,
        mailbox: mpsc::Sender<M>,
        metrics: Arc<Metrics>,
        status: watch::Receiver<BrokerStatus>,
    ) -> Self {
        Self {
            cluster_id,
            mailbox,
            metrics,
            status,
            peer_tls: false,
        }
    }

    /// Binds every stream to the node its client certificate names (the
    /// connections come from [`crate::tls::accept_tls`]).
    pub fn with_peer_tls(mut self, on: bool) -> Self {
        self.peer_tls = on;
        self
    }

    /// The node id a request's certificate names; `None` without peer TLS.
    fn certified<T>(&self, request: &Request<T>) -> Result<Option<u64>, Refusal> {
        if !self.peer_tls {
            return Ok(None);
        }
        request
            .extensions()
            .get::<PeerConn>()
            .and_then(|c| c.identity.as_ref())
            .and_then(|i| i.node_id)
            .map(Some)
            .ok_or(Refusal::NoCertificate)
    }

    /// A sender must be the node its certificate names.
    fn check_certified(sender: &SenderInfo, certified: Option<u64>) -> Result<(), Refusal> {
        match certified {
            Some(c) if c != sender.node_id => Err(Refusal::CertificateMismatch {
                claimed: sender.node_id,
                certified: c,
            }),
            _ => Ok(()),
        }
    }

    /// Wraps the service for tonic with raised message limits.
    pub fn into_server(self) -> RaftTransportServer<Self> {
        RaftTransportServer::new(self)
            .max_decoding_message_size(super::MAX_GRPC_MESSAGE)
            .max_encoding_message_size(super::MAX_GRPC_MESSAGE)
    }

    fn check_sender(&self, sender: &SenderInfo) -> Result<(), Refusal> {
        if sender.cluster_id != self.cluster_id {
            return Err(Refusal::OtherCluster {
                theirs: sender.cluster_id.clone(),
                ours: self.cluster_id.clone(),
            });
        }
        if sender.node_id == 0 {
            return Err(Refusal::NoSender);
        }
        Ok(())
    }

    /// Refuses a member that was removed and not added again: a stale disk
    /// must not rejoin silently (its node sees the reason and reports it).
    fn check_not_removed(&self, id: u64) -> Result<(), Refusal> {
        let status = self.status.borrow();
        match status.removed.get(&id) {
            Some(index) if !status.members.iter().any(|m| m.id == id) => {
                Err(Refusal::Removed { id, index: *index })
            }
            _ => Ok(()),
        }
    }

    /// Decodes envelopes into (group, message); groups unknown locally are
    /// dropped later by the node (Raft retries).
    fn decode(sender: u64, envelopes: &[RaftEnvelope]) -> Result<Vec<(u64, Message)>, Refusal> {
        envelopes
            .iter()
            .map(|e| {
                let m = Message::parse_from_bytes(&e.message).map_err(Refusal::Decode)?;
                if m.from != sender {
                    return Err(Refusal::Spoofed {
                        claimed: m.from,
                        sender,
                    });
                }
                Ok((e.group_id, m))
            })
            .collect()
    }

    /// Hands an event to the node; false once the node is gone.
    async fn tell(&self, event: PeerEvent) -> bool {
        self.mailbox.send(M::from(event)).await.is_ok()
    }

    async fn announce(&self, sender: &SenderInfo) {
        self.tell(PeerEvent::PeerSeen {
            id: sender.node_id,
            url: sender.url.clone(),
            incarnation: sender.incarnation.clone(),
        })
        .await;
    }

    fn refuse(&self, r: &Refusal) -> String {
        self.metrics.refused_batches.inc();
        self.metrics
            .transport_refusals
            .get_or_create(&ReasonLabel { reason: r.reason() })
            .inc();
        tracing::warn!(reason = %r, "refusing raft traffic");
        r.to_string()
    }
}

type AckStream = Pin<Box<dyn Stream<Item = Result<BatchAck, Status>> + Send>>;

#[tonic::async_trait]
impl<M: Inbox> RaftTransport for RaftService<M> {
    type StreamStream = AckStream;

    async fn stream(
        &self,
        request: Request<Streaming<RaftBatch>>,
    ) -> Result<Response<AckStream>, Status> {
        let certified = self
            .certified(&request)
            .map_err(|r| Status::permission_denied(self.refuse(&r)))?;
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(64);
        let this = self.clone();
        tokio::spawn(async move {
            let mut sender: Option<SenderInfo> = None;
            while let Some(batch) = inbound.next().await {
                let Ok(batch) = batch else { break };
                let verdict = async {
                    if let Some(s) = batch.sender {
                        this.check_sender(&s)?;
                        Self::check_certified(&s, certified)?;
                        this.check_not_removed(s.node_id)?;
                        this.announce(&s).await;
                        sender = Some(s);
                    }
                    let from = sender.as_ref().ok_or(Refusal::NoSender)?.node_id;
                    this.check_not_removed(from)?;
                    Self::decode(from, &batch.messages)
                }
                .await;
                let ack = match verdict {
                    Err(r) if r.is_forgery() => {
                        let _ = tx
                            .send(Err(Status::permission_denied(this.refuse(&r))))
                            .await;
                        break;
                    }
                    Ok(msgs) => {
                        if !this.tell(PeerEvent::Raft(msgs)).await {
                            break;
                        }
                        BatchAck {
                            seq: batch.seq,
                            refused: String::new(),
                        }
                    }
                    Err(r) => BatchAck {
                        seq: batch.seq,
                        refused: this.refuse(&r),
                    },
                };
                let refused = !ack.refused.is_empty();
                if tx.send(Ok(ack)).await.is_err() || refused {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn snapshot(
        &self,
        request: Request<SnapshotRequest>,
    ) -> Result<Response<SnapshotReply>, Status> {
        let certified = self.certified(&request);
        let req = request.into_inner();
        let verdict = async {
            let certified = certified?;
            let sender = req.sender.ok_or(Refusal::NoSender)?;
            self.check_sender(&sender)?;
            Self::check_certified(&sender, certified)?;
            self.check_not_removed(sender.node_id)?;
            self.announce(&sender).await;
            let env: Vec<RaftEnvelope> = req.message.into_iter().collect();
            Self::decode(sender.node_id, &env)
        }
        .await;
        let refused = match verdict {
            Ok(msgs) => {
                if !self.tell(PeerEvent::Raft(msgs)).await {
                    return Err(Status::unavailable("node is shutting down"));
                }
                String::new()
            }
            Err(r) if r.is_forgery() => return Err(Status::permission_denied(self.refuse(&r))),
            Err(r) => self.refuse(&r),
        };
        Ok(Response::new(SnapshotReply { refused }))
    }
}
