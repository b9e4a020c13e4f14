//! A [`TestCluster`] with peer mutual TLS: a test CA, a certificate
//! directory per node (`--peer-tls-dir`), an mTLS admin port per node, and
//! the operator's certificate for the test's own HTTP calls.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::TestCluster;
use crate::certs::{IssuedPem, Leaf, TestCa};
use crate::ports::free_port;

/// Peer TLS of a test cluster.
pub struct ClusterTls {
    /// The cluster CA every node's certificate is issued by.
    pub ca: TestCa,
    /// Admin API port of every node planned so far, by id.
    pub admin_ports: BTreeMap<u64, u16>,
    /// The operator's certificate, which the cluster's HTTP client presents.
    pub operator: IssuedPem,
}

/// An HTTPS client trusting `ca_pem` and presenting `identity` (none: no
/// client certificate).
pub fn https_client(ca_pem: &str, identity: Option<&IssuedPem>) -> reqwest::Client {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(ca.expect("CA PEM")).expect("CA certificate");
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let chain = CertificateDer::pem_slice_iter(id.cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("certificate PEM");
            let key = PrivateKeyDer::from_pem_slice(id.key.as_bytes()).expect("key PEM");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client certificate")
        }
    };
    reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .use_preconfigured_tls(config)
        .build()
        .expect("https client")
}

impl TestCluster {
    /// Plans `n` initial voters with peer mutual TLS; nothing runs yet.
    pub fn plan_tls(n: u64) -> Self {
        let mut c = Self::plan(n);
        c.enable_tls();
        c
    }

    /// Turns on peer TLS for every node started from now on: a new CA,
    /// node certificates, admin ports, and an HTTP client presenting the
    /// operator's certificate.
    pub fn enable_tls(&mut self) {
        let ca = TestCa::new(&format!("{}-ca", self.cluster_id));
        let operator = ca.issue(&Leaf::operator());
        self.client = https_client(&ca.cert_pem(), Some(&operator));
        self.tls = Some(ClusterTls {
            ca,
            admin_ports: BTreeMap::new(),
            operator,
        });
        let ids: Vec<u64> = self.specs.keys().copied().collect();
        for id in ids {
            self.prepare_tls(id);
        }
    }

    /// Node `id`'s `--peer-tls-dir`.
    pub fn cert_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("certs-{id}"))
    }

    /// Issues node `id`'s certificate and picks its admin port, once.
    pub(super) fn prepare_tls(&mut self, id: u64) {
        let dir = self.cert_dir(id);
        let ip = self.specs[&id].ip.clone();
        let Some(tls) = self.tls.as_mut() else { return };
        if tls.admin_ports.contains_key(&id) {
            return;
        }
        tls.ca.write_dir(&Leaf::node(id), &dir);
        tls.admin_ports.insert(id, free_port(&ip));
    }

    /// The arguments that turn on peer TLS for node `id` (none without TLS).
    pub(super) fn tls_args(&self, id: u64) -> Vec<String> {
        let Some(port) = self.tls.as_ref().and_then(|t| t.admin_ports.get(&id)) else {
            return Vec::new();
        };
        vec![
            "--peer-tls-dir".into(),
            self.cert_dir(id).display().to_string(),
            "--admin-addr".into(),
            format!("{}:{port}", self.specs[&id].ip),
            "--peer-tls-reload-ms".into(),
            "200".into(),
        ]
    }

    /// Base URL of node `id`'s full HTTP API: the mTLS admin port with peer
    /// TLS, else the plain HTTP port.
    pub fn api(&self, id: u64) -> String {
        let spec = &self.specs[&id];
        match self.tls.as_ref().and_then(|t| t.admin_ports.get(&id)) {
            Some(port) => format!("https://{}:{port}", spec.ip),
            None => spec.http(),
        }
    }

    /// Replaces node `id`'s certificate with a new one of the same CA (a
    /// Secret update); the broker takes it up without a restart.
    pub fn rotate_cert(&self, id: u64) {
        let tls = self.tls.as_ref().expect("a TLS cluster");
        let issued = tls.ca.issue(&Leaf::node(id));
        crate::certs::write_files(&self.cert_dir(id), &tls.ca.cert_pem(), &issued);
    }
}
