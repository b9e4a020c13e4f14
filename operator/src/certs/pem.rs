//! Making and reading certificates: rcgen signs CAs and leaves, x509-parser
//! turns PEM into the facts the planner decides on.

use std::collections::BTreeSet;
use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use super::plan::{CaFacts, LeafFacts};

/// Why a certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("signing {what}: {source}")]
    Sign {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("{what} is not a PEM certificate: {message}")]
    Parse { what: String, message: String },
    #[error("{what}: time {secs} out of range")]
    Time { what: String, secs: i64 },
    #[error("spec.tls.ca.secretName {secret:?}: the Secret is missing or has no PEM ca.crt and ca.key; create it, or remove secretName to let the operator create a CA")]
    MissingUserCa { secret: String },
}

/// A CA: its certificate and private key, PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPem {
    pub cert: String,
    pub key: String,
}

/// A leaf certificate and its private key, PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafPem {
    pub cert: String,
    pub key: String,
}

fn time(what: &str, secs: i64) -> Result<time::OffsetDateTime, CertError> {
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| CertError::Time {
        what: what.to_string(),
        secs,
    })
}

fn sign_err(what: &str) -> impl FnOnce(rcgen::Error) -> CertError + '_ {
    move |source| CertError::Sign {
        what: what.to_string(),
        source,
    }
}

/// A new self-signed CA named `<common_name> <now>` (the time makes every
/// CA's subject, the planner's CA id, unique), valid from an hour before
/// `now` for `validity_secs`.
pub fn new_ca(common_name: &str, now: i64, validity_secs: i64) -> Result<CaPem, CertError> {
    let what = format!("CA {common_name}");
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(sign_err(&what))?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{common_name} {now}"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "chronik");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = time(&what, now - 3600)?;
    params.not_after = time(&what, now + validity_secs)?;
    let key = KeyPair::generate().map_err(sign_err(&what))?;
    let cert = params.self_signed(&key).map_err(sign_err(&what))?;
    Ok(CaPem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A leaf for `common_name` with `sans` (`dns:…`, `ip:…`, `uri:…`), for
/// server and client authentication, signed by `ca`, valid for
/// `validity_secs` but never past `ca_not_after`.
pub fn issue_leaf(
    ca: &CaPem,
    common_name: &str,
    sans: &BTreeSet<String>,
    now: i64,
    validity_secs: i64,
    ca_not_after: i64,
) -> Result<LeafPem, CertError> {
    let what = format!("certificate {common_name}");
    let ca_key = KeyPair::from_pem(&ca.key).map_err(sign_err(&what))?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key).map_err(sign_err(&what))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(sign_err(&what))?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    for san in sans {
        params
            .subject_alt_names
            .push(san_type(san).map_err(sign_err(&what))?);
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.not_before = time(&what, now - 3600)?;
    params.not_after = time(&what, (now + validity_secs).min(ca_not_after))?;
    let key = KeyPair::generate().map_err(sign_err(&what))?;
    let cert = params.signed_by(&key, &issuer).map_err(sign_err(&what))?;
    Ok(LeafPem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

fn san_type(san: &str) -> Result<SanType, rcgen::Error> {
    if let Some(ip) = san.strip_prefix("ip:") {
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| rcgen::Error::InvalidIpAddressOctetLength(0))?;
        return Ok(SanType::IpAddress(ip));
    }
    if let Some(uri) = san.strip_prefix("uri:") {
        return Ok(SanType::URI(uri.try_into()?));
    }
    let dns = san.strip_prefix("dns:").unwrap_or(san);
    Ok(SanType::DnsName(dns.try_into()?))
}

fn parse_err(what: &str, message: impl std::fmt::Display) -> CertError {
    CertError::Parse {
        what: what.to_string(),
        message: message.to_string(),
    }
}

/// Every certificate in a PEM text (a trust bundle holds one or two).
fn pems(what: &str, text: &str) -> Result<Vec<Pem>, CertError> {
    let pems = Pem::iter_from_buffer(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| parse_err(what, e))?;
    if pems.is_empty() {
        return Err(parse_err(what, "no certificate"));
    }
    Ok(pems)
}

/// The facts of every CA certificate in a PEM text.
pub fn ca_facts(what: &str, text: &str) -> Result<Vec<CaFacts>, CertError> {
    pems(what, text)?
        .iter()
        .map(|pem| {
            let cert = pem.parse_x509().map_err(|e| parse_err(what, e))?;
            Ok(CaFacts {
                id: cert.subject().to_string(),
                not_after: cert.validity().not_after.timestamp(),
            })
        })
        .collect()
}

/// The facts of a leaf certificate (the first certificate of the text).
pub fn leaf_facts(what: &str, text: &str) -> Result<LeafFacts, CertError> {
    let pems = pems(what, text)?;
    let cert = pems[0].parse_x509().map_err(|e| parse_err(what, e))?;
    let mut sans = BTreeSet::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.insert(format!("dns:{d}")),
                GeneralName::URI(u) => sans.insert(format!("uri:{u}")),
                GeneralName::IPAddress(bytes) => match ip_of(bytes) {
                    Some(ip) => sans.insert(format!("ip:{ip}")),
                    None => false,
                },
                _ => false,
            };
        }
    }
    Ok(LeafFacts {
        issuer: cert.issuer().to_string(),
        not_after: cert.validity().not_after.timestamp(),
        sans,
    })
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}
