//! Browser sessions for the dashboard: an API token pasted once, carried in a sealed cookie.
//!
//! The cookie value is the token secret and the session's expiry, sealed (AES-256-GCM) with the
//! master key, so every replica sharing the key accepts it and nobody else can read or forge it.
//! Nothing is kept server-side: each request opens the cookie and authenticates the token again
//! (through the token cache), so a token revoked anywhere ends its sessions within the cache TTL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use store::{AccountId, Permission, TokenScope, Zone};
use time::OffsetDateTime;

use crate::{Authority, Credentials, Error, Principal};

/// A session lasts at most this long, and never beyond its token's expiry.
pub const SESSION_LIFETIME: time::Duration = time::Duration::hours(8);

/// Associated data of every sealed session: a sealed CA key can never pass for a session.
const SESSION_CONTEXT: &[u8] = b"clientca dashboard session v1";

/// Longest cookie value accepted (a 256-byte secret sealed and encoded is about 380 characters).
const MAX_COOKIE_LEN: usize = 1024;

/// A signed-in dashboard user.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub expires_at: OffsetDateTime,
    /// The token every form of this session must carry (CSRF): derived from the cookie, which
    /// only the browser holding it can send and no page can read (`HttpOnly`).
    pub csrf_token: String,
}

impl Session {
    pub fn can_edit(&self) -> bool {
        self.principal.token.permission.allows(Permission::Edit)
    }

    /// Whether `given` is this session's CSRF token (compared in constant time).
    pub fn accepts_csrf(&self, given: &str) -> bool {
        let expected = self.csrf_token.as_bytes();
        let given = given.as_bytes();
        given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The account whose audit log this session may read: only account-wide credentials may.
    pub fn audited_account(&self) -> Option<&AccountId> {
        (self.principal.token.scope == TokenScope::Account)
            .then_some(&self.principal.token.account_id)
    }
}

impl Authority {
    /// Sign in with an API token: the sealed cookie value and the session it carries.
    pub async fn open_session(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<(String, Session), Error> {
        let secret = secret.trim();
        let principal = self
            .authenticate(&Credentials::Bearer(secret.to_string()), now)
            .await?;
        let mut expires_at = now + SESSION_LIFETIME;
        if let Some(token_expiry) = principal.token.expires_at {
            expires_at = expires_at.min(token_expiry);
        }
        let mut plaintext = expires_at.unix_timestamp().to_be_bytes().to_vec();
        plaintext.extend_from_slice(secret.as_bytes());
        let sealed = self.master_key()?.seal(&plaintext, SESSION_CONTEXT)?;
        let cookie = URL_SAFE_NO_PAD.encode(sealed);
        let session = Session {
            csrf_token: csrf_token(&cookie),
            principal,
            expires_at,
        };
        Ok((cookie, session))
    }

    /// The session a cookie value carries, if it is genuine, unexpired, and its token still
    /// authenticates.
    pub async fn resume_session(
        &self,
        cookie: &str,
        now: OffsetDateTime,
    ) -> Result<Session, Error> {
        if cookie.len() > MAX_COOKIE_LEN {
            return Err(Error::InvalidToken);
        }
        let sealed = URL_SAFE_NO_PAD
            .decode(cookie)
            .map_err(|_| Error::InvalidToken)?;
        let plaintext = self
            .master_key()?
            .open(&sealed, SESSION_CONTEXT)
            .map_err(|_| Error::InvalidToken)?;
        let (expiry, secret) = plaintext
            .split_first_chunk::<8>()
            .ok_or(Error::InvalidToken)?;
        let expires_at = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(*expiry))
            .map_err(|_| Error::InvalidToken)?;
        if expires_at <= now {
            return Err(Error::ExpiredToken);
        }
        let secret = std::str::from_utf8(secret).map_err(|_| Error::InvalidToken)?;
        let principal = self
            .authenticate(&Credentials::Bearer(secret.to_string()), now)
            .await?;
        Ok(Session {
            principal,
            expires_at,
            csrf_token: csrf_token(cookie),
        })
    }

    /// The zones a credential reaches, by name.
    pub async fn reachable_zones(&self, principal: &Principal) -> Result<Vec<Zone>, Error> {
        let mut zones: Vec<Zone> = self
            .store
            .list_zones()
            .await?
            .into_iter()
            .filter(|zone| principal.reaches(zone))
            .collect();
        zones.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(zones)
    }
}

/// A hash of the (secret, unguessable) cookie value: a page can embed it in its forms, a
/// cross-site page can neither read it nor compute it.
fn csrf_token(cookie: &str) -> String {
    let mut input = b"clientca csrf\0".to_vec();
    input.extend_from_slice(cookie.as_bytes());
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &input))
}
