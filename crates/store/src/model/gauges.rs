//! What the metrics endpoint reads from the store.

use super::ZoneId;

/// A zone's active certificates that expire soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringInZone {
    pub zone_id: ZoneId,
    pub within_7_days: u64,
    pub within_30_days: u64,
}

/// One connection pool: how many connections are open and how many of those are idle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolState {
    pub name: &'static str,
    pub open: u32,
    pub idle: u32,
}

impl PoolState {
    pub(crate) fn of<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> Self {
        Self {
            name,
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        }
    }
}
