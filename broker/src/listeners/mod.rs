//! Kafka listeners: `--listener` specs (name, port, TLS, authentication,
//! advertised address), `--kafka-tls-dir` (server certificate and the
//! clients CA), `--advertised-listeners-file`; binding and serving each
//! listener through `chronik_kafka::serve_listener`.

mod advertised;
mod serve;
mod spec;

pub use advertised::overrides;
pub use serve::{BoundListeners, ListenerStartError};
pub use spec::{ListenerAuth, ListenerError, ListenerSpec};

use clap::Args;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Name of the listener served on `--kafka-addr` when no `--listener` is given.
pub const DEFAULT_LISTENER: &str = "plain";

/// Kafka listener flags.
#[derive(Debug, Clone, Args)]
pub struct ListenerArgs {
    /// A Kafka listener, repeatable:
    /// name=NAME,port=PORT[,tls=true|false][,auth=none|plain|scram-sha-256|scram-sha-512|mtls][,advertised=HOST:PORT].
    /// In CHRONIK_LISTENERS listeners are separated by ';'. Without any, one
    /// listener `plain` serves --kafka-addr without TLS or authentication.
    /// The first listener's address is the broker's default address.
    #[arg(long = "listener", env = "CHRONIK_LISTENERS", value_delimiter = ';')]
    pub listeners: Vec<String>,
    /// Directory with the server certificate of TLS listeners
    /// (`<pod>.crt/.key` or `tls.crt/.key`) and, as `ca.crt`, the CA mTLS
    /// client certificates must chain to. Re-read when the files change.
    #[arg(long, env = "CHRONIK_KAFKA_TLS_DIR")]
    pub kafka_tls_dir: Option<PathBuf>,
    /// File of `NODE_ID LISTENER HOST:PORT` lines overriding this broker's
    /// advertised address on a listener; re-read when it changes.
    #[arg(long, env = "CHRONIK_ADVERTISED_LISTENERS_FILE")]
    pub advertised_listeners_file: Option<PathBuf>,
}

/// The validated listeners of a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Listeners in flag order (the first is the default).
    pub listeners: Vec<ListenerSpec>,
    /// IP every listener binds (that of `--kafka-addr`).
    pub bind_ip: std::net::IpAddr,
    /// `--kafka-tls-dir`.
    pub tls_dir: Option<PathBuf>,
    /// Pod name, naming the certificate files in the TLS directory.
    pub pod_name: Option<String>,
    /// `--advertised-listeners-file`.
    pub advertised_file: Option<PathBuf>,
    /// With no `--listener`: `--kafka-addr` itself (its port may be 0).
    pub default_addr: Option<SocketAddr>,
}

impl ListenerArgs {
    /// Parses and checks the listeners.
    pub fn validate(
        &self,
        kafka_addr: SocketAddr,
        pod_name: Option<&str>,
    ) -> Result<ListenerConfig, ListenerError> {
        let specs = self
            .listeners
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<ListenerSpec>())
            .collect::<Result<Vec<_>, _>>()?;
        let (listeners, default_addr) = if specs.is_empty() {
            let plain = ListenerSpec {
                name: DEFAULT_LISTENER.to_string(),
                port: kafka_addr.port(),
                tls: false,
                auth: ListenerAuth::None,
                advertised: None,
            };
            (vec![plain], Some(kafka_addr))
        } else {
            (specs, None)
        };
        let (mut names, mut ports) = (BTreeSet::new(), BTreeSet::new());
        for l in &listeners {
            if !names.insert(l.name.clone()) {
                return Err(ListenerError::DuplicateName(l.name.clone()));
            }
            if !ports.insert(l.port) {
                return Err(ListenerError::DuplicatePort(l.port));
            }
            if l.tls && self.kafka_tls_dir.is_none() {
                return Err(ListenerError::TlsWithoutDir {
                    name: l.name.clone(),
                });
            }
        }
        Ok(ListenerConfig {
            listeners,
            bind_ip: kafka_addr.ip(),
            tls_dir: self.kafka_tls_dir.clone(),
            pod_name: pod_name.map(str::to_string),
            advertised_file: self.advertised_listeners_file.clone(),
            default_addr,
        })
    }
}

#[cfg(test)]
mod tests;
