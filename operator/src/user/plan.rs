//! Pure planning of one ChronikUser pass: how clients reach the cluster
//! ([`Connection`], from the ChronikCluster's listeners), and what to ask the
//! brokers ([`BrokerPlan`]: the SCRAM credential to send, the ACL bindings to
//! create and delete).

use chronik_api::security::{AclBinding, Principal, ScramMechanism, UserCredentials};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::crd::AuthenticationType;
use super::credentials::Material;

/// How a client of this user reaches the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `host:port` of the listener's bootstrap, when the cluster's spec
    /// names a matching internal listener.
    pub bootstrap: Option<String>,
    /// Whether the listener uses TLS (`SASL_SSL`/`SSL` rather than
    /// `SASL_PLAINTEXT`/`PLAINTEXT`).
    pub tls: bool,
}

/// Listener authentication types a user of `authentication` connects through.
fn listener_auths(authentication: AuthenticationType) -> &'static [&'static str] {
    match authentication {
        AuthenticationType::ScramSha512 => &["scram-sha-512"],
        AuthenticationType::Tls => &["mtls", "tls"],
    }
}

/// The first listener of `cluster_spec.listeners[]` (`name`, `port`,
/// `type`, `tls`, `authentication.type`) this user can authenticate on.
/// Only an `internal` one has an address known from the spec: the
/// cluster's client Service `service_host` at the listener's port. Without
/// a matching listener, TLS is assumed (the operator's default).
pub fn connection(
    cluster_spec: &Value,
    authentication: AuthenticationType,
    service_host: &str,
) -> Connection {
    let wanted = listener_auths(authentication);
    let listener = cluster_spec
        .get("listeners")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|l| {
            l.pointer("/authentication/type")
                .and_then(Value::as_str)
                .is_some_and(|t| wanted.contains(&t))
        });
    let Some(listener) = listener else {
        return Connection {
            bootstrap: None,
            tls: true,
        };
    };
    let internal = listener
        .get("type")
        .and_then(Value::as_str)
        .is_none_or(|t| t == "internal");
    let port = listener.get("port").and_then(Value::as_u64);
    Connection {
        bootstrap: port
            .filter(|_| internal)
            .map(|port| format!("{service_host}:{port}")),
        tls: listener
            .get("tls")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

/// ACL bindings to create and to delete for one principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclDiff {
    pub create: Vec<AclBinding>,
    pub delete: Vec<AclBinding>,
}

impl AclDiff {
    /// True when the brokers already hold exactly the desired bindings.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.delete.is_empty()
    }
}

/// The desired bindings the brokers lack, and the brokers' bindings of
/// `principal` that are not desired (bindings of other principals are
/// never touched).
pub fn diff_acls(desired: &[AclBinding], live: &[AclBinding], principal: &Principal) -> AclDiff {
    let mine: Vec<&AclBinding> = live.iter().filter(|b| &b.principal == principal).collect();
    let mut create: Vec<AclBinding> = desired
        .iter()
        .filter(|d| !mine.contains(d))
        .cloned()
        .collect();
    let mut delete: Vec<AclBinding> = mine
        .into_iter()
        .filter(|m| !desired.contains(m))
        .cloned()
        .collect();
    create.sort();
    create.dedup();
    delete.sort();
    delete.dedup();
    AclDiff { create, delete }
}

/// What to ask the brokers in this pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerPlan {
    /// Send a new SCRAM-SHA-512 credential for the password.
    pub upsert_scram: bool,
    pub acls: AclDiff,
}

/// Everything [`plan_brokers`] looks at.
pub struct PlanInput<'a> {
    /// The Kafka user name.
    pub user: &'a str,
    pub principal: &'a Principal,
    pub material: &'a Material,
    /// The digest ([`password_digest`]) of the password last sent to the
    /// brokers, as the user's Secret records it.
    pub sent: Option<&'a str>,
    /// What `GET /v1/users` listed.
    pub scram_users: &'a [UserCredentials],
    /// The bindings the user should have.
    pub desired: &'a [AclBinding],
    /// What `GET /v1/acls` listed.
    pub live: &'a [AclBinding],
}

/// Plan the broker calls: a SCRAM credential unless the Secret records
/// this very password as sent and the brokers list a credential for the
/// user (so a new password, a password changed in the Secret, a send that
/// failed, and a recreated cluster all get one), and the ACL difference.
pub fn plan_brokers(input: &PlanInput<'_>) -> BrokerPlan {
    let upsert_scram = match input.material {
        Material::Scram { password, .. } => {
            input.sent != Some(password_digest(password).as_str())
                || !has_scram_sha_512(input.user, input.scram_users)
        }
        Material::Tls { .. } => false,
    };
    BrokerPlan {
        upsert_scram,
        acls: diff_acls(input.desired, input.live, input.principal),
    }
}

/// The hex SHA-256 of a password: what the Secret records as sent (the
/// Secret holds the password itself, so this reveals nothing more).
pub fn password_digest(password: &str) -> String {
    Sha256::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the brokers list a SCRAM-SHA-512 credential for `user`.
pub fn has_scram_sha_512(user: &str, scram_users: &[UserCredentials]) -> bool {
    scram_users.iter().any(|u| {
        u.user == user
            && u.credentials
                .iter()
                .any(|c| c.mechanism == ScramMechanism::ScramSha512)
    })
}
