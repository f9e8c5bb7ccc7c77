//! Row writers shared by the roles: each takes an open transaction, so a change and its audit
//! event always commit together.

use std::collections::BTreeMap;

use crate::StoreResult;
use crate::backend::{Arg, Backend, Statement, Transaction, args};
use crate::error::StoreError;
use crate::model::*;
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;

/// SQL integers are signed; a u64 beyond i64::MAX means "no bound" anyway.
pub(crate) fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) async fn insert_account(
    tx: &mut impl Transaction,
    account: &Account,
) -> StoreResult<()> {
    tx.execute(
        sql::INSERT_ACCOUNT,
        args![&account.id, &account.name, to_unix(account.created_at)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_zone(tx: &mut impl Transaction, zone: &Zone) -> StoreResult<()> {
    tx.execute(
        sql::INSERT_ZONE,
        args![
            &zone.id,
            &zone.account_id,
            &zone.name,
            to_unix(zone.created_at),
            zone.max_certificates.map(clamp_i64),
        ],
    )
    .await?;
    Ok(())
}

/// `statement` is `INSERT_CA` or `INSERT_CA_IF_ABSENT`; returns the rows inserted.
pub(crate) async fn insert_ca(
    tx: &mut impl Transaction,
    statement: &'static str,
    ca: &CaRecord,
) -> StoreResult<u64> {
    tx.execute(
        statement,
        args![
            &ca.id,
            &ca.account_id,
            &ca.name,
            &ca.certificate_pem,
            &ca.certificate_der,
            &ca.sealed_private_key,
            to_unix(ca.not_before),
            to_unix(ca.not_after),
            to_unix(ca.created_at),
            &ca.chain_pem,
            ca.retired_at.map(to_unix),
            ca.generation,
        ],
    )
    .await
}

pub(crate) async fn insert_mtls_certificate(
    tx: &mut impl Transaction,
    record: &MtlsCertificateRecord,
) -> StoreResult<()> {
    tx.execute(
        sql::INSERT_MTLS_CERTIFICATE,
        args![
            &record.id,
            &record.account_id,
            &record.name,
            &record.certificates_pem,
            &record.issuer,
            &record.serial_number,
            &record.signature,
            to_unix(record.expires_on),
            to_unix(record.uploaded_on),
            to_unix(record.updated_at),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_token(tx: &mut impl Transaction, new: &NewApiToken) -> StoreResult<()> {
    let token = &new.token;
    tx.execute(
        sql::INSERT_TOKEN,
        args![
            &token.id,
            &token.name,
            &new.secret_hash,
            &token.email,
            &token.account_id,
            token.permission.as_str(),
            token.scope == TokenScope::Account,
            token.expires_at.map(to_unix),
            token.revoked_at.map(to_unix),
            to_unix(token.created_at),
        ],
    )
    .await?;
    if let TokenScope::Zones(zones) = &token.scope {
        for zone_id in zones {
            tx.execute(sql::INSERT_TOKEN_ZONE, args![&token.id, zone_id])
                .await?;
        }
    }
    Ok(())
}

/// Insert certificates with one statement per 1000 (keeping each `seq` when importing; otherwise
/// the database assigns the next ones) and count them in their list blocks.
pub(crate) async fn insert_certificate_rows<T: Transaction>(
    tx: &mut T,
    certs: &[(Option<i64>, &CertificateRecord)],
) -> StoreResult<()> {
    // 23 parameters a row stays under both databases' bind limits (SQLite 32766, PostgreSQL 65535).
    for chunk in certs.chunks(1000) {
        let serials: Vec<String> = chunk
            .iter()
            .map(|(_, cert)| cert.serial_number.to_decimal())
            .collect();
        let mut insert = Statement::new(T::PLACEHOLDER, "");
        push_certificate_insert(&mut insert, chunk, &serials);
        insert.push(" RETURNING zone_id, status, seq");
        let inserted = tx.fetch_all_statement(insert).await?;
        let mut counts = CountMoves::default();
        for row in &inserted {
            let status = rows::parsed(row, "status")?;
            counts.count(&rows::id(row, "zone_id")?, row.int("seq")?, status);
        }
        apply_count_moves(tx, counts).await?;
    }
    Ok(())
}

/// `INSERT INTO certificates (…) VALUES (…), (…)`; every row with a `seq` or none without.
/// `serials[i]` is the decimal serial of `certs[i]` (kept alive by the caller for the binds).
pub(crate) fn push_certificate_insert<'a>(
    insert: &mut Statement<'a>,
    certs: &'a [(Option<i64>, &'a CertificateRecord)],
    serials: &'a [String],
) {
    let with_seq = certs.first().is_some_and(|(seq, _)| seq.is_some());
    insert.push(if with_seq {
        sql::INSERT_CERTIFICATE_COLUMNS_WITH_SEQ
    } else {
        sql::INSERT_CERTIFICATE_COLUMNS
    });
    insert.push("VALUES ");
    let rows: Vec<_> = certs.iter().zip(serials).collect();
    insert.push_rows(&rows, |((seq, cert), serial)| {
        let mut values: Vec<Arg<'a>> = vec![
            Arg::from(&cert.id),
            Arg::from(&cert.zone_id),
            Arg::from(&cert.ca_id),
            Arg::from(serial.as_str()),
            Arg::from(cert.status.as_str()),
            Arg::from(&cert.certificate_pem),
            Arg::from(&cert.csr),
            Arg::from(&cert.common_name),
            Arg::from(&cert.organization),
            Arg::from(&cert.organizational_unit),
            Arg::from(&cert.country),
            Arg::from(&cert.state),
            Arg::from(&cert.location),
            Arg::from(&cert.fingerprint_sha256),
            Arg::from(&cert.ski),
            Arg::from(&cert.signature),
            Arg::from(to_unix(cert.issued_on)),
            Arg::from(to_unix(cert.expires_on)),
            Arg::from(cert.validity_days),
            Arg::from(cert.revoked_at.map(to_unix)),
            Arg::from(cert.revocation_reason.map(|r| r.as_str())),
            Arg::from(to_unix(cert.updated_at)),
        ];
        if let Some(seq) = seq {
            values.push(Arg::from(*seq));
        }
        values
    });
}

/// `INSERT INTO audit_events (…) VALUES (…), (…)`.
pub(crate) fn push_audit_insert<'a>(insert: &mut Statement<'a>, entries: &[&'a AuditEntry]) {
    insert.push(sql::INSERT_AUDIT_COLUMNS);
    insert.push("VALUES ");
    insert.push_rows(entries, |entry| {
        vec![
            Arg::from(to_unix(entry.occurred_at)),
            Arg::from(&entry.account_id),
            Arg::from(&entry.zone_id),
            Arg::from(entry.actor.kind.as_str()),
            Arg::from(&entry.actor.id),
            Arg::from(&entry.actor.source_ip),
            Arg::from(entry.action.as_str()),
            Arg::from(entry.object_type.as_str()),
            Arg::from(&entry.object_id),
            Arg::from(&entry.details),
        ]
    });
}

/// Insert certificates and their audit events (creates, inside the caller's transaction).
pub(crate) async fn insert_certificates_with_audit(
    tx: &mut impl Transaction,
    creates: &[(&CertificateRecord, &AuditEntry)],
) -> StoreResult<()> {
    let certs: Vec<_> = creates.iter().map(|(cert, _)| (None, *cert)).collect();
    insert_certificate_rows(tx, &certs).await?;
    let audits: Vec<_> = creates.iter().map(|(_, audit)| *audit).collect();
    append_audits(tx, &audits).await
}

/// Refuse a create that would take the zone past `limit` certificates that are not revoked. Takes
/// the zone's quota lock first, so creates racing in other transactions count this one's row.
pub(crate) async fn ensure_within_quota<B: Backend>(
    tx: &mut B::Tx,
    zone_id: &ZoneId,
    limit: u64,
) -> StoreResult<()> {
    B::lock_zone_quota(tx, zone_id).await?;
    let unrevoked = tx
        .fetch_one(sql::COUNT_UNREVOKED, args![zone_id])
        .await?
        .first_count()?;
    if unrevoked >= limit {
        return Err(StoreError::QuotaExceeded { limit });
    }
    Ok(())
}

pub(crate) async fn append_audit(tx: &mut impl Transaction, entry: &AuditEntry) -> StoreResult<()> {
    append_audits(tx, &[entry]).await
}

/// Append audit events with one statement per 1000.
pub(crate) async fn append_audits<T: Transaction>(
    tx: &mut T,
    entries: &[&AuditEntry],
) -> StoreResult<()> {
    for chunk in entries.chunks(1000) {
        let mut insert = Statement::new(T::PLACEHOLDER, "");
        push_audit_insert(&mut insert, chunk);
        tx.execute_statement(insert).await?;
    }
    Ok(())
}

pub(crate) async fn insert_crl(tx: &mut impl Transaction, crl: &CrlRecord) -> StoreResult<()> {
    tx.execute(
        sql::INSERT_CRL,
        args![
            &crl.ca_id,
            crl.crl_number,
            to_unix(crl.this_update),
            to_unix(crl.next_update),
            &crl.der
        ],
    )
    .await?;
    Ok(())
}

/// Store pre-signed OCSP answers with one statement per 1000, replacing earlier answers for the
/// same serials (each serial at most once in `answers`).
pub(crate) async fn upsert_ocsp<T: Transaction>(
    tx: &mut T,
    answers: &[OcspRecord],
) -> StoreResult<()> {
    for chunk in answers.chunks(1000) {
        let serials: Vec<String> = chunk.iter().map(|a| a.serial_number.to_decimal()).collect();
        let rows: Vec<_> = chunk.iter().zip(&serials).collect();
        let mut upsert = Statement::new(T::PLACEHOLDER, sql::INSERT_OCSP_COLUMNS);
        upsert.push("VALUES ");
        upsert.push_rows(&rows, |(answer, serial)| {
            vec![
                Arg::from(&answer.ca_id),
                Arg::from(serial.as_str()),
                Arg::from(answer.status.as_str()),
                Arg::from(to_unix(answer.this_update)),
                Arg::from(to_unix(answer.next_update)),
                Arg::from(&answer.der),
            ]
        });
        upsert.push(sql::UPSERT_OCSP_CONFLICT);
        tx.execute_statement(upsert).await?;
    }
    Ok(())
}

/// Net changes to list-block counts within one transaction, kept sorted.
#[derive(Default)]
pub(crate) struct CountMoves(BTreeMap<(ZoneId, &'static str, i64), i64>);

impl CountMoves {
    /// One more certificate at `seq` with `status` (counted under its status and under all).
    pub(crate) fn count(&mut self, zone_id: &ZoneId, seq: i64, status: CertificateStatus) {
        let block = seq / sql::LIST_BLOCK;
        *self
            .0
            .entry((zone_id.clone(), status.as_str(), block))
            .or_default() += 1;
        *self
            .0
            .entry((zone_id.clone(), sql::ALL_STATUSES, block))
            .or_default() += 1;
    }

    /// One certificate at `seq` moves from `from` to `to`.
    pub(crate) fn change(
        &mut self,
        zone_id: &ZoneId,
        seq: i64,
        from: CertificateStatus,
        to: CertificateStatus,
    ) {
        let block = seq / sql::LIST_BLOCK;
        *self
            .0
            .entry((zone_id.clone(), from.as_str(), block))
            .or_default() -= 1;
        *self
            .0
            .entry((zone_id.clone(), to.as_str(), block))
            .or_default() += 1;
    }
}

/// Apply count changes in one canonical order (zone, status, block), so concurrent transactions
/// on PostgreSQL take the counter row locks in the same order and cannot deadlock. One statement
/// per 1000 blocks: a publication pass moves counts in a couple of thousand.
pub(crate) async fn apply_count_moves<T: Transaction>(
    tx: &mut T,
    moves: CountMoves,
) -> StoreResult<()> {
    let changes: Vec<_> = moves
        .0
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .collect();
    for chunk in changes.chunks(1000) {
        let mut upsert = Statement::new(T::PLACEHOLDER, sql::INSERT_COUNT_COLUMNS);
        upsert.push("VALUES ");
        let rows: Vec<_> = chunk.iter().collect();
        upsert.push_rows(&rows, |((zone_id, status, block), delta)| {
            vec![
                Arg::from(zone_id),
                Arg::from(*status),
                Arg::from(*block),
                Arg::from(*delta),
            ]
        });
        upsert.push(sql::ADD_TO_EXISTING_COUNT);
        tx.execute_statement(upsert).await?;
    }
    Ok(())
}
