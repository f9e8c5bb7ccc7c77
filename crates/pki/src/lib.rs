//! Pure X.509 logic for clientca: no I/O, no async, no clocks.
//!
//! Callers pass the current time and receive DER/PEM plus the derived fields the API reports.
//! Everything issued here follows policy; nothing is copied from a CSR's requested extensions.

mod ca;
mod csr;
mod encoding;
mod leaf;
mod serial;
mod subject;

pub use ca::{CaError, CaSigner, NewCa, generate_managed_ca};
pub use csr::{CsrError, KeyKind, VerifiedCsr};
pub use encoding::{fingerprint_sha256, to_pem};
pub use leaf::{IssueError, IssuedLeaf, LeafRequest, issue_leaf};
pub use serial::SerialNumber;
pub use subject::SubjectFields;
