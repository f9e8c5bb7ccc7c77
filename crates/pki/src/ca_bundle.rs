//! CA certificates an account uploads so that the gateway accepts client certificates issued
//! elsewhere (Cloudflare's `mtls_certificates` with `ca: true`): read and checked once, then
//! described by the fields the API reports.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_PKCS1_RSASSAPSS, OID_PKCS1_SHA1WITHRSA, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA, OID_SHA1_WITH_RSA, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512, OID_SIG_ED25519,
};
use x509_parser::prelude::FromDer;

use crate::encoding::to_pem;

/// More than this in one upload is not a chain anyone needs.
pub const MAX_BUNDLE_CERTIFICATES: usize = 10;

/// A checked bundle: one CA certificate, or a chain of them, each issued by the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaBundle {
    /// The certificates in upload order, as DER.
    pub certificates_der: Vec<Vec<u8>>,
    /// The same certificates as PEM, one block each (what the API returns as `certificates`).
    pub pem: String,
    /// The first certificate's issuer, RFC 4514.
    pub issuer: String,
    /// The first certificate's serial number in decimal (as Cloudflare reports it).
    pub serial_number: String,
    /// The first certificate's signature algorithm (`SHA256WithRSA`, `ECDSAWithSHA256`, ...).
    pub signature: String,
    /// The earliest expiry in the bundle: the bundle verifies nothing after it.
    pub expires_on: OffsetDateTime,
}

/// Why a bundle was refused. Certificates are numbered from 1 in upload order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaBundleError {
    #[error("no PEM certificate found")]
    NoCertificate,
    #[error("the PEM is malformed: {0}")]
    MalformedPem(String),
    #[error(
        "a {0} block is not accepted: clientca stores CA certificates only, never private keys"
    )]
    UnexpectedBlock(String),
    #[error("at most {MAX_BUNDLE_CERTIFICATES} certificates may be uploaded together")]
    TooMany,
    #[error("certificate {0} is not a readable X.509 certificate")]
    Unreadable(usize),
    #[error("certificate {index} ({subject}) is not a CA: basicConstraints must say CA:TRUE")]
    NotACa { index: usize, subject: String },
    #[error(
        "certificate {index} ({subject}) may not sign certificates: keyUsage lacks keyCertSign"
    )]
    CannotSignCertificates { index: usize, subject: String },
    #[error("certificate {index} ({subject}) expired on {not_after}")]
    Expired {
        index: usize,
        subject: String,
        not_after: OffsetDateTime,
    },
    #[error("certificate {index} ({subject}) is not valid before {not_before}")]
    NotYetValid {
        index: usize,
        subject: String,
        not_before: OffsetDateTime,
    },
    #[error(
        "certificate {index} is not issued by certificate {next}: a chain must be uploaded \
         from the issuing CA up to the root"
    )]
    OutOfOrder { index: usize, next: usize },
    #[error("certificate {index} uses an unsupported signature algorithm ({oid})")]
    UnsupportedSignature { index: usize, oid: String },
}

/// Read `pem_text` as one or more CA certificates, valid at `now`, each issued by the one after
/// it. Anything else in the text — a private key above all — refuses the whole upload.
pub fn parse_ca_bundle(pem_text: &str, now: OffsetDateTime) -> Result<CaBundle, CaBundleError> {
    let blocks =
        pem::parse_many(pem_text).map_err(|e| CaBundleError::MalformedPem(e.to_string()))?;
    if let Some(other) = blocks.iter().find(|b| b.tag() != "CERTIFICATE") {
        return Err(CaBundleError::UnexpectedBlock(other.tag().to_string()));
    }
    match blocks.len() {
        0 => return Err(CaBundleError::NoCertificate),
        n if n > MAX_BUNDLE_CERTIFICATES => return Err(CaBundleError::TooMany),
        _ => {}
    }
    let ders: Vec<Vec<u8>> = blocks.into_iter().map(pem::Pem::into_contents).collect();
    let parsed = ders
        .iter()
        .enumerate()
        .map(|(i, der)| match X509Certificate::from_der(der) {
            Ok(([], certificate)) => Ok(certificate),
            _ => Err(CaBundleError::Unreadable(i + 1)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, certificate) in parsed.iter().enumerate() {
        check_ca(i + 1, certificate, now)?;
    }
    for (i, pair) in parsed.windows(2).enumerate() {
        let [child, parent] = pair else { continue };
        let issued = child.issuer() == parent.subject()
            && child.verify_signature(Some(parent.public_key())).is_ok();
        if !issued {
            return Err(CaBundleError::OutOfOrder {
                index: i + 1,
                next: i + 2,
            });
        }
    }
    let first = &parsed[0];
    let signature = signature_name(first).ok_or_else(|| CaBundleError::UnsupportedSignature {
        index: 1,
        oid: first.signature_algorithm.algorithm.to_id_string(),
    })?;
    let expires_on = parsed
        .iter()
        .map(|c| c.validity().not_after.to_datetime())
        .min()
        .unwrap_or(now);
    Ok(CaBundle {
        pem: ders.iter().map(|der| to_pem("CERTIFICATE", der)).collect(),
        issuer: first.issuer().to_string(),
        serial_number: first.serial.to_str_radix(10),
        signature: signature.to_string(),
        expires_on,
        certificates_der: ders,
    })
}

/// The DER certificates of a bundle `parse_ca_bundle` accepted earlier (as stored).
pub fn ca_bundle_ders(pem_text: &str) -> Result<Vec<Vec<u8>>, CaBundleError> {
    let blocks =
        pem::parse_many(pem_text).map_err(|e| CaBundleError::MalformedPem(e.to_string()))?;
    if blocks.is_empty() {
        return Err(CaBundleError::NoCertificate);
    }
    Ok(blocks.into_iter().map(pem::Pem::into_contents).collect())
}

pub(crate) fn check_ca(
    index: usize,
    certificate: &X509Certificate<'_>,
    now: OffsetDateTime,
) -> Result<(), CaBundleError> {
    let subject = || certificate.subject().to_string();
    let is_ca = matches!(certificate.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    if !is_ca {
        return Err(CaBundleError::NotACa {
            index,
            subject: subject(),
        });
    }
    // Without a keyUsage extension every use is allowed (RFC 5280 §4.2.1.3).
    if matches!(certificate.key_usage(), Ok(Some(ku)) if !ku.value.key_cert_sign()) {
        return Err(CaBundleError::CannotSignCertificates {
            index,
            subject: subject(),
        });
    }
    let validity = certificate.validity();
    let not_after = validity.not_after.to_datetime();
    if not_after <= now {
        return Err(CaBundleError::Expired {
            index,
            subject: subject(),
            not_after,
        });
    }
    let not_before = validity.not_before.to_datetime();
    if not_before > now {
        return Err(CaBundleError::NotYetValid {
            index,
            subject: subject(),
            not_before,
        });
    }
    Ok(())
}

/// The name Cloudflare reports for the signature algorithm (Go's `x509.SignatureAlgorithm`).
fn signature_name(certificate: &X509Certificate<'_>) -> Option<&'static str> {
    let oid = &certificate.signature_algorithm.algorithm;
    let names = [
        (&OID_PKCS1_SHA1WITHRSA, "SHA1WithRSA"),
        (&OID_SHA1_WITH_RSA, "SHA1WithRSA"),
        (&OID_PKCS1_SHA256WITHRSA, "SHA256WithRSA"),
        (&OID_PKCS1_SHA384WITHRSA, "SHA384WithRSA"),
        (&OID_PKCS1_SHA512WITHRSA, "SHA512WithRSA"),
        (&OID_PKCS1_RSASSAPSS, "RSAPSS"),
        (&OID_SIG_ECDSA_WITH_SHA256, "ECDSAWithSHA256"),
        (&OID_SIG_ECDSA_WITH_SHA384, "ECDSAWithSHA384"),
        (&OID_SIG_ECDSA_WITH_SHA512, "ECDSAWithSHA512"),
        (&OID_SIG_ED25519, "Ed25519"),
    ];
    names
        .iter()
        .find(|(known, _)| *known == oid)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    use time::Duration;

    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn params(name: &str, ca: bool, days: i64) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.not_before = now() - Duration::days(1);
        params.not_after = now() + Duration::days(days);
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        params
    }

    /// A root and an intermediate under it, as PEM.
    fn root_and_intermediate() -> (String, String) {
        let root_key = KeyPair::generate().unwrap();
        let root_params = params("Root", true, 3650);
        let root = root_params.self_signed(&root_key).unwrap();
        let issuer = rcgen::Issuer::new(root_params, root_key);
        let intermediate_key = KeyPair::generate().unwrap();
        let intermediate = params("Intermediate", true, 365)
            .signed_by(&intermediate_key, &issuer)
            .unwrap();
        (root.pem(), intermediate.pem())
    }

    #[test]
    fn a_root_is_described_by_the_fields_the_api_reports() {
        let (root, _) = root_and_intermediate();
        let bundle = parse_ca_bundle(&root, now()).unwrap();
        assert_eq!(bundle.certificates_der.len(), 1);
        assert_eq!(bundle.issuer, "CN=Root");
        assert_eq!(bundle.signature, "ECDSAWithSHA256");
        assert!(bundle.serial_number.bytes().all(|b| b.is_ascii_digit()));
        assert!(bundle.expires_on > now() + Duration::days(3649));
        assert_eq!(bundle.pem, root.replace("\r\n", "\n"));
    }

    #[test]
    fn a_chain_uploads_issuer_first_and_expires_with_its_shortest_member() {
        let (root, intermediate) = root_and_intermediate();
        let bundle = parse_ca_bundle(&format!("{intermediate}{root}"), now()).unwrap();
        assert_eq!(bundle.certificates_der.len(), 2);
        assert_eq!(bundle.issuer, "CN=Root");
        assert!(bundle.expires_on < now() + Duration::days(366));
        assert_eq!(
            parse_ca_bundle(&format!("{root}{intermediate}"), now()),
            Err(CaBundleError::OutOfOrder { index: 1, next: 2 })
        );
    }

    #[test]
    fn leaves_keys_garbage_and_expired_cas_are_refused() {
        let key = KeyPair::generate().unwrap();
        let leaf = params("device", false, 30).self_signed(&key).unwrap().pem();
        assert!(matches!(
            parse_ca_bundle(&leaf, now()),
            Err(CaBundleError::NotACa { index: 1, .. })
        ));
        let (root, _) = root_and_intermediate();
        assert_eq!(
            parse_ca_bundle(&format!("{root}{}", key.serialize_pem()), now()),
            Err(CaBundleError::UnexpectedBlock("PRIVATE KEY".into()))
        );
        assert_eq!(
            parse_ca_bundle("hello", now()),
            Err(CaBundleError::NoCertificate)
        );
        let garbage = to_pem("CERTIFICATE", b"not der");
        assert_eq!(
            parse_ca_bundle(&garbage, now()),
            Err(CaBundleError::Unreadable(1))
        );
        assert!(matches!(
            parse_ca_bundle(&root, now() + Duration::days(3651)),
            Err(CaBundleError::Expired { index: 1, .. })
        ));
        let mut no_cert_sign = params("No signing", true, 30);
        no_cert_sign.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let no_cert_sign = no_cert_sign.self_signed(&key).unwrap().pem();
        assert!(matches!(
            parse_ca_bundle(&no_cert_sign, now()),
            Err(CaBundleError::CannotSignCertificates { index: 1, .. })
        ));
        let eleven = root.repeat(MAX_BUNDLE_CERTIFICATES + 1);
        assert_eq!(parse_ca_bundle(&eleven, now()), Err(CaBundleError::TooMany));
    }
}
