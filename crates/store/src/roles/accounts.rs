//! Accounts (tenants) and their zones.

use async_trait::async_trait;

use crate::StoreResult;
use crate::backend::{Backend, Transaction, args};
use crate::model::{Account, AccountId, AuditEntry, Zone, ZoneId};
use crate::rows::{self, DecodeRow};
use crate::sql;
use crate::writes::{append_audit, clamp_i64, insert_account, insert_zone};

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_account(&self, account: &Account, audit: &AuditEntry) -> StoreResult<()>;
    async fn get_account(&self, id: &AccountId) -> StoreResult<Option<Account>>;
    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;

    async fn create_zone(&self, zone: &Zone, audit: &AuditEntry) -> StoreResult<()>;
    async fn get_zone(&self, id: &ZoneId) -> StoreResult<Option<Zone>>;
    async fn list_zones(&self) -> StoreResult<Vec<Zone>>;
    /// Set (or with `None` clear) a zone's own certificate quota, with its audit event; `false`
    /// when there is no such zone.
    async fn set_zone_quota(
        &self,
        id: &ZoneId,
        max_certificates: Option<u64>,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// The zone's certificates that are not revoked: what its quota counts.
    async fn count_unrevoked(&self, id: &ZoneId) -> StoreResult<u64>;
}

#[async_trait]
impl<B: Backend> AccountStore for B {
    async fn create_account(&self, account: &Account, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_account(&mut tx, account).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn get_account(&self, id: &AccountId) -> StoreResult<Option<Account>> {
        let row = self.fetch_optional(sql::SELECT_ACCOUNT, args![id]).await?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        let rows = self.fetch_all(sql::SELECT_ACCOUNTS, &[]).await?;
        rows.iter().map(rows::account).collect()
    }

    async fn create_zone(&self, zone: &Zone, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_zone(&mut tx, zone).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn get_zone(&self, id: &ZoneId) -> StoreResult<Option<Zone>> {
        let row = self.fetch_optional(sql::SELECT_ZONE, args![id]).await?;
        row.as_ref().map(rows::zone).transpose()
    }

    async fn list_zones(&self) -> StoreResult<Vec<Zone>> {
        let rows = self.fetch_all(sql::SELECT_ZONES, &[]).await?;
        rows.iter().map(rows::zone).collect()
    }

    async fn set_zone_quota(
        &self,
        id: &ZoneId,
        max_certificates: Option<u64>,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let limit = max_certificates.map(clamp_i64);
        if tx.execute(sql::SET_ZONE_QUOTA, args![limit, id]).await? == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn count_unrevoked(&self, id: &ZoneId) -> StoreResult<u64> {
        self.fetch_one(sql::COUNT_UNREVOKED, args![id])
            .await?
            .first_count()
    }
}
