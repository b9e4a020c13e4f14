//! The loaded certificate, key and CA, swapped in place when the files change.

use super::files::TlsFiles;
use super::{resolve, verify, ClientAuth};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Why TLS material cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path}: the key does not suit a supported signature scheme: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("{path}: CA certificate refused: {reason}")]
    Ca { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// One consistent reading of the files.
#[derive(Debug)]
pub(super) struct Loaded {
    pub(super) certified: Arc<CertifiedKey>,
    pub(super) roots: Arc<RootCertStore>,
    stamp: Vec<Option<(SystemTime, u64)>>,
}

/// A broker's TLS identity and trust, following its files.
#[derive(Debug)]
pub struct TlsMaterial {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<Loaded>>,
    reloads: AtomicU64,
}

fn stamp(files: &TlsFiles) -> Vec<Option<(SystemTime, u64)>> {
    files
        .paths()
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

fn read(path: &PathBuf) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.clone(),
        source,
    })
}

fn certificates(path: &PathBuf) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.clone() });
    }
    Ok(certs)
}

fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<Loaded, TlsError> {
    // Stamped before reading: a change during the read is seen next time.
    let stamp = stamp(files);
    let chain = certificates(&files.cert)?;
    let key_pem = read(&files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        path: files.key.clone(),
        reason: e.to_string(),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Key {
            path: files.key.clone(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| TlsError::Key {
        path: files.key.clone(),
        reason: e.to_string(),
    })?;
    let mut roots = RootCertStore::empty();
    for ca in certificates(&files.ca)? {
        roots.add(ca).map_err(|e| TlsError::Ca {
            path: files.ca.clone(),
            reason: e.to_string(),
        })?;
    }
    Ok(Loaded {
        certified: Arc::new(certified),
        roots: Arc::new(roots),
        stamp,
    })
}

impl TlsMaterial {
    /// Reads the files; every one must be present and valid.
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = load(&files, &provider)?;
        Ok(Arc::new(Self {
            files,
            provider,
            current: RwLock::new(Arc::new(loaded)),
            reloads: AtomicU64::new(0),
        }))
    }

    /// The files this material follows.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    pub(super) fn current(&self) -> Arc<Loaded> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(super) fn provider(&self) -> &Arc<CryptoProvider> {
        &self.provider
    }

    /// The leaf certificate in use.
    pub fn leaf(&self) -> CertificateDer<'static> {
        self.current().certified.cert[0].clone()
    }

    /// How many times new files were taken into use.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Reads the files again if any changed since the last reading. New
    /// material that fails to load is refused and the old one kept.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        if stamp(&self.files) == self.current().stamp {
            return Ok(false);
        }
        let loaded = load(&self.files, &self.provider)?;
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(loaded),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(loaded),
        }
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// Checks the files every `every` and takes changed ones into use;
    /// connections made afterwards present and trust the new material.
    pub fn spawn_reload(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let material = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(m) = material.upgrade() else { return };
                match m.reload_if_changed() {
                    Ok(true) => {
                        tracing::info!(cert = %m.files.cert.display(), "TLS certificate reloaded")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "changed TLS files refused; keeping the certificate in use")
                    }
                }
            }
        })
    }

    /// A server configuration presenting the current certificate and, as
    /// `auth` says, verifying clients against the current CA.
    pub fn server_config(
        self: &Arc<Self>,
        auth: ClientAuth,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let builder = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional | ClientAuth::Required => {
                builder.with_client_cert_verifier(Arc::new(verify::ClientVerifier::new(
                    self.clone(),
                    auth == ClientAuth::Required,
                )))
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(resolve::Current(self.clone())));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A client configuration presenting the current certificate and
    /// verifying servers against the current CA (and the name dialled).
    pub fn client_config(self: &Arc<Self>) -> Result<Arc<ClientConfig>, TlsError> {
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verify::ServerVerifier::new(self.clone())))
            .with_client_cert_resolver(Arc::new(resolve::Current(self.clone())));
        Ok(Arc::new(config))
    }
}
