//! One module per resource; each handler is thin: extract, call the authority, wrap the answer.

pub mod audit_logs;
pub mod ca;
pub mod client_certificates;
pub mod fallback;
pub mod hostname_associations;
pub mod meta;
pub mod tokens;
