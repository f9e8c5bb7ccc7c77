//! One module per resource; each handler is thin: extract, call the authority, wrap the answer.

// utoipa's `#[utoipa::path]` expands `IntoParams` types into fully qualified paths.
#![allow(unused_qualifications)]

pub(crate) mod audit_logs;
pub(crate) mod ca;
pub(crate) mod client_certificates;
pub(crate) mod fallback;
pub(crate) mod hostname_associations;
pub(crate) mod meta;
pub(crate) mod mtls_certificates;
pub(crate) mod tokens;
