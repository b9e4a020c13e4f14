//! Binds every listener and serves it: TLS through the broker's
//! [`TlsMaterial`] (re-read on change), mTLS principals from the client
//! certificate's common name, SASL mechanisms from the listener's `auth`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chronik_kafka::server::CertPrincipal;
use chronik_kafka::{Backend, Handlers, ListenerSecurity, ListenerTls, Principal, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::advertised::watch_file;
use super::{ListenerAuth, ListenerConfig};
use crate::tls::{CertIdentity, ClientAuth, TlsError, TlsFiles, TlsMaterial};

/// How often the Kafka TLS files are checked for a new certificate or CA.
const TLS_RELOAD_EVERY: Duration = Duration::from_secs(10);

/// Why the listeners could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerStartError {
    #[error("cannot listen on {addr} (Kafka listener {name}): {source}")]
    Bind {
        name: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("--kafka-tls-dir: {0}")]
    Tls(#[from] TlsError),
}

/// The bound listeners, ready to serve.
pub struct BoundListeners {
    bound: Vec<(TcpListener, ListenerSecurity)>,
    /// Local address of the first (default) listener.
    pub default_addr: SocketAddr,
    /// Each listener's advertised address, kept current from the file.
    pub advertised: watch::Receiver<BTreeMap<String, String>>,
    /// The first listener's name.
    default_name: String,
}

fn mtls_principal() -> CertPrincipal {
    Arc::new(|cert| {
        CertIdentity::of(cert)
            .and_then(|id| id.common_name)
            .map(|cn| Principal::from_common_name(&cn))
    })
}

fn tls_for(material: &Arc<TlsMaterial>, mtls: bool) -> Result<ListenerTls, TlsError> {
    let auth = if mtls {
        ClientAuth::Required
    } else {
        ClientAuth::None
    };
    let mut config = (*material.server_config(auth)?).clone();
    // Kafka clients negotiate no application protocol.
    config.alpn_protocols.clear();
    Ok(ListenerTls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        client_principal: mtls.then(mtls_principal),
    })
}

impl BoundListeners {
    /// Binds every listener of `cfg`; advertised addresses default to
    /// `advertised_host` and the bound port.
    pub async fn bind(
        cfg: &ListenerConfig,
        advertised_host: &str,
        node_id: u64,
    ) -> Result<Self, ListenerStartError> {
        let material = match &cfg.tls_dir {
            Some(dir) if cfg.listeners.iter().any(|l| l.tls) => {
                let m = TlsMaterial::load(TlsFiles::in_dir(dir, cfg.pod_name.as_deref()))?;
                m.spawn_reload(TLS_RELOAD_EVERY);
                Some(m)
            }
            _ => None,
        };
        let mut bound = Vec::new();
        let mut advertised = BTreeMap::new();
        for l in &cfg.listeners {
            let addr = cfg
                .default_addr
                .unwrap_or_else(|| SocketAddr::new(cfg.bind_ip, l.port));
            let bind_err = |source| ListenerStartError::Bind {
                name: l.name.clone(),
                addr,
                source,
            };
            let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
            let local = listener.local_addr().map_err(bind_err)?;
            let tls = match (&material, l.tls) {
                (Some(m), true) => Some(tls_for(m, l.auth == ListenerAuth::Mtls)?),
                _ => None,
            };
            let security = ListenerSecurity {
                name: l.name.clone(),
                tls,
                sasl: l.auth.sasl_mechanisms(),
            };
            let address = l
                .advertised
                .clone()
                .unwrap_or_else(|| format!("{advertised_host}:{}", local.port()));
            advertised.insert(l.name.clone(), address);
            tracing::info!(listener = %l.name, %local, tls = l.tls, auth = ?l.auth, "Kafka listener bound");
            bound.push((listener, security));
        }
        let default_addr = match bound.first() {
            Some((l, s)) => l.local_addr().map_err(|source| ListenerStartError::Bind {
                name: s.name.clone(),
                addr: SocketAddr::new(cfg.bind_ip, 0),
                source,
            })?,
            None => SocketAddr::new(cfg.bind_ip, 0),
        };
        let default_name = bound
            .first()
            .map(|(_, s)| s.name.clone())
            .unwrap_or_default();
        Ok(Self {
            bound,
            default_addr,
            advertised: watch_file(advertised, cfg.advertised_file.clone(), node_id),
            default_name,
        })
    }

    /// The default listener's advertised address (the broker's registered
    /// Kafka address).
    pub fn default_advertised(&self) -> String {
        self.advertised
            .borrow()
            .get(&self.default_name)
            .cloned()
            .unwrap_or_default()
    }

    /// Serves every listener until `stop` turns true.
    pub fn serve<B: Backend>(
        self,
        handlers: Arc<Handlers<B>>,
        config: ServerConfig,
        stop: watch::Receiver<bool>,
    ) {
        for (listener, security) in self.bound {
            let mut stop = stop.clone();
            tokio::spawn(chronik_kafka::serve_listener(
                listener,
                handlers.clone(),
                config,
                security,
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            ));
        }
    }
}
