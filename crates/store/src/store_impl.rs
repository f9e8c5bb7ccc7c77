//! The one `Store` implementation, instantiated for each backend.
//!
//! Both backends run the same SQL (see `sql.rs`); what differs lives in inherent items of
//! `SqliteStore` / `PostgresStore`: the pools (`reader`, `write_pool`), how a write transaction
//! begins (`begin_write`), the locking variants of two selects and the statistics command (consts),
//! how a create is made durable (`insert_certificate_durably`: SQLite's group committer),
//! cross-replica locks (`try_lock_publication`, `try_lock_audit_sealing`) and what a bulk import
//! must fix up afterwards (`after_certificate_import`, `after_audit_import`).
//! A macro rather than generics because sqlx's generic executor bounds would have to be spelled
//! out for every column type on every method, which buries the queries this file is about.

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn create_account(
                &self,
                account: &Account,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                insert_account(&mut tx, account).await?;
                append_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_account(&self, id: &str) -> StoreResult<Option<Account>> {
                let row = sqlx::query(sql::SELECT_ACCOUNT)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(rows::account).transpose()
            }

            async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
                let rows = sqlx::query(sql::SELECT_ACCOUNTS)
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(rows::account).collect()
            }

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
                }
                let row = sqlx::query(sql::SELECT_CA_FOR_ACCOUNT)
                    .bind(&ca.account_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let winner = rows::ca(&row)?;
                tx.commit().await?;
                Ok(winner)
            }

            async fn get_ca(&self, id: &str) -> StoreResult<Option<CaRecord>> {
                let row = sqlx::query(sql::SELECT_CA)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(rows::ca).transpose()
            }

            async fn list_cas(&self) -> StoreResult<Vec<CaRecord>> {
                let rows = sqlx::query(sql::SELECT_CAS)
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(rows::ca).collect()
            }

            async fn reseal_ca_keys(
                &self,
                sealed: &[(String, Vec<u8>)],
                check_value: &str,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                for (ca_id, key) in sealed {
                    let updated = sqlx::query(sql::RESEAL_CA)
                        .bind(key)
                        .bind(ca_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if updated != 1 {
                        return Err(StoreError::Corrupt(format!(
                            "CA {ca_id} disappeared during rotation"
                        )));
                    }
                }
                sqlx::query(sql::REPLACE_SETTING)
                    .bind(check_value)
                    .bind($crate::MASTER_KEY_CHECK_SETTING)
                    .execute(&mut *tx)
                    .await?;
                append_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_ca_for_account(&self, account_id: &str) -> StoreResult<Option<CaRecord>> {
                let row = sqlx::query(sql::SELECT_CA_FOR_ACCOUNT)
                    .bind(account_id)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(rows::ca).transpose()
            }

            async fn create_zone(&self, zone: &Zone, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                insert_zone(&mut tx, zone).await?;
                append_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_zone(&self, id: &str) -> StoreResult<Option<Zone>> {
                let row = sqlx::query(sql::SELECT_ZONE)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(rows::zone).transpose()
            }

            async fn list_zones(&self) -> StoreResult<Vec<Zone>> {
                let rows = sqlx::query(sql::SELECT_ZONES)
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(rows::zone).collect()
            }

            async fn create_token(&self, new: &NewApiToken, audit: &AuditEntry) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                insert_token(&mut tx, new).await?;
                append_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_token_by_secret_hash(
                &self,
                secret_hash: &str,
            ) -> StoreResult<Option<ApiToken>> {
                let Some(row) = sqlx::query(sql::SELECT_TOKEN_BY_HASH)
                    .bind(secret_hash)
                    .fetch_optional(self.reader())
                    .await?
                else {
                    return Ok(None);
                };
                let zones = self.token_zones(&row).await?;
                rows::token(&row, zones).map(Some)
            }

            async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>> {
                let token_rows = sqlx::query(sql::SELECT_TOKENS)
                    .fetch_all(self.reader())
                    .await?;
                let mut tokens = Vec::with_capacity(token_rows.len());
                for row in &token_rows {
                    let zones = self.token_zones(row).await?;
                    tokens.push(rows::token(row, zones)?);
                }
                Ok(tokens)
            }

            async fn revoke_token(&self, id: &str, audit: &AuditEntry) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let revoked = sqlx::query(sql::REVOKE_TOKEN)
                    .bind(to_unix(audit.occurred_at))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if revoked {
                    append_audit(&mut tx, audit).await?;
                }
                tx.commit().await?;
                Ok(revoked)
            }

            async fn insert_certificate(
                &self,
                cert: &CertificateRecord,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                self.insert_certificate_durably(cert, audit).await
            }

            async fn get_certificate(
                &self,
                zone_id: &str,
                id: &str,
            ) -> StoreResult<Option<CertificateRecord>> {
                let row = sqlx::query(sql::SELECT_CERTIFICATE)
                    .bind(zone_id)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(rows::certificate).transpose()
            }

            async fn list_certificates(
                &self,
                query: &CertificateQuery,
            ) -> StoreResult<CertificatePage> {
                let status = query
                    .status
                    .map_or(sql::ALL_STATUSES, CertificateStatus::as_str);
                let blocks = sqlx::query(sql::BLOCK_COUNTS)
                    .bind(&query.zone_id)
                    .bind(status)
                    .fetch_all(self.reader())
                    .await?;
                // Walk the blocks newest first: the total, and the block where the page starts.
                let mut total = 0u64;
                let mut start = None;
                for row in &blocks {
                    let count = u64::try_from(row.int("count")?).unwrap_or(0);
                    if start.is_none() && query.offset < total + count {
                        start = Some((row.int("block")?, query.offset - total));
                    }
                    total += count;
                }
                let Some((block, skip)) = start.filter(|_| query.limit > 0) else {
                    return Ok(CertificatePage {
                        items: Vec::new(),
                        total,
                    });
                };
                // Skip inside the block on the index alone, then read just the page's rows.
                let upper = (block + 1) * sql::LIST_BLOCK;
                let statement = match query.status {
                    None => sql::PAGE_START,
                    Some(_) => sql::PAGE_START_WITH_STATUS,
                };
                let mut page_start = sqlx::query_scalar(statement)
                    .bind(&query.zone_id)
                    .bind(upper)
                    .bind(clamp_i64(skip));
                if let Some(status) = query.status {
                    page_start = page_start.bind(status.as_str());
                }
                let first: Option<i64> = page_start.fetch_optional(self.reader()).await?;
                let Some(first) = first else {
                    return Ok(CertificatePage {
                        items: Vec::new(),
                        total,
                    });
                };
                let statement = match query.status {
                    None => sql::LIST_CERTIFICATES,
                    Some(_) => sql::LIST_CERTIFICATES_WITH_STATUS,
                };
                let mut select = sqlx::query(statement)
                    .bind(&query.zone_id)
                    .bind(first)
                    .bind(clamp_i64(query.limit));
                if let Some(status) = query.status {
                    select = select.bind(status.as_str());
                }
                let rows = select.fetch_all(self.reader()).await?;
                let items = rows
                    .iter()
                    .map(rows::certificate)
                    .collect::<StoreResult<_>>()?;
                Ok(CertificatePage { items, total })
            }

            async fn count_certificates(
                &self,
                zone_id: &str,
                status: Option<CertificateStatus>,
            ) -> StoreResult<u64> {
                let count: i64 = sqlx::query_scalar(sql::COUNT_CERTIFICATES)
                    .bind(zone_id)
                    .bind(status.map_or(sql::ALL_STATUSES, CertificateStatus::as_str))
                    .fetch_one(self.reader())
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn change_status(
                &self,
                change: &StatusChange,
            ) -> StoreResult<StatusChangeOutcome> {
                let at = change.audit.occurred_at;
                let mut tx = self.begin_write().await?;
                // Read the current state under the write lock (SQLite) or a row lock (PostgreSQL).
                let current = sqlx::query(Self::SELECT_FOR_STATUS_CHANGE)
                    .bind(&change.zone_id)
                    .bind(&change.certificate_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(current) = current else {
                    return Ok(StatusChangeOutcome::NotFound);
                };
                let status: CertificateStatus = rows::parsed(&current, "status")?;
                let changed = change.from.contains(&status);
                if changed {
                    sqlx::query(sql::CHANGE_STATUS)
                        .bind(change.to.as_str())
                        .bind(to_unix(at))
                        .bind(change.revocation_reason.as_ref().map(|_| to_unix(at)))
                        .bind(&change.revocation_reason)
                        .bind(&change.zone_id)
                        .bind(&change.certificate_id)
                        .execute(&mut *tx)
                        .await?;
                    let mut moves = CountMoves::default();
                    moves.add(&change.zone_id, current.int("seq")?, status, change.to);
                    apply_count_moves(&mut tx, moves).await?;
                    append_audit(&mut tx, &change.audit).await?;
                }
                let row = sqlx::query(sql::SELECT_CERTIFICATE)
                    .bind(&change.zone_id)
                    .bind(&change.certificate_id)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                let record = rows::certificate(&row)?;
                Ok(if changed {
                    StatusChangeOutcome::Changed(record)
                } else {
                    StatusChangeOutcome::Unchanged(record)
                })
            }

            async fn pending_transitions(&self, limit: u32) -> StoreResult<Vec<PendingTransition>> {
                let rows = sqlx::query(sql::SELECT_PENDING)
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(rows::pending).collect()
            }

            async fn publish(
                &self,
                request: &PublishRequest,
                publisher: &dyn $crate::Publisher,
            ) -> StoreResult<PublishReport> {
                let mut tx = self.begin_write().await?;
                if !Self::try_lock_publication(&mut tx).await? {
                    return Ok(PublishReport {
                        skipped: true,
                        ..PublishReport::default()
                    });
                }
                match publish_in(&mut tx, request, publisher, Self::SELECT_PENDING_LOCKED).await {
                    Ok(report) => {
                        tx.commit().await?;
                        Ok(report)
                    }
                    Err(error) => {
                        // Roll back now rather than when the connection is next used: the rollback
                        // is what releases the publication lock and the pending rows.
                        let _ = tx.rollback().await;
                        Err(error)
                    }
                }
            }

            async fn latest_crl(&self, ca_id: &str) -> StoreResult<Option<CrlRecord>> {
                let row = sqlx::query(sql::SELECT_LATEST_CRL)
                    .bind(ca_id)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(rows::crl).transpose()
            }

            async fn latest_crl_number(&self, ca_id: &str) -> StoreResult<Option<i64>> {
                Ok(sqlx::query_scalar(sql::LATEST_CRL_NUMBER)
                    .bind(ca_id)
                    .fetch_one(self.reader())
                    .await?)
            }

            async fn serial_status(
                &self,
                ca_id: &str,
                serial_number: &str,
            ) -> StoreResult<Option<SerialStatus>> {
                let row = sqlx::query(sql::SERIAL_STATUS)
                    .bind(ca_id)
                    .bind(serial_number)
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(rows::serial_status).transpose()
            }

            async fn hostname_associations(
                &self,
                zone_id: &str,
                ca_id: &str,
            ) -> StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(sql::SELECT_HOSTNAMES)
                    .bind(zone_id)
                    .bind(ca_id)
                    .fetch_all(self.reader())
                    .await?)
            }

            async fn replace_hostname_associations(
                &self,
                zone_id: &str,
                ca_id: &str,
                hostnames: &[String],
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::DELETE_HOSTNAMES)
                    .bind(zone_id)
                    .bind(ca_id)
                    .execute(&mut *tx)
                    .await?;
                for hostname in hostnames {
                    sqlx::query(sql::INSERT_HOSTNAME)
                        .bind(zone_id)
                        .bind(ca_id)
                        .bind(hostname)
                        .execute(&mut *tx)
                        .await?;
                }
                append_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_events(
                &self,
                account_id: Option<&str>,
                after_id: i64,
                limit: u32,
            ) -> StoreResult<Vec<AuditEvent>> {
                let statement = match account_id {
                    None => sql::SELECT_AUDIT,
                    Some(_) => sql::SELECT_AUDIT_FOR_ACCOUNT,
                };
                let mut select = sqlx::query(statement).bind(after_id).bind(i64::from(limit));
                if let Some(account_id) = account_id {
                    select = select.bind(account_id);
                }
                let rows = select.fetch_all(self.reader()).await?;
                rows.iter().map(rows::audit_event).collect()
            }

            async fn audit_page(
                &self,
                account_id: &str,
                offset: u64,
                limit: u32,
            ) -> StoreResult<(Vec<AuditEvent>, u64)> {
                let total: i64 = sqlx::query_scalar(sql::COUNT_AUDIT_FOR_ACCOUNT)
                    .bind(account_id)
                    .fetch_one(self.reader())
                    .await?;
                let rows = sqlx::query(sql::SELECT_AUDIT_PAGE)
                    .bind(account_id)
                    .bind(i64::from(limit))
                    .bind(clamp_i64(offset))
                    .fetch_all(self.reader())
                    .await?;
                let events = rows
                    .iter()
                    .map(rows::audit_event)
                    .collect::<StoreResult<_>>()?;
                Ok((events, u64::try_from(total).unwrap_or(0)))
            }

            async fn seal_audit(&self, limit: u32) -> StoreResult<u64> {
                let mut tx = self.begin_write().await?;
                if !Self::try_lock_audit_sealing(&mut tx).await? {
                    return Ok(0);
                }
                let head = sqlx::query(sql::AUDIT_HEAD)
                    .fetch_optional(&mut *tx)
                    .await?;
                let head = match head {
                    Some(row) => Some((
                        row.int("chain_seq")?,
                        row.opt_text("hash")?.unwrap_or_default(),
                    )),
                    None => None,
                };
                let unsealed = sqlx::query(sql::SELECT_UNSEALED_AUDIT)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(rows::audit_event)
                    .collect::<StoreResult<Vec<_>>>()?;
                if unsealed.is_empty() {
                    return Ok(0);
                }
                let seals = $crate::audit_chain::seal_in_order(head, &unsealed);
                // 4 parameters a row: 1000 rows stay under every bind limit.
                for chunk in seals.chunks(1000) {
                    let mut update = sqlx::QueryBuilder::<$db>::new(sql::SEAL_AUDIT_HEAD);
                    let mut rows = update.separated(", ");
                    for (id, seal) in chunk {
                        rows.push("(CAST(")
                            .push_bind_unseparated(*id)
                            .push_unseparated(" AS BIGINT), CAST(")
                            .push_bind_unseparated(seal.chain_seq)
                            .push_unseparated(" AS BIGINT), CAST(")
                            .push_bind_unseparated(seal.prev_hash.clone())
                            .push_unseparated(" AS TEXT), CAST(")
                            .push_bind_unseparated(seal.hash.clone())
                            .push_unseparated(" AS TEXT))");
                    }
                    update.push(sql::SEAL_AUDIT_TAIL);
                    update.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(seals.len() as u64)
            }

            async fn unsealed_audit_events(&self) -> StoreResult<u64> {
                let count: i64 = sqlx::query_scalar(sql::COUNT_UNSEALED_AUDIT)
                    .fetch_one(self.reader())
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn sealed_audit_events(
                &self,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<(AuditEvent, AuditSeal)>> {
                let rows = sqlx::query(sql::SELECT_SEALED_AUDIT)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?;
                rows.iter()
                    .map(|row| {
                        let event = rows::audit_event(row)?;
                        let seal = event.seal.clone().ok_or_else(|| {
                            StoreError::Corrupt("a sealed event without a seal".into())
                        })?;
                        Ok((event, seal))
                    })
                    .collect()
            }

            async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar(sql::SELECT_SETTING)
                    .bind(key)
                    .fetch_optional(self.reader())
                    .await?)
            }

            async fn put_setting_if_absent(&self, key: &str, value: &str) -> StoreResult<String> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::INSERT_SETTING_IF_ABSENT)
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
                let stored: String = sqlx::query_scalar(sql::SELECT_SETTING)
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(stored)
            }

            async fn schema_version(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar(sql::SCHEMA_VERSION)
                    .fetch_one(self.reader())
                    .await?)
            }

            async fn count_rows(&self, table: Table) -> StoreResult<u64> {
                let count: i64 = sqlx::query_scalar(sql::count_rows(table))
                    .fetch_one(self.reader())
                    .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn export_rows(
                &self,
                table: Table,
                after: &str,
                limit: u32,
            ) -> StoreResult<(Rows, Option<String>)> {
                let limit = i64::from(limit);
                let page = |statement| {
                    sqlx::query(statement)
                        .bind(after)
                        .bind(limit)
                        .fetch_all(self.reader())
                };
                let (rows, cursor) = match table {
                    Table::Settings => {
                        let rows = page(sql::EXPORT_SETTINGS).await?;
                        let settings = rows
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
                        let cursor = accounts.last().map(|a| a.id.clone());
                        (Rows::Accounts(accounts), cursor)
                    }
                    Table::CertificateAuthorities => {
                        let cas = page(sql::EXPORT_CAS)
                            .await?
                            .iter()
                            .map(rows::ca)
                            .collect::<StoreResult<Vec<_>>>()?;
                        let cursor = cas.last().map(|c| c.id.clone());
                        (Rows::CertificateAuthorities(cas), cursor)
                    }
                    Table::Zones => {
                        let zones = page(sql::EXPORT_ZONES)
                            .await?
                            .iter()
                            .map(rows::zone)
                            .collect::<StoreResult<Vec<_>>>()?;
                        let cursor = zones.last().map(|z| z.id.clone());
                        (Rows::Zones(zones), cursor)
                    }
                    Table::ApiTokens => {
                        let mut tokens = Vec::new();
                        for row in &page(sql::EXPORT_TOKENS).await? {
                            let zones = self.token_zones(row).await?;
                            tokens.push(NewApiToken {
                                token: rows::token(row, zones)?,
                                secret_hash: row.text("secret_hash")?,
                            });
                        }
                        let cursor = tokens.last().map(|t| t.token.id.clone());
                        (Rows::ApiTokens(tokens), cursor)
                    }
                    Table::Certificates => {
                        let certificates = page(sql::EXPORT_CERTIFICATES)
                            .await?
                            .iter()
                            .map(|row| Ok((row.int("seq")?, rows::certificate(row)?)))
                            .collect::<StoreResult<Vec<_>>>()?;
                        let cursor = certificates.last().map(|(_, c)| c.id.clone());
                        (Rows::Certificates(certificates), cursor)
                    }
                    Table::HostnameAssociations => {
                        let rows = page(sql::EXPORT_HOSTNAMES).await?;
                        let cursor = match rows.last() {
                            Some(row) => Some(row.text("cursor")?),
                            None => None,
                        };
                        let associations = rows
                            .iter()
                            .map(|r| {
                                Ok(HostnameAssociation {
                                    zone_id: r.text("zone_id")?,
                                    ca_id: r.text("ca_id")?,
                                    hostname: r.text("hostname")?,
                                })
                            })
                            .collect::<StoreResult<Vec<_>>>()?;
                        (Rows::HostnameAssociations(associations), cursor)
                    }
                    Table::Crls => {
                        let crls = page(sql::EXPORT_CRLS)
                            .await?
                            .iter()
                            .map(rows::crl)
                            .collect::<StoreResult<Vec<_>>>()?;
                        let cursor = crls.last().map(|c| c.ca_id.clone());
                        (Rows::Crls(crls), cursor)
                    }
                    Table::OcspResponses => {
                        let rows = page(sql::EXPORT_OCSP).await?;
                        let cursor = match rows.last() {
                            Some(row) => Some(row.text("cursor")?),
                            None => None,
                        };
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
                            after.parse().map_err(|_| {
                                StoreError::Corrupt(format!("bad audit cursor {after:?}"))
                            })?
                        };
                        let events = sqlx::query(sql::SELECT_AUDIT)
                            .bind(after_id)
                            .bind(limit)
                            .fetch_all(self.reader())
                            .await?
                            .iter()
                            .map(rows::audit_event)
                            .collect::<StoreResult<Vec<_>>>()?;
                        let cursor = events.last().map(|e| e.id.to_string());
                        (Rows::AuditEvents(events), cursor)
                    }
                };
                Ok((rows, cursor))
            }

            async fn analyze(&self) -> StoreResult<()> {
                sqlx::query(Self::ANALYZE)
                    .execute(self.write_pool())
                    .await?;
                Ok(())
            }

            async fn import_rows(&self, rows: &Rows) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                match rows {
                    Rows::Settings(settings) => {
                        for (key, value) in settings {
                            sqlx::query(sql::INSERT_SETTING)
                                .bind(key)
                                .bind(value)
                                .execute(&mut *tx)
                                .await?;
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
                        Self::after_certificate_import(&mut tx).await?;
                    }
                    Rows::HostnameAssociations(associations) => {
                        for a in associations {
                            sqlx::query(sql::INSERT_HOSTNAME)
                                .bind(&a.zone_id)
                                .bind(&a.ca_id)
                                .bind(&a.hostname)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    Rows::Crls(crls) => {
                        for crl in crls {
                            insert_crl(&mut tx, crl).await?;
                        }
                    }
                    Rows::OcspResponses(answers) => {
                        for answer in answers {
                            upsert_ocsp(&mut tx, answer).await?;
                        }
                    }
                    Rows::AuditEvents(events) => {
                        for event in events {
                            let e = &event.entry;
                            sqlx::query(sql::INSERT_AUDIT_WITH_ID)
                                .bind(event.id)
                                .bind(to_unix(e.occurred_at))
                                .bind(&e.account_id)
                                .bind(&e.zone_id)
                                .bind(e.actor.kind.as_str())
                                .bind(&e.actor.id)
                                .bind(&e.actor.source_ip)
                                .bind(&e.action)
                                .bind(&e.object_type)
                                .bind(&e.object_id)
                                .bind(&e.details)
                                .bind(event.seal.as_ref().map(|seal| seal.chain_seq))
                                .bind(event.seal.as_ref().map(|seal| seal.prev_hash.clone()))
                                .bind(event.seal.as_ref().map(|seal| seal.hash.clone()))
                                .execute(&mut *tx)
                                .await?;
                        }
                        Self::after_audit_import(&mut tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }
        }

        impl $store {
            async fn token_zones(
                &self,
                token_row: &<$db as sqlx::Database>::Row,
            ) -> StoreResult<Vec<String>> {
                if token_row.flag("all_zones")? {
                    return Ok(Vec::new());
                }
                Ok(sqlx::query_scalar(sql::SELECT_TOKEN_ZONES)
                    .bind(token_row.text("id")?)
                    .fetch_all(self.reader())
                    .await?)
            }
        }

        async fn insert_account(
            tx: &mut sqlx::Transaction<'static, $db>,
            account: &Account,
        ) -> StoreResult<()> {
            sqlx::query(sql::INSERT_ACCOUNT)
                .bind(&account.id)
                .bind(&account.name)
                .bind(to_unix(account.created_at))
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_zone(
            tx: &mut sqlx::Transaction<'static, $db>,
            zone: &Zone,
        ) -> StoreResult<()> {
            sqlx::query(sql::INSERT_ZONE)
                .bind(&zone.id)
                .bind(&zone.account_id)
                .bind(&zone.name)
                .bind(to_unix(zone.created_at))
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// `statement` is `INSERT_CA` or `INSERT_CA_IF_ABSENT`; returns the rows inserted.
        async fn insert_ca(
            tx: &mut sqlx::Transaction<'static, $db>,
            statement: &'static str,
            ca: &CaRecord,
        ) -> StoreResult<u64> {
            Ok(sqlx::query(statement)
                .bind(&ca.id)
                .bind(&ca.account_id)
                .bind(&ca.name)
                .bind(&ca.certificate_pem)
                .bind(&ca.certificate_der)
                .bind(&ca.sealed_private_key)
                .bind(to_unix(ca.not_before))
                .bind(to_unix(ca.not_after))
                .bind(to_unix(ca.created_at))
                .execute(&mut **tx)
                .await?
                .rows_affected())
        }

        async fn insert_token(
            tx: &mut sqlx::Transaction<'static, $db>,
            new: &NewApiToken,
        ) -> StoreResult<()> {
            let token = &new.token;
            sqlx::query(sql::INSERT_TOKEN)
                .bind(&token.id)
                .bind(&token.name)
                .bind(&new.secret_hash)
                .bind(&token.email)
                .bind(&token.account_id)
                .bind(token.permission.as_str())
                .bind(token.scope == TokenScope::Account)
                .bind(token.expires_at.map(to_unix))
                .bind(token.revoked_at.map(to_unix))
                .bind(to_unix(token.created_at))
                .execute(&mut **tx)
                .await?;
            if let TokenScope::Zones(zones) = &token.scope {
                for zone_id in zones {
                    sqlx::query(sql::INSERT_TOKEN_ZONE)
                        .bind(&token.id)
                        .bind(zone_id)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            Ok(())
        }

        /// Insert certificates with one statement per 1000 (keeping each `seq` when importing;
        /// otherwise the database assigns the next ones) and count them in their list blocks.
        async fn insert_certificate_rows(
            tx: &mut sqlx::Transaction<'static, $db>,
            certs: &[(Option<i64>, &CertificateRecord)],
        ) -> StoreResult<()> {
            // 23 parameters a row stays under both backends' bind limits (SQLite 32766, PostgreSQL 65535).
            for chunk in certs.chunks(1000) {
                let mut insert = sqlx::QueryBuilder::<$db>::new("");
                push_certificate_insert(&mut insert, chunk);
                insert.push(" RETURNING zone_id, status, seq");
                let inserted = insert.build().fetch_all(&mut **tx).await?;
                let mut counts = CountMoves::default();
                for row in &inserted {
                    let status = rows::parsed(row, "status")?;
                    counts.count(&row.text("zone_id")?, row.int("seq")?, status);
                }
                apply_count_moves(tx, counts).await?;
            }
            Ok(())
        }

        /// `INSERT INTO certificates (…) VALUES (…), (…)`; every row with a `seq` or none without.
        fn push_certificate_insert(
            insert: &mut sqlx::QueryBuilder<$db>,
            certs: &[(Option<i64>, &CertificateRecord)],
        ) {
            let with_seq = certs.first().is_some_and(|(seq, _)| seq.is_some());
            insert.push(if with_seq {
                sql::INSERT_CERTIFICATE_COLUMNS_WITH_SEQ
            } else {
                sql::INSERT_CERTIFICATE_COLUMNS
            });
            insert.push_values(certs, |mut row, (seq, cert)| {
                row.push_bind(cert.id.clone())
                    .push_bind(cert.zone_id.clone())
                    .push_bind(cert.ca_id.clone())
                    .push_bind(cert.serial_number.clone())
                    .push_bind(cert.status.as_str())
                    .push_bind(cert.certificate_pem.clone())
                    .push_bind(cert.csr.clone())
                    .push_bind(cert.common_name.clone())
                    .push_bind(cert.organization.clone())
                    .push_bind(cert.organizational_unit.clone())
                    .push_bind(cert.country.clone())
                    .push_bind(cert.state.clone())
                    .push_bind(cert.location.clone())
                    .push_bind(cert.fingerprint_sha256.clone())
                    .push_bind(cert.ski.clone())
                    .push_bind(cert.signature.clone())
                    .push_bind(to_unix(cert.issued_on))
                    .push_bind(to_unix(cert.expires_on))
                    .push_bind(cert.validity_days)
                    .push_bind(cert.revoked_at.map(to_unix))
                    .push_bind(cert.revocation_reason.clone())
                    .push_bind(to_unix(cert.updated_at));
                if let Some(seq) = seq {
                    row.push_bind(*seq);
                }
            });
        }

        /// `INSERT INTO audit_events (…) VALUES (…), (…)`.
        fn push_audit_insert(insert: &mut sqlx::QueryBuilder<$db>, entries: &[&AuditEntry]) {
            insert.push(sql::INSERT_AUDIT_COLUMNS);
            insert.push_values(entries, |mut row, entry| {
                row.push_bind(to_unix(entry.occurred_at))
                    .push_bind(entry.account_id.clone())
                    .push_bind(entry.zone_id.clone())
                    .push_bind(entry.actor.kind.as_str())
                    .push_bind(entry.actor.id.clone())
                    .push_bind(entry.actor.source_ip.clone())
                    .push_bind(entry.action.clone())
                    .push_bind(entry.object_type.clone())
                    .push_bind(entry.object_id.clone())
                    .push_bind(entry.details.clone());
            });
        }

        /// Insert certificates and their audit events (creates, inside the caller's transaction).
        async fn insert_certificates_with_audit(
            tx: &mut sqlx::Transaction<'static, $db>,
            creates: &[(&CertificateRecord, &AuditEntry)],
        ) -> StoreResult<()> {
            let certs: Vec<_> = creates.iter().map(|(cert, _)| (None, *cert)).collect();
            insert_certificate_rows(tx, &certs).await?;
            let audits: Vec<_> = creates.iter().map(|(_, audit)| *audit).collect();
            append_audits(tx, &audits).await
        }

        /// Apply count changes in one canonical order (zone, status, block), so concurrent
        /// transactions on PostgreSQL take the counter row locks in the same order and cannot
        /// deadlock.
        async fn apply_count_moves(
            tx: &mut sqlx::Transaction<'static, $db>,
            moves: CountMoves,
        ) -> StoreResult<()> {
            for ((zone_id, status, block), delta) in moves.0 {
                if delta == 0 {
                    continue;
                }
                sqlx::query(sql::ADJUST_COUNT)
                    .bind(zone_id)
                    .bind(status)
                    .bind(block)
                    .bind(delta)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        /// The body of a publication pass, inside the caller's locked transaction.
        async fn publish_in(
            tx: &mut sqlx::Transaction<'static, $db>,
            request: &PublishRequest,
            publisher: &dyn $crate::Publisher,
            select_pending: &'static str,
        ) -> StoreResult<PublishReport> {
            let pending = sqlx::query(select_pending)
                .bind(i64::from(request.limit))
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(rows::pending)
                .collect::<StoreResult<Vec<_>>>()?;
            let stale: Vec<String> = sqlx::query_scalar(sql::CAS_WITH_STALE_CRL)
                .bind(to_unix(request.refresh_before))
                .fetch_all(&mut **tx)
                .await?;
            let mut report = PublishReport::default();
            let cas: std::collections::BTreeSet<&str> = pending
                .iter()
                .map(|p| p.ca_id.as_str())
                .chain(stale.iter().map(String::as_str))
                .collect();
            for ca_id in cas {
                let mut revoked = sqlx::query(sql::REVOKED_SERIALS)
                    .bind(ca_id)
                    .fetch_all(&mut **tx)
                    .await?
                    .iter()
                    .map(rows::revoked_serial)
                    .collect::<StoreResult<Vec<_>>>()?;
                revoked.extend(
                    pending
                        .iter()
                        .filter(|p| {
                            p.ca_id == ca_id && p.status == CertificateStatus::PendingRevocation
                        })
                        .map(|p| RevokedSerial {
                            serial_number: p.serial_number.clone(),
                            revoked_at: p.revoked_at.unwrap_or(request.now),
                            revocation_reason: p.revocation_reason.clone(),
                        }),
                );
                let latest: Option<i64> = sqlx::query_scalar(sql::LATEST_CRL_NUMBER)
                    .bind(ca_id)
                    .fetch_one(&mut **tx)
                    .await?;
                let number = latest.unwrap_or(0) + 1;
                let crl = publisher
                    .sign_crl(ca_id, number, &revoked)
                    .await
                    .map_err(StoreError::Publication)?;
                insert_crl(tx, &crl).await?;
                sqlx::query(sql::PRUNE_CRLS)
                    .bind(ca_id)
                    .bind(number)
                    .execute(&mut **tx)
                    .await?;
                report.crls.push((ca_id.to_string(), number));

                let settling: Vec<SettlingSerial> = pending
                    .iter()
                    .filter(|p| p.ca_id == ca_id)
                    .filter_map(|p| {
                        Some(SettlingSerial {
                            serial_number: p.serial_number.clone(),
                            settles_to: p.status.settled()?,
                            revoked_at: p.revoked_at,
                            revocation_reason: p.revocation_reason.clone(),
                        })
                    })
                    .collect();
                if !settling.is_empty() {
                    for answer in publisher
                        .sign_ocsp(ca_id, &settling)
                        .await
                        .map_err(StoreError::Publication)?
                    {
                        upsert_ocsp(tx, &answer).await?;
                    }
                }
            }
            let mut moves = CountMoves::default();
            for transition in &pending {
                let Some(target) = transition.status.settled() else {
                    continue;
                };
                let updated = sqlx::query(sql::SETTLE_TRANSITION)
                    .bind(target.as_str())
                    .bind(to_unix(request.now))
                    .bind(&transition.certificate_id)
                    .bind(transition.status.as_str())
                    .execute(&mut **tx)
                    .await?
                    .rows_affected();
                if updated == 1 {
                    report.settled += 1;
                    moves.add(
                        &transition.zone_id,
                        transition.seq,
                        transition.status,
                        target,
                    );
                    let event = AuditEntry {
                        occurred_at: request.now,
                        actor: request.actor.clone(),
                        action: format!("certificate.{}", target_action(target)),
                        object_type: "certificate".into(),
                        object_id: transition.certificate_id.clone(),
                        account_id: Some(transition.account_id.clone()),
                        zone_id: Some(transition.zone_id.clone()),
                        details: report
                            .crls
                            .iter()
                            .find(|(ca, _)| *ca == transition.ca_id)
                            .map(|(_, n)| format!("crl_number={n}")),
                    };
                    append_audit(tx, &event).await?;
                }
            }
            apply_count_moves(tx, moves).await?;
            Ok(report)
        }

        async fn insert_crl(
            tx: &mut sqlx::Transaction<'static, $db>,
            crl: &CrlRecord,
        ) -> StoreResult<()> {
            sqlx::query(sql::INSERT_CRL)
                .bind(&crl.ca_id)
                .bind(crl.crl_number)
                .bind(to_unix(crl.this_update))
                .bind(to_unix(crl.next_update))
                .bind(&crl.der)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn upsert_ocsp(
            tx: &mut sqlx::Transaction<'static, $db>,
            answer: &OcspRecord,
        ) -> StoreResult<()> {
            sqlx::query(sql::UPSERT_OCSP)
                .bind(&answer.ca_id)
                .bind(&answer.serial_number)
                .bind(answer.status.as_str())
                .bind(to_unix(answer.this_update))
                .bind(to_unix(answer.next_update))
                .bind(&answer.der)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn append_audit(
            tx: &mut sqlx::Transaction<'static, $db>,
            entry: &AuditEntry,
        ) -> StoreResult<()> {
            append_audits(tx, &[entry]).await
        }

        /// Append audit events with one statement per 1000.
        async fn append_audits(
            tx: &mut sqlx::Transaction<'static, $db>,
            entries: &[&AuditEntry],
        ) -> StoreResult<()> {
            for chunk in entries.chunks(1000) {
                let mut insert = sqlx::QueryBuilder::<$db>::new("");
                push_audit_insert(&mut insert, chunk);
                insert.build().execute(&mut **tx).await?;
            }
            Ok(())
        }
    };
}

pub(crate) use impl_store;

use crate::model::CertificateStatus;

/// SQL integers are signed; a u64 beyond i64::MAX means "no bound" anyway.
pub(crate) fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Net changes to list-block counts within one transaction, kept sorted.
#[derive(Default)]
pub(crate) struct CountMoves(
    pub(crate) std::collections::BTreeMap<(String, &'static str, i64), i64>,
);

impl CountMoves {
    /// One more certificate at `seq` with `status` (counted under its status and under all).
    pub(crate) fn count(&mut self, zone_id: &str, seq: i64, status: CertificateStatus) {
        let block = seq / crate::sql::LIST_BLOCK;
        *self
            .0
            .entry((zone_id.to_string(), status.as_str(), block))
            .or_default() += 1;
        *self
            .0
            .entry((zone_id.to_string(), crate::sql::ALL_STATUSES, block))
            .or_default() += 1;
    }

    /// One certificate at `seq` moves from `from` to `to`.
    pub(crate) fn add(
        &mut self,
        zone_id: &str,
        seq: i64,
        from: CertificateStatus,
        to: CertificateStatus,
    ) {
        let block = seq / crate::sql::LIST_BLOCK;
        *self
            .0
            .entry((zone_id.to_string(), from.as_str(), block))
            .or_default() -= 1;
        *self
            .0
            .entry((zone_id.to_string(), to.as_str(), block))
            .or_default() += 1;
    }
}

pub(crate) fn target_action(settled: CertificateStatus) -> &'static str {
    match settled {
        CertificateStatus::Revoked => "revoked",
        _ => "reactivated",
    }
}
