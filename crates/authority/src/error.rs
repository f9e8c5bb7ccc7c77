use store::{InvalidId, StoreError};

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
    #[error(transparent)]
    InvalidCsr(#[from] pki::CsrError),
    #[error("{0}")]
    InvalidValidity(String),
    #[error("the certificate is revoked; revocation is final, issue a new certificate instead")]
    CertificateRevoked,
    #[error("{0}")]
    InvalidHostname(String),
    #[error("mTLS certificate not found")]
    MtlsCertificateNotFound,
    #[error(transparent)]
    InvalidMtlsCertificate(#[from] pki::CaBundleError),
    #[error("the CA cannot be imported: {0}")]
    InvalidImportedCa(#[from] pki::ImportError),
    #[error("Hit maximum CA cert allocation: an account may upload at most {0} CA certificates")]
    MtlsCertificateLimit(u32),
    #[error(
        "the mTLS certificate is still associated with {0}; remove those hostname associations first"
    )]
    MtlsCertificateInUse(String),
    #[error(
        "the zone's certificate quota is reached: it may hold {0} certificates that are not \
         revoked; revoke some, or ask the operator to raise the quota"
    )]
    CertificateQuotaReached(u64),
    #[error("{0}")]
    InvalidArgument(String),
    #[error(transparent)]
    InvalidReason(#[from] pki::UnknownReason),
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error("certificate authority failure: {0}")]
    Ca(pki::CaError),
    #[error("issuance failure: {0}")]
    Issue(pki::IssueError),
    #[error("CRL signing failure: {0}")]
    Crl(pki::CrlError),
    #[error("OCSP signing failure: {0}")]
    Ocsp(pki::OcspError),
    #[error("could not allocate a unique serial number")]
    SerialExhausted,
    #[error("cannot open database {url}: {error}")]
    OpenDatabase { url: String, error: StoreError },
    /// Nothing was written: the database's disk is full. Retrying later succeeds once space is
    /// freed.
    #[error("storage is full; nothing was written, retry later")]
    StorageFull,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::StorageFull(detail) => {
                tracing::error!(%detail, "the database's storage is full");
                Error::StorageFull
            }
            StoreError::QuotaExceeded { limit } => Error::CertificateQuotaReached(limit),
            other => Error::Store(other),
        }
    }
}

impl From<pki::CaError> for Error {
    fn from(error: pki::CaError) -> Self {
        Error::Ca(error)
    }
}

impl From<pki::CrlError> for Error {
    fn from(error: pki::CrlError) -> Self {
        Error::Crl(error)
    }
}

impl From<pki::OcspError> for Error {
    fn from(error: pki::OcspError) -> Self {
        Error::Ocsp(error)
    }
}
