//! Ids arriving from outside (URL paths, query strings, bodies) turned into typed ids, each
//! malformed one answered exactly like a well-formed id that names nothing: a caller learns
//! nothing from the shape of what it sends.

use store::{AccountId, CertificateId, MtlsCertificateId, ZoneId};

use crate::Error;

/// A zone id from a path; a malformed one is a zone out of reach.
pub fn zone(raw: &str) -> Result<ZoneId, Error> {
    ZoneId::parse(raw).ok_or(Error::ZoneNotAccessible)
}

/// A certificate id from a path; a malformed one names no certificate.
pub fn certificate(raw: &str) -> Result<CertificateId, Error> {
    CertificateId::parse(raw).ok_or(Error::CertificateNotFound)
}

/// An account id from a path; a malformed one is an account out of reach.
pub fn account(raw: &str) -> Result<AccountId, Error> {
    AccountId::parse(raw).ok_or(Error::ZoneNotAccessible)
}

/// An uploaded CA certificate's id from a path; a malformed one names no certificate.
pub fn mtls_certificate(raw: &str) -> Result<MtlsCertificateId, Error> {
    MtlsCertificateId::parse(raw).ok_or(Error::MtlsCertificateNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_get_the_answers_of_ids_that_name_nothing() {
        for raw in ["", "not-a-zone", "../../etc", &"F".repeat(32)] {
            assert!(matches!(zone(raw), Err(Error::ZoneNotAccessible)), "{raw}");
            assert!(
                matches!(account(raw), Err(Error::ZoneNotAccessible)),
                "{raw}"
            );
            assert!(matches!(certificate(raw), Err(Error::CertificateNotFound)));
            assert!(matches!(
                mtls_certificate(raw),
                Err(Error::MtlsCertificateNotFound)
            ));
        }
        assert!(zone(ZoneId::random().as_str()).is_ok());
        assert!(certificate(CertificateId::new_v7().as_str()).is_ok());
    }
}
