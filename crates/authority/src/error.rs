use store::StoreError;

use crate::master_key::MasterKeyError;

/// Every way an operation can fail. The API maps each variant to one HTTP status and error code
/// (`api::error`); the CLI prints the message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no credentials: send Authorization: Bearer <token>, or X-Auth-Email and X-Auth-Key")]
    MissingCredentials,
    #[error("malformed credentials: {0}")]
    MalformedCredentials(&'static str),
    #[error("invalid API token")]
    InvalidToken,
    #[error("unknown X-Auth-Key or X-Auth-Email")]
    InvalidLegacyKey,
    #[error("the API token has expired")]
    ExpiredToken,
    #[error("unauthorized to access requested resource")]
    ZoneNotAccessible,
    #[error("this credential lacks the {0} permission")]
    MissingPermission(&'static str),
    #[error("client certificate not found")]
    CertificateNotFound,
    #[error("the certificate authority {0:?} is not known for this zone")]
    UnknownCertificateAuthority(String),
    #[error("{0}")]
    InvalidCsr(#[from] pki::CsrError),
    #[error("{0}")]
    InvalidValidity(String),
    #[error("the certificate is revoked; revocation is final, issue a new certificate instead")]
    CertificateRevoked,
    #[error("{0}")]
    InvalidHostname(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    InvalidReason(#[from] pki::UnknownReason),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    MasterKey(#[from] MasterKeyError),
    #[error("certificate authority failure: {0}")]
    Ca(#[from] pki::CaError),
    #[error("issuance failure: {0}")]
    Issue(pki::IssueError),
    #[error("CRL signing failure: {0}")]
    Crl(#[from] pki::CrlError),
    #[error("could not allocate a unique serial number")]
    SerialExhausted,
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
}
