//! The store's roles, one trait each, each implemented once for every [`crate::backend::Backend`].

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod cas;
pub(crate) mod certificates;
pub(crate) mod deployment;
pub(crate) mod gauges;
pub(crate) mod mtls_certificates;
pub(crate) mod publication;
pub(crate) mod tokens;
