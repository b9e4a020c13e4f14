//! Validation of the security fields: listeners, authorization and the CA
//! settings become a [`Security`], the part of the validated cluster every
//! security builder reads.

use crate::crd::{ChronikClusterSpec, IssuerRef, ListenerAuthType, ListenerType};

use super::{Ports, ValidationError};

/// Container-port names the broker already uses; no listener may take them.
const RESERVED_NAMES: [&str; 3] = ["raft", "http", "admin"];

/// One checked Kafka listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The listener's name (the broker's `name=`).
    pub name: String,
    /// Name of its container and Service ports.
    pub port_name: String,
    pub port: i32,
    pub type_: ListenerType,
    pub tls: bool,
    pub auth: ListenerAuthType,
}

impl Listener {
    /// The broker's `--listener` value: `name=…,port=…,tls=…,auth=…`.
    pub fn broker_arg(&self) -> String {
        format!(
            "name={},port={},tls={},auth={}",
            self.name,
            self.port,
            self.tls,
            self.auth.broker_value()
        )
    }

    /// True for `nodeport` and `loadbalancer` listeners.
    pub fn is_external(&self) -> bool {
        self.type_ != ListenerType::Internal
    }
}

/// Settings of the operator-managed certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaSettings {
    pub validity_days: u32,
    pub renewal_days: u32,
    /// A user-provided CA Secret (`ca.crt`, `ca.key`) instead of a generated one.
    pub secret_name: Option<String>,
    /// cert-manager issues the leaves instead of the operator.
    pub cert_manager: Option<IssuerRef>,
}

/// The security part of a validated cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// Never empty: `spec.listeners`, or the default internal plaintext
    /// listener on `spec.ports.kafka`.
    pub listeners: Vec<Listener>,
    /// False when `listeners` is the default one: the brokers then get no
    /// `--listener` and keep their built-in `plain` listener.
    pub explicit_listeners: bool,
    /// `Some` with `spec.authorization`: the super users as principals.
    pub super_users: Option<Vec<String>>,
    /// Mutual TLS between brokers and on the admin port.
    pub peer_mtls: bool,
    pub ca: CaSettings,
}

impl Security {
    /// True when some listener needs the Kafka TLS directory.
    pub fn kafka_tls(&self) -> bool {
        self.listeners.iter().any(|l| l.tls)
    }

    /// The external (`nodeport`/`loadbalancer`) listeners.
    pub fn external_listeners(&self) -> impl Iterator<Item = &Listener> {
        self.listeners.iter().filter(|l| l.is_external())
    }

    /// The `--super-users` value: `User:a;User:b`.
    pub fn super_users_arg(&self) -> Option<String> {
        self.super_users.as_ref().map(|users| users.join(";"))
    }
}

/// Check the security fields of `spec` against the checked `ports`.
pub(super) fn validate_security(
    name: &str,
    spec: &ChronikClusterSpec,
    ports: &Ports,
) -> Result<Security, ValidationError> {
    let explicit_listeners = !spec.listeners.is_empty();
    let listeners = if explicit_listeners {
        spec.listeners
            .iter()
            .map(|l| Listener {
                name: l.name.clone(),
                port_name: l.name.clone(),
                port: l.port,
                type_: l.type_,
                tls: l.tls,
                auth: l
                    .authentication
                    .as_ref()
                    .map_or(ListenerAuthType::None, |a| a.type_),
            })
            .collect()
    } else {
        vec![Listener {
            name: "plain".to_string(),
            port_name: "kafka".to_string(),
            port: ports.kafka,
            type_: ListenerType::Internal,
            tls: false,
            auth: ListenerAuthType::None,
        }]
    };
    check_listeners(&listeners, ports)?;
    // `<c>-<listener>-bootstrap` must be a DNS label (63 characters).
    if let Some(l) = listeners
        .iter()
        .find(|l| l.is_external() && name.len() + l.name.len() + 11 > 63)
    {
        return Err(ValidationError::ExternalNameTooLong {
            name: format!("{name}-{}-bootstrap", l.name),
        });
    }
    let super_users = match &spec.authorization {
        None => None,
        Some(authz) => Some(
            authz
                .super_users
                .iter()
                .map(|u| principal(u))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let ca = &spec.tls.ca;
    if ca.renewal_days < 1 || ca.validity_days <= ca.renewal_days {
        return Err(ValidationError::InvalidCaDays {
            validity: ca.validity_days,
            renewal: ca.renewal_days,
        });
    }
    if ca.secret_name.is_some() && ca.cert_manager.is_some() {
        return Err(ValidationError::ConflictingCaSources);
    }
    Ok(Security {
        listeners,
        explicit_listeners,
        super_users,
        peer_mtls: spec.tls.peer_mtls,
        ca: CaSettings {
            validity_days: u32::try_from(ca.validity_days).unwrap_or(365),
            renewal_days: u32::try_from(ca.renewal_days).unwrap_or(30),
            secret_name: ca.secret_name.clone(),
            cert_manager: ca.cert_manager.as_ref().map(|c| c.issuer_ref.clone()),
        },
    })
}

fn check_listeners(listeners: &[Listener], ports: &Ports) -> Result<(), ValidationError> {
    for (i, l) in listeners.iter().enumerate() {
        let name_ok = l.name.len() <= 11
            && l.name.starts_with(|c: char| c.is_ascii_lowercase())
            && !l.name.ends_with('-')
            && !l.name.contains("--")
            && l.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok || RESERVED_NAMES.contains(&l.name.as_str()) {
            return Err(ValidationError::InvalidListenerName {
                name: l.name.clone(),
            });
        }
        if !(1..=65535).contains(&l.port) {
            return Err(ValidationError::InvalidListenerPort {
                name: l.name.clone(),
                port: l.port,
            });
        }
        let taken = [
            ("ports.raft", ports.raft),
            ("ports.http", ports.http),
            ("ports.admin", ports.admin),
        ];
        if let Some((other, _)) = taken.iter().find(|(_, p)| *p == l.port) {
            return Err(ValidationError::ListenerPortTaken {
                name: l.name.clone(),
                port: l.port,
                other,
            });
        }
        for m in &listeners[i + 1..] {
            if m.name == l.name || m.port == l.port {
                return Err(ValidationError::DuplicateListener {
                    first: l.name.clone(),
                    second: m.name.clone(),
                });
            }
        }
        if l.auth == ListenerAuthType::Tls && !l.tls {
            return Err(ValidationError::MutualTlsWithoutTls {
                name: l.name.clone(),
            });
        }
    }
    Ok(())
}

/// A super user as Kafka's principal: `User:` added to a bare name.
fn principal(user: &str) -> Result<String, ValidationError> {
    let user = user.trim();
    if user.is_empty() || user.contains([';', '\n', '\r']) {
        return Err(ValidationError::InvalidSuperUser {
            user: user.to_string(),
        });
    }
    if user.starts_with("User:") {
        Ok(user.to_string())
    } else {
        Ok(format!("User:{user}"))
    }
}
