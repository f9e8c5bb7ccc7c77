//! TLS for the gateway: one server configuration per account (trusting exactly that account's
//! CAs, with its own session cache, so a session from one account's host never resumes on
//! another's), one without client authentication for unassociated routes, and a client
//! certificate verifier that also consults the live revocation set.

use std::sync::Arc;

use authority::{AccountId, PresentedCertificate};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::state::LiveState;

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// For routes whose hostname no zone associated: no client certificate is asked for.
pub(crate) fn plain_config(
    resolver: Arc<dyn ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// For one account's hostnames: a client certificate from one of `cas` is required.
pub(crate) fn mtls_config(
    account: AccountId,
    cas: &[Vec<u8>],
    state: Arc<LiveState>,
    resolver: Arc<dyn ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut roots = RootCertStore::empty();
    for der in cas {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| rustls::Error::General(format!("an unusable CA certificate: {e}")))?;
    }
    let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let verifier = Arc::new(RevocationCheckingVerifier {
        inner: webpki,
        account,
        state,
    });
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The serial value of a presented certificate, when it can be one of ours.
pub(crate) fn serial_of(der: &[u8]) -> Option<u128> {
    PresentedCertificate::parse(der)
        .ok()?
        .serial
        .map(|serial| serial.value())
}

/// webpki's chain check (issuer, validity, key usage) plus the live revocation set — not
/// webpki's CRL path, which re-verifies and hashes the whole CRL on every handshake
/// (rustls/webpki#81): tens of milliseconds at a million entries.
struct RevocationCheckingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    account: AccountId,
    state: Arc<LiveState>,
}

impl std::fmt::Debug for RevocationCheckingVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationCheckingVerifier")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl ClientCertVerifier for RevocationCheckingVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        match serial_of(end_entity) {
            Some(serial) if self.state.is_revoked(&self.account, serial) => {
                Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
            }
            _ => Ok(verified),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}

/// One certificate for every route host (`--self-signed`).
#[derive(Debug)]
pub(crate) struct SingleCertificate(Arc<CertifiedKey>);

impl SingleCertificate {
    pub(crate) fn self_signed(hosts: &[String]) -> Result<Self, String> {
        let (certificate, key) =
            authority::self_signed_server_certificate(hosts, time::OffsetDateTime::now_utc())
                .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
        let signing = provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| e.to_string())?;
        tracing::info!(
            fingerprint_sha256 = %authority::fingerprint_sha256(&certificate),
            "gateway: generated a self-signed server certificate"
        );
        Ok(Self(Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(certificate)],
            signing,
        ))))
    }

    /// The certificate's DER, for clients that pin it (tests).
    pub(crate) fn certificate_der(&self) -> Vec<u8> {
        self.0.cert[0].to_vec()
    }
}

impl ResolvesServerCert for SingleCertificate {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}
