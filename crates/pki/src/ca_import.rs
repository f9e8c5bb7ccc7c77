//! A CA certificate and key the user brings (an intermediate under their own root) to become an
//! account's issuing CA: checked for everything issuance, CRLs and OCSP will rely on.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use crate::ca::{CaError, CaSigner};
use crate::ca_bundle::{CaBundleError, check_ca, parse_ca_bundle};
use crate::encoding::to_pem;

/// An imported CA, ready to be sealed and stored.
pub struct ImportedCa {
    pub certificate_der: Vec<u8>,
    pub certificate_pem: String,
    pub private_key_pkcs8_der: Vec<u8>,
    /// The certificates above it up to the root, PEM, issuer first ('' when self-signed).
    pub chain_pem: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Its subject, RFC 4514: the name the API reports as `certificate_authority.name`.
    pub name: String,
}

impl std::fmt::Debug for ImportedCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedCa")
            .field("name", &self.name)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the certificate file must hold exactly one PEM certificate (the CA's own)")]
    NotOneCertificate,
    #[error(
        "the key must be one unencrypted PKCS#8 PEM block (BEGIN PRIVATE KEY); convert with \
         `openssl pkcs8 -topk8 -nocrypt -in key.pem`"
    )]
    NotPkcs8Key,
    #[error("the certificate: {0}")]
    Certificate(CaBundleError),
    #[error("the certificate may not sign CRLs: keyUsage must include cRLSign")]
    CannotSignCrls,
    #[error("the chain: {0}")]
    Chain(CaBundleError),
    #[error(
        "the chain's first certificate did not issue the CA certificate: give the chain from its \
         issuer up to the root"
    )]
    NotIssuedByChain,
    #[error("the CA certificate is not self-signed: give --chain, from its issuer up to the root")]
    ChainMissing,
    #[error("the key does not match the certificate")]
    KeyMismatch,
    #[error("the certificate or key cannot be used to sign: {0}")]
    Unusable(CaError),
}

/// Check `certificate_pem` + `private_key_pem` (+ `chain_pem`) as a CA to issue from at `now`.
pub fn import_ca(
    certificate_pem: &str,
    private_key_pem: &str,
    chain_pem: Option<&str>,
    now: OffsetDateTime,
) -> Result<ImportedCa, ImportError> {
    let certificate_der = match pem::parse_many(certificate_pem).as_deref() {
        Ok([block]) if block.tag() == "CERTIFICATE" => block.contents().to_vec(),
        _ => return Err(ImportError::NotOneCertificate),
    };
    let private_key_pkcs8_der = match pem::parse_many(private_key_pem).as_deref() {
        Ok([block]) if block.tag() == "PRIVATE KEY" => block.contents().to_vec(),
        _ => return Err(ImportError::NotPkcs8Key),
    };
    let Ok(([], certificate)) = X509Certificate::from_der(&certificate_der) else {
        return Err(ImportError::Certificate(CaBundleError::Unreadable(1)));
    };
    check_ca(1, &certificate, now).map_err(ImportError::Certificate)?;
    if !matches!(certificate.key_usage(), Ok(Some(ku)) if ku.value.crl_sign()) {
        return Err(ImportError::CannotSignCrls);
    }
    // The key matches, has a type we sign with, and the certificate has a subject key id.
    CaSigner::from_parts(&certificate_der, &private_key_pkcs8_der).map_err(|e| match e {
        CaError::KeyMismatch => ImportError::KeyMismatch,
        other => ImportError::Unusable(other),
    })?;
    let chain_pem = match chain_pem.map(str::trim).filter(|text| !text.is_empty()) {
        Some(chain) => {
            let bundle = parse_ca_bundle(chain, now).map_err(ImportError::Chain)?;
            let issuer = X509Certificate::from_der(&bundle.certificates_der[0])
                .map_err(|_| ImportError::Chain(CaBundleError::Unreadable(1)))?
                .1;
            let issued = certificate.issuer() == issuer.subject()
                && certificate
                    .verify_signature(Some(issuer.public_key()))
                    .is_ok();
            if !issued {
                return Err(ImportError::NotIssuedByChain);
            }
            bundle.pem
        }
        None => {
            let self_signed = certificate.issuer() == certificate.subject()
                && certificate.verify_signature(None).is_ok();
            if !self_signed {
                return Err(ImportError::ChainMissing);
            }
            String::new()
        }
    };
    let validity = certificate.validity();
    Ok(ImportedCa {
        certificate_pem: to_pem("CERTIFICATE", &certificate_der),
        name: certificate.subject().to_string(),
        not_before: validity.not_before.to_datetime(),
        not_after: validity.not_after.to_datetime(),
        certificate_der,
        private_key_pkcs8_der,
        chain_pem,
    })
}
