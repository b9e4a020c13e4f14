//! Where a member lives: node id → pod name, Raft URL and HTTP API URL.
//!
//! In Kubernetes that is [`PodAddresses`] (headless-Service DNS names, the
//! rule node id = ordinal + 1 of `chronik_api::identity`); tests that run
//! brokers on loopback give every member its own ports instead.

use chronik_api::{NodeId, PodAddresses};

/// Node id → pod name and URLs, for the planner and the broker client.
pub trait MemberAddresses: Send + Sync {
    /// Name of the member's pod.
    fn pod_of(&self, id: NodeId) -> String;
    /// Raft URL a new member is added with.
    fn raft_url_of(&self, id: NodeId) -> String;
    /// Base URL of the member's HTTP API.
    fn http_url_of(&self, id: NodeId) -> String;
}

/// The ordinal of a member's pod; id 0 (no member) falls on ordinal 0, whose
/// pod then answers for itself.
fn ordinal(id: NodeId) -> u32 {
    id.ordinal().unwrap_or(0)
}

impl MemberAddresses for PodAddresses {
    fn pod_of(&self, id: NodeId) -> String {
        self.pod_name(ordinal(id))
    }
    fn raft_url_of(&self, id: NodeId) -> String {
        self.raft_url(ordinal(id))
    }
    fn http_url_of(&self, id: NodeId) -> String {
        self.http_url(ordinal(id))
    }
}

/// The pods' addresses as the operator calls their HTTP API: with peer
/// mTLS, `https://<pod fqdn>:<admin port>` (the mutual-TLS admin port, the
/// URL the brokers register and put in `421` answers); without it, the
/// plain `http://<pod fqdn>:<http port>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerApiAddresses {
    pub pods: PodAddresses,
    /// The admin port when the cluster runs peer mTLS.
    pub admin_port: Option<u16>,
}

impl MemberAddresses for BrokerApiAddresses {
    fn pod_of(&self, id: NodeId) -> String {
        self.pods.pod_of(id)
    }
    fn raft_url_of(&self, id: NodeId) -> String {
        self.pods.raft_url_of(id)
    }
    fn http_url_of(&self, id: NodeId) -> String {
        match self.admin_port {
            Some(port) => format!("https://{}:{port}", self.pods.pod_fqdn(ordinal(id))),
            None => self.pods.http_url_of(id),
        }
    }
}
