//! Figures for the metrics endpoint: read at scrape time, each from an index, never a full scan.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::StoreResult;
use crate::backend::{Backend, args};
use crate::model::{CertificateStatus, ExpiringInZone, PoolState};
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;

#[async_trait]
pub trait GaugeStore: Send + Sync {
    /// Certificates waiting for the publication worker, per pending status (both always listed).
    async fn pending_counts(&self) -> StoreResult<Vec<(CertificateStatus, u64)>>;
    /// Per zone with any, active certificates expiring within 7 and within 30 days of `now`
    /// (already expired ones are not counted).
    async fn expiring_soon(&self, now: OffsetDateTime) -> StoreResult<Vec<ExpiringInZone>>;
    /// The connection pools: open and idle connections.
    fn pool_states(&self) -> Vec<PoolState>;
}

#[async_trait]
impl<B: Backend> GaugeStore for B {
    async fn pending_counts(&self) -> StoreResult<Vec<(CertificateStatus, u64)>> {
        let rows = self.fetch_all(sql::PENDING_COUNTS, &[]).await?;
        let mut counts = vec![
            (CertificateStatus::PendingRevocation, 0),
            (CertificateStatus::PendingReactivation, 0),
        ];
        for row in &rows {
            let status: CertificateStatus = rows::parsed(row, "status")?;
            let count = u64::try_from(row.int("count")?).unwrap_or(0);
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == status) {
                slot.1 = count;
            }
        }
        Ok(counts)
    }

    async fn expiring_soon(&self, now: OffsetDateTime) -> StoreResult<Vec<ExpiringInZone>> {
        let week = to_unix(now + Duration::days(7));
        let month = to_unix(now + Duration::days(30));
        let rows = self
            .fetch_all(sql::EXPIRING_SOON, args![to_unix(now), week, month])
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ExpiringInZone {
                    zone_id: rows::id(row, "zone_id")?,
                    within_7_days: u64::try_from(row.int("week")?).unwrap_or(0),
                    within_30_days: u64::try_from(row.int("month")?).unwrap_or(0),
                })
            })
            .collect()
    }

    fn pool_states(&self) -> Vec<PoolState> {
        Backend::pool_states(self)
    }
}
