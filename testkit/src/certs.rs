//! Test certificates made with rcgen: a CA per test cluster and leaf
//! certificates written in the layout brokers read (`ca.crt`, `tls.crt`,
//! `tls.key` in a directory, as a mounted Kubernetes TLS Secret).

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A certificate authority that issues leaf certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    name: String,
}

/// What a leaf certificate names.
#[derive(Debug, Clone, Default)]
pub struct Leaf {
    pub common_name: String,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub uris: Vec<String>,
}

impl Leaf {
    /// A broker's certificate: node `id` as URI SAN, loopback and
    /// `localhost` as addresses.
    pub fn node(id: u64) -> Self {
        Self {
            common_name: format!("chronik-{id}"),
            dns: vec!["localhost".into()],
            ips: vec![IpAddr::from([127, 0, 0, 1])],
            uris: vec![chronik_api::security::node_uri(id)],
        }
    }

    /// The operator's client certificate.
    pub fn operator() -> Self {
        Self {
            common_name: "chronik-operator".into(),
            uris: vec![chronik_api::security::OPERATOR_URI.into()],
            ..Self::default()
        }
    }

    /// A Kafka client's certificate with common name `cn`.
    pub fn client(cn: &str) -> Self {
        Self {
            common_name: cn.into(),
            ..Self::default()
        }
    }
}

/// PEM texts of an issued certificate.
#[derive(Debug, Clone)]
pub struct IssuedPem {
    pub cert: String,
    pub key: String,
}

impl TestCa {
    /// A new self-signed CA named `name`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        Self {
            issuer,
            name: name.to_string(),
        }
    }

    /// The CA's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate in PEM.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Issues a leaf for `leaf`, usable as server and client certificate.
    pub fn issue(&self, leaf: &Leaf) -> IssuedPem {
        let mut params = CertificateParams::new(leaf.dns.clone()).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, leaf.common_name.as_str());
        for ip in &leaf.ips {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        for uri in &leaf.uris {
            params
                .subject_alt_names
                .push(SanType::URI(uri.as_str().try_into().expect("URI SAN")));
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        IssuedPem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// Issues `leaf` and writes `ca.crt`, `tls.crt` and `tls.key` into `dir`
    /// (created if missing); returns `dir`.
    pub fn write_dir(&self, leaf: &Leaf, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).expect("create TLS dir");
        let issued = self.issue(leaf);
        write_files(dir, &self.cert_pem(), &issued);
        dir.to_path_buf()
    }
}

/// Writes `ca.crt`, `tls.crt` and `tls.key` into `dir` (replacing them the
/// way a Secret volume update does: new file, then rename).
pub fn write_files(dir: &Path, ca_pem: &str, issued: &IssuedPem) {
    for (name, text) in [
        ("ca.crt", ca_pem),
        ("tls.crt", issued.cert.as_str()),
        ("tls.key", issued.key.as_str()),
    ] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).expect("write TLS file");
        std::fs::rename(&tmp, dir.join(name)).expect("rename TLS file");
    }
}
