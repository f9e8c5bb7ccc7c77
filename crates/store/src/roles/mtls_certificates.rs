//! CA certificates accounts upload to verify client certificates with, and where they are
//! required.

use async_trait::async_trait;

use crate::StoreResult;
use crate::backend::{Backend, Transaction, args};
use crate::model::{
    AccountId, AuditEntry, MtlsCertificateId, MtlsCertificateRecord, MtlsDeleteOutcome,
    MtlsUploadOutcome, ZoneId,
};
use crate::rows::{self, DecodeRow};
use crate::sql;
use crate::writes::{append_audit, insert_mtls_certificate};

#[async_trait]
pub trait MtlsCertificateStore: Send + Sync {
    /// Store `record` unless the account already has `max_per_account` certificates or one
    /// with the same name (checked and written in one transaction, one upload at a time).
    async fn insert_mtls_certificate(
        &self,
        record: &MtlsCertificateRecord,
        max_per_account: u32,
        audit: &AuditEntry,
    ) -> StoreResult<MtlsUploadOutcome>;
    async fn get_mtls_certificate(
        &self,
        account_id: &AccountId,
        id: &MtlsCertificateId,
    ) -> StoreResult<Option<MtlsCertificateRecord>>;
    /// The account's certificates, oldest first.
    async fn list_mtls_certificates(
        &self,
        account_id: &AccountId,
    ) -> StoreResult<Vec<MtlsCertificateRecord>>;
    /// Delete the certificate unless a hostname still requires it.
    async fn delete_mtls_certificate(
        &self,
        account_id: &AccountId,
        id: &MtlsCertificateId,
        audit: &AuditEntry,
    ) -> StoreResult<MtlsDeleteOutcome>;
    /// The hostnames (with their zones) that require the certificate.
    async fn mtls_certificate_associations(
        &self,
        id: &MtlsCertificateId,
    ) -> StoreResult<Vec<(String, ZoneId)>>;
    /// Every uploaded certificate that some hostname requires, for enforcement points.
    async fn associated_mtls_certificates(&self) -> StoreResult<Vec<MtlsCertificateRecord>>;
}

#[async_trait]
impl<B: Backend> MtlsCertificateStore for B {
    async fn insert_mtls_certificate(
        &self,
        record: &MtlsCertificateRecord,
        max_per_account: u32,
        audit: &AuditEntry,
    ) -> StoreResult<MtlsUploadOutcome> {
        let mut tx = self.begin_write().await?;
        // The same lock as association changes: uploads are rare, and one at a time keeps the
        // limit and the name check exact across replicas.
        B::lock_hostname_associations(&mut tx).await?;
        let count = tx
            .fetch_one(sql::COUNT_MTLS_CERTIFICATES, args![&record.account_id])
            .await?
            .first_count()?;
        if count >= u64::from(max_per_account) {
            tx.rollback().await?;
            return Ok(MtlsUploadOutcome::LimitReached);
        }
        if let Some(name) = &record.name {
            let taken = tx
                .fetch_optional(sql::MTLS_NAME_TAKEN, args![&record.account_id, name])
                .await?;
            if taken.is_some() {
                tx.rollback().await?;
                return Ok(MtlsUploadOutcome::NameTaken);
            }
        }
        insert_mtls_certificate(&mut tx, record).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(MtlsUploadOutcome::Uploaded)
    }

    async fn get_mtls_certificate(
        &self,
        account_id: &AccountId,
        id: &MtlsCertificateId,
    ) -> StoreResult<Option<MtlsCertificateRecord>> {
        let row = self
            .fetch_optional(sql::SELECT_MTLS_CERTIFICATE, args![account_id, id])
            .await?;
        row.as_ref().map(rows::mtls_certificate).transpose()
    }

    async fn list_mtls_certificates(
        &self,
        account_id: &AccountId,
    ) -> StoreResult<Vec<MtlsCertificateRecord>> {
        let rows = self
            .fetch_all(sql::SELECT_MTLS_CERTIFICATES, args![account_id])
            .await?;
        rows.iter().map(rows::mtls_certificate).collect()
    }

    async fn delete_mtls_certificate(
        &self,
        account_id: &AccountId,
        id: &MtlsCertificateId,
        audit: &AuditEntry,
    ) -> StoreResult<MtlsDeleteOutcome> {
        let mut tx = self.begin_write().await?;
        B::lock_hostname_associations(&mut tx).await?;
        let Some(row) = tx
            .fetch_optional(sql::SELECT_MTLS_CERTIFICATE, args![account_id, id])
            .await?
        else {
            tx.rollback().await?;
            return Ok(MtlsDeleteOutcome::NotFound);
        };
        let record = rows::mtls_certificate(&row)?;
        let associated = tx
            .fetch_all(sql::SELECT_MTLS_ASSOCIATIONS, args![id])
            .await?
            .iter()
            .map(|row| row.text("hostname"))
            .collect::<StoreResult<Vec<_>>>()?;
        if !associated.is_empty() {
            tx.rollback().await?;
            return Ok(MtlsDeleteOutcome::Associated(associated));
        }
        tx.execute(sql::DELETE_MTLS_CERTIFICATE, args![account_id, id])
            .await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(MtlsDeleteOutcome::Deleted(record))
    }

    async fn mtls_certificate_associations(
        &self,
        id: &MtlsCertificateId,
    ) -> StoreResult<Vec<(String, ZoneId)>> {
        let rows = self
            .fetch_all(sql::SELECT_MTLS_ASSOCIATIONS, args![id])
            .await?;
        rows.iter()
            .map(|row| Ok((row.text("hostname")?, rows::id(row, "zone_id")?)))
            .collect()
    }

    async fn associated_mtls_certificates(&self) -> StoreResult<Vec<MtlsCertificateRecord>> {
        let rows = self
            .fetch_all(sql::SELECT_ASSOCIATED_MTLS_CERTIFICATES, &[])
            .await?;
        rows.iter().map(rows::mtls_certificate).collect()
    }
}
