//! Pure X.509 logic for clientca: no I/O, no async, no clocks.
//!
//! Callers pass the current time and receive DER/PEM plus the derived fields the API reports.
//! Everything issued here follows policy; nothing is copied from a CSR's requested extensions.

mod ca;
mod ca_bundle;
mod ca_import;
mod crl;
mod csr;
mod encoding;
mod leaf;
mod ocsp;
mod presented;
mod reason;
mod serial;
mod server;
mod subject;

pub use ca::{
    CaError, CaKeyAlgorithm, CaSigner, NewCa, ca_key_and_csr, generate_managed_ca, key_fingerprint,
    public_key_fingerprint,
};
pub use ca_bundle::{
    CaBundle, CaBundleError, MAX_BUNDLE_CERTIFICATES, ca_bundle_ders, parse_ca_bundle,
};
pub use ca_import::{ImportError, ImportedCa, import_ca};
pub use crl::{CrlError, RevokedEntry, extend_crl, sign_crl};
pub use csr::{CsrError, KeyKind, VerifiedCsr};
pub use encoding::{fingerprint_sha256, to_pem};
pub use leaf::{IssueError, IssuedLeaf, LeafRequest, PublicationUrls, issue_leaf};
pub use ocsp::{
    OcspError, OcspFailure, OcspItem, OcspRequest, OcspStatus, ocsp_failure, sign_ocsp_response,
};
pub use presented::{PresentedCertificate, Unreadable, crl_serials, visit_crl_serials};
pub use reason::{RevocationReason, UnknownReason};
pub use serial::SerialNumber;
pub use server::self_signed_server_certificate;
pub use subject::SubjectFields;
