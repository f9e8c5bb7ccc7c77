//! OCSP (RFC 6960): parsing requests and signing responses with the CA key itself.
//!
//! Responses are signed directly by the CA (no delegated responder), identified byKey, carry
//! thisUpdate/nextUpdate, and echo the request's nonce when it has one.

use const_oid::db::rfc5912::{ID_SHA_1, ID_SHA_256};
use const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE;
use der::asn1::{BitString, Null, OctetString};
use der::{Decode, Encode, Tagged};
use ring::digest;
use time::OffsetDateTime;
use x509_cert::ext::Extension;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspResponse, ResponderId,
    ResponseData, RevokedInfo, SingleResponse, Version,
};

use crate::ca::CaSigner;
use crate::reason::RevocationReason;
use crate::serial::SerialNumber;

/// Certificates one request may ask about (a bound on signing work per request).
pub(crate) const MAX_ITEMS: usize = 16;
/// RFC 9654: a nonce is an OCTET STRING of 1 to 32 octets; anything else is refused rather than
/// echoed into a signed answer.
const NONCE_OCTETS: std::ops::RangeInclusive<usize> = 1..=32;
/// RFC 5280 §4.1.2.2: serial numbers are at most 20 octets.
const MAX_SERIAL_OCTETS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcspError {
    #[error("malformed OCSP request: {0}")]
    Malformed(String),
    #[error("could not encode the OCSP response: {0}")]
    Encoding(String),
    #[error("could not sign the OCSP response: {0}")]
    Signing(String),
}

/// The unsuccessful response statuses clientca sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspFailure {
    MalformedRequest,
    InternalError,
    TryLater,
    Unauthorized,
}

/// An unsigned OCSP error response (`responseStatus` only, as RFC 6960 §2.3 defines).
pub fn ocsp_failure(kind: OcspFailure) -> Vec<u8> {
    let response = match kind {
        OcspFailure::MalformedRequest => OcspResponse::malformed_request(),
        OcspFailure::InternalError => OcspResponse::internal_error(),
        OcspFailure::TryLater => OcspResponse::try_later(),
        OcspFailure::Unauthorized => OcspResponse::unauthorized(),
    };
    // Five fixed bytes of DER (an OCSPResponse with only a status); encoding cannot fail.
    response.to_der().unwrap_or_default()
}

/// One certificate asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspItem {
    cert_id: CertId,
}

impl OcspItem {
    /// A SHA-1 CertID for one of `ca`'s serials (what the worker pre-signs answers for).
    pub fn for_serial(ca: &CaSigner, serial: SerialNumber) -> Result<Self, OcspError> {
        let sha1 = |data: &[u8]| {
            OctetString::new(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref())
        };
        let encoding = |e: der::Error| OcspError::Encoding(e.to_string());
        Ok(Self {
            cert_id: CertId {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: ID_SHA_1,
                    parameters: Some(Null.into()),
                },
                issuer_name_hash: sha1(&ca.subject_der).map_err(encoding)?,
                issuer_key_hash: sha1(&ca.public_key_bits).map_err(encoding)?,
                serial_number: x509_cert::serial_number::SerialNumber::new(&serial.to_bytes())
                    .map_err(encoding)?,
            },
        })
    }

    /// The serial asked about, if it can be one of ours (positive, at most 16 octets).
    pub fn serial(&self) -> Option<SerialNumber> {
        SerialNumber::from_be_bytes(self.cert_id.serial_number.as_bytes())
    }

    /// Whether the CertID's issuer name and key hashes name `ca` (SHA-1 or SHA-256 CertIDs).
    pub fn issued_by(&self, ca: &CaSigner) -> bool {
        let algorithm = if self.cert_id.hash_algorithm.oid == ID_SHA_1 {
            &digest::SHA1_FOR_LEGACY_USE_ONLY
        } else if self.cert_id.hash_algorithm.oid == ID_SHA_256 {
            &digest::SHA256
        } else {
            return false;
        };
        let hash = |data: &[u8]| digest::digest(algorithm, data);
        self.cert_id.issuer_name_hash.as_bytes() == hash(&ca.subject_der).as_ref()
            && self.cert_id.issuer_key_hash.as_bytes() == hash(&ca.public_key_bits).as_ref()
    }

    /// The CertID's hash algorithm, as a cache-key component (answers echo the CertID).
    pub fn hash_algorithm(&self) -> String {
        self.cert_id.hash_algorithm.oid.to_string()
    }

    /// Check a requester's CertID and put it in canonical form, so the answer echoes only values
    /// whose shape we chose: SHA-1 or SHA-256 with NULL parameters (absent ones become NULL),
    /// hashes of exactly that algorithm's length, a serial of at most 20 octets.
    fn canonical(mut cert_id: CertId) -> Result<Self, OcspError> {
        let length = if cert_id.hash_algorithm.oid == ID_SHA_1 {
            20
        } else if cert_id.hash_algorithm.oid == ID_SHA_256 {
            32
        } else {
            return Err(OcspError::Malformed(format!(
                "CertID hash algorithm {} is not supported (use SHA-1 or SHA-256)",
                cert_id.hash_algorithm.oid
            )));
        };
        let null_or_absent = match &cert_id.hash_algorithm.parameters {
            None => true,
            Some(parameters) => parameters.tag() == der::Tag::Null && parameters.value().is_empty(),
        };
        if !null_or_absent {
            return Err(OcspError::Malformed(
                "CertID hash algorithm parameters must be absent or NULL".into(),
            ));
        }
        if cert_id.issuer_name_hash.as_bytes().len() != length
            || cert_id.issuer_key_hash.as_bytes().len() != length
        {
            return Err(OcspError::Malformed(
                "CertID hashes do not have their algorithm's length".into(),
            ));
        }
        if cert_id.serial_number.as_bytes().len() > MAX_SERIAL_OCTETS {
            return Err(OcspError::Malformed(
                "CertID serial longer than 20 octets".into(),
            ));
        }
        cert_id.hash_algorithm.parameters = Some(Null.into());
        Ok(Self { cert_id })
    }
}

/// A parsed OCSPRequest.
#[derive(Debug, Clone)]
pub struct OcspRequest {
    items: Vec<OcspItem>,
    nonce: Option<Extension>,
}

impl OcspRequest {
    /// Parse DER; anything malformed, empty, oversized or with trailing bytes is an error.
    pub fn parse(der_bytes: &[u8]) -> Result<Self, OcspError> {
        let request = x509_ocsp::OcspRequest::from_der(der_bytes)
            .map_err(|e| OcspError::Malformed(e.to_string()))?;
        let tbs = request.tbs_request;
        if tbs.request_list.is_empty() {
            return Err(OcspError::Malformed("no certificates asked about".into()));
        }
        if tbs.request_list.len() > MAX_ITEMS {
            return Err(OcspError::Malformed(format!(
                "more than {MAX_ITEMS} certificates in one request"
            )));
        }
        let nonce = tbs
            .request_extensions
            .unwrap_or_default()
            .into_iter()
            .find(|ext| ext.extn_id == ID_PKIX_OCSP_NONCE);
        if let Some(nonce) = &nonce {
            let value = OctetString::from_der(nonce.extn_value.as_bytes())
                .map_err(|_| OcspError::Malformed("the nonce is not an OCTET STRING".into()))?;
            if !NONCE_OCTETS.contains(&value.as_bytes().len()) {
                return Err(OcspError::Malformed(format!(
                    "the nonce must be 1 to 32 octets, got {}",
                    value.as_bytes().len()
                )));
            }
        }
        Ok(Self {
            items: tbs
                .request_list
                .into_iter()
                .map(|r| OcspItem::canonical(r.req_cert))
                .collect::<Result<_, _>>()?,
            nonce,
        })
    }

    /// A nonce-less request for the given items (for pre-signing answers).
    pub fn for_items(items: Vec<OcspItem>) -> Self {
        Self { items, nonce: None }
    }

    pub fn items(&self) -> &[OcspItem] {
        &self.items
    }

    /// Requests with a nonce need a freshly signed answer; the others can share a cached one.
    pub fn has_nonce(&self) -> bool {
        self.nonce.is_some()
    }
}

/// What the responder says about one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspStatus {
    Good,
    Revoked {
        at: OffsetDateTime,
        reason: RevocationReason,
    },
    Unknown,
}

/// Sign a successful response answering `request`, one status per item, valid until `next_update`.
pub fn sign_ocsp_response(
    ca: &CaSigner,
    request: &OcspRequest,
    statuses: &[OcspStatus],
    now: OffsetDateTime,
    next_update: OffsetDateTime,
) -> Result<Vec<u8>, OcspError> {
    if statuses.len() != request.items.len() {
        return Err(OcspError::Encoding(
            "one status per requested certificate".into(),
        ));
    }
    let this_update = generalized(now)?;
    let next_update = generalized(next_update)?;
    let responses = request
        .items
        .iter()
        .zip(statuses)
        .map(|(item, status)| {
            Ok(SingleResponse {
                cert_id: item.cert_id.clone(),
                cert_status: match status {
                    OcspStatus::Good => CertStatus::good(),
                    OcspStatus::Unknown => CertStatus::unknown(),
                    OcspStatus::Revoked { at, reason } => CertStatus::revoked(RevokedInfo {
                        revocation_time: generalized(*at)?,
                        // RFC 5280 §5.3.1: leave "unspecified" out rather than state it.
                        revocation_reason: (*reason != RevocationReason::Unspecified)
                            .then(|| reason.to_x509()),
                    }),
                },
                this_update,
                next_update: Some(next_update),
                single_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, OcspError>>()?;
    let key_hash = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &ca.public_key_bits);
    let tbs = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(key_hash.as_ref()).map_err(encoding)?),
        produced_at: this_update,
        responses,
        response_extensions: request.nonce.clone().map(|nonce| vec![nonce]),
    };
    let tbs_der = tbs.to_der().map_err(encoding)?;
    let signature = ca.sign(&tbs_der).map_err(OcspError::Signing)?;
    let basic = BasicOcspResponse {
        tbs_response_data: tbs,
        signature_algorithm: ca.signature_algorithm.clone(),
        signature: BitString::from_bytes(&signature).map_err(encoding)?,
        certs: None,
    };
    OcspResponse::successful(basic)
        .and_then(|response| response.to_der())
        .map_err(encoding)
}

fn encoding(error: der::Error) -> OcspError {
    OcspError::Encoding(error.to_string())
}

fn generalized(at: OffsetDateTime) -> Result<OcspGeneralizedTime, OcspError> {
    let seconds = u64::try_from(at.unix_timestamp())
        .map_err(|_| OcspError::Encoding("time before 1970".into()))?;
    let datetime = der::DateTime::from_unix_duration(std::time::Duration::from_secs(seconds))
        .map_err(encoding)?;
    Ok(OcspGeneralizedTime::from(datetime))
}
