//! Rate limiting: per API token, and per client address for requests without valid credentials
//! (which is what a token-guessing client sends). GCRA via `governor`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Requests per second and burst; 0 per second turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Per API token (default off: a CA's clients are known and authenticated).
    pub per_token: Rate,
    /// Per client address, for requests whose credentials are missing or wrong.
    pub anonymous: Rate,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_token: Rate {
                per_second: 0,
                burst: 0,
            },
            anonymous: Rate {
                per_second: 10,
                burst: 20,
            },
        }
    }
}

/// Forget idle keys every this many checks, so address churn cannot grow memory without bound.
const CLEANUP_EVERY: u64 = 4096;

/// Addresses remembered as over their anonymous limit at most (a flood of addresses must not grow
/// memory); past it, the oldest expiries are dropped first.
const MAX_BLOCKED: usize = 100_000;

pub(crate) struct RateLimits {
    per_token: Option<DefaultKeyedRateLimiter<String>>,
    anonymous: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses over their anonymous limit, and until when: refused before their credentials
    /// are even looked at, so a right guess gets the same 429 as a wrong one. (governor cannot
    /// tell whether a key is limited without spending a cell.)
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    checks: AtomicU64,
}

fn limiter<K: Clone + std::hash::Hash + Eq>(rate: Rate) -> Option<DefaultKeyedRateLimiter<K>> {
    let per_second = NonZeroU32::new(rate.per_second)?;
    let burst = NonZeroU32::new(rate.burst).unwrap_or(per_second);
    Some(RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

impl RateLimits {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        Self {
            per_token: limiter(config.per_token),
            anonymous: limiter(config.anonymous),
            blocked: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when the token has used up its rate.
    pub(crate) fn check_token(&self, token_id: &str) -> Result<(), Duration> {
        self.housekeeping();
        match &self.per_token {
            Some(limiter) => limiter
                .check_key(&token_id.to_string())
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
            None => Ok(()),
        }
    }

    /// `Err(wait)` when the address is still over its anonymous limit: checked before any
    /// credential is evaluated.
    pub(crate) fn check_blocked(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        let Some(address) = address else {
            return Ok(());
        };
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        match blocked.get(&address) {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => Err(wait),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// `Err(wait)` when the address has sent too many requests without valid credentials; the
    /// address is then refused outright (`check_blocked`) until `wait` has passed.
    pub(crate) fn check_anonymous(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        self.housekeeping();
        let (Some(limiter), Some(address)) = (&self.anonymous, address) else {
            return Ok(());
        };
        limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            self.block(address, wait);
            wait
        })
    }

    fn block(&self, address: IpAddr, wait: Duration) {
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() >= MAX_BLOCKED {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            if blocked.len() >= MAX_BLOCKED {
                blocked.clear();
            }
        }
        blocked.insert(address, Instant::now() + wait);
    }

    fn housekeeping(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            if let Some(limiter) = &self.per_token {
                limiter.retain_recent();
            }
            if let Some(limiter) = &self.anonymous {
                limiter.retain_recent();
            }
            let now = Instant::now();
            self.blocked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|_, until| *until > now);
        }
    }
}
