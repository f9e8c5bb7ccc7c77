//! The audit log: reads, and sealing events into the hash chain (see `audit_chain`).

use async_trait::async_trait;

use crate::backend::{Backend, Statement, Transaction, args};
use crate::model::{AccountId, AuditEvent, AuditSeal};
use crate::rows::{self, DecodeRow};
use crate::sql;
use crate::writes::clamp_i64;
use crate::{StoreError, StoreResult, audit_chain};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Events after `after_id`, oldest first (of one account, when given).
    async fn audit_events(
        &self,
        account_id: Option<&AccountId>,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// An account's audit events, newest first, and how many there are.
    async fn audit_page(
        &self,
        account_id: &AccountId,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<AuditEvent>, u64)>;
    /// Seal up to `limit` unsealed audit events into the hash chain, in id order, under a lock
    /// (one sealer at a time across replicas); returns how many were sealed.
    async fn seal_audit(&self, limit: u32) -> StoreResult<u64>;
    async fn unsealed_audit_events(&self) -> StoreResult<u64>;
    /// Sealed events with `chain_seq` after `after`, in chain order, with their seals.
    async fn sealed_audit_events(
        &self,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(AuditEvent, AuditSeal)>>;
}

#[async_trait]
impl<B: Backend> AuditStore for B {
    async fn audit_events(
        &self,
        account_id: Option<&AccountId>,
        after_id: i64,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let limit = i64::from(limit);
        let rows = match account_id {
            None => {
                self.fetch_all(sql::SELECT_AUDIT, args![after_id, limit])
                    .await?
            }
            Some(account_id) => {
                self.fetch_all(
                    sql::SELECT_AUDIT_FOR_ACCOUNT,
                    args![after_id, limit, account_id],
                )
                .await?
            }
        };
        rows.iter().map(rows::audit_event).collect()
    }

    async fn audit_page(
        &self,
        account_id: &AccountId,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<AuditEvent>, u64)> {
        let total = self
            .fetch_one(sql::COUNT_AUDIT_FOR_ACCOUNT, args![account_id])
            .await?
            .first_count()?;
        let rows = self
            .fetch_all(
                sql::SELECT_AUDIT_PAGE,
                args![account_id, i64::from(limit), clamp_i64(offset)],
            )
            .await?;
        let events = rows
            .iter()
            .map(rows::audit_event)
            .collect::<StoreResult<_>>()?;
        Ok((events, total))
    }

    async fn seal_audit(&self, limit: u32) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        if !B::try_lock_audit_sealing(&mut tx).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        let head = match tx.fetch_optional(sql::AUDIT_HEAD, &[]).await? {
            Some(row) => Some((
                row.int("chain_seq")?,
                row.opt_text("hash")?.unwrap_or_default(),
            )),
            None => None,
        };
        let unsealed = tx
            .fetch_all(B::SELECT_UNSEALED_AUDIT, args![i64::from(limit)])
            .await?
            .iter()
            .map(rows::audit_event)
            .collect::<StoreResult<Vec<_>>>()?;
        if unsealed.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let seals = audit_chain::seal_in_order(head, &unsealed);
        // 4 parameters a row: 1000 rows stay under every bind limit.
        for chunk in seals.chunks(1000) {
            let mut update = Statement::new(B::Tx::PLACEHOLDER, sql::SEAL_AUDIT_HEAD);
            for (index, (id, seal)) in chunk.iter().enumerate() {
                update.push(if index == 0 { "(CAST(" } else { ", (CAST(" });
                update.bind(*id).push(" AS BIGINT), CAST(");
                update.bind(seal.chain_seq).push(" AS BIGINT), CAST(");
                update.bind(&seal.prev_hash).push(" AS TEXT), CAST(");
                update.bind(&seal.hash).push(" AS TEXT))");
            }
            update.push(sql::SEAL_AUDIT_TAIL);
            tx.execute_statement(update).await?;
        }
        tx.commit().await?;
        Ok(seals.len() as u64)
    }

    async fn unsealed_audit_events(&self) -> StoreResult<u64> {
        self.fetch_one(B::COUNT_UNSEALED_AUDIT, &[])
            .await?
            .first_count()
    }

    async fn sealed_audit_events(
        &self,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<(AuditEvent, AuditSeal)>> {
        let rows = self
            .fetch_all(sql::SELECT_SEALED_AUDIT, args![after, i64::from(limit)])
            .await?;
        rows.iter()
            .map(|row| {
                let event = rows::audit_event(row)?;
                let seal = event
                    .seal
                    .clone()
                    .ok_or_else(|| StoreError::Corrupt("a sealed event without a seal".into()))?;
                Ok((event, seal))
            })
            .collect()
    }
}
