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

/// Create a self-signed ECDSA P-256 CA for one account.
///
/// CA:TRUE with pathlen 0 (it signs leaves only); keyCertSign and cRLSign, plus digitalSignature
/// because the CA signs its own OCSP responses (RFC 6960 §4.2.2.2, CA/B BR 7.1.2.1).
pub fn generate_managed_ca(
    common_name: &str,
    now: OffsetDateTime,
    validity: Duration,
) -> Result<NewCa, CaError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| CaError::KeyGeneration(e.to_string()))?;
    let not_before = now.replace_nanosecond(0).unwrap_or(now);
    let not_after = not_before + validity;

    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "clientca");
    name.push(DnType::CommonName, common_name);

    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    params.serial_number = Some(SerialNumber::random().to_bytes().to_vec().into());
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_identifier(key.public_key_raw()));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
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
