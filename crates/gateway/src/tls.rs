//! TLS for the gateway: one server configuration per account (trusting exactly that account's
//! CAs, with its own session cache, so a session from one account's host never resumes on
//! another's), one without client authentication for unassociated routes, and a client
//! certificate verifier that also consults the live revocation set.

use std::sync::Arc;

use authority::{AccountId, PresentedCertificate};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
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

/// Everything TLS needs for one account's hostnames: a configuration per enforcement mode (each
/// with its own session cache, so sessions never cross accounts or modes) and the chain check.
pub(crate) struct AccountTls {
    /// `require`: the handshake itself refuses a missing, unknown, expired or revoked certificate.
    pub(crate) require: Arc<ServerConfig>,
    /// `request`: any certificate whose signature proves possession of its key, or none; the
    /// request is then judged with `chain`.
    pub(crate) request: Arc<ServerConfig>,
    /// webpki's chain check against the account's CAs.
    pub(crate) chain: Arc<dyn ClientCertVerifier>,
}

impl AccountTls {
    pub(crate) fn new(
        account: AccountId,
        cas: &[Vec<u8>],
        state: Arc<LiveState>,
        resolver: Arc<dyn ResolvesServerCert>,
    ) -> Result<Self, rustls::Error> {
        let mut roots = RootCertStore::empty();
        // One unusable uploaded CA must not take the account's other CAs down with it.
        let (_, unusable) = roots
            .add_parsable_certificates(cas.iter().map(|der| CertificateDer::from(der.clone())));
        if unusable > 0 {
            tracing::warn!(%account, unusable, "CA certificates the gateway cannot use as trust anchors");
        }
        let chain = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        let require = Arc::new(RevocationCheckingVerifier {
            inner: Arc::clone(&chain),
            account,
            state,
        });
        let request = Arc::new(PossessionOnlyVerifier {
            inner: Arc::clone(&chain),
        });
        Ok(Self {
            require: server_config(require, Arc::clone(&resolver))?,
            request: server_config(request, resolver)?,
            chain,
        })
    }

    /// Whether `leaf` (with the client's `intermediates`) chains to one of the account's CAs
    /// and is within its validity now.
    pub(crate) fn chains(&self, leaf: &[u8], intermediates: &[Vec<u8>]) -> bool {
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|der| CertificateDer::from(der.as_slice()))
            .collect();
        self.chain
            .verify_client_cert(&CertificateDer::from(leaf), &intermediates, UnixTime::now())
            .is_ok()
    }
}

fn server_config(
    verifier: Arc<dyn ClientCertVerifier>,
    resolver: Arc<dyn ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
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

/// `request` mode: the handshake accepts any certificate (or none) whose CertificateVerify
/// signature is valid; whether it chains to the account's CAs is decided per request.
#[derive(Debug)]
struct PossessionOnlyVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientCertVerifier for PossessionOnlyVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
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
        false
    }
}
