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

/// The whole subject at most, in DER bytes: the six attributes at their RFC 5280 bounds fit with
/// room to spare, so only a name padded some other way reaches it.
pub(crate) const MAX_SUBJECT_BYTES: usize = 2048;

/// The attributes a leaf's subject may carry — exactly the ones the API reports, so an operator
/// reviewing certificates through the API sees the whole subject — with their RFC 5280 Appendix A
/// upper bounds in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attribute {
    CommonName,
    Organization,
    OrganizationalUnit,
    Country,
    State,
    Locality,
}

impl Attribute {
    fn of(attr: &AttributeTypeAndValue<'_>) -> Option<Self> {
        let oid = attr.attr_type();
        Some(if *oid == OID_X509_COMMON_NAME {
            Attribute::CommonName
        } else if *oid == OID_X509_ORGANIZATION_NAME {
            Attribute::Organization
        } else if *oid == OID_X509_ORGANIZATIONAL_UNIT {
            Attribute::OrganizationalUnit
        } else if *oid == OID_X509_COUNTRY_NAME {
            Attribute::Country
        } else if *oid == OID_X509_STATE_OR_PROVINCE_NAME {
            Attribute::State
        } else if *oid == OID_X509_LOCALITY_NAME {
            Attribute::Locality
        } else {
            return None;
        })
    }

    fn label(self) -> &'static str {
        match self {
            Attribute::CommonName => "CN",
            Attribute::Organization => "O",
            Attribute::OrganizationalUnit => "OU",
            Attribute::Country => "C",
            Attribute::State => "ST",
            Attribute::Locality => "L",
        }
    }

    fn max_chars(self) -> usize {
        match self {
            Attribute::CommonName | Attribute::Organization | Attribute::OrganizationalUnit => 64,
            Attribute::Country => 2,
            Attribute::State | Attribute::Locality => 128,
        }
    }

    fn field(self, fields: &mut SubjectFields) -> &mut String {
        match self {
            Attribute::CommonName => &mut fields.common_name,
            Attribute::Organization => &mut fields.organization,
            Attribute::OrganizationalUnit => &mut fields.organizational_unit,
            Attribute::Country => &mut fields.country,
            Attribute::State => &mut fields.state,
            Attribute::Locality => &mut fields.location,
        }
    }
}

/// Characters that change how a name reads without being visible: bidirectional overrides and
/// isolates (U+202E turns `gnp.exe` around), zero-width characters, the BOM, soft hyphen.
fn is_confusable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

pub(crate) fn parse_subject(name: &X509Name<'_>) -> Result<Subject, CsrError> {
    if name.as_raw().len() > MAX_SUBJECT_BYTES {
        return Err(CsrError::SubjectTooLarge(name.as_raw().len()));
    }
    let mut fields = SubjectFields::default();
    let mut dn = DistinguishedName::new();
    let mut seen: Vec<Attribute> = Vec::new();

    for rdn in name.iter() {
        let mut attributes = rdn.iter();
        let attr = attributes.next().ok_or(CsrError::EmptySubjectComponent)?;
        if attributes.next().is_some() {
            return Err(CsrError::MultiValuedRdn);
        }
        let Some(attribute) = Attribute::of(attr) else {
            let oid = attr.attr_type();
            let label = if *oid == OID_PKCS9_EMAIL_ADDRESS {
                "emailAddress".to_string()
            } else {
                oid.to_id_string()
            };
            return Err(CsrError::SubjectAttributeNotAllowed(label));
        };
        let label = attribute.label().to_string();
        if seen.contains(&attribute) {
            return Err(CsrError::RepeatedSubjectAttribute(label));
        }
        seen.push(attribute);

        let value = attr
            .as_str()
            .map_err(|_| CsrError::UnsupportedSubjectValue(label.clone()))?;
        if value.trim().is_empty() {
            return Err(CsrError::EmptySubjectValue(label));
        }
        if value.chars().any(char::is_control) {
            return Err(CsrError::UnsupportedSubjectValue(label));
        }
        if value.chars().any(is_confusable) {
            return Err(CsrError::ConfusableSubjectValue(label));
        }
        if value.chars().count() > attribute.max_chars() {
            return Err(CsrError::SubjectValueTooLong {
                attribute: label,
                max: attribute.max_chars(),
            });
        }
        *attribute.field(&mut fields) = value.to_string();
        let encoded = if attribute == Attribute::Country {
            // RFC 5280: countryName is a PrintableString, whatever the CSR used.
            DnValue::PrintableString(
                value
                    .try_into()
                    .map_err(|_| CsrError::InvalidCountry(value.to_string()))?,
            )
        } else {
            dn_value(attr.attr_value().tag(), value, &label)?
        };
        dn.push(dn_type(attr), encoded);
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
