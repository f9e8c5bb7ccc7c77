//! CSR parsing and policy: one PEM block, a valid self-signature, an allowed key, a sane subject.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_HASH_SHA1, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_HASH_SHA256,
    OID_NIST_HASH_SHA384, OID_NIST_HASH_SHA512, OID_PKCS1_MD5WITHRSAENC, OID_PKCS1_RSAENCRYPTION,
    OID_PKCS1_RSASSAPSS, OID_PKCS1_SHA1WITHRSA, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA, OID_SHA1_WITH_RSA, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::RsaSsaPssParams;
use x509_parser::x509::AlgorithmIdentifier;
use x509_parser::x509::X509Version;

use crate::subject::{Subject, SubjectFields, parse_subject};

const PEM_LABELS: [&str; 2] = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;
/// The smallest RSA public exponent accepted (CA/Browser Forum baseline: 2^16 + 1).
const RSA_MIN_EXPONENT: u64 = 65_537;

/// Why a CSR was refused. Every variant is the requester's fault (a 400), worded for them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    #[error("the CSR is empty")]
    Empty,
    #[error("the CSR is not PEM: expected one -----BEGIN CERTIFICATE REQUEST----- block")]
    NotPem,
    #[error("the CSR must contain exactly one PEM block, found {0}")]
    WrongBlockCount(usize),
    #[error("the PEM block is labelled {0:?}, expected \"CERTIFICATE REQUEST\"")]
    WrongPemLabel(String),
    #[error("the CSR contains text outside its PEM block")]
    TextOutsidePem,
    #[error("the CSR is not valid DER: {0}")]
    MalformedDer(String),
    #[error("the CSR is BER, not DER (strict parsers reject it); re-encode it as DER")]
    NotCanonicalDer,
    #[error("the CSR has {0} trailing bytes after its DER structure")]
    TrailingBytes(usize),
    #[error("the CSR version must be v1")]
    UnsupportedVersion,
    #[error("the CSR is signed with {0}, which is too weak; use SHA-256 or stronger")]
    WeakSignatureAlgorithm(&'static str),
    #[error("the CSR signature algorithm {0} is not supported")]
    UnsupportedSignatureAlgorithm(String),
    #[error("the CSR signature does not verify against its public key")]
    BadSignature,
    #[error("the CSR key is not allowed: {0}")]
    KeyNotAllowed(String),
    #[error("the CSR subject must contain a non-empty common name (CN)")]
    MissingCommonName,
    #[error("the CSR subject contains an empty relative distinguished name")]
    EmptySubjectComponent,
    #[error("the CSR subject contains a multi-valued RDN, which is not supported")]
    MultiValuedRdn,
    #[error("the CSR subject contains {0} more than once")]
    RepeatedSubjectAttribute(String),
    #[error("the CSR subject attribute {0} has an empty value")]
    EmptySubjectValue(String),
    #[error("the CSR subject attribute {attribute} is longer than {max} characters")]
    SubjectValueTooLong { attribute: String, max: usize },
    #[error("the CSR subject attribute {0} uses an unsupported string type")]
    UnsupportedSubjectValue(String),
    #[error("the CSR country {0:?} is not a two-letter uppercase ISO 3166 code")]
    InvalidCountry(String),
    #[error(
        "the CSR subject attribute {0} is not allowed; use CN, O, OU, C, ST and L (the fields the \
         API reports)"
    )]
    SubjectAttributeNotAllowed(String),
    #[error("the CSR subject attribute {0} contains an invisible or direction-changing character")]
    ConfusableSubjectValue(String),
    #[error("the CSR subject is {0} bytes; at most {max} are allowed", max = crate::subject::MAX_SUBJECT_BYTES)]
    SubjectTooLarge(usize),
}

/// The key types policy allows for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: usize },
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

impl KeyKind {
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyKind::Rsa { .. })
    }
}

/// A CSR whose framing, signature, key and subject passed policy.
#[derive(Debug, Clone)]
pub struct VerifiedCsr {
    /// The CSR's DER, as received (checked to be DER, not BER).
    pub(crate) der: Vec<u8>,
    pub(crate) subject: Subject,
    pub(crate) spki_der: Vec<u8>,
    /// The subjectPublicKey BIT STRING contents (what the SKI hashes).
    pub(crate) public_key_bits: Vec<u8>,
    pub(crate) key_kind: KeyKind,
}

impl VerifiedCsr {
    /// Parse a PEM CSR and apply every policy check. Never panics on any input.
    pub fn parse_pem(text: &str) -> Result<Self, CsrError> {
        let der = decode_single_pem(text)?;
        Self::parse_der(&der)
    }

    /// Parse a DER CSR and apply every policy check except the PEM framing.
    pub fn parse_der(der: &[u8]) -> Result<Self, CsrError> {
        let (rest, csr) = X509CertificationRequest::from_der(der)
            .map_err(|e| CsrError::MalformedDer(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CsrError::TrailingBytes(rest.len()));
        }
        // x509-parser is lenient (BER); what we store and hand back must be DER, which the `der`
        // crate's decoder insists on.
        <x509_cert::request::CertReq as der::Decode>::from_der(der)
            .map_err(|_| CsrError::NotCanonicalDer)?;
        let info = &csr.certification_request_info;
        if info.version != X509Version::V1 {
            return Err(CsrError::UnsupportedVersion);
        }
        let key_kind = check_key(info)?;
        check_signature_algorithm(&csr.signature_algorithm)?;
        csr.verify_signature().map_err(|_| CsrError::BadSignature)?;
        let subject = parse_subject(&info.subject)?;
        Ok(Self {
            der: der.to_vec(),
            subject,
            spki_der: info.subject_pki.raw.to_vec(),
            public_key_bits: info.subject_pki.subject_public_key.data.to_vec(),
            key_kind,
        })
    }

    pub fn subject(&self) -> &SubjectFields {
        &self.subject.fields
    }

    pub fn key_kind(&self) -> KeyKind {
        self.key_kind
    }

    /// The CSR as canonical PEM, made from its DER: no text the requester added (PEM headers,
    /// comments) survives, so what is stored and returned is only the request itself.
    pub fn pem(&self) -> String {
        crate::to_pem("CERTIFICATE REQUEST", &self.der)
    }

    /// The DER SubjectPublicKeyInfo the leaf will certify.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }
}

fn decode_single_pem(text: &str) -> Result<Vec<u8>, CsrError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CsrError::Empty);
    }
    // PEM is printable text; control characters (NUL above all) would also poison storage.
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(CsrError::NotPem);
    }
    let blocks = pem::parse_many(trimmed).map_err(|_| CsrError::NotPem)?;
    match blocks.len() {
        0 => return Err(CsrError::NotPem),
        1 => {}
        n => return Err(CsrError::WrongBlockCount(n)),
    }
    // parse_many skips text between and around blocks; a CSR field must hold the block alone.
    if !trimmed.starts_with("-----BEGIN ") || !trimmed.ends_with("-----") {
        return Err(CsrError::TextOutsidePem);
    }
    let block = blocks.into_iter().next().ok_or(CsrError::NotPem)?;
    if !PEM_LABELS.contains(&block.tag()) {
        return Err(CsrError::WrongPemLabel(block.tag().to_string()));
    }
    Ok(block.into_contents())
}

fn check_signature_algorithm(algorithm: &AlgorithmIdentifier<'_>) -> Result<(), CsrError> {
    let oid = &algorithm.algorithm;
    const ECDSA_WITH_SHA1: &str = "1.2.840.10045.4.1";
    const MD2_WITH_RSA: &str = "1.2.840.113549.1.1.2";
    const DSA_WITH_SHA1: &str = "1.2.840.10040.4.3";

    if *oid == OID_PKCS1_SHA1WITHRSA || *oid == OID_SHA1_WITH_RSA {
        return Err(CsrError::WeakSignatureAlgorithm("sha1WithRSAEncryption"));
    }
    if *oid == OID_PKCS1_MD5WITHRSAENC {
        return Err(CsrError::WeakSignatureAlgorithm("md5WithRSAEncryption"));
    }
    let id = oid.to_id_string();
    match id.as_str() {
        ECDSA_WITH_SHA1 => return Err(CsrError::WeakSignatureAlgorithm("ecdsa-with-SHA1")),
        MD2_WITH_RSA => return Err(CsrError::WeakSignatureAlgorithm("md2WithRSAEncryption")),
        DSA_WITH_SHA1 => return Err(CsrError::WeakSignatureAlgorithm("dsa-with-SHA1")),
        _ => {}
    }
    if *oid == OID_PKCS1_RSASSAPSS {
        return check_pss_parameters(algorithm);
    }
    let allowed = [
        OID_PKCS1_SHA256WITHRSA,
        OID_PKCS1_SHA384WITHRSA,
        OID_PKCS1_SHA512WITHRSA,
        OID_SIG_ECDSA_WITH_SHA256,
        OID_SIG_ECDSA_WITH_SHA384,
        OID_SIG_ED25519,
    ];
    if allowed.contains(oid) {
        Ok(())
    } else {
        Err(CsrError::UnsupportedSignatureAlgorithm(id))
    }
}

/// RSASSA-PSS is verified by ring, which supports SHA-256/384/512 with salt length = hash length
/// (the RFC 8017 recommendation); say so instead of reporting a bad signature.
fn check_pss_parameters(algorithm: &AlgorithmIdentifier<'_>) -> Result<(), CsrError> {
    let params = algorithm
        .parameters
        .as_ref()
        .and_then(|p| RsaSsaPssParams::try_from(p).ok())
        .ok_or_else(|| {
            CsrError::UnsupportedSignatureAlgorithm("RSASSA-PSS without valid parameters".into())
        })?;
    let hash = params.hash_algorithm_oid();
    let hash_len = if *hash == OID_NIST_HASH_SHA256 {
        32
    } else if *hash == OID_NIST_HASH_SHA384 {
        48
    } else if *hash == OID_NIST_HASH_SHA512 {
        64
    } else if *hash == OID_HASH_SHA1 {
        return Err(CsrError::WeakSignatureAlgorithm("RSASSA-PSS with SHA-1"));
    } else {
        return Err(CsrError::UnsupportedSignatureAlgorithm(format!(
            "RSASSA-PSS with hash {}",
            hash.to_id_string()
        )));
    };
    if params.salt_length() != hash_len {
        return Err(CsrError::UnsupportedSignatureAlgorithm(format!(
            "RSASSA-PSS with salt length {} (only salt length = hash length, {hash_len}, is supported)",
            params.salt_length()
        )));
    }
    Ok(())
}

fn check_key(
    info: &x509_parser::certification_request::X509CertificationRequestInfo<'_>,
) -> Result<KeyKind, CsrError> {
    let spki = &info.subject_pki;
    let algorithm = &spki.algorithm.algorithm;
    let parameters = spki.algorithm.parameters.as_ref();
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        // RFC 3279 §2.3.1: the parameters MUST be present and NULL.
        if !parameters.is_some_and(|p| p.header.tag() == Tag::Null && p.data.is_empty()) {
            return Err(CsrError::KeyNotAllowed(
                "the RSA key's AlgorithmIdentifier must carry NULL parameters (RFC 3279)".into(),
            ));
        }
        let (bits, exponent) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => (rsa.key_size(), rsa.try_exponent().ok()),
            _ => {
                return Err(CsrError::KeyNotAllowed(
                    "the RSA public key is malformed".into(),
                ));
            }
        };
        if !exponent.is_some_and(|e| e >= RSA_MIN_EXPONENT && e % 2 == 1) {
            return Err(CsrError::KeyNotAllowed(format!(
                "the RSA public exponent must be odd and at least {RSA_MIN_EXPONENT}"
            )));
        }
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(CsrError::KeyNotAllowed(format!(
                "RSA keys must be {RSA_MIN_BITS} to {RSA_MAX_BITS} bits, this one has {bits}"
            )));
        }
        return Ok(KeyKind::Rsa { bits });
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        return match curve {
            Some(c) if c == OID_EC_P256 => Ok(KeyKind::EcdsaP256),
            Some(c) if c == OID_NIST_EC_P384 => Ok(KeyKind::EcdsaP384),
            Some(c) => Err(CsrError::KeyNotAllowed(format!(
                "elliptic curve {} is not allowed; use P-256 or P-384",
                c.to_id_string()
            ))),
            None => Err(CsrError::KeyNotAllowed("the EC key names no curve".into())),
        };
    }
    if *algorithm == OID_SIG_ED25519 {
        // RFC 8410 §3: the parameters MUST be absent.
        if parameters.is_some() {
            return Err(CsrError::KeyNotAllowed(
                "the Ed25519 key's AlgorithmIdentifier must have no parameters (RFC 8410)".into(),
            ));
        }
        return Ok(KeyKind::Ed25519);
    }
    Err(CsrError::KeyNotAllowed(format!(
        "key algorithm {} is not allowed; use RSA 2048-8192, ECDSA P-256/P-384 or Ed25519",
        algorithm.to_id_string()
    )))
}
