//! Black-box tests: the real server on port 0, a fresh database per test, plain HTTP.
//! Every test runs on SQLite and (when configured) PostgreSQL.

mod auth;
mod browser;
mod ca_keys;
mod ca_rotation;
mod certificates;
mod dashboard;
mod errors;
mod helpers;
mod hostnames;
mod isolation;
mod limits;
mod meta;
mod metrics;
mod mtls_certificates;
mod pagination;
mod properties;
mod revocation;
mod schemathesis;
mod sdk;
mod tls;
