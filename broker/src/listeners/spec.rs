//! One `--listener` value: `name=NAME,port=PORT[,tls=true|false]
//! [,auth=none|plain|scram-sha-256|scram-sha-512|mtls][,advertised=HOST:PORT]`.

use chronik_api::security::ScramMechanism;
use chronik_kafka::sasl::SaslMechanism;

/// How a listener authenticates its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerAuth {
    /// Everyone is `User:ANONYMOUS`.
    None,
    /// SASL PLAIN, checked against the user's SCRAM credential.
    Plain,
    /// SASL SCRAM with this mechanism.
    Scram(ScramMechanism),
    /// A client certificate of the clients CA; the principal is
    /// `User:CN=<common name>`.
    Mtls,
}

impl ListenerAuth {
    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "none" => Self::None,
            "plain" => Self::Plain,
            "scram-sha-256" => Self::Scram(ScramMechanism::ScramSha256),
            "scram-sha-512" => Self::Scram(ScramMechanism::ScramSha512),
            "mtls" => Self::Mtls,
            _ => return None,
        })
    }

    /// The SASL mechanisms a client must use: exactly the listener's one (a
    /// SCRAM listener does not take PLAIN, which would send the password).
    pub fn sasl_mechanisms(self) -> Vec<SaslMechanism> {
        match self {
            Self::None | Self::Mtls => Vec::new(),
            Self::Plain => vec![SaslMechanism::Plain],
            Self::Scram(m) => vec![SaslMechanism::Scram(m)],
        }
    }
}

/// A parsed listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    /// Name, in Metadata's view and every request's context.
    pub name: String,
    /// Port (on the IP of `--kafka-addr`).
    pub port: u16,
    /// Whether connections are TLS.
    pub tls: bool,
    /// Authentication.
    pub auth: ListenerAuth,
    /// Address advertised to clients (`HOST:PORT`); the advertised host and
    /// the port when absent.
    pub advertised: Option<String>,
}

/// Why `--listener` values do not describe runnable listeners.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenerError {
    #[error("--listener {spec:?}: {reason}")]
    Syntax { spec: String, reason: String },
    #[error("--listener {spec:?}: unknown auth {auth:?} (none, plain, scram-sha-256, scram-sha-512 or mtls)")]
    UnknownAuth { spec: String, auth: String },
    #[error("--listener {name:?}: auth=mtls needs tls=true")]
    MtlsWithoutTls { name: String },
    #[error("--listener {name:?}: TLS needs --kafka-tls-dir")]
    TlsWithoutDir { name: String },
    #[error("two listeners are named {0:?}")]
    DuplicateName(String),
    #[error("two listeners use port {0}")]
    DuplicatePort(u16),
}

fn syntax(spec: &str, reason: impl Into<String>) -> ListenerError {
    ListenerError::Syntax {
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

impl std::str::FromStr for ListenerSpec {
    type Err = ListenerError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (mut name, mut port, mut tls, mut auth, mut advertised) =
            (None, None, false, ListenerAuth::None, None);
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| syntax(spec, format!("{pair:?} is not key=value")))?;
            match key {
                "name" => name = Some(value.to_string()),
                "port" => {
                    let p: u16 = value
                        .parse()
                        .map_err(|_| syntax(spec, format!("port {value:?} is not a port")))?;
                    port = Some(p).filter(|p| *p != 0);
                }
                "tls" => {
                    tls = value
                        .parse()
                        .map_err(|_| syntax(spec, "tls must be true or false"))?
                }
                "auth" => {
                    auth = ListenerAuth::parse(value).ok_or_else(|| ListenerError::UnknownAuth {
                        spec: spec.to_string(),
                        auth: value.to_string(),
                    })?
                }
                "advertised" => {
                    let ok = value
                        .rsplit_once(':')
                        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                    if !ok {
                        return Err(syntax(spec, "advertised must be HOST:PORT"));
                    }
                    advertised = Some(value.to_string());
                }
                other => return Err(syntax(spec, format!("unknown key {other:?}"))),
            }
        }
        let name = name
            .filter(|n| {
                !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })
            .ok_or_else(|| syntax(spec, "name= (letters, digits, - and _) is required"))?;
        let port = port.ok_or_else(|| syntax(spec, "port= (1-65535) is required"))?;
        if auth == ListenerAuth::Mtls && !tls {
            return Err(ListenerError::MtlsWithoutTls { name });
        }
        Ok(Self {
            name,
            port,
            tls,
            auth,
            advertised,
        })
    }
}
