//! Parsing of `--peers` (`id@url,...`) and node-id derivation from a pod name.

use std::collections::BTreeMap;

/// One initial voter: its node id and Raft URL.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Parses `1@http://a:5001,2@http://b:5001`. An empty string is an empty list.
pub fn parse_peers(s: &str) -> Result<Vec<Peer>, PeerError> {
    let mut seen = BTreeMap::new();
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
        if seen.insert(id, ()).is_some() {
            return Err(PeerError::DuplicateId(id));
        }
        out.push(Peer {
            id,
            url: url.to_string(),
        });
    }
    Ok(out)
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
    let ordinal = pod_name
        .and_then(|p| p.rsplit_once('-'))
        .and_then(|(_, ord)| ord.parse::<u64>().ok());
    match ordinal {
        Some(o) => Ok(o + 1),
        None => Err(PeerError::NoNodeId(pod_name.map(str::to_string))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_operator_rendered_peers() {
        let p = parse_peers(
            "1@http://c-0.c-headless.ns.svc.cluster.local:5001, 2@http://c-1.c-headless.ns.svc.cluster.local:5001",
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].id, 2);
        assert_eq!(p[1].url, "http://c-1.c-headless.ns.svc.cluster.local:5001");
        assert!(parse_peers("").unwrap().is_empty());
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
    fn node_id_comes_from_the_ordinal() {
        assert_eq!(derive_node_id(None, Some("chronik-0")), Ok(1));
        assert_eq!(derive_node_id(None, Some("my-cluster-12")), Ok(13));
        assert_eq!(derive_node_id(Some(7), Some("chronik-0")), Ok(7));
        assert_eq!(derive_node_id(Some(0), None), Err(PeerError::ZeroId));
        assert_eq!(
            derive_node_id(None, Some("laptop")),
            Err(PeerError::NoNodeId(Some("laptop".into())))
        );
        assert_eq!(derive_node_id(None, None), Err(PeerError::NoNodeId(None)));
    }
}
