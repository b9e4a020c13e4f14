//! Who a broker is and how it is reached: node id ↔ pod ordinal, the
//! `--peers` format, and the DNS names and URLs of a cluster's pods.
//!
//! The rule shared by the operator and the broker: node id = pod ordinal + 1
//! (Raft reserves id 0 for "none").

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A Raft node id: the pod ordinal + 1, never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u64);

impl NodeId {
    /// The node id of the pod with this StatefulSet ordinal.
    pub fn from_ordinal(ordinal: u32) -> Self {
        Self(u64::from(ordinal) + 1)
    }

    /// The StatefulSet ordinal of this node's pod (`None` for id 0 or an id
    /// past the ordinal range).
    pub fn ordinal(self) -> Option<u32> {
        self.0.checked_sub(1).and_then(|o| u32::try_from(o).ok())
    }

    /// The node id of a pod named `<anything>-<ordinal>`.
    pub fn from_pod_name(pod_name: &str) -> Option<Self> {
        let (_, ordinal) = pod_name.rsplit_once('-')?;
        ordinal.parse::<u32>().ok().map(Self::from_ordinal)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One initial voter of `--peers`: its node id and Raft URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub id: u64,
    pub url: String,
}

/// Why `--peers` or the node id is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    #[error("peer {0:?} is not of the form <id>@<url>")]
    Malformed(String),
    #[error("peer {entry:?} has an invalid node id: {reason}")]
    BadId { entry: String, reason: String },
    #[error("node id 0 is reserved (ids are pod ordinal + 1)")]
    ZeroId,
    #[error("peer {entry:?} has an invalid URL: expected http://host:port")]
    BadUrl { entry: String },
    #[error("node id {0} appears more than once in --peers")]
    DuplicateId(u64),
    #[error("neither --node-id nor a pod name ending in -<ordinal> was given (pod name: {0:?})")]
    NoNodeId(Option<String>),
}

/// Parses `--peers`: `1@http://a:5001,2@http://b:5001`. An empty string is
/// an empty list.
pub fn parse_peers(s: &str) -> Result<Vec<Peer>, PeerError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, url) = entry
            .split_once('@')
            .ok_or_else(|| PeerError::Malformed(entry.to_string()))?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|e: std::num::ParseIntError| PeerError::BadId {
                entry: entry.to_string(),
                reason: e.to_string(),
            })?;
        if id == 0 {
            return Err(PeerError::ZeroId);
        }
        let url = url.trim();
        if !valid_url(url) {
            return Err(PeerError::BadUrl {
                entry: entry.to_string(),
            });
        }
        if !seen.insert(id) {
            return Err(PeerError::DuplicateId(id));
        }
        out.push(Peer {
            id,
            url: url.to_string(),
        });
    }
    Ok(out)
}

/// Formats peers as `--peers` expects them (the inverse of [`parse_peers`]).
pub fn format_peers(peers: &[Peer]) -> String {
    peers
        .iter()
        .map(|p| format!("{}@{}", p.id, p.url))
        .collect::<Vec<_>>()
        .join(",")
}

/// True for `http://host:port` or `https://host:port` with a numeric port.
pub fn valid_url(url: &str) -> bool {
    let rest = match url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        Some(r) => r.trim_end_matches('/'),
        None => return false,
    };
    match rest.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

/// The node id: `--node-id` if given, else the pod name's ordinal + 1.
pub fn derive_node_id(explicit: Option<u64>, pod_name: Option<&str>) -> Result<u64, PeerError> {
    if let Some(id) = explicit {
        return if id == 0 {
            Err(PeerError::ZeroId)
        } else {
            Ok(id)
        };
    }
    match pod_name.and_then(NodeId::from_pod_name) {
        Some(id) => Ok(id.0),
        None => Err(PeerError::NoNodeId(pod_name.map(str::to_string))),
    }
}

/// The stable DNS names and URLs of one cluster's pods: pod `<name>-<ordinal>`
/// behind the headless Service `<name>-headless` in `namespace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodAddresses {
    /// The cluster's name (StatefulSet and pod name prefix).
    pub name: String,
    pub namespace: String,
    /// The Kubernetes cluster domain, usually `cluster.local`.
    pub cluster_domain: String,
    /// The broker's Raft (gRPC) port.
    pub raft_port: u16,
    /// The broker's HTTP API port.
    pub http_port: u16,
}

impl PodAddresses {
    /// Name of the headless Service that gives every pod a stable DNS name.
    pub fn headless_service_name(&self) -> String {
        format!("{}-headless", self.name)
    }

    /// `<ns>.svc.<clusterDomain>`, the suffix of every DNS name.
    pub fn svc_suffix(&self) -> String {
        format!("{}.svc.{}", self.namespace, self.cluster_domain)
    }

    /// Name of the pod with this ordinal.
    pub fn pod_name(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.name)
    }

    /// Stable DNS name of the pod with this ordinal.
    pub fn pod_fqdn(&self, ordinal: u32) -> String {
        format!(
            "{}.{}.{}",
            self.pod_name(ordinal),
            self.headless_service_name(),
            self.svc_suffix()
        )
    }

    /// Raft URL of the pod with this ordinal.
    pub fn raft_url(&self, ordinal: u32) -> String {
        format!("http://{}:{}", self.pod_fqdn(ordinal), self.raft_port)
    }

    /// Base URL of the HTTP API of the pod with this ordinal.
    pub fn http_url(&self, ordinal: u32) -> String {
        format!("http://{}:{}", self.pod_fqdn(ordinal), self.http_port)
    }

    /// The initial voters of a cluster of `replicas` pods, as `--peers` lists them.
    pub fn initial_peers(&self, replicas: u32) -> Vec<Peer> {
        (0..replicas)
            .map(|ordinal| Peer {
                id: NodeId::from_ordinal(ordinal).0,
                url: self.raft_url(ordinal),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_formats() {
        let addresses = PodAddresses {
            name: "c".into(),
            namespace: "ns".into(),
            cluster_domain: "cluster.local".into(),
            raft_port: 5001,
            http_port: 8080,
        };
        let peers = addresses.initial_peers(2);
        let text = format_peers(&peers);
        assert_eq!(
            text,
            "1@http://c-0.c-headless.ns.svc.cluster.local:5001,\
             2@http://c-1.c-headless.ns.svc.cluster.local:5001"
        );
        assert_eq!(parse_peers(&text).unwrap(), peers);
        assert!(parse_peers("").unwrap().is_empty());
        assert_eq!(
            addresses.http_url(1),
            "http://c-1.c-headless.ns.svc.cluster.local:8080"
        );
    }

    #[test]
    fn rejects_bad_peers_with_a_reason() {
        assert_eq!(
            parse_peers("1http://a:1"),
            Err(PeerError::Malformed("1http://a:1".into()))
        );
        assert!(matches!(
            parse_peers("x@http://a:1"),
            Err(PeerError::BadId { .. })
        ));
        assert_eq!(parse_peers("0@http://a:1"), Err(PeerError::ZeroId));
        assert!(matches!(
            parse_peers("1@a:1"),
            Err(PeerError::BadUrl { .. })
        ));
        assert!(matches!(
            parse_peers("1@http://a"),
            Err(PeerError::BadUrl { .. })
        ));
        assert_eq!(
            parse_peers("1@http://a:1,1@http://b:1"),
            Err(PeerError::DuplicateId(1))
        );
    }

    #[test]
    fn node_id_is_the_ordinal_plus_one() {
        assert_eq!(derive_node_id(None, Some("chronik-0")), Ok(1));
        assert_eq!(derive_node_id(None, Some("my-cluster-12")), Ok(13));
        assert_eq!(derive_node_id(Some(7), Some("chronik-0")), Ok(7));
        assert_eq!(derive_node_id(Some(0), None), Err(PeerError::ZeroId));
        assert_eq!(
            derive_node_id(None, Some("laptop")),
            Err(PeerError::NoNodeId(Some("laptop".into())))
        );
        assert_eq!(derive_node_id(None, None), Err(PeerError::NoNodeId(None)));
        assert_eq!(NodeId(3).ordinal(), Some(2));
        assert_eq!(NodeId(0).ordinal(), None);
        assert_eq!(NodeId::from_ordinal(4), NodeId(5));
    }
}
