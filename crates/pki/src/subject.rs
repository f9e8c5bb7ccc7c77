//! The subject of a CSR: validated, reported field by field, and copied faithfully into the leaf.

use rcgen::{DistinguishedName, DnType, DnValue};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{
    OID_PKCS9_EMAIL_ADDRESS, OID_X509_COMMON_NAME, OID_X509_COUNTRY_NAME, OID_X509_LOCALITY_NAME,
    OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT, OID_X509_STATE_OR_PROVINCE_NAME,
};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::csr::CsrError;

/// The subject attributes the API reports (empty string when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFields {
    pub common_name: String,
    pub organization: String,
    pub organizational_unit: String,
    pub country: String,
    pub state: String,
    pub location: String,
}

/// A validated subject: the reported fields plus the exact name to put in the leaf.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub fields: SubjectFields,
    pub name: DistinguishedName,
}

/// RFC 5280 Appendix A upper bounds, so issued leaves stay within what linters and TLS stacks accept.
struct KnownAttribute {
    label: &'static str,
    max_chars: usize,
}

fn known_attribute(attr: &AttributeTypeAndValue<'_>) -> Option<KnownAttribute> {
    let oid = attr.attr_type();
    let (label, max_chars) = if *oid == OID_X509_COMMON_NAME {
        ("CN", 64)
    } else if *oid == OID_X509_ORGANIZATION_NAME {
        ("O", 64)
    } else if *oid == OID_X509_ORGANIZATIONAL_UNIT {
        ("OU", 64)
    } else if *oid == OID_X509_COUNTRY_NAME {
        ("C", 2)
    } else if *oid == OID_X509_STATE_OR_PROVINCE_NAME {
        ("ST", 128)
    } else if *oid == OID_X509_LOCALITY_NAME {
        ("L", 128)
    } else if *oid == OID_PKCS9_EMAIL_ADDRESS {
        ("emailAddress", 255)
    } else {
        return None;
    };
    Some(KnownAttribute { label, max_chars })
}

pub(crate) fn parse_subject(name: &X509Name<'_>) -> Result<Subject, CsrError> {
    let mut fields = SubjectFields::default();
    let mut dn = DistinguishedName::new();
    let mut seen: Vec<String> = Vec::new();

    for rdn in name.iter() {
        let mut attributes = rdn.iter();
        let attr = attributes.next().ok_or(CsrError::EmptySubjectComponent)?;
        if attributes.next().is_some() {
            return Err(CsrError::MultiValuedRdn);
        }
        let oid = attr.attr_type().to_id_string();
        let label = known_attribute(attr).map_or(oid.clone(), |k| k.label.to_string());
        if seen.contains(&oid) {
            return Err(CsrError::RepeatedSubjectAttribute(label));
        }
        seen.push(oid);

        let value = attr
            .as_str()
            .map_err(|_| CsrError::UnsupportedSubjectValue(label.clone()))?;
        if value.trim().is_empty() {
            return Err(CsrError::EmptySubjectValue(label));
        }
        if value.chars().any(char::is_control) {
            return Err(CsrError::UnsupportedSubjectValue(label));
        }
        if let Some(known) = known_attribute(attr)
            && value.chars().count() > known.max_chars
        {
            return Err(CsrError::SubjectValueTooLong {
                attribute: label,
                max: known.max_chars,
            });
        }

        let target = match label.as_str() {
            "CN" => Some(&mut fields.common_name),
            "O" => Some(&mut fields.organization),
            "OU" => Some(&mut fields.organizational_unit),
            "C" => Some(&mut fields.country),
            "ST" => Some(&mut fields.state),
            "L" => Some(&mut fields.location),
            _ => None,
        };
        if let Some(target) = target {
            *target = value.to_string();
        }
        dn.push(
            dn_type(attr),
            dn_value(attr.attr_value().tag(), value, &label)?,
        );
    }

    if fields.common_name.is_empty() {
        return Err(CsrError::MissingCommonName);
    }
    if !fields.country.is_empty() && !is_country_code(&fields.country) {
        return Err(CsrError::InvalidCountry(fields.country));
    }
    Ok(Subject { fields, name: dn })
}

fn is_country_code(value: &str) -> bool {
    value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())
}

fn dn_type(attr: &AttributeTypeAndValue<'_>) -> DnType {
    let arcs: Vec<u64> = attr
        .attr_type()
        .iter()
        .map(|arcs| arcs.collect())
        .unwrap_or_default();
    DnType::from_oid(&arcs)
}

/// Keep the string type the requester chose, so the leaf's subject encodes like the CSR's.
fn dn_value(tag: Tag, value: &str, label: &str) -> Result<DnValue, CsrError> {
    let unsupported = || CsrError::UnsupportedSubjectValue(label.to_string());
    Ok(match tag {
        Tag::PrintableString => {
            DnValue::PrintableString(value.try_into().map_err(|_| unsupported())?)
        }
        Tag::Ia5String => DnValue::Ia5String(value.try_into().map_err(|_| unsupported())?),
        Tag::Utf8String => DnValue::Utf8String(value.to_string()),
        // NumericString has no rcgen variant; digits are valid PrintableString characters.
        Tag::NumericString => {
            DnValue::PrintableString(value.try_into().map_err(|_| unsupported())?)
        }
        _ => return Err(unsupported()),
    })
}
