//! The node's two mailboxes and how much one loop turn takes from them.
//!
//! Peer traffic (Raft messages, heartbeats, votes, transport events) has a
//! mailbox of its own, read before the clients' one: a flood of produce
//! requests fills only the client mailbox, so heartbeats still reach the
//! Raft groups and no election is started because clients are busy.
//!
//! A turn takes at most [`MAX_MESSAGES_PER_TURN`] messages and stops once
//! [`MAX_BYTES_PER_TURN`] bytes of entries were taken (the message crossing
//! the budget is the last). Everything a turn takes is written by the next
//! `Ready` as one raft-engine batch, so this keeps that batch far below
//! raft-engine's 2 GiB limit: at most the budget plus one request
//! (`socket.request.max.bytes`) or one peer batch.

use super::handle::NodeMsg;
use crate::transport::PeerEvent;
use tokio::sync::mpsc;

/// Messages handled per loop turn before a `Ready` is processed; this is what
/// batches many proposals into one fsync.
pub const MAX_MESSAGES_PER_TURN: usize = 4_096;
/// Entry bytes (proposals and entries received from leaders) taken per turn.
pub const MAX_BYTES_PER_TURN: usize = 64 * 1024 * 1024;
/// Client requests waiting for the node before senders wait.
const CLIENT_MAILBOX: usize = 16_384;
/// Peer events waiting for the node (each may carry a batch of messages).
const PEER_MAILBOX: usize = 4_096;

/// Where the rest of the broker sends to the node.
#[derive(Clone)]
pub struct MailboxSenders {
    /// Client requests (HTTP, Kafka): the [`super::NodeHandle`]'s side.
    pub clients: mpsc::Sender<NodeMsg>,
    /// What the transport hears from peers.
    pub peers: mpsc::Sender<NodeMsg>,
}

/// The node task's receiving side.
pub struct Mailbox {
    clients: mpsc::Receiver<NodeMsg>,
    peers: mpsc::Receiver<NodeMsg>,
}

/// Both mailboxes, empty.
pub fn mailbox() -> (MailboxSenders, Mailbox) {
    let (clients_tx, clients) = mpsc::channel(CLIENT_MAILBOX);
    let (peers_tx, peers) = mpsc::channel(PEER_MAILBOX);
    (
        MailboxSenders {
            clients: clients_tx,
            peers: peers_tx,
        },
        Mailbox { clients, peers },
    )
}

/// Entry bytes a message brings into the next write.
fn entry_bytes(msg: &NodeMsg) -> usize {
    match msg {
        NodeMsg::Append { data, .. } | NodeMsg::Propose { data, .. } => data.len(),
        NodeMsg::Peer(PeerEvent::Raft(msgs)) => msgs
            .iter()
            .flat_map(|(_, m)| m.get_entries())
            .map(|e| e.get_data().len())
            .sum(),
        _ => 0,
    }
}

impl Mailbox {
    /// The next message, a peer's first; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<NodeMsg> {
        tokio::select! {
            biased;
            Some(msg) = self.peers.recv() => Some(msg),
            msg = self.clients.recv() => msg,
        }
    }

    /// Takes what is waiting for this turn, peers' first, within the turn's
    /// message and byte budgets; `first` is the message that woke the loop.
    pub fn drain(&mut self, first: NodeMsg, mut handle: impl FnMut(NodeMsg)) {
        let mut bytes = entry_bytes(&first);
        handle(first);
        for _ in 0..MAX_MESSAGES_PER_TURN {
            if bytes >= MAX_BYTES_PER_TURN {
                return;
            }
            let next = match self.peers.try_recv() {
                Ok(msg) => msg,
                Err(_) => match self.clients.try_recv() {
                    Ok(msg) => msg,
                    Err(_) => return,
                },
            };
            bytes += entry_bytes(&next);
            handle(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::eraftpb::{Entry, Message, MessageType};
    use tokio::sync::oneshot;

    fn heartbeat() -> NodeMsg {
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgHeartbeat);
        NodeMsg::Peer(PeerEvent::Raft(vec![(0, m)]))
    }

    fn propose(len: usize) -> NodeMsg {
        let (reply, _) = oneshot::channel();
        NodeMsg::Propose {
            data: vec![0; len],
            reply,
        }
    }

    fn is_peer(msg: &NodeMsg) -> bool {
        matches!(msg, NodeMsg::Peer(_))
    }

    /// A client mailbox full of proposals neither blocks a peer's heartbeat
    /// nor delays it behind them: it is the next message the loop takes.
    #[tokio::test]
    async fn peer_messages_pass_a_full_client_mailbox() {
        let (tx, mut rx) = mailbox();
        while tx.clients.try_send(propose(1)).is_ok() {}
        assert!(
            tx.peers.try_send(heartbeat()).is_ok(),
            "peer mailbox refused a heartbeat while clients flooded"
        );
        let first = rx.recv().await.expect("a message");
        assert!(is_peer(&first), "a client proposal went before a heartbeat");
    }

    /// One turn takes at most the byte budget plus the message crossing it,
    /// counting entries received from peers as well as proposals.
    #[tokio::test]
    async fn a_turn_is_bounded_by_bytes() {
        let (tx, mut rx) = mailbox();
        let chunk = MAX_BYTES_PER_TURN / 4;
        for _ in 0..8 {
            assert!(tx.clients.try_send(propose(chunk)).is_ok());
        }
        let mut append = Message::default();
        append.set_msg_type(MessageType::MsgAppend);
        let mut entry = Entry::default();
        entry.set_data(vec![0; chunk].into());
        append.set_entries(vec![entry].into());
        assert!(tx
            .peers
            .try_send(NodeMsg::Peer(PeerEvent::Raft(vec![(1, append)])))
            .is_ok());
        let first = rx.recv().await.expect("a message");
        assert!(is_peer(&first));
        let mut taken = Vec::new();
        rx.drain(first, |m| taken.push(entry_bytes(&m)));
        assert_eq!(taken.len(), 4, "peer append + 3 proposals fill the budget");
        assert_eq!(taken.iter().sum::<usize>(), MAX_BYTES_PER_TURN);
        let mut rest = 0;
        while rx.clients.try_recv().is_ok() {
            rest += 1;
        }
        assert_eq!(rest, 5, "the rest waits for the next turns");
    }
}
