//! Leaf issuance: every parameter comes from policy; only the subject and key come from the CSR.

use const_oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_AD_OCSP, ID_PE_AUTHORITY_INFO_ACCESS};
use der::Encode;
use der::asn1::Ia5String;
use rcgen::{
    CertificateParams, CrlDistributionPoint, CustomExtension, ExtendedKeyUsagePurpose, IsCa,
    KeyIdMethod, KeyUsagePurpose, SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax};

use crate::ca::CaSigner;
use crate::csr::VerifiedCsr;
use crate::encoding::{fingerprint_sha256, key_identifier, to_pem};
use crate::serial::SerialNumber;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("validity_days must be at least 1")]
    ZeroValidity,
    #[error(
        "a certificate valid for {validity_days} days would outlive its CA (valid until {ca_not_after})"
    )]
    OutlivesCa {
        validity_days: u32,
        ca_not_after: OffsetDateTime,
    },
    #[error("the CSR public key cannot be encoded into a certificate: {0}")]
    UnsupportedKey(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("publication URL {0:?} is not ASCII")]
    BadUrl(String),
}

/// What to issue: the verified CSR, a fresh serial and the validity window's start.
#[derive(Debug, Clone, Copy)]
pub struct LeafRequest<'a> {
    pub csr: &'a VerifiedCsr,
    pub serial: SerialNumber,
    pub now: OffsetDateTime,
    pub validity_days: u32,
    /// Where relying parties find revocation data, when the CA publishes at a public URL.
    pub publication: Option<PublicationUrls<'a>>,
}

/// The CA's public endpoints, written into leaves as CRL Distribution Points and Authority
/// Information Access.
#[derive(Debug, Clone, Copy)]
pub struct PublicationUrls<'a> {
    pub crl: &'a str,
    pub ocsp: &'a str,
    pub ca_issuers: &'a str,
}

fn authority_info_access(urls: PublicationUrls<'_>) -> Result<CustomExtension, IssueError> {
    let uri = |text: &str| {
        Ia5String::new(text)
            .map(GeneralName::UniformResourceIdentifier)
            .map_err(|_| IssueError::BadUrl(text.to_string()))
    };
    let access = AuthorityInfoAccessSyntax(vec![
        AccessDescription {
            access_method: ID_AD_OCSP,
            access_location: uri(urls.ocsp)?,
        },
        AccessDescription {
            access_method: ID_AD_CA_ISSUERS,
            access_location: uri(urls.ca_issuers)?,
        },
    ]);
    let der = access
        .to_der()
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    let arcs: Vec<u64> = ID_PE_AUTHORITY_INFO_ACCESS.arcs().map(u64::from).collect();
    Ok(CustomExtension::from_oid_content(&arcs, der))
}

/// An issued client certificate and the derived fields the API reports.
#[derive(Debug, Clone)]
pub struct IssuedLeaf {
    pub der: Vec<u8>,
    pub pem: String,
    pub serial: SerialNumber,
    pub fingerprint_sha256: String,
    pub ski: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub signature_name: &'static str,
}

pub fn issue_leaf(ca: &CaSigner, request: LeafRequest<'_>) -> Result<IssuedLeaf, IssueError> {
    if request.validity_days == 0 {
        return Err(IssueError::ZeroValidity);
    }
    // X.509 times have second precision; truncating here keeps the stored dates equal to the DER.
    let not_before = request.now.replace_nanosecond(0).unwrap_or(request.now);
    let outlives_ca = || IssueError::OutlivesCa {
        validity_days: request.validity_days,
        ca_not_after: ca.not_after(),
    };
    // Checked: a validity past year 9999 would overflow the date (and outlives any CA).
    let not_after = not_before
        .checked_add(Duration::days(i64::from(request.validity_days)))
        .ok_or_else(outlives_ca)?;
    if not_after > ca.not_after() {
        return Err(outlives_ca());
    }

    let public_key = SubjectPublicKeyInfo::from_der(request.csr.public_key_der())
        .map_err(|e| IssueError::UnsupportedKey(e.to_string()))?;
    // The leaf must certify exactly the key the requester proved possession of.
    if rcgen::PublicKeyData::subject_public_key_info(&public_key) != request.csr.public_key_der() {
        return Err(IssueError::UnsupportedKey(
            "the public key would not re-encode identically".into(),
        ));
    }

    let mut params = CertificateParams::default();
    params.distinguished_name = request.csr.subject.name.clone();
    params.serial_number = Some(request.serial.to_bytes().to_vec().into());
    params.not_before = not_before;
    params.not_after = not_after;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = if request.csr.key_kind().is_rsa() {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    };
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let ski = key_identifier(&request.csr.public_key_bits);
    params.key_identifier_method = KeyIdMethod::PreSpecified(ski.clone());
    if let Some(urls) = request.publication {
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![urls.crl.to_string()],
        }];
        params.custom_extensions.push(authority_info_access(urls)?);
    }

    let certificate = params
        .signed_by(&public_key, &ca.issuer)
        .map_err(|e| IssueError::Signing(e.to_string()))?;
    let der = certificate.der().to_vec();
    Ok(IssuedLeaf {
        pem: to_pem("CERTIFICATE", &der),
        fingerprint_sha256: fingerprint_sha256(&der),
        ski: hex::encode(ski),
        serial: request.serial,
        not_before,
        not_after,
        signature_name: ca.signature_name(),
        der,
    })
}
