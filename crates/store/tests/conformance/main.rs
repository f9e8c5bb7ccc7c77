//! The conformance suite: every test runs against every backend (see
//! `test_support::backend_tests!`), one module per store role.

mod accounts;
mod audit;
mod cas;
mod certificates;
mod deployment;
mod gauges;
mod mtls_certificates;
mod publication;
mod support;
mod tokens;
