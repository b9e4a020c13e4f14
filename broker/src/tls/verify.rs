//! Certificate verifiers that check against the material's current CA (so a
//! CA rotation applies to the next handshake). The chain checks themselves
//! are rustls' WebPKI verifiers, rebuilt over the current roots.

use super::TlsMaterial;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use std::sync::Arc;

fn verify12(
    m: &TlsMaterial,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    rustls::crypto::verify_tls12_signature(
        message,
        cert,
        dss,
        &m.provider().signature_verification_algorithms,
    )
}

fn verify13(
    m: &TlsMaterial,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, Error> {
    rustls::crypto::verify_tls13_signature(
        message,
        cert,
        dss,
        &m.provider().signature_verification_algorithms,
    )
}

fn schemes(m: &TlsMaterial) -> Vec<SignatureScheme> {
    m.provider()
        .signature_verification_algorithms
        .supported_schemes()
}

/// Verifies client certificates against the current CA.
#[derive(Debug)]
pub(super) struct ClientVerifier {
    material: Arc<TlsMaterial>,
    mandatory: bool,
}

impl ClientVerifier {
    pub(super) fn new(material: Arc<TlsMaterial>, mandatory: bool) -> Self {
        Self {
            material,
            mandatory,
        }
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Hints are optional; the roots change on reload and this answer
        // must borrow from self.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let roots = self.material.current().roots.clone();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(roots, self.material.provider().clone())
                .build()
                .map_err(|e| Error::General(format!("client verifier: {e}")))?;
        verifier.verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify12(&self.material, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify13(&self.material, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        schemes(&self.material)
    }
}

/// Verifies server certificates (chain and name) against the current CA.
#[derive(Debug)]
pub(super) struct ServerVerifier {
    material: Arc<TlsMaterial>,
}

impl ServerVerifier {
    pub(super) fn new(material: Arc<TlsMaterial>) -> Self {
        Self { material }
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let roots = self.material.current().roots.clone();
        let verifier =
            WebPkiServerVerifier::builder_with_provider(roots, self.material.provider().clone())
                .build()
                .map_err(|e| Error::General(format!("server verifier: {e}")))?;
        verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify12(&self.material, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify13(&self.material, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        schemes(&self.material)
    }
}
