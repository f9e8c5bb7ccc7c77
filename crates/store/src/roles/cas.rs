//! Certificate authorities with their sealed keys, and the hostnames that require their
//! certificates.

use async_trait::async_trait;

use crate::backend::{Backend, Transaction, args};
use crate::model::{
    AccountId, AssociationTarget, AuditEntry, CaId, CaRecord, CrlRecord, EnforcedHostname, Zone,
    ZoneId,
};
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::writes::{append_audit, insert_ca, insert_crl};
use crate::{MASTER_KEY_CHECK_SETTING, StoreError, StoreResult};

#[async_trait]
pub trait CaStore: Send + Sync {
    /// Insert the account's CA, with its first (empty) CRL, unless the account already has a CA;
    /// returns whichever CA won.
    async fn insert_ca_if_absent(
        &self,
        ca: &CaRecord,
        initial_crl: &CrlRecord,
        audit: &AuditEntry,
    ) -> StoreResult<CaRecord>;
    /// Make `ca` the account's issuing CA, retiring the current one (if any) in the same
    /// transaction, with `ca`'s first CRL and the audit event; returns the retired CA's id.
    /// `ca.generation` is ignored: the new CA gets the account's next one.
    async fn rotate_ca(
        &self,
        ca: &CaRecord,
        initial_crl: &CrlRecord,
        audit: &AuditEntry,
    ) -> StoreResult<Option<CaId>>;
    async fn get_ca(&self, id: &CaId) -> StoreResult<Option<CaRecord>>;
    /// The account's current (issuing) CA.
    async fn get_ca_for_account(&self, account_id: &AccountId) -> StoreResult<Option<CaRecord>>;
    /// Every CA the account has had, oldest first.
    async fn cas_of_account(&self, account_id: &AccountId) -> StoreResult<Vec<CaRecord>>;
    async fn list_cas(&self) -> StoreResult<Vec<CaRecord>>;
    /// Replace every CA's sealed key and the master-key check value in one transaction (master
    /// key rotation), with its audit event.
    async fn reseal_ca_keys(
        &self,
        sealed: &[(CaId, Vec<u8>)],
        check_value: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn hostname_associations(
        &self,
        zone_id: &ZoneId,
        target: &AssociationTarget,
    ) -> StoreResult<Vec<String>>;
    /// Every zone's associations, for enforcement points (the gateway).
    async fn all_hostname_associations(&self) -> StoreResult<Vec<EnforcedHostname>>;
    /// Replace the zone's list for `target` with `hostnames`, unless one of them is associated
    /// by another account (checked and written in one transaction, one replacement at a time
    /// across replicas): then nothing is written and that hostname is named.
    async fn replace_hostname_associations(
        &self,
        zone: &Zone,
        target: &AssociationTarget,
        hostnames: &[String],
        audit: &AuditEntry,
    ) -> StoreResult<HostnamesOutcome>;
}

/// What a replacement of hostname associations did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostnamesOutcome {
    Replaced,
    /// This hostname is another account's; nothing was written.
    TakenElsewhere(String),
}

#[async_trait]
impl<B: Backend> CaStore for B {
    async fn insert_ca_if_absent(
        &self,
        ca: &CaRecord,
        initial_crl: &CrlRecord,
        audit: &AuditEntry,
    ) -> StoreResult<CaRecord> {
        let mut tx = self.begin_write().await?;
        if insert_ca(&mut tx, sql::INSERT_CA_IF_ABSENT, ca).await? == 1 {
            insert_crl(&mut tx, initial_crl).await?;
            append_audit(&mut tx, audit).await?;
            tx.commit().await?;
            return Ok(ca.clone());
        }
        let winner = tx
            .fetch_one(sql::SELECT_CA_FOR_ACCOUNT, args![&ca.account_id])
            .await?;
        let winner = rows::ca(&winner)?;
        tx.commit().await?;
        Ok(winner)
    }

    async fn rotate_ca(
        &self,
        ca: &CaRecord,
        initial_crl: &CrlRecord,
        audit: &AuditEntry,
    ) -> StoreResult<Option<CaId>> {
        if ca.retired_at.is_some() {
            return Err(StoreError::Conflict(
                "a retired CA cannot become current".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        // The old CA retires the moment the new one is created.
        let retired = tx
            .fetch_optional(
                sql::RETIRE_CURRENT_CA,
                args![to_unix(ca.created_at), &ca.account_id],
            )
            .await?
            .map(|row| rows::id(&row, "id"))
            .transpose()?;
        let generation = tx
            .fetch_one(sql::NEXT_CA_GENERATION, args![&ca.account_id])
            .await?
            .first_int()?;
        let current = CaRecord {
            generation,
            ..ca.clone()
        };
        insert_ca(&mut tx, sql::INSERT_CA, &current).await?;
        insert_crl(&mut tx, initial_crl).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(retired)
    }

    async fn cas_of_account(&self, account_id: &AccountId) -> StoreResult<Vec<CaRecord>> {
        let rows = self
            .fetch_all(sql::SELECT_CAS_OF_ACCOUNT, args![account_id])
            .await?;
        rows.iter().map(rows::ca).collect()
    }

    async fn get_ca(&self, id: &CaId) -> StoreResult<Option<CaRecord>> {
        let row = self.fetch_optional(sql::SELECT_CA, args![id]).await?;
        row.as_ref().map(rows::ca).transpose()
    }

    async fn get_ca_for_account(&self, account_id: &AccountId) -> StoreResult<Option<CaRecord>> {
        let row = self
            .fetch_optional(sql::SELECT_CA_FOR_ACCOUNT, args![account_id])
            .await?;
        row.as_ref().map(rows::ca).transpose()
    }

    async fn list_cas(&self) -> StoreResult<Vec<CaRecord>> {
        let rows = self.fetch_all(sql::SELECT_CAS, &[]).await?;
        rows.iter().map(rows::ca).collect()
    }

    async fn reseal_ca_keys(
        &self,
        sealed: &[(CaId, Vec<u8>)],
        check_value: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for (ca_id, key) in sealed {
            if tx.execute(sql::RESEAL_CA, args![key, ca_id]).await? != 1 {
                return Err(StoreError::Corrupt(format!(
                    "CA {ca_id} disappeared during rotation"
                )));
            }
        }
        tx.execute(
            sql::REPLACE_SETTING,
            args![check_value, MASTER_KEY_CHECK_SETTING],
        )
        .await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn hostname_associations(
        &self,
        zone_id: &ZoneId,
        target: &AssociationTarget,
    ) -> StoreResult<Vec<String>> {
        let rows = match target {
            AssociationTarget::ManagedCa(ca_id) => {
                self.fetch_all(sql::SELECT_HOSTNAMES, args![zone_id, ca_id])
                    .await?
            }
            AssociationTarget::Uploaded(id) => {
                self.fetch_all(sql::SELECT_MTLS_HOSTNAMES, args![zone_id, id])
                    .await?
            }
        };
        rows.iter().map(|row| row.first_text()).collect()
    }

    async fn all_hostname_associations(&self) -> StoreResult<Vec<EnforcedHostname>> {
        let rows = self.fetch_all(sql::SELECT_ALL_ASSOCIATIONS, &[]).await?;
        rows.iter()
            .map(|row| {
                let target = match row.opt_text("mtls_certificate_id")? {
                    Some(_) => AssociationTarget::Uploaded(rows::id(row, "mtls_certificate_id")?),
                    None => AssociationTarget::ManagedCa(rows::id(row, "ca_id")?),
                };
                Ok(EnforcedHostname {
                    hostname: row.text("hostname")?,
                    zone_id: rows::id(row, "zone_id")?,
                    zone_name: row.text("zone_name")?,
                    account_id: rows::id(row, "account_id")?,
                    target,
                })
            })
            .collect()
    }

    async fn replace_hostname_associations(
        &self,
        zone: &Zone,
        target: &AssociationTarget,
        hostnames: &[String],
        audit: &AuditEntry,
    ) -> StoreResult<HostnamesOutcome> {
        let mut tx = self.begin_write().await?;
        B::lock_hostname_associations(&mut tx).await?;
        for hostname in hostnames {
            let taken = tx
                .fetch_optional(
                    sql::HOSTNAME_TAKEN_ELSEWHERE,
                    args![&zone.account_id, hostname],
                )
                .await?;
            if taken.is_some() {
                tx.rollback().await?;
                return Ok(HostnamesOutcome::TakenElsewhere(hostname.clone()));
            }
        }
        let (delete, insert, id) = match target {
            AssociationTarget::ManagedCa(ca_id) => {
                (sql::DELETE_HOSTNAMES, sql::INSERT_HOSTNAME, ca_id.as_str())
            }
            AssociationTarget::Uploaded(id) => (
                sql::DELETE_MTLS_HOSTNAMES,
                sql::INSERT_MTLS_HOSTNAME,
                id.as_str(),
            ),
        };
        tx.execute(delete, args![&zone.id, id]).await?;
        for hostname in hostnames {
            tx.execute(insert, args![&zone.id, id, hostname]).await?;
        }
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(HostnamesOutcome::Replaced)
    }
}
