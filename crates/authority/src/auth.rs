//! Who is calling, and which zones they may read or change.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use store::{
    AccountId, Actor, ActorKind, ApiToken, AuditEvent, Permission, TokenId, TokenScope, Zone,
    ZoneId,
};
use time::OffsetDateTime;

use crate::tokens::secret_hash;
use crate::{Authority, Error};

/// Credentials as presented on a request, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `X-Auth-Email` + `X-Auth-Key` (Cloudflare's legacy global API key).
    LegacyKey { email: String, key: String },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token: ApiToken,
}

impl Principal {
    pub fn token_id(&self) -> &TokenId {
        &self.token.id
    }

    /// Who this principal's changes are audited as: its token, from `source_ip`.
    pub fn actor(&self, source_ip: Option<String>) -> Actor {
        Actor {
            kind: ActorKind::Token,
            id: Some(self.token_id().to_string()),
            source_ip,
        }
    }

    /// Whether this credential reaches `zone` at all (regardless of permission).
    pub fn reaches(&self, zone: &Zone) -> bool {
        zone.account_id == self.token.account_id
            && match &self.token.scope {
                TokenScope::Account => true,
                TokenScope::Zones(zones) => zones.contains(&zone.id),
            }
    }
}

/// Zones are cached for the token-cache TTL: only their quota changes (`clientca zone quota`,
/// perhaps in another process), and a running server applies a new one within the TTL. Misses
/// are cached as long: then an unknown zone and another tenant's zone cost the same (one lookup,
/// then none), so timing does not tell which zone ids exist. A zone created by this process is
/// forgotten as a miss at once; one created elsewhere is seen within the TTL.
pub(crate) struct ZoneCache {
    zones: RwLock<HashMap<ZoneId, (Zone, Instant)>>,
    misses: Mutex<HashMap<ZoneId, Instant>>,
    /// How long a hit or a miss is trusted.
    ttl: Duration,
}

/// Remembered misses at most (random ids must not grow memory).
const MAX_MISSES: usize = 10_000;

impl ZoneCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            zones: RwLock::new(HashMap::new()),
            misses: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn known_missing(&self, zone_id: &ZoneId) -> bool {
        let misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        misses
            .get(zone_id)
            .is_some_and(|at| at.elapsed() < self.ttl)
    }

    fn remember_missing(&self, zone_id: &ZoneId) {
        let mut misses = self.misses.lock().unwrap_or_else(|p| p.into_inner());
        if misses.len() >= MAX_MISSES {
            misses.retain(|_, at| at.elapsed() < self.ttl);
            if misses.len() >= MAX_MISSES {
                misses.clear();
            }
        }
        misses.insert(zone_id.clone(), Instant::now());
    }

    /// A zone this process just changed (its quota) is read again on its next use.
    pub(crate) fn forget(&self, zone_id: &ZoneId) {
        self.zones
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(zone_id);
    }

    /// A zone this process just created exists from now on.
    pub(crate) fn forget_missing(&self, zone_id: &ZoneId) {
        self.misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(zone_id);
    }
}

impl Authority {
    /// Resolve credentials to a live (known, unexpired, unrevoked) token.
    pub async fn authenticate(
        &self,
        credentials: &Credentials,
        now: OffsetDateTime,
    ) -> Result<Principal, Error> {
        let (secret, email, unknown) = match credentials {
            Credentials::Bearer(token) => (token.as_str(), None, Error::InvalidToken),
            Credentials::LegacyKey { email, key } => {
                (key.as_str(), Some(email.as_str()), Error::InvalidLegacyKey)
            }
        };
        if secret.is_empty() || secret.len() > 256 {
            return Err(unknown);
        }
        let token = self
            .tokens
            .lookup(self.store.as_ref(), &secret_hash(secret), &self.metrics)
            .await?
            .ok_or(unknown)?;
        let presented_matches = match (email, &token.email) {
            (None, None) => true,
            (Some(given), Some(stored)) => given.eq_ignore_ascii_case(stored),
            _ => false,
        };
        if !presented_matches || token.revoked_at.is_some() {
            return Err(match email {
                None => Error::InvalidToken,
                Some(_) => Error::InvalidLegacyKey,
            });
        }
        if token.expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(Error::ExpiredToken);
        }
        Ok(Principal { token })
    }

    /// The zone, if the principal reaches it with `needed` permission.
    ///
    /// An unknown zone and another tenant's zone give the same answer, so nobody learns which
    /// zone ids exist outside their reach.
    pub async fn authorize_zone(
        &self,
        principal: &Principal,
        zone_id: &ZoneId,
        needed: Permission,
    ) -> Result<Zone, Error> {
        let zone = self.zone(zone_id).await?.ok_or(Error::ZoneNotAccessible)?;
        if !principal.reaches(&zone) {
            return Err(Error::ZoneNotAccessible);
        }
        if !principal.token.permission.allows(needed) {
            return Err(Error::MissingPermission(match needed {
                Permission::Read => "ssl:read",
                Permission::Edit => "ssl:edit",
            }));
        }
        Ok(zone)
    }

    /// An account's audit log, newest first: for credentials scoped to that whole account.
    pub async fn audit_log(
        &self,
        principal: &Principal,
        account_id: &AccountId,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<AuditEvent>, u64), Error> {
        if principal.token.account_id != *account_id || principal.token.scope != TokenScope::Account
        {
            return Err(Error::ZoneNotAccessible);
        }
        Ok(self.store.audit_page(account_id, offset, limit).await?)
    }

    pub(crate) async fn zone(&self, zone_id: &ZoneId) -> Result<Option<Zone>, Error> {
        if let Some((zone, _)) = self
            .read_zones()
            .get(zone_id)
            .filter(|(_, fetched)| fetched.elapsed() < self.zones.ttl)
        {
            return Ok(Some(zone.clone()));
        }
        if self.zones.known_missing(zone_id) {
            return Ok(None);
        }
        let zone = self.store.get_zone(zone_id).await?;
        match &zone {
            Some(zone) => {
                self.zones
                    .zones
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(zone.id.clone(), (zone.clone(), Instant::now()));
            }
            None => self.zones.remember_missing(zone_id),
        }
        Ok(zone)
    }

    fn read_zones(&self) -> std::sync::RwLockReadGuard<'_, HashMap<ZoneId, (Zone, Instant)>> {
        self.zones.zones.read().unwrap_or_else(|p| p.into_inner())
    }
}
