//! Security contract between brokers, the operator and tests: certificate
//! identities, SCRAM credentials and ACL bindings as the HTTP admin API
//! carries them (the Kafka APIs carry the same facts in Kafka's encoding).
//!
//! - Peer identity: a broker's certificate names its node with the URI SAN
//!   [`node_uri`]; the operator's with [`OPERATOR_URI`].
//! - Principals are Kafka's `User:<name>`: SCRAM and PLAIN users by name,
//!   mTLS clients by their certificate's common name as `CN=<cn>`
//!   ([`Principal::from_common_name`]), everyone else `User:ANONYMOUS`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// URI SAN prefix binding a certificate to a node id.
pub const NODE_URI_PREFIX: &str = "urn:chronik:node:";
/// URI SAN of the operator's client certificate.
pub const OPERATOR_URI: &str = "urn:chronik:operator";

/// The URI SAN naming node `id` (`urn:chronik:node:<id>`).
pub fn node_uri(id: u64) -> String {
    format!("{NODE_URI_PREFIX}{id}")
}

/// The node id a URI SAN names, if it is a node URI.
pub fn node_id_of_uri(uri: &str) -> Option<u64> {
    uri.strip_prefix(NODE_URI_PREFIX)?.parse().ok()
}

/// A Kafka principal (`User:alice`, `User:CN=app`, `User:ANONYMOUS`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Principal {
    /// Kafka's principal type; always `User` for authenticated identities.
    pub kind: String,
    pub name: String,
}

impl Principal {
    /// `User:<name>`.
    pub fn user(name: &str) -> Self {
        Self {
            kind: "User".to_string(),
            name: name.to_string(),
        }
    }

    /// `User:ANONYMOUS`, the principal of unauthenticated connections.
    pub fn anonymous() -> Self {
        Self::user("ANONYMOUS")
    }

    /// `User:CN=<cn>`, the principal of an mTLS client.
    pub fn from_common_name(cn: &str) -> Self {
        Self::user(&format!("CN={cn}"))
    }

    /// Whether this is `User:ANONYMOUS`.
    pub fn is_anonymous(&self) -> bool {
        self.kind == "User" && self.name == "ANONYMOUS"
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

/// Why a principal string is not `<type>:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("principal {0:?} is not of the form <type>:<name> (for example User:alice)")]
pub struct InvalidPrincipal(pub String);

impl std::str::FromStr for Principal {
    type Err = InvalidPrincipal;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(Self {
                kind: kind.to_string(),
                name: name.to_string(),
            }),
            _ => Err(InvalidPrincipal(s.to_string())),
        }
    }
}

impl TryFrom<String> for Principal {
    type Error = InvalidPrincipal;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Principal> for String {
    fn from(p: Principal) -> Self {
        p.to_string()
    }
}

/// SCRAM mechanisms (Kafka's names on the wire and in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ScramMechanism {
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl ScramMechanism {
    /// Kafka's mechanism name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// Kafka's mechanism number in Describe/AlterUserScramCredentials.
    pub fn kafka_type(self) -> i8 {
        match self {
            Self::ScramSha256 => 1,
            Self::ScramSha512 => 2,
        }
    }

    /// The mechanism of Kafka's number, if known.
    pub fn from_kafka_type(t: i8) -> Option<Self> {
        match t {
            1 => Some(Self::ScramSha256),
            2 => Some(Self::ScramSha512),
            _ => None,
        }
    }
}

/// Kafka's least SCRAM iteration count.
pub const MIN_SCRAM_ITERATIONS: u32 = 4096;
/// Kafka's greatest SCRAM iteration count.
pub const MAX_SCRAM_ITERATIONS: u32 = 16384;

/// Body of `PUT /v1/users/{user}/scram`: a salted credential, as
/// AlterUserScramCredentials carries it (the password never travels to or
/// is stored by the broker). Binary fields are standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramUpsert {
    pub mechanism: ScramMechanism,
    pub iterations: u32,
    pub salt: String,
    /// `Hi(password, salt, iterations)` (RFC 5802's SaltedPassword).
    pub salted_password: String,
}

/// One mechanism of a user, as `GET /v1/users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramInfo {
    pub mechanism: ScramMechanism,
    pub iterations: u32,
}

/// A user with SCRAM credentials, as `GET /v1/users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCredentials {
    pub user: String,
    pub credentials: Vec<ScramInfo>,
}

/// Kafka's ACL resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Topic,
    Group,
    Cluster,
    TransactionalId,
}

/// Kafka's ACL pattern types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternType {
    Literal,
    Prefixed,
}

/// Kafka's ACL operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AclOperation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AclPermission {
    Allow,
    Deny,
}

/// One ACL: `principal` may (or may not) do `operation` from `host` on the
/// resources `pattern_type` and `resource_name` select. `resource_name` `*`
/// with `literal` matches every resource of the type; `host` `*` every host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    pub principal: Principal,
    #[serde(default = "any_host")]
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermission,
}

fn any_host() -> String {
    "*".to_string()
}

/// Body of `POST /v1/acls` (create) and answer of `GET /v1/acls`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclList {
    pub acls: Vec<AclBinding>,
}

/// Body of `POST /v1/acls/delete`: deletes every ACL of `principal` (all of
/// them when absent) whose resource type is `resource_type` (any when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclDeleteRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<ResourceType>,
    /// Delete exactly these bindings (in addition to the filter above).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exact: Vec<AclBinding>,
}

/// How a broker's peer traffic is protected, as `/v1/status` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerSecurity {
    /// No certificates: Raft and the admin API are plaintext and anyone who
    /// reaches the ports is trusted.
    #[default]
    Plaintext,
    /// Mutual TLS with the cluster CA; senders are bound to their certificates.
    Mtls,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_parse_and_print_as_kafka_does() {
        let p: Principal = "User:CN=app".parse().unwrap();
        assert_eq!(p, Principal::from_common_name("app"));
        assert_eq!(p.to_string(), "User:CN=app");
        assert!("alice".parse::<Principal>().is_err());
        assert!(Principal::anonymous().is_anonymous());
        let json = serde_json::to_string(&Principal::user("a")).unwrap();
        assert_eq!(json, r#""User:a""#);
    }

    #[test]
    fn node_uris_round_trip() {
        assert_eq!(node_id_of_uri(&node_uri(7)), Some(7));
        assert_eq!(node_id_of_uri(OPERATOR_URI), None);
        assert_eq!(node_id_of_uri("urn:chronik:node:x"), None);
    }

    #[test]
    fn acl_bindings_default_the_host() {
        let b: AclBinding = serde_json::from_str(
            r#"{"resource_type":"topic","resource_name":"t","pattern_type":"prefixed",
                "principal":"User:a","operation":"write","permission":"allow"}"#,
        )
        .unwrap();
        assert_eq!(b.host, "*");
        assert_eq!(
            serde_json::to_value(ScramMechanism::ScramSha512).unwrap(),
            "SCRAM-SHA-512"
        );
    }
}
