//! Publishing revocation: the publication transaction the authority drives, and the published
//! CRLs and OCSP answers it leaves behind.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use pki::SerialNumber;
use time::OffsetDateTime;

use crate::StoreResult;
use crate::backend::{Backend, Statement, Transaction, args};
use crate::model::{
    CaId, CaKind, CertificateId, CertificateKind, CertificateStatus, CrlRecord, OcspRecord,
    PendingTransition, RevokedSerial, SerialStatus, Settlement,
};
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::writes::{CountMoves, append_audits, apply_count_moves, insert_crl, upsert_ocsp};

#[async_trait]
pub trait PublicationStore: Send + Sync {
    /// Open a publication pass: one write transaction holding the publication lock (one publisher
    /// at a time across replicas). `None` when another process holds the lock.
    async fn begin_publication(&self) -> StoreResult<Option<Box<dyn PublicationTx>>>;
    /// Up to `limit` certificates waiting for publication, oldest request first (a plain read).
    async fn pending_transitions(&self, limit: u32) -> StoreResult<Vec<PendingTransition>>;
    async fn latest_crl(&self, ca_id: &CaId) -> StoreResult<Option<CrlRecord>>;
    async fn latest_crl_number(&self, ca_id: &CaId) -> StoreResult<Option<i64>>;
    /// Every CA's newest CRL number: what changes whenever anything is published.
    async fn latest_crl_numbers(&self) -> StoreResult<Vec<(CaId, i64)>>;
    /// The state of `serial` under `ca_id`, for the OCSP responder.
    async fn serial_status(
        &self,
        ca_id: &CaId,
        serial: SerialNumber,
    ) -> StoreResult<Option<SerialStatus>>;
}

/// The steps of one publication pass, all inside one transaction: what the caller reads is
/// locked until it commits, so what it publishes is what settles. Dropping it without `commit`
/// rolls everything back (and releases the lock).
#[async_trait]
pub trait PublicationTx: Send {
    /// Up to `limit` pending transitions, oldest request first, locked until commit.
    async fn take_pending(&mut self, limit: u32) -> StoreResult<Vec<PendingTransition>>;
    /// CAs without a CRL valid beyond `at`.
    async fn cas_with_crl_expiring_before(&mut self, at: OffsetDateTime) -> StoreResult<Vec<CaId>>;
    /// Every settled revocation of the CA (its CRL's entries before this pass).
    async fn revoked_serials(&mut self, ca_id: &CaId) -> StoreResult<Vec<RevokedSerial>>;
    /// How many of the CA's certificates are `revoked` (an index-only count).
    async fn count_revoked(&mut self, ca_id: &CaId) -> StoreResult<u64>;
    /// The CA's newest CRL, read inside this pass.
    async fn latest_crl_in_pass(&mut self, ca_id: &CaId) -> StoreResult<Option<CrlRecord>>;
    async fn latest_crl_number(&mut self, ca_id: &CaId) -> StoreResult<Option<i64>>;
    async fn insert_crl(&mut self, crl: &CrlRecord) -> StoreResult<()>;
    /// Delete the CA's CRLs numbered below `keep_from`.
    async fn prune_crls(&mut self, ca_id: &CaId, keep_from: i64) -> StoreResult<()>;
    /// Store pre-signed answers, replacing earlier ones for the same serials.
    async fn store_ocsp_answers(&mut self, answers: &[OcspRecord]) -> StoreResult<()>;
    /// Move each transition to its settled state if it is still in the state read, appending
    /// its audit event when it does; returns how many settled.
    async fn settle(
        &mut self,
        settlements: &[Settlement<'_>],
        at: OffsetDateTime,
    ) -> StoreResult<u64>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
    /// Roll back now rather than when the connection is next used: the rollback is what releases
    /// the publication lock and the pending rows.
    async fn rollback(self: Box<Self>) -> StoreResult<()>;
}

#[async_trait]
impl<B: Backend> PublicationStore for B {
    async fn begin_publication(&self) -> StoreResult<Option<Box<dyn PublicationTx>>> {
        let mut tx = self.begin_write().await?;
        if !B::try_lock_publication(&mut tx).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        Ok(Some(Box::new(Publication::<B> { tx })))
    }

    async fn pending_transitions(&self, limit: u32) -> StoreResult<Vec<PendingTransition>> {
        let rows = self
            .fetch_all(sql::SELECT_PENDING, args![i64::from(limit)])
            .await?;
        rows.iter().map(rows::pending).collect()
    }

    async fn latest_crl(&self, ca_id: &CaId) -> StoreResult<Option<CrlRecord>> {
        let row = self
            .fetch_optional(sql::SELECT_LATEST_CRL, args![ca_id])
            .await?;
        row.as_ref().map(rows::crl).transpose()
    }

    async fn latest_crl_number(&self, ca_id: &CaId) -> StoreResult<Option<i64>> {
        self.fetch_one(sql::LATEST_CRL_NUMBER, args![ca_id])
            .await?
            .first_opt_int()
    }

    async fn latest_crl_numbers(&self) -> StoreResult<Vec<(CaId, i64)>> {
        let rows = self.fetch_all(sql::LATEST_CRL_NUMBERS, &[]).await?;
        rows.iter()
            .map(|row| Ok((rows::id(row, "ca_id")?, row.int("crl_number")?)))
            .collect()
    }

    async fn serial_status(
        &self,
        ca_id: &CaId,
        serial: SerialNumber,
    ) -> StoreResult<Option<SerialStatus>> {
        let serial = serial.to_decimal();
        let row = self
            .quick_optional(sql::SERIAL_STATUS, args![ca_id, &serial])
            .await?;
        row.as_ref().map(rows::serial_status).transpose()
    }
}

struct Publication<B: Backend> {
    tx: B::Tx,
}

#[async_trait]
impl<B: Backend> PublicationTx for Publication<B> {
    async fn take_pending(&mut self, limit: u32) -> StoreResult<Vec<PendingTransition>> {
        let rows = self
            .tx
            .fetch_all(B::SELECT_PENDING_LOCKED, args![i64::from(limit)])
            .await?;
        rows.iter().map(rows::pending).collect()
    }

    async fn cas_with_crl_expiring_before(&mut self, at: OffsetDateTime) -> StoreResult<Vec<CaId>> {
        let rows = self
            .tx
            .fetch_all(sql::CAS_WITH_STALE_CRL, args![to_unix(at)])
            .await?;
        rows.iter()
            .map(|row| rows::parse_id::<CaKind>(&row.first_text()?))
            .collect()
    }

    async fn revoked_serials(&mut self, ca_id: &CaId) -> StoreResult<Vec<RevokedSerial>> {
        let rows = self
            .tx
            .fetch_all(sql::REVOKED_SERIALS, args![ca_id])
            .await?;
        rows.iter().map(rows::revoked_serial).collect()
    }

    async fn count_revoked(&mut self, ca_id: &CaId) -> StoreResult<u64> {
        self.tx
            .fetch_one(sql::COUNT_REVOKED, args![ca_id])
            .await?
            .first_count()
    }

    async fn latest_crl_in_pass(&mut self, ca_id: &CaId) -> StoreResult<Option<CrlRecord>> {
        let row = self
            .tx
            .fetch_optional(sql::SELECT_LATEST_CRL, args![ca_id])
            .await?;
        row.as_ref().map(rows::crl).transpose()
    }

    async fn latest_crl_number(&mut self, ca_id: &CaId) -> StoreResult<Option<i64>> {
        self.tx
            .fetch_one(sql::LATEST_CRL_NUMBER, args![ca_id])
            .await?
            .first_opt_int()
    }

    async fn insert_crl(&mut self, crl: &CrlRecord) -> StoreResult<()> {
        insert_crl(&mut self.tx, crl).await
    }

    async fn prune_crls(&mut self, ca_id: &CaId, keep_from: i64) -> StoreResult<()> {
        self.tx
            .execute(sql::PRUNE_CRLS, args![ca_id, keep_from])
            .await?;
        Ok(())
    }

    async fn store_ocsp_answers(&mut self, answers: &[OcspRecord]) -> StoreResult<()> {
        upsert_ocsp(&mut self.tx, answers).await
    }

    async fn settle(
        &mut self,
        settlements: &[Settlement<'_>],
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        // One UPDATE per (state read, state reached) and 1000 certificates, where one per
        // certificate cost a tenth of a millisecond each (BENCHMARKS.md, "Publication at scale").
        let mut groups: HashMap<_, Vec<&CertificateId>> = HashMap::new();
        for settlement in settlements {
            let transition = settlement.transition;
            if let Some(target) = transition.status.settled() {
                groups
                    .entry((transition.status, target))
                    .or_default()
                    .push(&transition.certificate_id);
            }
        }
        let mut updated = HashSet::new();
        for ((from, target), ids) in groups {
            for chunk in ids.chunks(1000) {
                let mut update = Statement::new(B::Tx::PLACEHOLDER, sql::SETTLE_TO);
                update
                    .bind(target.as_str())
                    .push(sql::SETTLE_AT)
                    .bind(to_unix(at));
                if target == CertificateStatus::Active {
                    update.push(sql::SETTLE_REACTIVATED);
                }
                update.push(sql::SETTLE_FROM).bind(from.as_str());
                update.push(sql::SETTLE_IDS);
                update.bind_list(chunk.iter().copied());
                update.push(sql::SETTLE_RETURNING);
                for row in self.tx.fetch_all_statement(update).await? {
                    updated.insert(rows::id::<CertificateKind>(&row, "id")?);
                }
            }
        }
        let mut moves = CountMoves::default();
        let mut audits = Vec::new();
        for settlement in settlements {
            let transition = settlement.transition;
            if let Some(target) = transition.status.settled()
                && updated.contains(&transition.certificate_id)
            {
                moves.change(
                    &transition.zone_id,
                    transition.seq,
                    transition.status,
                    target,
                );
                audits.push(&settlement.audit);
            }
        }
        // Counters last, in their canonical order (see `apply_count_moves`).
        apply_count_moves(&mut self.tx, moves).await?;
        append_audits(&mut self.tx, &audits).await?;
        Ok(audits.len() as u64)
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await
    }

    async fn rollback(self: Box<Self>) -> StoreResult<()> {
        self.tx.rollback().await
    }
}
