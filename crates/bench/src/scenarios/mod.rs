//! One module per benchmark scenario; `common` holds what the server scenarios share.

pub(crate) mod common;
pub(crate) mod create;
pub(crate) mod crl;
pub(crate) mod handshakes;
pub(crate) mod inprocess;
pub(crate) mod mixed;
pub(crate) mod post;
pub(crate) mod proxied;
pub(crate) mod publication;
pub(crate) mod reads;
pub(crate) mod revocation;
pub(crate) mod revoke_cycle;
pub(crate) mod seed;
