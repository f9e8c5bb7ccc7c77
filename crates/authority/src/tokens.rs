//! API token secrets and the lookup cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use store::{ApiToken, TokenStore};

use crate::Error;
use crate::master_key::MasterKeyError;

/// At most this many entries: a flood of random tokens must not grow memory.
const MAX_CACHED: usize = 10_000;

/// A new API token secret: 40 URL-safe characters (240 random bits), Cloudflare's token length.
pub(crate) fn new_token_secret() -> Result<String, Error> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<30>()?))
}

/// A new legacy global API key: 37 lowercase hex characters, Cloudflare's key shape.
pub(crate) fn new_legacy_key() -> Result<String, Error> {
    let mut key = hex::encode(random_bytes::<19>()?);
    key.truncate(37);
    Ok(key)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| MasterKeyError::Random)?;
    Ok(bytes)
}

/// What the store keeps instead of the secret. A fast hash is right here: the secrets carry
/// ≥ 148 random bits, so there is nothing for a slow KDF to protect against guessing.
pub(crate) fn secret_hash(secret: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, secret.as_bytes()))
}

/// Token lookups by secret hash, trusted for `ttl` (including "no such token").
pub(crate) struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<ApiToken>)>>,
}

impl TokenCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn lookup(
        &self,
        store: &dyn TokenStore,
        hash: &str,
        metrics: &crate::Metrics,
    ) -> Result<Option<ApiToken>, Error> {
        if let Some((fetched, token)) = self.lock().get(hash)
            && fetched.elapsed() < self.ttl
        {
            metrics.token_lookup(true);
            return Ok(token.clone());
        }
        metrics.token_lookup(false);
        let token = store.find_token_by_secret_hash(hash).await?;
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED {
            // Expired entries go first; only a cache full of live entries is dropped whole.
            entries.retain(|_, (fetched, _)| fetched.elapsed() < self.ttl);
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
        }
        entries.insert(hash.to_string(), (Instant::now(), token.clone()));
        Ok(token)
    }

    /// Forget everything (after this process revokes a token, so it stops working at once here).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Option<ApiToken>)>> {
        // A poisoned cache only means a panic elsewhere mid-insert; the map is still usable.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_documented_shapes() {
        let token = new_token_secret().unwrap();
        assert_eq!(token.len(), 40);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let key = new_legacy_key().unwrap();
        assert_eq!(key.len(), 37);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(new_token_secret().unwrap(), token);
        assert_eq!(secret_hash("abc").len(), 64);
        assert_ne!(secret_hash("abc"), secret_hash("abd"));
    }
}
