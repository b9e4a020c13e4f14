//! The node's externally visible status is `chronik_api`'s [`BrokerStatus`]
//! (`/v1/status`, readiness, metrics); this module adds the clock it is
//! stamped with.

pub use chronik_api::{
    BrokerStatus, GroupsSummary, MemberRole, MemberStatus, Membership, PeerRefusal, RaftRole,
};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
