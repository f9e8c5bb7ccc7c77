//! Tenants and their credentials.

use std::str::FromStr;

use time::OffsetDateTime;

use super::{AccountId, TokenId, UnknownName, ZoneId, parse_name};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub id: ZoneId,
    pub account_id: AccountId,
    pub name: String,
    pub created_at: OffsetDateTime,
    /// This zone's limit on certificates that are not revoked; `None`: the server's default.
    pub max_certificates: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Edit,
}

impl Permission {
    pub const ALL: [Permission; 2] = [Permission::Read, Permission::Edit];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Edit => "edit",
        }
    }

    /// Whether a credential holding `self` may do what `needed` requires.
    pub fn allows(self, needed: Permission) -> bool {
        self == Permission::Edit || needed == Permission::Read
    }
}

impl FromStr for Permission {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        parse_name("permission", &Self::ALL, Self::as_str, text)
    }
}

/// Which zones a credential reaches: every zone of its account, or a fixed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    Account,
    Zones(Vec<ZoneId>),
}

/// An API token (Bearer) or, when `email` is set, a legacy X-Auth-Email/X-Auth-Key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub email: Option<String>,
    pub account_id: AccountId,
    pub permission: Permission,
    pub scope: TokenScope,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub token: ApiToken,
    /// Lowercase hex SHA-256 of the secret; the secret itself is never stored.
    pub secret_hash: String,
}
