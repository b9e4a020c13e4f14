//! The task that carries one peer's messages: connect, stream, reconnect.

use super::{Inbox, PeerConnector, PeerEvent, Shared, MAX_GRPC_MESSAGE};
use crate::metrics::PeerLabel;
use chronik_proto::raft::raft_transport_client::RaftTransportClient;
use chronik_proto::raft::{RaftBatch, RaftEnvelope, SnapshotRequest};
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

/// Most messages put in one batch.
const MAX_BATCH: usize = 512;
/// A batch is closed once it holds this many bytes: with the one message that
/// crosses it (an append of at most one oversized entry, itself bounded by
/// `socket.request.max.bytes`), it stays within [`MAX_GRPC_MESSAGE`]; an
/// unbounded batch of 512 appends of 1 MiB would exceed it and break the
/// stream on every retry.
pub(super) const MAX_BATCH_BYTES: usize = MAX_GRPC_MESSAGE / 4;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why a stream ended (logged, then the task reconnects).
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("invalid peer URL {0:?}")]
    Url(String),
    #[error("connect failed: {0}")]
    Connect(#[source] tonic::transport::Error),
    #[error("stream failed: {0}")]
    Stream(#[source] tonic::Status),
    #[error("stream closed by peer")]
    Closed,
    #[error("peer refused our messages: {0}")]
    Refused(String),
}

/// Runs until the queue's sender is dropped (peer removed or URL changed).
pub(super) async fn run<M: Inbox>(
    id: u64,
    url: String,
    mut queue: mpsc::Receiver<(u64, Message)>,
    shared: Shared<M>,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        match stream_to(id, &url, &mut queue, &shared).await {
            Ok(()) => return,
            Err(e) => {
                tracing::debug!(peer = id, %url, error = %e, "raft link down");
                shared
                    .metrics
                    .peer_send_errors
                    .get_or_create(&PeerLabel { peer: id })
                    .inc();
                if let LinkError::Refused(reason) = &e {
                    shared.try_tell(PeerEvent::Refused {
                        by: id,
                        reason: reason.clone(),
                    });
                }
                shared.try_tell(PeerEvent::Unreachable(id));
            }
        }
        // Messages queued while the link was down are stale; Raft resends.
        let deadline = tokio::time::Instant::now() + backoff;
        loop {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some((g, m))) => report_if_snapshot(g, &m, &shared, false).await,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if queue.is_closed() {
            return;
        }
    }
}

/// Reports a snapshot's outcome, waiting for room in the mailbox: a lost
/// report would leave the follower in Raft's Snapshot state.
async fn report_if_snapshot<M: Inbox>(group: u64, m: &Message, shared: &Shared<M>, ok: bool) {
    if m.get_msg_type() == MessageType::MsgSnapshot {
        shared
            .tell(PeerEvent::SnapshotDelivered {
                group,
                to: m.to,
                ok,
            })
            .await;
    }
}

async fn connect(
    url: &str,
    tls: Option<&PeerConnector>,
) -> Result<RaftTransportClient<Channel>, LinkError> {
    // TLS is the connector's; tonic itself refuses an https URL without
    // its own TLS feature, so it is given the http form.
    let dialled = match url.strip_prefix("https://") {
        Some(rest) => format!("http://{rest}"),
        None => url.to_string(),
    };
    let endpoint = Endpoint::from_shared(dialled)
        .map_err(|_| LinkError::Url(url.to_string()))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(Duration::from_secs(5));
    let channel = match tls {
        Some(connector) => endpoint.connect_with_connector(connector.clone()).await,
        None => endpoint.connect().await,
    }
    .map_err(LinkError::Connect)?;
    Ok(RaftTransportClient::new(channel)
        .max_decoding_message_size(MAX_GRPC_MESSAGE)
        .max_encoding_message_size(MAX_GRPC_MESSAGE))
}

/// A peer that refuses our identity answers PermissionDenied: reported to
/// the node like any other refusal.
fn refused_or_failed(status: tonic::Status) -> LinkError {
    if status.code() == tonic::Code::PermissionDenied {
        LinkError::Refused(status.message().to_string())
    } else {
        LinkError::Stream(status)
    }
}

fn envelope(group: u64, m: &Message) -> RaftEnvelope {
    RaftEnvelope {
        group_id: group,
        // Serialising a well-formed in-memory message cannot fail.
        message: m.write_to_bytes().unwrap_or_default(),
    }
}

/// One connection's life: returns Ok when the queue closed, Err when the link broke.
async fn stream_to<M: Inbox>(
    id: u64,
    url: &str,
    queue: &mut mpsc::Receiver<(u64, Message)>,
    shared: &Shared<M>,
) -> Result<(), LinkError> {
    let mut client = connect(url, shared.tls.as_ref()).await?;
    let (tx, rx) = mpsc::channel::<RaftBatch>(64);
    let mut acks = client
        .stream(ReceiverStream::new(rx))
        .await
        .map_err(refused_or_failed)?
        .into_inner();
    let label = PeerLabel { peer: id };
    let mut seq = 0u64;
    let mut in_flight: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut first = true;
    loop {
        tokio::select! {
            m = queue.recv() => {
                let Some(m) = m else { return Ok(()) };
                let mut batch = Vec::with_capacity(16);
                let mut bytes = 0;
                let mut pending = Some(m);
                while let Some((g, m)) = pending.take() {
                    if m.get_msg_type() == MessageType::MsgSnapshot {
                        send_snapshot(client.clone(), g, m, shared.clone());
                    } else {
                        let e = envelope(g, &m);
                        bytes += e.message.len();
                        batch.push(e);
                    }
                    if batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                        pending = queue.try_recv().ok();
                    }
                }
                if batch.is_empty() {
                    continue;
                }
                seq += 1;
                let msg = RaftBatch {
                    seq,
                    sender: if first { Some(shared.sender.clone()) } else { None },
                    messages: batch,
                };
                first = false;
                in_flight.push_back((seq, Instant::now()));
                if in_flight.len() > 1024 {
                    in_flight.pop_front();
                }
                tx.send(msg).await.map_err(|_| LinkError::Closed)?;
            }
            ack = acks.message() => {
                let ack = ack.map_err(refused_or_failed)?.ok_or(LinkError::Closed)?;
                if !ack.refused.is_empty() {
                    return Err(LinkError::Refused(ack.refused));
                }
                while let Some((s, at)) = in_flight.front().copied() {
                    if s > ack.seq {
                        break;
                    }
                    in_flight.pop_front();
                    if s == ack.seq {
                        shared.metrics.peer_rtt_seconds.get_or_create(&label).observe(at.elapsed().as_secs_f64());
                    }
                }
            }
        }
    }
}

/// Snapshots go on a unary call so their delivery can be reported to Raft.
fn send_snapshot<M: Inbox>(
    mut client: RaftTransportClient<Channel>,
    group: u64,
    m: Message,
    shared: Shared<M>,
) {
    tokio::spawn(async move {
        let to = m.to;
        let req = SnapshotRequest {
            sender: Some(shared.sender.clone()),
            message: Some(envelope(group, &m)),
        };
        let ok = match client.snapshot(req).await {
            Ok(reply) => reply.into_inner().refused.is_empty(),
            Err(e) => {
                tracing::warn!(peer = to, error = %e, "snapshot delivery failed");
                false
            }
        };
        shared
            .tell(PeerEvent::SnapshotDelivered { group, to, ok })
            .await;
    });
}
