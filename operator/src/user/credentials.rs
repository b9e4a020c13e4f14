//! The user's credential material: the SCRAM password kept in its Secret
//! (generated only when the Secret has none), or a client certificate with
//! common name `<user>` issued from the cluster's clients CA (issued again
//! when missing, not signed by the current CA, or close to expiry).

use std::collections::BTreeMap;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};
use x509_parser::pem::parse_x509_pem;

use super::scram::{generate_password, RandomError};

/// Validity of an issued client certificate.
pub const CERT_VALIDITY: Duration = Duration::days(365);
/// A certificate closer than this to its end is issued again.
pub const RENEW_BEFORE: Duration = Duration::days(30);

/// Secret keys the material is kept under.
pub mod keys {
    /// The SCRAM password.
    pub const PASSWORD: &str = "password";
    /// Kafka's JAAS line for the SCRAM login module.
    pub const JAAS: &str = "sasl.jaas.config";
    /// The client certificate (PEM).
    pub const USER_CRT: &str = "user.crt";
    /// The client certificate's private key (PKCS#8 PEM).
    pub const USER_KEY: &str = "user.key";
    /// The cluster CA certificate, to verify the brokers.
    pub const CA_CRT: &str = "ca.crt";
    /// Ready-to-use Kafka client properties.
    pub const CLIENT_PROPERTIES: &str = "client.properties";
}

/// A CA certificate and key (PEM), as the `<cluster>-clients-ca` Secret holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPem {
    pub cert: String,
    pub key: String,
}

/// What the user authenticates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// A SCRAM password; `fresh` when generated in this pass.
    Scram { password: String, fresh: bool },
    /// A client certificate and its key (PEM); `fresh` when issued in this pass.
    Tls {
        cert: String,
        key: String,
        fresh: bool,
    },
}

/// Why credential material could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("the clients CA is unusable: {0}")]
    Ca(String),
    #[error("issuing the client certificate: {0}")]
    Issue(String),
}

/// The password in `existing` (the user's Secret, as text), else a new one.
pub fn scram_material(existing: &BTreeMap<String, String>) -> Result<Material, RandomError> {
    match existing.get(keys::PASSWORD).filter(|p| !p.is_empty()) {
        Some(password) => Ok(Material::Scram {
            password: password.clone(),
            fresh: false,
        }),
        None => Ok(Material::Scram {
            password: generate_password()?,
            fresh: true,
        }),
    }
}

/// The certificate in `existing` while it is still good for `user` under
/// `ca` at `now`, else a new one.
pub fn tls_material(
    user: &str,
    existing: &BTreeMap<String, String>,
    ca: &CaPem,
    now: OffsetDateTime,
) -> Result<Material, CredentialError> {
    if let (Some(cert), Some(key)) = (existing.get(keys::USER_CRT), existing.get(keys::USER_KEY)) {
        if still_good(user, cert, &ca.cert, now) && !key.is_empty() {
            return Ok(Material::Tls {
                cert: cert.clone(),
                key: key.clone(),
                fresh: false,
            });
        }
    }
    let (cert, key) = issue(user, ca, now)?;
    Ok(Material::Tls {
        cert,
        key,
        fresh: true,
    })
}

/// Issue a client certificate with common name `user`, valid from an hour
/// before `now` (clock skew) for [`CERT_VALIDITY`].
pub fn issue(
    user: &str,
    ca: &CaPem,
    now: OffsetDateTime,
) -> Result<(String, String), CredentialError> {
    let ca_key = KeyPair::from_pem(&ca.key).map_err(|e| CredentialError::Ca(e.to_string()))?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key)
        .map_err(|e| CredentialError::Ca(e.to_string()))?;
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| CredentialError::Issue(e.to_string()))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, user);
    params.distinguished_name = dn;
    params.not_before = now - Duration::hours(1);
    params.not_after = now + CERT_VALIDITY;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().map_err(|e| CredentialError::Issue(e.to_string()))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| CredentialError::Issue(e.to_string()))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// True when `cert` names `user`, is signed by `ca_cert` and is valid for
/// longer than [`RENEW_BEFORE`] after `now`.
pub fn still_good(user: &str, cert: &str, ca_cert: &str, now: OffsetDateTime) -> bool {
    let (Ok((_, cert_pem)), Ok((_, ca_pem))) = (
        parse_x509_pem(cert.as_bytes()),
        parse_x509_pem(ca_cert.as_bytes()),
    ) else {
        return false;
    };
    let (Ok(cert), Ok(ca)) = (cert_pem.parse_x509(), ca_pem.parse_x509()) else {
        return false;
    };
    let names_user = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        == Some(user);
    let signed =
        cert.issuer() == ca.subject() && cert.verify_signature(Some(ca.public_key())).is_ok();
    let renew_at = cert.validity().not_after.to_datetime() - RENEW_BEFORE;
    names_user && signed && now < renew_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(name: &str) -> CaPem {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("ca");
        CaPem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    #[test]
    fn a_password_is_generated_once() {
        let Material::Scram { password, fresh } =
            scram_material(&BTreeMap::new()).expect("material")
        else {
            panic!("scram material");
        };
        assert!(fresh);
        let kept = BTreeMap::from([(keys::PASSWORD.to_string(), password.clone())]);
        assert_eq!(
            scram_material(&kept).expect("material"),
            Material::Scram {
                password,
                fresh: false
            }
        );
    }

    #[test]
    fn certificates_are_kept_while_good_and_issued_again_otherwise() {
        let clients = ca("clients-ca");
        let now = OffsetDateTime::now_utc();
        let Material::Tls { cert, key, fresh } =
            tls_material("app", &BTreeMap::new(), &clients, now).expect("issued")
        else {
            panic!("tls material");
        };
        assert!(fresh);
        assert!(key.contains("BEGIN PRIVATE KEY"));
        let (_, pem) = parse_x509_pem(cert.as_bytes()).expect("pem");
        let parsed = pem.parse_x509().expect("x509");
        assert_eq!(parsed.subject().to_string(), "CN=app");
        let existing = BTreeMap::from([
            (keys::USER_CRT.to_string(), cert.clone()),
            (keys::USER_KEY.to_string(), key.clone()),
        ]);
        let kept = tls_material("app", &existing, &clients, now).expect("kept");
        assert!(matches!(kept, Material::Tls { fresh: false, .. }));
        // Another CA (rotated or replaced): issued again.
        let other = ca("clients-ca");
        assert!(!still_good("app", &cert, &other.cert, now));
        let renewed = tls_material("app", &existing, &other, now).expect("renewed");
        assert!(matches!(renewed, Material::Tls { fresh: true, .. }));
        // Close to expiry, or for another user: not good.
        assert!(!still_good(
            "app",
            &cert,
            &clients.cert,
            now + Duration::days(340)
        ));
        assert!(!still_good("other", &cert, &clients.cert, now));
    }

    #[test]
    fn a_broken_ca_is_an_error() {
        let broken = CaPem {
            cert: "not a certificate".to_string(),
            key: "not a key".to_string(),
        };
        let error = tls_material("app", &BTreeMap::new(), &broken, OffsetDateTime::now_utc())
            .expect_err("no CA");
        assert!(matches!(error, CredentialError::Ca(_)));
    }
}
