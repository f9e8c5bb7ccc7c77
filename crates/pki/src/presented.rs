//! What a TLS server needs to know about a client certificate it was shown, and about the CRLs
//! it enforces: parsed once, reported in the forms the API and the gateway's headers use.

use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::crl::CrlLayout;
use crate::encoding::fingerprint_sha256;
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
pub fn crl_serials(crl: &[u8]) -> Result<Vec<SerialNumber>, Unreadable> {
    let mut serials = Vec::new();
    visit_crl_serials(crl, |serial| serials.extend(serial))?;
    Ok(serials)
}

/// Call `visit` with the serial of each entry of a CRL, in order (`None` for one that cannot be
/// ours: not positive, or longer than 16 octets), checking the whole CRL's DER structure.
///
/// A walk over the DER that keeps nothing: a full parse holds every entry (with its extensions
/// and a big-integer serial), hundreds of megabytes at a million entries. The signature is not
/// checked — callers read CRLs from clientca's own database.
pub fn visit_crl_serials(
    crl: &[u8],
    mut visit: impl FnMut(Option<SerialNumber>),
) -> Result<(), Unreadable> {
    walk_entries(crl, |entry| {
        visit(SerialNumber::from_be_bytes(serial_of(entry)?));
        skip_rest(entry) // revocationDate, entry extensions
    })
    .map_err(|_| Unreadable("CRL"))
}

/// An entry's serial number: the INTEGER's content bytes.
fn serial_of<'a>(entry: &mut SliceReader<'a>) -> der::Result<&'a [u8]> {
    let serial = AnyRef::decode(entry)?;
    if serial.tag() != Tag::Integer {
        return Err(Tag::Integer.value_error());
    }
    Ok(serial.value())
}

/// Call `on_entry` with a reader over each revokedCertificates entry.
fn walk_entries<'a>(
    crl: &'a [u8],
    mut on_entry: impl FnMut(&mut SliceReader<'a>) -> der::Result<()>,
) -> der::Result<()> {
    let layout = CrlLayout::parse(crl)?;
    let mut entries = SliceReader::new(layout.entries)?;
    while !entries.is_finished() {
        let entry = AnyRef::decode(&mut entries)?;
        if entry.tag() != Tag::Sequence {
            return Err(Tag::Sequence.value_error());
        }
        let mut entry = SliceReader::new(entry.value())?;
        on_entry(&mut entry)?;
        entry.finish(())?;
    }
    Ok(())
}

fn skip_rest<'a, R: Reader<'a>>(reader: &mut R) -> der::Result<()> {
    while !reader.is_finished() {
        AnyRef::decode(reader)?;
    }
    Ok(())
}
