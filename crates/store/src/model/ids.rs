//! Identifiers, one type each. An id is checked once where it enters — the API's path, a CLI
//! argument, a stored row — and is then passed around without being checked again. Accounts,
//! zones and tokens use 32 lowercase hex characters (Cloudflare's form); CAs and certificates use
//! hyphenated UUIDs.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

use uuid::Uuid;

/// What distinguishes one kind of id from another: its name in messages and its shape.
pub trait IdKind {
    const NAME: &'static str;
    fn is_valid(text: &str) -> bool;
}

/// An identifier of kind `K`, known to have `K`'s shape.
pub struct Id<K> {
    text: String,
    kind: PhantomData<fn() -> K>,
}

impl<K: IdKind> Id<K> {
    /// `None` when `text` does not have the shape of a `K` id (so it names nothing that exists).
    pub fn parse(text: &str) -> Option<Self> {
        K::is_valid(text).then(|| Self::new_unchecked(text.to_string()))
    }

    fn new_unchecked(text: String) -> Self {
        Self {
            text,
            kind: PhantomData,
        }
    }
}

impl<K> Id<K> {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// An id that does not have its kind's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a valid {kind} id")]
pub struct InvalidId {
    pub kind: &'static str,
    pub text: String,
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = InvalidId;
    fn from_str(text: &str) -> Result<Self, InvalidId> {
        Self::parse(text).ok_or_else(|| InvalidId {
            kind: K::NAME,
            text: text.to_string(),
        })
    }
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self {
            text: self.text.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<K> Eq for Id<K> {}

impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl<K> Hash for Id<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?})", K::NAME, self.text)
    }
}

impl<K> AsRef<str> for Id<K> {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

fn is_hex_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Hyphenated and lowercase, as we write them: one spelling per id.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && Uuid::try_parse(text).is_ok_and(|uuid| uuid.hyphenated().to_string() == text)
}

macro_rules! id_kind {
    ($(#[$doc:meta])* $kind:ident, $alias:ident, $name:literal, $check:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $kind {}
        impl IdKind for $kind {
            const NAME: &'static str = $name;
            fn is_valid(text: &str) -> bool {
                $check(text)
            }
        }
        $(#[$doc])*
        pub type $alias = Id<$kind>;
    };
}

id_kind!(
    /// An account (a tenant): 32 hex.
    AccountKind, AccountId, "account", is_hex_id
);
id_kind!(
    /// A zone: 32 hex.
    ZoneKind, ZoneId, "zone", is_hex_id
);
id_kind!(
    /// An API token or legacy key: 32 hex.
    TokenKind, TokenId, "token", is_hex_id
);
id_kind!(
    /// A certificate authority: a UUID.
    CaKind, CaId, "certificate authority", is_uuid
);
id_kind!(
    /// An uploaded CA certificate (`mtls_certificates`): a UUID.
    MtlsCertificateKind, MtlsCertificateId, "mTLS certificate", is_uuid
);
id_kind!(
    /// A client certificate: a UUID.
    CertificateKind, CertificateId, "certificate", is_uuid
);

fn random_hex<K>() -> Id<K> {
    Id {
        text: Uuid::new_v4().simple().to_string(),
        kind: PhantomData,
    }
}

impl AccountId {
    pub fn random() -> Self {
        random_hex()
    }
}

impl ZoneId {
    pub fn random() -> Self {
        random_hex()
    }
}

impl TokenId {
    pub fn random() -> Self {
        random_hex()
    }
}

impl CaId {
    pub fn random() -> Self {
        Self::new_unchecked(Uuid::new_v4().hyphenated().to_string())
    }
}

impl MtlsCertificateId {
    pub fn random() -> Self {
        Self::new_unchecked(Uuid::new_v4().hyphenated().to_string())
    }
}

impl CertificateId {
    /// A new id. UUIDv7 sorts by creation time, which keeps index inserts local and makes the
    /// list order's id tie-break follow creation order.
    pub fn new_v7() -> Self {
        Self::new_unchecked(Uuid::now_v7().hyphenated().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked_per_kind() {
        assert!(ZoneId::parse(ZoneId::random().as_str()).is_some());
        assert!(ZoneId::parse(&"A".repeat(32)).is_none());
        assert!(ZoneId::parse("abc").is_none());
        assert!(CertificateId::parse(CertificateId::new_v7().as_str()).is_some());
        assert!(CaId::parse(CaId::random().as_str()).is_some());
        assert!(CaId::parse(ZoneId::random().as_str()).is_none());
        assert!(CaId::parse("\0").is_none());
        let upper = CaId::random().as_str().to_uppercase();
        assert!(CaId::parse(&upper).is_none(), "one spelling per id");
        let (first, second) = (CertificateId::new_v7(), CertificateId::new_v7());
        assert!(first < second, "v7 ids increase: {first} {second}");
        let err = "nope".parse::<TokenId>().unwrap_err();
        assert_eq!(err.to_string(), "\"nope\" is not a valid token id");
    }
}
