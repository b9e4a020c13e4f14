//! Reaching a cluster's brokers: [`BrokerClients`] hands out the
//! [`BrokerApi`] for one cluster, over plain HTTP or, with peer mTLS, over
//! https to the admin port with the cluster's `<c>-operator` client
//! certificate, trusting the cluster CA bundle (`<c>-cluster-ca-cert`).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::{BrokerApi, BrokerError, HttpBrokers};

/// The operator's identity towards one cluster's brokers (PEM).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientTls {
    /// CA certificates to trust (the cluster CA bundle).
    pub ca_pem: String,
    /// The operator's certificate (URI SAN `urn:chronik:operator`).
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

fn tls_error(message: impl std::fmt::Display) -> BrokerError {
    BrokerError::Client {
        message: format!("TLS identity: {message}"),
    }
}

impl ClientTls {
    /// A rustls client configuration presenting this identity.
    pub fn rustls_config(&self) -> Result<rustls::ClientConfig, BrokerError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(cert.map_err(tls_error)?).map_err(tls_error)?;
        }
        let chain = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(tls_error)?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(tls_error)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(tls_error)
    }
}

/// Hands out the broker API of one cluster.
pub trait BrokerClients: Send + Sync {
    /// The API for a cluster reached with `tls` (plain HTTP when `None`).
    fn for_cluster(&self, tls: Option<&ClientTls>) -> Result<Arc<dyn BrokerApi>, BrokerError>;
}

/// The same API for every cluster (tests' fakes).
pub struct SameBrokers(pub Arc<dyn BrokerApi>);

impl BrokerClients for SameBrokers {
    fn for_cluster(&self, _tls: Option<&ClientTls>) -> Result<Arc<dyn BrokerApi>, BrokerError> {
        Ok(self.0.clone())
    }
}

/// Clients kept before the cache starts over (certificates rotate; old
/// identities must not pile up).
const MAX_CACHED: usize = 64;

/// [`HttpBrokers`] per identity, built once and reused while the identity
/// (the cluster's CA bundle and the operator's certificate) stays the same.
pub struct HttpBrokerClients {
    status_timeout: Duration,
    change_timeout: Duration,
    plain: Arc<HttpBrokers>,
    by_identity: Mutex<HashMap<u64, Arc<HttpBrokers>>>,
}

impl HttpBrokerClients {
    /// Timeouts as in [`HttpBrokers::new`].
    pub fn new(status_timeout: Duration, change_timeout: Duration) -> Result<Self, BrokerError> {
        Ok(Self {
            status_timeout,
            change_timeout,
            plain: Arc::new(HttpBrokers::new(status_timeout, change_timeout)?),
            by_identity: Mutex::default(),
        })
    }
}

impl BrokerClients for HttpBrokerClients {
    fn for_cluster(&self, tls: Option<&ClientTls>) -> Result<Arc<dyn BrokerApi>, BrokerError> {
        let Some(tls) = tls else {
            return Ok(self.plain.clone());
        };
        let mut hasher = DefaultHasher::new();
        tls.hash(&mut hasher);
        let key = hasher.finish();
        let mut cache = self
            .by_identity
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = cache.get(&key) {
            return Ok(client.clone());
        }
        let client = Arc::new(HttpBrokers::with_tls(
            self.status_timeout,
            self.change_timeout,
            tls,
        )?);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, client.clone());
        Ok(client)
    }
}
