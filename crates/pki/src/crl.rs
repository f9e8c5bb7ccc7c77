//! Certificate revocation lists (RFC 5280 §5, v2): CRL number, AKI, one entry per revoked serial.

use der::asn1::BitStringRef;
use der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber};
use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams};
use time::OffsetDateTime;

use crate::ca::CaSigner;
use crate::reason::RevocationReason;
use crate::serial::SerialNumber;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    pub serial: SerialNumber,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrlError {
    #[error("nextUpdate must be after thisUpdate")]
    BadWindow,
    #[error("the CRL number must be positive")]
    BadNumber,
    #[error("CRL signing failed: {0}")]
    Signing(String),
    #[error("the previous CRL cannot be read")]
    PreviousUnreadable,
    #[error("the previous CRL has another issuer")]
    OtherIssuer,
    #[error("the CRL is too large to encode")]
    TooLarge,
}

/// Sign a complete CRL for `ca` listing `entries`.
///
/// The AKI is the CA certificate's own SKI (not re-derived), so CRL and certificate always agree.
/// Reason `unspecified` is left out of the entry, as RFC 5280 §5.3.1 asks.
pub fn sign_crl(
    ca: &CaSigner,
    crl_number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    entries: &[RevokedEntry],
) -> Result<Vec<u8>, CrlError> {
    if crl_number == 0 {
        return Err(CrlError::BadNumber);
    }
    if next_update <= this_update {
        return Err(CrlError::BadWindow);
    }
    let revoked_certs = entries
        .iter()
        .map(|entry| RevokedCertParams {
            serial_number: entry.serial.to_bytes().to_vec().into(),
            revocation_time: entry.revoked_at,
            reason_code: Some(entry.reason.to_rcgen()),
            invalidity_date: None,
        })
        .collect();
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: crl_number.into(),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::PreSpecified(ca.key_identifier().to_vec()),
    };
    let crl = params
        .signed_by(&ca.issuer)
        .map_err(|e| CrlError::Signing(e.to_string()))?;
    Ok(crl.der().to_vec())
}

/// Sign the CA's next CRL: every entry of `previous` (a CRL this CA signed), copied as encoded,
/// followed by `added`.
///
/// A pass that settles 10,000 revocations on top of a million encodes its own entries and hashes
/// the rest once, where decoding and re-encoding a million entries was most of the pass
/// (BENCHMARKS.md, "Publication at scale"). The result's TBSCertList is byte for byte the one
/// `sign_crl` makes from the previous entries followed by `added`. The previous entries are not
/// checked one by one: the caller has walked them (`visit_crl_serials`) to decide to extend.
pub fn extend_crl(
    ca: &CaSigner,
    previous: &[u8],
    crl_number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    added: &[RevokedEntry],
) -> Result<Vec<u8>, CrlError> {
    let previous = CrlLayout::parse(previous).map_err(|_| CrlError::PreviousUnreadable)?;
    // A small CRL of the new entries alone gives every field but the entries in their final form.
    let fresh = sign_crl(ca, crl_number, this_update, next_update, added)?;
    let fresh = CrlLayout::parse(&fresh).map_err(|e| CrlError::Signing(e.to_string()))?;
    if previous.issuer != fresh.issuer {
        return Err(CrlError::OtherIssuer);
    }
    let entries_len = previous.entries.len() + fresh.entries.len();
    let mut tbs_body_len = fresh.head.len() + fresh.extensions.len();
    if entries_len > 0 {
        tbs_body_len += header_len(Tag::Sequence, entries_len)? + entries_len;
    }
    // The CRL is assembled in one buffer, tens of megabytes at a million entries: the TBS is
    // written after room for the outer header, whose length is known once the signature is.
    // (Headers, the signature algorithm, and a signature of at most RSA-4096's 512 octets.)
    let trailer = fresh.signature_algorithm.len() + 1024;
    let mut crl = Vec::with_capacity(2 * OUTER_HEADER_ROOM + tbs_body_len + trailer);
    crl.resize(OUTER_HEADER_ROOM, 0);
    push_header(&mut crl, Tag::Sequence, tbs_body_len)?;
    crl.extend_from_slice(fresh.head);
    if entries_len > 0 {
        push_header(&mut crl, Tag::Sequence, entries_len)?;
        crl.extend_from_slice(previous.entries);
        crl.extend_from_slice(fresh.entries);
    }
    crl.extend_from_slice(fresh.extensions);
    let signature = ca
        .sign(&crl[OUTER_HEADER_ROOM..])
        .map_err(CrlError::Signing)?;
    crl.extend_from_slice(fresh.signature_algorithm);
    push_header(&mut crl, Tag::BitString, signature.len() + 1)?; // + the unused-bits octet
    crl.push(0);
    crl.extend_from_slice(&signature);

    let mut outer = Vec::with_capacity(OUTER_HEADER_ROOM);
    push_header(&mut outer, Tag::Sequence, crl.len() - OUTER_HEADER_ROOM)?;
    let start = OUTER_HEADER_ROOM
        .checked_sub(outer.len())
        .ok_or(CrlError::TooLarge)?;
    crl[start..OUTER_HEADER_ROOM].copy_from_slice(&outer);
    crl.drain(..start);
    Ok(crl)
}

/// Room for a DER header with a length of up to four octets (lengths below 4 GiB).
const OUTER_HEADER_ROOM: usize = 6;

fn header_len(tag: Tag, len: usize) -> Result<usize, CrlError> {
    let mut header = Vec::with_capacity(OUTER_HEADER_ROOM);
    push_header(&mut header, tag, len)?;
    Ok(header.len())
}

fn push_header(out: &mut Vec<u8>, tag: Tag, len: usize) -> Result<(), CrlError> {
    let too_large = |_| CrlError::TooLarge;
    let header = Header::new(tag, Length::try_from(len).map_err(too_large)?).map_err(too_large)?;
    header.encode_to_vec(out).map_err(too_large)?;
    Ok(())
}

/// Where the parts of a CRL's DER are, checked down to (not into) its entries.
pub(crate) struct CrlLayout<'a> {
    /// The TBSCertList's fields before its entries: version to nextUpdate.
    head: &'a [u8],
    /// The issuer Name, as encoded.
    issuer: &'a [u8],
    /// The content of revokedCertificates: the entries' encodings back to back (empty when none).
    pub(crate) entries: &'a [u8],
    /// crlExtensions as encoded, or empty.
    extensions: &'a [u8],
    signature_algorithm: &'a [u8],
}

impl<'a> CrlLayout<'a> {
    pub(crate) fn parse(crl: &'a [u8]) -> der::Result<Self> {
        let mut reader = SliceReader::new(crl)?;
        let (tbs, signature_algorithm) = reader.sequence(|list| {
            let tbs = list.tlv_bytes()?;
            let signature_algorithm = list.tlv_bytes()?;
            BitStringRef::decode(list)?;
            Ok((tbs, signature_algorithm))
        })?;
        reader.finish(())?;

        let mut reader = SliceReader::new(tbs)?;
        let tbs = reader.sequence(|tbs| tbs.read_slice(tbs.remaining_len()))?;
        reader.finish(())?;
        let mut fields = SliceReader::new(tbs)?;
        if fields.peek_tag()? == Tag::Integer {
            fields.tlv_bytes()?; // version
        }
        fields.tlv_bytes()?; // signature algorithm
        let issuer = fields.tlv_bytes()?;
        fields.tlv_bytes()?; // thisUpdate
        let is_time = |tag| matches!(tag, Tag::UtcTime | Tag::GeneralizedTime);
        if !fields.is_finished() && is_time(fields.peek_tag()?) {
            fields.tlv_bytes()?; // nextUpdate
        }
        let head = &tbs[..usize::try_from(fields.position())?];
        let mut entries: &[u8] = &[];
        if !fields.is_finished() && fields.peek_tag()? == Tag::Sequence {
            entries = fields.sequence(|list| list.read_slice(list.remaining_len()))?;
        }
        let extensions = &tbs[usize::try_from(fields.position())?..];
        if !fields.is_finished() {
            let tag = fields.peek_tag()?;
            if tag
                != (Tag::ContextSpecific {
                    constructed: true,
                    number: TagNumber::N0,
                })
            {
                return Err(tag.unexpected_error(None));
            }
            fields.tlv_bytes()?;
        }
        fields.finish(())?;
        Ok(Self {
            head,
            issuer,
            entries,
            extensions,
            signature_algorithm,
        })
    }
}
