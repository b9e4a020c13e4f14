//! Who a certificate names: the node id of a broker (URI SAN
//! `urn:chronik:node:<id>`), the operator (`urn:chronik:operator`), and the
//! subject's common name (the principal of an mTLS Kafka client).

use chronik_api::security::{node_id_of_uri, OPERATOR_URI};
use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The identities a (verified) certificate claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertIdentity {
    /// The node id of a URI SAN `urn:chronik:node:<id>` (only when exactly one).
    pub node_id: Option<u64>,
    /// Whether a URI SAN is `urn:chronik:operator`.
    pub operator: bool,
    /// The subject's first common name.
    pub common_name: Option<String>,
}

impl CertIdentity {
    /// Reads a DER certificate; `None` when it does not parse.
    pub fn of(cert: &CertificateDer<'_>) -> Option<Self> {
        let (_, parsed) = X509Certificate::from_der(cert.as_ref()).ok()?;
        let common_name = parsed
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string);
        let mut nodes = Vec::new();
        let mut operator = false;
        if let Ok(Some(san)) = parsed.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::URI(uri) = name {
                    if *uri == OPERATOR_URI {
                        operator = true;
                    } else if let Some(id) = node_id_of_uri(uri) {
                        nodes.push(id);
                    }
                }
            }
        }
        nodes.dedup();
        Some(Self {
            node_id: (nodes.len() == 1).then(|| nodes[0]),
            operator,
            common_name,
        })
    }
}
