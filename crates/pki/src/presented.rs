//! What a TLS server needs to know about a client certificate it was shown, and about the CRLs
//! it enforces: parsed once, reported in the forms the API and the gateway's headers use.

use const_oid::db::rfc5280::ID_CE_CRL_REASONS;
use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use time::OffsetDateTime;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::time::Time;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::crl::RevokedEntry;
use crate::encoding::fingerprint_sha256;
use crate::reason::RevocationReason;
use crate::serial::SerialNumber;

/// A certificate that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable X.509 {0}")]
pub struct Unreadable(&'static str);

/// The facts about a presented client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCertificate {
    /// The serial when it can be one of ours (positive, at most 16 octets).
    pub serial: Option<SerialNumber>,
    /// The serial's octets as uppercase hex (Cloudflare's `cf-cert-serial`).
    pub serial_hex: String,
    /// Lowercase hex SHA-256 of the DER (the API's `fingerprint_sha256`).
    pub fingerprint_sha256: String,
    /// RFC 4514 distinguished names.
    pub subject_dn: String,
    pub issuer_dn: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl PresentedCertificate {
    pub fn parse(der: &[u8]) -> Result<Self, Unreadable> {
        let (_, certificate) = x509_parser::certificate::X509Certificate::from_der(der)
            .map_err(|_| Unreadable("certificate"))?;
        let raw_serial = certificate.raw_serial();
        Ok(Self {
            serial: SerialNumber::from_be_bytes(raw_serial),
            serial_hex: hex::encode_upper(strip_sign_octet(raw_serial)),
            fingerprint_sha256: fingerprint_sha256(der),
            subject_dn: dn(certificate.subject()),
            issuer_dn: dn(certificate.issuer()),
            not_before: certificate.validity().not_before.to_datetime(),
            not_after: certificate.validity().not_after.to_datetime(),
        })
    }
}

/// DER integers carry a leading zero octet when the top bit is set; hex forms leave it out.
fn strip_sign_octet(octets: &[u8]) -> &[u8] {
    match octets {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => octets,
    }
}

fn dn(name: &X509Name<'_>) -> String {
    name.to_string()
}

/// The serials a CRL lists (those that can be ours; others cannot match a leaf we issued).
///
/// A walk over the DER that keeps nothing but the serials: a full parse holds every entry (with
/// its extensions and a big-integer serial), hundreds of megabytes at a million entries. The
/// signature is not checked — the CRL comes from clientca's own database.
pub fn crl_serials(crl: &[u8]) -> Result<Vec<SerialNumber>, Unreadable> {
    let mut serials = Vec::new();
    walk_entries(crl, |entry| {
        serials.extend(SerialNumber::from_be_bytes(serial_of(entry)?));
        skip_rest(entry) // revocationDate, entry extensions
    })
    .map_err(|_| Unreadable("CRL"))?;
    Ok(serials)
}

/// Every entry of a CRL — serial, revocation date, reason — by the same walk: what the next CRL
/// of a CA starts from, instead of reading every revoked certificate from the database again.
/// A serial that is not positive, or a reason clientca never writes, makes the CRL unreadable.
pub fn crl_entries(crl: &[u8]) -> Result<Vec<RevokedEntry>, Unreadable> {
    let unreadable = || Tag::Integer.value_error();
    let mut entries = Vec::new();
    walk_entries(crl, |entry| {
        let serial = SerialNumber::from_be_bytes(serial_of(entry)?).ok_or_else(unreadable)?;
        let revoked_at = Time::decode(entry)?.to_unix_duration();
        let revoked_at = i64::try_from(revoked_at.as_secs())
            .ok()
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .ok_or_else(unreadable)?;
        let mut reason = RevocationReason::Unspecified;
        if !entry.is_finished() {
            for extension in Extensions::decode(entry)? {
                if extension.extn_id == ID_CE_CRL_REASONS {
                    let code = CrlReason::from_der(extension.extn_value.as_bytes())?;
                    reason = RevocationReason::from_x509(code).ok_or_else(unreadable)?;
                }
            }
        }
        entries.push(RevokedEntry {
            serial,
            revoked_at,
            reason,
        });
        skip_rest(entry)
    })
    .map_err(|_| Unreadable("CRL"))?;
    Ok(entries)
}

/// An entry's serial number: the INTEGER's content bytes.
fn serial_of<'a>(entry: &mut SliceReader<'a>) -> der::Result<&'a [u8]> {
    let serial = AnyRef::decode(entry)?;
    if serial.tag() != Tag::Integer {
        return Err(Tag::Integer.value_error());
    }
    Ok(serial.value())
}

/// Call `on_entry` with a reader over each revokedCertificates entry, checking the whole CRL's
/// DER structure (no signature check: callers read CRLs they or their database wrote).
fn walk_entries<'a>(
    crl: &'a [u8],
    mut on_entry: impl FnMut(&mut SliceReader<'a>) -> der::Result<()>,
) -> der::Result<()> {
    let mut reader = SliceReader::new(crl)?;
    reader.sequence(|list| {
        list.sequence(|tbs| {
            if tbs.peek_tag()? == Tag::Integer {
                AnyRef::decode(tbs)?; // version
            }
            AnyRef::decode(tbs)?; // signature algorithm
            AnyRef::decode(tbs)?; // issuer
            AnyRef::decode(tbs)?; // thisUpdate
            if !tbs.is_finished() && matches!(tbs.peek_tag()?, Tag::UtcTime | Tag::GeneralizedTime)
            {
                AnyRef::decode(tbs)?; // nextUpdate
            }
            if !tbs.is_finished() && tbs.peek_tag()? == Tag::Sequence {
                tbs.sequence(|entries| {
                    while !entries.is_finished() {
                        let entry = AnyRef::decode(entries)?;
                        if entry.tag() != Tag::Sequence {
                            return Err(Tag::Sequence.value_error());
                        }
                        let mut entry = SliceReader::new(entry.value())?;
                        on_entry(&mut entry)?;
                        entry.finish(())?;
                    }
                    Ok(())
                })?;
            }
            skip_rest(tbs) // CRL extensions
        })?;
        skip_rest(list) // signature algorithm and value
    })?;
    reader.finish(())
}

fn skip_rest<'a, R: Reader<'a>>(reader: &mut R) -> der::Result<()> {
    while !reader.is_finished() {
        AnyRef::decode(reader)?;
    }
    Ok(())
}
