//! Managed certificate authorities: creation and the signer built from stored parts.

use const_oid::db::rfc5912::{ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, SHA_256_WITH_RSA_ENCRYPTION};
use const_oid::db::rfc8410::ID_ED_25519;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SigningKey,
};
use time::{Duration, OffsetDateTime};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::encoding::{key_identifier, to_pem};
use crate::serial::SerialNumber;

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("could not generate the CA key: {0}")]
    KeyGeneration(String),
    #[error("could not sign the CA certificate: {0}")]
    Signing(String),
    #[error("the stored CA certificate is unusable: {0}")]
    BadCertificate(String),
    #[error("the stored CA private key is unusable: {0}")]
    BadKey(String),
    #[error("the stored CA private key does not match its certificate")]
    KeyMismatch,
}

/// A freshly generated CA: what the store must keep (the key only ever sealed).
pub struct NewCa {
    pub certificate_der: Vec<u8>,
    pub certificate_pem: String,
    pub private_key_pkcs8_der: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl std::fmt::Debug for NewCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCa")
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// The key type of a managed CA, chosen when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaKeyAlgorithm {
    /// ECDSA P-256 with SHA-256: what every TLS stack verifies, and the fastest to sign with.
    #[default]
    P256,
    /// ECDSA P-384 with SHA-384 (e.g. for CNSA-style policies).
    P384,
    /// Ed25519 (RFC 8410): small and fast, but older TLS clients and servers reject it.
    Ed25519,
}

impl CaKeyAlgorithm {
    pub const ALL: [CaKeyAlgorithm; 3] = [
        CaKeyAlgorithm::P256,
        CaKeyAlgorithm::P384,
        CaKeyAlgorithm::Ed25519,
    ];

    /// The name on the command line: `p256`, `p384`, `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            CaKeyAlgorithm::P256 => "p256",
            CaKeyAlgorithm::P384 => "p384",
            CaKeyAlgorithm::Ed25519 => "ed25519",
        }
    }

    fn signature_algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            CaKeyAlgorithm::P256 => &PKCS_ECDSA_P256_SHA256,
            CaKeyAlgorithm::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            CaKeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

impl std::str::FromStr for CaKeyAlgorithm {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("unknown CA key type {text:?}: use p256, p384 or ed25519"))
    }
}

impl std::fmt::Display for CaKeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Create a self-signed CA for one account, with a key of `algorithm`.
///
/// CA:TRUE with pathlen 0 (it signs leaves only); keyCertSign and cRLSign, plus digitalSignature
/// because the CA signs its own OCSP responses (RFC 6960 §4.2.2.2, CA/B BR 7.1.2.1).
pub fn generate_managed_ca(
    common_name: &str,
    now: OffsetDateTime,
    validity: Duration,
    algorithm: CaKeyAlgorithm,
) -> Result<NewCa, CaError> {
    let key = generate_key(algorithm)?;
    let not_before = now.replace_nanosecond(0).unwrap_or(now);
    let not_after = not_before + validity;

    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "clientca");
    name.push(DnType::CommonName, common_name);

    let mut params = issuing_ca_params(name);
    params.serial_number = Some(SerialNumber::random().to_bytes().to_vec().into());
    params.not_before = not_before;
    params.not_after = not_after;
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_identifier(key.public_key_raw()));
    let certificate = params
        .self_signed(&key)
        .map_err(|e| CaError::Signing(e.to_string()))?;
    let certificate_der = certificate.der().to_vec();
    Ok(NewCa {
        certificate_pem: to_pem("CERTIFICATE", &certificate_der),
        certificate_der,
        private_key_pkcs8_der: key.serialize_der(),
        not_before,
        not_after,
    })
}

fn generate_key(algorithm: CaKeyAlgorithm) -> Result<KeyPair, CaError> {
    KeyPair::generate_for(algorithm.signature_algorithm())
        .map_err(|e| CaError::KeyGeneration(e.to_string()))
}

/// What every CA clientca issues from is: CA:TRUE pathlen 0 (it signs leaves only), keyCertSign
/// and cRLSign, plus digitalSignature for the OCSP responses it signs itself.
fn issuing_ca_params(name: DistinguishedName) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// A new CA key and a CSR for it, for the user's root to sign (`clientca ca csr`): the CSR asks
/// for CA:TRUE pathlen 0 with keyCertSign, cRLSign and digitalSignature, like a managed CA.
/// Returns (the key as PKCS#8 DER, the CSR as PEM).
pub fn ca_key_and_csr(
    common_name: &str,
    algorithm: CaKeyAlgorithm,
) -> Result<(Vec<u8>, String), CaError> {
    let key = generate_key(algorithm)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    let csr = issuing_ca_params(name)
        .serialize_request(&key)
        .and_then(|request| request.pem())
        .map_err(|e| CaError::Signing(e.to_string()))?;
    Ok((key.serialize_der(), csr))
}

/// Hex SHA-256 of a certificate's subject public key bits: matches a certificate to the key a
/// CSR was made with. `None` when `certificate_der` is not a certificate.
pub fn public_key_fingerprint(certificate_der: &[u8]) -> Option<String> {
    let (_, certificate) = X509Certificate::from_der(certificate_der).ok()?;
    Some(crate::encoding::fingerprint_sha256(
        &certificate.public_key().subject_public_key.data,
    ))
}

/// The same fingerprint from a PKCS#8 key.
pub fn key_fingerprint(private_key_pkcs8_der: &[u8]) -> Result<String, CaError> {
    let key =
        KeyPair::try_from(private_key_pkcs8_der).map_err(|e| CaError::BadKey(e.to_string()))?;
    Ok(crate::encoding::fingerprint_sha256(key.public_key_raw()))
}

/// A CA ready to sign: its issuer identity (subject, key identifier) and private key.
pub struct CaSigner {
    pub(crate) issuer: Issuer<'static, KeyPair>,
    not_after: OffsetDateTime,
    signature_name: &'static str,
    /// The CA certificate's SKI (AKI of everything it signs).
    key_identifier: Vec<u8>,
    /// DER of the CA's subject name and its public key bits: what OCSP CertIDs hash.
    pub(crate) subject_der: Vec<u8>,
    pub(crate) public_key_bits: Vec<u8>,
    pub(crate) signature_algorithm: AlgorithmIdentifierOwned,
}

impl std::fmt::Debug for CaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaSigner")
            .field("not_after", &self.not_after)
            .field("signature_name", &self.signature_name)
            .finish_non_exhaustive()
    }
}

impl CaSigner {
    /// Rebuild a signer from the stored certificate and (unsealed) PKCS#8 key.
    pub fn from_parts(
        certificate_der: &[u8],
        private_key_pkcs8_der: &[u8],
    ) -> Result<Self, CaError> {
        let (_, certificate) = X509Certificate::from_der(certificate_der)
            .map_err(|e| CaError::BadCertificate(e.to_string()))?;
        let key =
            KeyPair::try_from(private_key_pkcs8_der).map_err(|e| CaError::BadKey(e.to_string()))?;
        if key.public_key_raw() != certificate.public_key().subject_public_key.data.as_ref() {
            return Err(CaError::KeyMismatch);
        }
        let not_after = certificate.validity().not_after.to_datetime();
        let key_identifier = certificate
            .extensions()
            .iter()
            .find_map(|ext| match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => {
                    Some(id.0.to_vec())
                }
                _ => None,
            })
            .ok_or_else(|| CaError::BadCertificate("no subject key identifier".into()))?;
        let (signature_name, signature_algorithm) = signature_scheme(key.algorithm());
        let signer = Self {
            not_after,
            signature_name,
            signature_algorithm,
            key_identifier,
            subject_der: certificate.subject().as_raw().to_vec(),
            public_key_bits: key.public_key_raw().to_vec(),
            issuer: Issuer::from_ca_cert_der(&certificate_der.into(), key)
                .map_err(|e| CaError::BadCertificate(e.to_string()))?,
        };
        Ok(signer)
    }

    /// Leaves must never outlive their CA.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The CA's subject key identifier.
    pub fn key_identifier(&self) -> &[u8] {
        &self.key_identifier
    }

    /// Sign raw bytes with the CA key (OCSP responses).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.issuer.key().sign(message).map_err(|e| e.to_string())
    }

    /// The signature algorithm name the API reports (`ECDSAWithSHA256`, `SHA256WithRSA`, ...).
    pub fn signature_name(&self) -> &'static str {
        self.signature_name
    }

    /// The managed-CA key type this signer's key is; `None` for others (an RSA key).
    pub fn key_algorithm(&self) -> Option<CaKeyAlgorithm> {
        let algorithm = self.issuer.key().algorithm();
        CaKeyAlgorithm::ALL
            .into_iter()
            .find(|candidate| candidate.signature_algorithm() == algorithm)
    }
}

/// The name the API reports and the AlgorithmIdentifier (RFC 5758/8410 forms: no parameters for
/// ECDSA and Ed25519, NULL for RSA) of signatures made by a key of `algorithm`. A PKCS#8 RSA key
/// always loads as RSA with SHA-256.
fn signature_scheme(
    algorithm: &'static rcgen::SignatureAlgorithm,
) -> (&'static str, AlgorithmIdentifierOwned) {
    let (name, oid, null_parameters) = if algorithm == &PKCS_ECDSA_P256_SHA256 {
        ("ECDSAWithSHA256", ECDSA_WITH_SHA_256, false)
    } else if algorithm == &rcgen::PKCS_ECDSA_P384_SHA384 {
        ("ECDSAWithSHA384", ECDSA_WITH_SHA_384, false)
    } else if algorithm == &rcgen::PKCS_ED25519 {
        ("Ed25519", ID_ED_25519, false)
    } else {
        ("SHA256WithRSA", SHA_256_WITH_RSA_ENCRYPTION, true)
    };
    let identifier = AlgorithmIdentifierOwned {
        oid,
        parameters: null_parameters.then(|| der::asn1::Null.into()),
    };
    (name, identifier)
}
