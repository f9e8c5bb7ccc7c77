//! Issued client certificates: the hot paths (create, details, list) and API state changes.

use async_trait::async_trait;

use crate::StoreResult;
use crate::backend::{Backend, Transaction, args};
use crate::error::StoreError;
use crate::model::{
    AuditEntry, CertificateId, CertificatePage, CertificateQuery, CertificateRecord,
    CertificateStatus, StatusChange, StatusChangeOutcome, ZoneActivity, ZoneId,
};
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::writes::{CountMoves, append_audit, apply_count_moves, clamp_i64};
use pki::RevocationReason;

#[async_trait]
pub trait CertificateStore: Send + Sync {
    /// Insert an issued certificate. `Err(Conflict)` if its serial is already used by the CA;
    /// `Err(QuotaExceeded)` if a `quota` is given and the zone already holds that many
    /// certificates that are not revoked (concurrent creates cannot overshoot it). Returns only
    /// after the row is durable.
    async fn insert_certificate(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
        quota: Option<u64>,
    ) -> StoreResult<()>;
    async fn get_certificate(
        &self,
        zone_id: &ZoneId,
        id: &CertificateId,
    ) -> StoreResult<Option<CertificateRecord>>;
    /// Up to `query.limit` certificates from position `query.offset` of the zone's set (filtered
    /// by status), newest first, and that set's size. Cost grows with the number of list blocks
    /// (1024 certificates each), not with the offset.
    async fn list_certificates(&self, query: &CertificateQuery) -> StoreResult<CertificatePage>;
    async fn count_certificates(
        &self,
        zone_id: &ZoneId,
        status: Option<CertificateStatus>,
    ) -> StoreResult<u64>;
    /// A zone's active certificates expiring soon (see [`ZoneActivity::EXPIRY_WINDOWS_DAYS`]),
    /// and when its newest `recent` certificates were issued. Costs what expires within 90 days
    /// (across zones) plus `recent` index entries, not the zone's size.
    async fn zone_activity(
        &self,
        zone_id: &ZoneId,
        now: time::OffsetDateTime,
        recent: u32,
    ) -> StoreResult<ZoneActivity>;
    /// Apply an API-requested state change atomically with its audit event.
    async fn change_status(&self, change: &StatusChange) -> StoreResult<StatusChangeOutcome>;
    /// Set the reason of a revocation that is still `pending_revocation` (not yet published),
    /// with its audit event; `Unchanged` when the certificate is in any other state.
    async fn change_pending_reason(
        &self,
        zone_id: &ZoneId,
        id: &CertificateId,
        reason: RevocationReason,
        audit: &AuditEntry,
    ) -> StoreResult<StatusChangeOutcome>;
}

/// Block counts read first for a list page: a page within the newest this many blocks (at
/// least 8 × 1024 certificates deep) needs no more.
const SHALLOW_BLOCKS: i64 = 8;

/// In block counts newest first, the block holding position `offset` and how far into it the
/// position is; `None` when the blocks end before it.
fn page_start<R: DecodeRow>(blocks: &[R], offset: u64) -> StoreResult<Option<(i64, u64)>> {
    let mut before = 0u64;
    for row in blocks {
        let count = u64::try_from(row.int("count")?).unwrap_or(0);
        if offset < before + count {
            return Ok(Some((row.int("block")?, offset - before)));
        }
        before += count;
    }
    Ok(None)
}

#[async_trait]
impl<B: Backend> CertificateStore for B {
    async fn insert_certificate(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
        quota: Option<u64>,
    ) -> StoreResult<()> {
        self.insert_certificate_durably(cert, audit, quota).await
    }

    async fn get_certificate(
        &self,
        zone_id: &ZoneId,
        id: &CertificateId,
    ) -> StoreResult<Option<CertificateRecord>> {
        let row = self
            .quick_optional(sql::SELECT_CERTIFICATE, args![zone_id, id])
            .await?;
        row.as_ref().map(rows::certificate).transpose()
    }

    async fn list_certificates(&self, query: &CertificateQuery) -> StoreResult<CertificatePage> {
        let status = query
            .status
            .map_or(sql::ALL_STATUSES, CertificateStatus::as_str);
        // The set's size is summed by the database; the block where the page starts is looked
        // for in the newest few blocks first (a shallow page, the common case), then in all.
        let total = self
            .quick_one(sql::COUNT_CERTIFICATES, args![&query.zone_id, status])
            .await?
            .first_count()?;
        let empty = || CertificatePage {
            items: Vec::new(),
            total,
        };
        if query.offset >= total || query.limit == 0 {
            return Ok(empty());
        }
        let newest = self
            .quick_all(
                sql::NEWEST_BLOCK_COUNTS,
                args![&query.zone_id, status, SHALLOW_BLOCKS],
            )
            .await?;
        let start = match page_start(&newest, query.offset)? {
            Some(start) => Some(start),
            // Those were all the blocks there are.
            None if newest.len() < SHALLOW_BLOCKS as usize => None,
            None => {
                let all = self
                    .quick_all(sql::BLOCK_COUNTS, args![&query.zone_id, status])
                    .await?;
                page_start(&all, query.offset)?
            }
        };
        // Rows moved between the two reads (a concurrent change): an empty page, like a window
        // past the end.
        let Some((block, skip)) = start else {
            return Ok(empty());
        };
        // Skip inside the block on the index alone, then read just the page's rows.
        let upper = (block + 1) * sql::LIST_BLOCK;
        let first = match query.status {
            None => {
                self.quick_optional(
                    sql::PAGE_START,
                    args![&query.zone_id, upper, clamp_i64(skip)],
                )
                .await?
            }
            Some(status) => {
                self.quick_optional(
                    sql::PAGE_START_WITH_STATUS,
                    args![&query.zone_id, upper, clamp_i64(skip), status.as_str()],
                )
                .await?
            }
        };
        let Some(first) = first else {
            return Ok(empty());
        };
        let first = first.first_int()?;
        let limit = clamp_i64(query.limit);
        let rows = match query.status {
            None => {
                self.quick_all(sql::LIST_CERTIFICATES, args![&query.zone_id, first, limit])
                    .await?
            }
            Some(status) => {
                self.quick_all(
                    sql::LIST_CERTIFICATES_WITH_STATUS,
                    args![&query.zone_id, first, limit, status.as_str()],
                )
                .await?
            }
        };
        let items = rows
            .iter()
            .map(rows::certificate)
            .collect::<StoreResult<_>>()?;
        Ok(CertificatePage { items, total })
    }

    async fn count_certificates(
        &self,
        zone_id: &ZoneId,
        status: Option<CertificateStatus>,
    ) -> StoreResult<u64> {
        let status = status.map_or(sql::ALL_STATUSES, CertificateStatus::as_str);
        self.quick_one(sql::COUNT_CERTIFICATES, args![zone_id, status])
            .await?
            .first_count()
    }

    async fn zone_activity(
        &self,
        zone_id: &ZoneId,
        now: time::OffsetDateTime,
        recent: u32,
    ) -> StoreResult<ZoneActivity> {
        let [week, month, quarter] =
            ZoneActivity::EXPIRY_WINDOWS_DAYS.map(|days| to_unix(now + time::Duration::days(days)));
        let expiring = self
            .quick_one(
                sql::ZONE_EXPIRING,
                args![zone_id, to_unix(now), week, month, quarter],
            )
            .await?;
        let counts = ["week", "month", "quarter"]
            .map(|column| expiring.int(column).map(|n| u64::try_from(n).unwrap_or(0)));
        let [week, month, quarter] = counts;
        let recent_issued_on = self
            .quick_all(sql::ZONE_RECENT_ISSUED, args![zone_id, i64::from(recent)])
            .await?
            .iter()
            .map(|row| rows::time_at(row, "issued_on"))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ZoneActivity {
            expiring_within: [week?, month?, quarter?],
            recent_issued_on,
        })
    }

    /// Concurrent changes share a transaction (see `batch.rs`).
    async fn change_status(&self, change: &StatusChange) -> StoreResult<StatusChangeOutcome> {
        let store = self.clone();
        self.status_changes()
            .submit(change.clone(), move |changes| {
                let store = store.clone();
                async move { change_statuses(&store, changes).await }
            })
            .await
            .unwrap_or(Err(StoreError::WriterStopped))
    }

    async fn change_pending_reason(
        &self,
        zone_id: &ZoneId,
        id: &CertificateId,
        reason: RevocationReason,
        audit: &AuditEntry,
    ) -> StoreResult<StatusChangeOutcome> {
        let mut tx = self.begin_write().await?;
        let changed = tx
            .execute(
                sql::CHANGE_PENDING_REASON,
                args![reason.as_str(), to_unix(audit.occurred_at), zone_id, id],
            )
            .await?
            == 1;
        if changed {
            append_audit(&mut tx, audit).await?;
        }
        let row = tx
            .fetch_optional(sql::SELECT_CERTIFICATE, args![zone_id, id])
            .await?;
        tx.commit().await?;
        Ok(match row {
            None => StatusChangeOutcome::NotFound,
            Some(row) if changed => StatusChangeOutcome::Changed(rows::certificate(&row)?),
            Some(row) => StatusChangeOutcome::Unchanged(rows::certificate(&row)?),
        })
    }
}

/// Apply `changes` in one transaction (one durable commit); if that fails, each in its own, so a
/// failing change fails alone. One result per change, in order. When no transaction can be begun
/// (the database is unreachable), every change fails at once.
async fn change_statuses<B: Backend>(
    store: &B,
    changes: Vec<StatusChange>,
) -> Vec<StoreResult<StatusChangeOutcome>> {
    let unreachable = |error: &StoreError, count: usize| -> Vec<StoreResult<StatusChangeOutcome>> {
        (0..count).map(|_| Err(error.for_each_of_group())).collect()
    };
    if changes.len() > 1 {
        match store.begin_write().await {
            Ok(tx) => {
                if let Ok(outcomes) = change_together::<B>(tx, &changes).await {
                    return outcomes.into_iter().map(Ok).collect();
                }
            }
            Err(error) => return unreachable(&error, changes.len()),
        }
    }
    let mut results = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        match store.begin_write().await {
            Ok(tx) => results.push(
                change_together::<B>(tx, std::slice::from_ref(change))
                    .await
                    .map(|mut outcomes| outcomes.pop().unwrap_or(StatusChangeOutcome::NotFound)),
            ),
            Err(error) => {
                if changes.len() == 1 {
                    results.push(Err(error));
                } else {
                    results.extend(unreachable(&error, changes.len() - index));
                }
                break;
            }
        }
    }
    results
}

async fn change_together<B: Backend>(
    mut tx: B::Tx,
    changes: &[StatusChange],
) -> StoreResult<Vec<StatusChangeOutcome>> {
    if changes.len() > 1 {
        let ids: Vec<_> = changes
            .iter()
            .map(|change| &change.certificate_id)
            .collect();
        B::lock_for_status_changes(&mut tx, &ids).await?;
    }
    // Changes to one certificate keep their order.
    let mut order: Vec<usize> = (0..changes.len()).collect();
    order.sort_by_key(|&index| (&changes[index].zone_id, &changes[index].certificate_id));
    let mut moves = CountMoves::default();
    let mut outcomes = vec![StatusChangeOutcome::NotFound; changes.len()];
    for index in order {
        outcomes[index] = change_in::<B>(&mut tx, &changes[index], &mut moves).await?;
    }
    // Counter rows last, in their canonical order, as every other writer takes them.
    apply_count_moves(&mut tx, moves).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// One change inside `tx`: read the current state under the write lock (SQLite) or a row lock
/// (PostgreSQL), change it if it is one of `from`, with its audit event.
async fn change_in<B: Backend>(
    tx: &mut B::Tx,
    change: &StatusChange,
    moves: &mut CountMoves,
) -> StoreResult<StatusChangeOutcome> {
    let at = change.audit.occurred_at;
    let current = tx
        .fetch_optional(
            B::SELECT_FOR_STATUS_CHANGE,
            args![&change.zone_id, &change.certificate_id],
        )
        .await?;
    let Some(current) = current else {
        return Ok(StatusChangeOutcome::NotFound);
    };
    let status: CertificateStatus = rows::parsed(&current, "status")?;
    let changed = change.from.contains(&status);
    if changed {
        tx.execute(
            sql::CHANGE_STATUS,
            args![
                change.to.as_str(),
                to_unix(at),
                change.revocation_reason.map(|_| to_unix(at)),
                change.revocation_reason.map(|r| r.as_str()),
                &change.zone_id,
                &change.certificate_id,
            ],
        )
        .await?;
        moves.change(&change.zone_id, current.int("seq")?, status, change.to);
        append_audit(tx, &change.audit).await?;
    }
    let row = tx
        .fetch_one(
            sql::SELECT_CERTIFICATE,
            args![&change.zone_id, &change.certificate_id],
        )
        .await?;
    let record = rows::certificate(&row)?;
    Ok(if changed {
        StatusChangeOutcome::Changed(record)
    } else {
        StatusChangeOutcome::Unchanged(record)
    })
}
