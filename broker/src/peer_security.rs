//! Broker-to-broker security: the `--peer-tls-dir` flags and what they turn
//! on. With a certificate directory, Raft traffic is mutual TLS with the
//! cluster CA (a sender is bound to the node id its certificate names), the
//! full HTTP API moves to the mTLS admin port and the plain HTTP port keeps
//! only health, metrics and status. Without one, everything is plaintext,
//! as the broker says in its log and in `/v1/status`.

use crate::tls::{ClientAuth, TlsError, TlsFiles, TlsMaterial};
use chronik_api::security::PeerSecurity;
use clap::Args;
use rustls::{ClientConfig, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Flags of peer security.
#[derive(Debug, Clone, Args)]
pub struct PeerTlsArgs {
    /// Directory of the cluster certificate: `ca.crt` (the cluster CA) and
    /// `<pod>.crt`/`<pod>.key` or `tls.crt`/`tls.key` (this broker's
    /// certificate, naming its node with the URI SAN `urn:chronik:node:<id>`).
    /// Turns on mutual TLS for Raft and the admin API; files are re-read
    /// when they change.
    #[arg(long, env = "CHRONIK_PEER_TLS_DIR")]
    pub peer_tls_dir: Option<PathBuf>,
    /// Listen address of the mTLS admin API (the full HTTP API), used with
    /// --peer-tls-dir.
    #[arg(long, env = "CHRONIK_ADMIN_ADDR", default_value = "0.0.0.0:8443")]
    pub admin_addr: SocketAddr,
    /// How often the certificate files are checked for changes, in ms.
    #[arg(long, env = "CHRONIK_PEER_TLS_RELOAD_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(50..), hide = true)]
    pub peer_tls_reload_ms: u64,
}

/// Peer security as configured (validated flags).
#[derive(Debug, Clone)]
pub struct PeerTlsConfig {
    /// Certificate files, when peer TLS is on.
    pub files: Option<TlsFiles>,
    pub admin_addr: SocketAddr,
    pub reload_every: Duration,
}

impl PeerTlsArgs {
    /// The configuration; `pod_name` picks `<pod>.crt` in a shared directory.
    pub fn config(&self, pod_name: Option<&str>) -> PeerTlsConfig {
        PeerTlsConfig {
            files: self
                .peer_tls_dir
                .as_deref()
                .map(|dir| TlsFiles::in_dir(dir, pod_name)),
            admin_addr: self.admin_addr,
            reload_every: Duration::from_millis(self.peer_tls_reload_ms),
        }
    }
}

/// The loaded peer TLS of a running broker.
#[derive(Clone)]
pub struct PeerTls {
    /// Followed on disk (rotation without restart).
    pub material: Arc<TlsMaterial>,
    /// Where the admin API listens.
    pub admin_addr: SocketAddr,
}

impl PeerTls {
    /// Loads the certificate and starts following its files; `None` (with a
    /// warning) when peer TLS is off.
    pub fn start(cfg: &PeerTlsConfig) -> Result<Option<Self>, TlsError> {
        let Some(files) = &cfg.files else {
            tracing::warn!(
                "no --peer-tls-dir: Raft traffic and the HTTP admin API are PLAINTEXT and \
                 unauthenticated; anyone who can reach the Raft or HTTP port can act as a \
                 member or administer the cluster"
            );
            return Ok(None);
        };
        let material = TlsMaterial::load(files.clone())?;
        material.spawn_reload(cfg.reload_every);
        tracing::info!(cert = %files.cert.display(), ca = %files.ca.display(), "peer mutual TLS on");
        Ok(Some(Self {
            material,
            admin_addr: cfg.admin_addr,
        }))
    }

    /// Raft server side: a client certificate of the cluster CA is required.
    pub fn raft_server(&self) -> Result<Arc<ServerConfig>, TlsError> {
        Ok(with_alpn(
            self.material.server_config(ClientAuth::Required)?,
            b"h2",
        ))
    }

    /// Admin API: a client certificate of the cluster CA is required (what
    /// it names is checked per request); HTTP/1.1 only.
    pub fn admin_server(&self) -> Result<Arc<ServerConfig>, TlsError> {
        Ok(with_alpn(
            self.material.server_config(ClientAuth::Required)?,
            b"http/1.1",
        ))
    }

    /// Raft client side: presents this broker's certificate.
    pub fn raft_client(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let mut config = (*self.material.client_config()?).clone();
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A copy of `config` offering only `protocol`. The copy shares the
/// certificate resolver and verifier, so it follows reloads too.
fn with_alpn(config: Arc<ServerConfig>, protocol: &[u8]) -> Arc<ServerConfig> {
    let mut config = (*config).clone();
    config.alpn_protocols = vec![protocol.to_vec()];
    Arc::new(config)
}

/// What `/v1/status` reports.
pub fn mode(tls: Option<&PeerTls>) -> PeerSecurity {
    match tls {
        Some(_) => PeerSecurity::Mtls,
        None => PeerSecurity::Plaintext,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        peer: PeerTlsArgs,
    }

    fn config(args: &[&str]) -> PeerTlsConfig {
        let mut v = vec!["chronik-broker"];
        v.extend_from_slice(args);
        Flags::try_parse_from(v)
            .expect("flags")
            .peer
            .config(Some("c-0"))
    }

    #[test]
    fn peer_tls_is_off_by_default_and_on_with_a_directory() {
        let off = config(&[]);
        assert!(off.files.is_none());
        assert_eq!(off.admin_addr.port(), 8443);
        assert_eq!(off.reload_every, Duration::from_secs(10));
        let on = config(&["--peer-tls-dir", "/tls", "--admin-addr", "127.0.0.1:9443"]);
        let files = on.files.expect("files");
        assert_eq!(files.ca, std::path::Path::new("/tls/ca.crt"));
        assert_eq!(files.cert, std::path::Path::new("/tls/tls.crt"));
        assert_eq!(on.admin_addr.port(), 9443);
        assert_eq!(mode(None), PeerSecurity::Plaintext);
    }
}
