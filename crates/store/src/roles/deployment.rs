//! The deployment as a whole: settings, the schema version, and moving every row to another
//! database (`copy`).

use async_trait::async_trait;

use crate::backend::{Backend, Transaction, args};
use crate::model::{HostnameAssociation, NewApiToken, Rows, Table};
use crate::roles::tokens::token_with_zones;
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::writes::{
    insert_account, insert_ca, insert_certificate_rows, insert_crl, insert_mtls_certificate,
    insert_token, insert_zone, upsert_ocsp,
};
use crate::{StoreError, StoreResult};

#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Which database this is ("sqlite" or "postgres"), for logs and health output.
    fn backend(&self) -> &'static str;
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Store `value` under `key` unless a value exists; returns the value now stored.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String>;
    async fn delete_setting(&self, key: &str) -> StoreResult<()>;
    /// The latest applied schema migration.
    async fn schema_version(&self) -> StoreResult<i64>;
    async fn count_rows(&self, table: Table) -> StoreResult<u64>;
    /// Up to `limit` rows of `table` whose key sorts after `after` (`""` for the start), in key
    /// order, with the key of the last row returned (the next `after`), for copying deployments.
    async fn export_rows(
        &self,
        table: Table,
        after: &str,
        limit: u32,
    ) -> StoreResult<(Rows, Option<String>)>;
    /// Insert exported rows unchanged, in one transaction. Appends no audit events: the audit
    /// log is one of the tables copied.
    async fn import_rows(&self, rows: &Rows) -> StoreResult<()>;
    /// Refresh the query planner's statistics (after bulk imports: `copy`, benchmark seeding);
    /// on PostgreSQL also vacuum, so index-only scans stay index-only.
    async fn analyze(&self) -> StoreResult<()>;
    /// A consistent copy of the whole database into the new file `path` while it is in use,
    /// checked by reading it back: the copy's row counts of the main tables.
    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<Vec<(Table, u64)>>;
}

#[async_trait]
impl<B: Backend> DeploymentStore for B {
    fn backend(&self) -> &'static str {
        B::NAME
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = self.fetch_optional(sql::SELECT_SETTING, args![key]).await?;
        row.map(|row| row.first_text()).transpose()
    }

    async fn delete_setting(&self, key: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        tx.execute(sql::DELETE_SETTING, args![key]).await?;
        tx.commit().await
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
        let mut tx = self.begin_write().await?;
        tx.execute(sql::INSERT_SETTING_IF_ABSENT, args![key, value])
            .await?;
        let stored = tx
            .fetch_one(sql::SELECT_SETTING, args![key])
            .await?
            .first_text()?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn schema_version(&self) -> StoreResult<i64> {
        self.fetch_one(sql::SCHEMA_VERSION, &[]).await?.first_int()
    }

    async fn count_rows(&self, table: Table) -> StoreResult<u64> {
        self.fetch_one(sql::count_rows(table), &[])
            .await?
            .first_count()
    }

    async fn export_rows(
        &self,
        table: Table,
        after: &str,
        limit: u32,
    ) -> StoreResult<(Rows, Option<String>)> {
        let limit = i64::from(limit);
        let page_args = args![after, limit];
        let page = |statement: &'static str| self.fetch_all(statement, page_args);
        Ok(match table {
            Table::Settings => {
                let settings = page(sql::EXPORT_SETTINGS)
                    .await?
                    .iter()
                    .map(|r| Ok((r.text("key")?, r.text("value")?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                let cursor = settings.last().map(|(k, _)| k.clone());
                (Rows::Settings(settings), cursor)
            }
            Table::Accounts => {
                let accounts = page(sql::EXPORT_ACCOUNTS)
                    .await?
                    .iter()
                    .map(rows::account)
                    .collect::<StoreResult<Vec<_>>>()?;
                let cursor = accounts.last().map(|a| a.id.to_string());
                (Rows::Accounts(accounts), cursor)
            }
            Table::CertificateAuthorities => {
                let cas = page(sql::EXPORT_CAS)
                    .await?
                    .iter()
                    .map(rows::ca)
                    .collect::<StoreResult<Vec<_>>>()?;
                let cursor = cas.last().map(|c| c.id.to_string());
                (Rows::CertificateAuthorities(cas), cursor)
            }
            Table::Zones => {
                let zones = page(sql::EXPORT_ZONES)
                    .await?
                    .iter()
                    .map(rows::zone)
                    .collect::<StoreResult<Vec<_>>>()?;
                let cursor = zones.last().map(|z| z.id.to_string());
                (Rows::Zones(zones), cursor)
            }
            Table::ApiTokens => {
                let mut tokens = Vec::new();
                for row in &page(sql::EXPORT_TOKENS).await? {
                    tokens.push(NewApiToken {
                        token: token_with_zones(self, row).await?,
                        secret_hash: row.text("secret_hash")?,
                    });
                }
                let cursor = tokens.last().map(|t| t.token.id.to_string());
                (Rows::ApiTokens(tokens), cursor)
            }
            Table::Certificates => {
                let certificates = page(sql::EXPORT_CERTIFICATES)
                    .await?
                    .iter()
                    .map(|row| Ok((row.int("seq")?, rows::certificate(row)?)))
                    .collect::<StoreResult<Vec<_>>>()?;
                let cursor = certificates.last().map(|(_, c)| c.id.to_string());
                (Rows::Certificates(certificates), cursor)
            }
            Table::HostnameAssociations => {
                let rows = page(sql::EXPORT_HOSTNAMES).await?;
                let cursor = rows.last().map(|row| row.text("cursor")).transpose()?;
                let associations = rows
                    .iter()
                    .map(rows::hostname_association)
                    .collect::<StoreResult<Vec<HostnameAssociation>>>()?;
                (Rows::HostnameAssociations(associations), cursor)
            }
            Table::MtlsCertificates => {
                let rows = page(sql::EXPORT_MTLS_CERTIFICATES).await?;
                let cursor = rows.last().map(|row| row.text("cursor")).transpose()?;
                let certificates = rows
                    .iter()
                    .map(rows::mtls_certificate)
                    .collect::<StoreResult<Vec<_>>>()?;
                (Rows::MtlsCertificates(certificates), cursor)
            }
            Table::MtlsHostnameAssociations => {
                let rows = page(sql::EXPORT_MTLS_HOSTNAMES).await?;
                let cursor = rows.last().map(|row| row.text("cursor")).transpose()?;
                let associations = rows
                    .iter()
                    .map(rows::mtls_hostname_association)
                    .collect::<StoreResult<Vec<_>>>()?;
                (Rows::MtlsHostnameAssociations(associations), cursor)
            }
            Table::Crls => {
                let crls = page(sql::EXPORT_CRLS)
                    .await?
                    .iter()
                    .map(rows::crl)
                    .collect::<StoreResult<Vec<_>>>()?;
                let cursor = crls.last().map(|c| c.ca_id.to_string());
                (Rows::Crls(crls), cursor)
            }
            Table::OcspResponses => {
                let rows = page(sql::EXPORT_OCSP).await?;
                let cursor = rows.last().map(|row| row.text("cursor")).transpose()?;
                let answers = rows
                    .iter()
                    .map(|r| rows::ocsp(r, ""))
                    .collect::<StoreResult<Vec<_>>>()?;
                (Rows::OcspResponses(answers), cursor)
            }
            Table::AuditEvents => {
                let after_id: i64 = if after.is_empty() {
                    0
                } else {
                    after
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("bad audit cursor {after:?}")))?
                };
                let events = self
                    .fetch_all(sql::SELECT_AUDIT, args![after_id, limit])
                    .await?
                    .iter()
                    .map(rows::audit_event)
                    .collect::<StoreResult<Vec<_>>>()?;
                let cursor = events.last().map(|e| e.id.to_string());
                (Rows::AuditEvents(events), cursor)
            }
        })
    }

    async fn import_rows(&self, rows: &Rows) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        match rows {
            Rows::Settings(settings) => {
                for (key, value) in settings {
                    tx.execute(sql::INSERT_SETTING, args![key, value]).await?;
                }
            }
            Rows::Accounts(accounts) => {
                for account in accounts {
                    insert_account(&mut tx, account).await?;
                }
            }
            Rows::CertificateAuthorities(cas) => {
                for ca in cas {
                    insert_ca(&mut tx, sql::INSERT_CA, ca).await?;
                }
            }
            Rows::Zones(zones) => {
                for zone in zones {
                    insert_zone(&mut tx, zone).await?;
                }
            }
            Rows::ApiTokens(tokens) => {
                for new in tokens {
                    insert_token(&mut tx, new).await?;
                }
            }
            Rows::Certificates(certificates) => {
                let rows: Vec<_> = certificates
                    .iter()
                    .map(|(seq, cert)| (Some(*seq), cert))
                    .collect();
                insert_certificate_rows(&mut tx, &rows).await?;
                B::after_import(&mut tx, "certificates", "seq").await?;
            }
            Rows::HostnameAssociations(associations) => {
                for a in associations {
                    tx.execute(
                        sql::INSERT_HOSTNAME,
                        args![&a.zone_id, &a.ca_id, &a.hostname],
                    )
                    .await?;
                }
            }
            Rows::MtlsCertificates(certificates) => {
                for certificate in certificates {
                    insert_mtls_certificate(&mut tx, certificate).await?;
                }
            }
            Rows::MtlsHostnameAssociations(associations) => {
                for a in associations {
                    tx.execute(
                        sql::INSERT_MTLS_HOSTNAME,
                        args![&a.zone_id, &a.mtls_certificate_id, &a.hostname],
                    )
                    .await?;
                }
            }
            Rows::Crls(crls) => {
                for crl in crls {
                    insert_crl(&mut tx, crl).await?;
                }
            }
            Rows::OcspResponses(answers) => upsert_ocsp(&mut tx, answers).await?,
            Rows::AuditEvents(events) => {
                for event in events {
                    let e = &event.entry;
                    let seal = event.seal.as_ref();
                    tx.execute(
                        sql::INSERT_AUDIT_WITH_ID,
                        args![
                            event.id,
                            to_unix(e.occurred_at),
                            &e.account_id,
                            &e.zone_id,
                            e.actor.kind.as_str(),
                            &e.actor.id,
                            &e.actor.source_ip,
                            e.action.as_str(),
                            e.object_type.as_str(),
                            &e.object_id,
                            &e.details,
                            seal.map(|seal| seal.chain_seq),
                            seal.map(|seal| seal.prev_hash.as_str()),
                            seal.map(|seal| seal.hash.as_str()),
                        ],
                    )
                    .await?;
                }
                B::after_import(&mut tx, "audit_events", "id").await?;
            }
        }
        tx.commit().await
    }

    async fn analyze(&self) -> StoreResult<()> {
        self.execute_alone(B::ANALYZE).await
    }

    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<Vec<(Table, u64)>> {
        self.backup_into(path).await
    }
}
