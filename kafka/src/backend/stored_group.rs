//! A consumer group's membership as the coordinator persists it (Kafka's
//! group metadata record in `__consumer_offsets`): written when a rebalance
//! completes and when the group becomes empty, loaded by the next
//! coordinator so that members keep their generation and assignment.

use bytes::Bytes;

/// One member of a stored group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredMember {
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// Client id of the member's JoinGroup.
    pub client_id: String,
    /// Address the member joined from.
    pub client_host: String,
    /// Session timeout in milliseconds.
    pub session_timeout_ms: i32,
    /// Rebalance timeout in milliseconds.
    pub rebalance_timeout_ms: i32,
    /// The member's metadata for the group's protocol (the consumer's
    /// subscription).
    pub subscription: Bytes,
    /// The member's assignment of the generation.
    pub assignment: Bytes,
}

/// A group's persisted membership: Stable with its members, or Empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredGroup {
    /// Group id.
    pub group_id: String,
    /// Protocol type (`consumer`, `connect`, ...); empty for a group that
    /// only has committed offsets.
    pub protocol_type: String,
    /// Generation of the stored assignment.
    pub generation: i32,
    /// Selected protocol (assignor); empty when the group is empty.
    pub protocol: String,
    /// Leader member id; empty when the group is empty.
    pub leader: String,
    /// Members with their assignments; none for an empty group.
    pub members: Vec<StoredMember>,
}

/// Every stored group, as the coordinator loads them, and the coordinator
/// epoch they were read at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedGroups {
    /// The coordinator epoch (for the Raft backend: the metadata leader's
    /// term) the groups were read at; stores carry it back.
    pub epoch: u64,
    /// Stored groups, and groups that only have committed offsets (empty
    /// records).
    pub groups: Vec<StoredGroup>,
}
