//! The Raft node: one task ([`NodeActor`]) owns every Raft group of this
//! broker, the metadata group ([`meta_group`]) and one group per Kafka
//! partition ([`partition_group`]); the rest of the broker talks to it
//! through [`NodeHandle`] (a mailbox). Errors live in [`error`]; the node
//! reaches peers through [`crate::transport`], which knows nothing of it.

mod actor;
mod apply;
mod balance;
mod compaction;
pub mod error;
mod handle;
mod log_conf;
mod mailbox;
mod membership;
mod meta_group;
mod partition_admin;
mod partition_group;
mod partition_groups;
mod peers;
mod proposals;
pub mod read_gate;
mod reconcile;
mod rejoin;
mod retention;
mod status;

pub use actor::{Advertised, NodeActor, NodeParts};
pub use error::{AppendError, FatalError, NodeError};
pub use handle::NodeHandle;
pub use handle::NodeMsg;
pub use mailbox::{mailbox, Mailbox, MailboxSenders};
pub use membership::{MembershipChange, MembershipError};
pub use partition_admin::{PartitionTask, PreferredElection};
pub use partition_group::raft_config;
pub use status::{
    now_ms, BrokerStatus, GroupsSummary, MemberRole, MemberStatus, Membership, PeerRefusal,
    RaftRole,
};

/// Id of the metadata Raft group.
pub const METADATA_GROUP: u64 = 0;
