//! What the role implementations need from a database, and the two databases that provide it.
//!
//! The role traits (`accounts.rs`, `certificates.rs`, …) are implemented once, generically, for
//! any [`Backend`]; this module is the whole of what differs between SQLite and PostgreSQL:
//! pools and connection setup, how a write transaction begins, cross-replica locks, the locking
//! variants of two selects, how a create is made durable, and what a bulk import fixes up.
//! Values cross into SQL as [`Arg`]s so the shared code needs no per-type sqlx bounds.

pub(crate) mod group_commit;
pub(crate) mod postgres;
pub(crate) mod sqlite;
pub(crate) mod sqlite_checkpoint;
pub(crate) mod sqlite_quick;

use std::future::Future;

use crate::StoreResult;
use crate::model::{
    AuditEntry, CertificateId, CertificateRecord, Id, PoolState, StatusChange, StatusChangeOutcome,
    Table, ZoneId,
};
use crate::rows::DecodeRow;

/// One bind parameter: the five SQL types clientca stores.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Bytes(&'a [u8]),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Arg::Text(value)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(value: &'a String) -> Self {
        Arg::Text(value)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Arg::OptText(value)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Arg::OptText(value.as_deref())
    }
}

impl<'a, K> From<&'a Id<K>> for Arg<'a> {
    fn from(value: &'a Id<K>) -> Self {
        Arg::Text(value.as_str())
    }
}

impl<'a, K> From<&'a Option<Id<K>>> for Arg<'a> {
    fn from(value: &'a Option<Id<K>>) -> Self {
        Arg::OptText(value.as_ref().map(Id::as_str))
    }
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(value: Option<i64>) -> Self {
        Arg::OptInt(value)
    }
}

impl From<bool> for Arg<'_> {
    fn from(value: bool) -> Self {
        Arg::Bool(value)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(value: &'a [u8]) -> Self {
        Arg::Bytes(value)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(value: &'a Vec<u8>) -> Self {
        Arg::Bytes(value)
    }
}

/// `sql` with `args` bound, for either database (the bounds say each `Arg` type encodes).
pub(crate) fn query<DB>(
    sql: impl sqlx::SqlSafeStr,
    args: &[Arg<'_>],
) -> sqlx::query::Query<'static, DB, DB::Arguments>
where
    DB: sqlx::Database,
    for<'a> &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<i64>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> &'a [u8]: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match *arg {
            Arg::Text(value) => query.bind(value),
            Arg::OptText(value) => query.bind(value),
            Arg::Int(value) => query.bind(value),
            Arg::OptInt(value) => query.bind(value),
            Arg::Bool(value) => query.bind(value),
            Arg::Bytes(value) => query.bind(value),
        };
    }
    query
}

/// `args![a, b]` is `&[Arg::from(a), Arg::from(b)]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::backend::Arg::from($value)),*]
    };
}
pub(crate) use args;

/// How a database numbers the placeholders of a statement assembled at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` bound in order (SQLite: there `$1` is a *named* parameter, looked up by name
    /// for each new one — quadratic in a 20,000-value insert — and sqlx binds `?NNN` wrongly
    /// across the statements of one multi-statement command).
    Positional,
}

/// A statement assembled at run time (multi-row inserts): SQL with placeholders in the database's
/// own style, and the values they stand for, in the order they appear.
#[derive(Debug)]
pub(crate) struct Statement<'a> {
    sql: String,
    args: Vec<Arg<'a>>,
    placeholder: Placeholder,
}

impl<'a> Statement<'a> {
    /// A statement beginning with `sql`, for a database whose placeholders are `placeholder`.
    pub(crate) fn new(placeholder: Placeholder, sql: &str) -> Self {
        Self {
            sql: sql.to_string(),
            args: Vec::new(),
            placeholder,
        }
    }

    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Append a placeholder for `value`.
    pub(crate) fn bind(&mut self, value: impl Into<Arg<'a>>) -> &mut Self {
        self.args.push(value.into());
        match self.placeholder {
            Placeholder::Numbered => {
                self.sql.push('$');
                self.sql.push_str(&self.args.len().to_string());
            }
            Placeholder::Positional => self.sql.push('?'),
        }
        self
    }

    /// `(v, v, …)`: a parenthesised list of placeholders, one per value.
    pub(crate) fn bind_list<V: Into<Arg<'a>>>(&mut self, values: impl IntoIterator<Item = V>) {
        self.push("(");
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")");
    }

    /// `(v, v, …), (v, v, …)` — one parenthesised group per row, each value a placeholder.
    pub(crate) fn push_rows<T>(&mut self, rows: &[T], mut values: impl FnMut(&T) -> Vec<Arg<'a>>) {
        for (index, row) in rows.iter().enumerate() {
            self.push(if index == 0 { "(" } else { ", (" });
            for (column, value) in values(row).into_iter().enumerate() {
                if column > 0 {
                    self.push(", ");
                }
                self.bind(value);
            }
            self.push(")");
        }
    }

    /// The text, marked as safe: it is assembled only from constants in `sql.rs` and
    /// placeholders, never from values.
    pub(crate) fn into_parts(self) -> (sqlx::AssertSqlSafe<String>, Vec<Arg<'a>>) {
        (sqlx::AssertSqlSafe(self.sql), self.args)
    }
}

/// An open write transaction. Dropping one without `commit` rolls it back.
pub(crate) trait Transaction: Send {
    type Row: DecodeRow + Send + Sync;
    /// The placeholders of statements assembled at run time.
    const PLACEHOLDER: Placeholder;

    fn execute(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    fn fetch_all(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;

    fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Option<Self::Row>>> + Send;

    fn fetch_one(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Self::Row>> + Send;

    /// A statement assembled at run time.
    fn execute_statement(
        &mut self,
        statement: Statement<'_>,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// A statement assembled at run time that returns rows (`… RETURNING`).
    fn fetch_all_statement(
        &mut self,
        statement: Statement<'_>,
    ) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;

    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;

    fn rollback(self) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The tables a backup reports the row counts of.
pub(crate) const BACKUP_SUMMARY: [Table; 5] = [
    Table::Accounts,
    Table::CertificateAuthorities,
    Table::Certificates,
    Table::ApiTokens,
    Table::AuditEvents,
];

/// The queue concurrent status changes are batched through.
pub(crate) type StatusChanges =
    crate::batch::Batcher<StatusChange, StoreResult<StatusChangeOutcome>>;

/// A database clientca can keep its state in. A clone shares the connections (batches of status
/// changes run in tasks of their own, holding one).
pub(crate) trait Backend: Clone + Send + Sync + 'static {
    type Row: DecodeRow + Send + Sync;
    type Tx: Transaction<Row = Self::Row> + 'static;

    /// "sqlite" or "postgres", for logs and health output.
    const NAME: &'static str;
    /// The pending rows of a publication pass, locked where concurrent writers exist.
    const SELECT_PENDING_LOCKED: &'static str;
    /// A certificate's state before a change, locked where concurrent writers exist.
    const SELECT_FOR_STATUS_CHANGE: &'static str;
    /// Refresh the planner's statistics.
    const ANALYZE: &'static str;
    /// The oldest unsealed audit events, and their count, through the index of unsealed events.
    const SELECT_UNSEALED_AUDIT: &'static str;
    const COUNT_UNSEALED_AUDIT: &'static str;

    fn begin_write(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send;

    fn status_changes(&self) -> &StatusChanges;

    /// What a quick read returns.
    type QuickRow: DecodeRow + Send + Sync;

    /// Small, bounded, indexed reads of the request path (a serial's status, one certificate, a
    /// list page): on SQLite answered on the calling thread, without sqlx's thread hand-offs
    /// (`sqlite_quick.rs`); on PostgreSQL the same as `fetch_all`.
    fn quick_all(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Vec<Self::QuickRow>>> + Send;

    fn quick_optional(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Option<Self::QuickRow>>> + Send {
        let rows = self.quick_all(sql, args);
        async move { Ok(rows.await?.into_iter().next()) }
    }

    /// A quick read that always returns one row (`COUNT`).
    fn quick_one(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Self::QuickRow>> + Send {
        let row = self.quick_optional(sql, args);
        async move {
            row.await?
                .ok_or_else(|| crate::StoreError::Corrupt(format!("no row from {sql}")))
        }
    }

    /// Reads, on the read connections.
    fn fetch_all(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;

    fn fetch_optional(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Option<Self::Row>>> + Send;

    fn fetch_one(
        &self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> impl Future<Output = StoreResult<Self::Row>> + Send;

    /// A consistent copy of the whole database into the new file `path`, while others keep
    /// writing (SQLite: `VACUUM INTO`), read back: the row counts of [`BACKUP_SUMMARY`].
    fn backup_into(
        &self,
        path: &std::path::Path,
    ) -> impl Future<Output = StoreResult<Vec<(Table, u64)>>> + Send;

    /// A statement outside any transaction, on a write connection (ANALYZE, VACUUM).
    fn execute_alone(&self, sql: &'static str) -> impl Future<Output = StoreResult<()>> + Send;

    /// Insert an issued certificate with its list counts and audit event; returns once durable.
    /// With a `quota`, refused (`QuotaExceeded`, nothing written) when the zone already holds that
    /// many certificates that are not revoked, counted under the zone's quota lock.
    fn insert_certificate_durably(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
        quota: Option<u64>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Serialise quota-checked creates in one zone for `tx`'s lifetime (across replicas), so
    /// concurrent creates count each other's rows.
    fn lock_zone_quota(
        tx: &mut Self::Tx,
        zone_id: &ZoneId,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The connection pools' current state.
    fn pool_states(&self) -> Vec<PoolState>;

    /// Take the publication lock for `tx`'s lifetime; false when another process holds it.
    fn try_lock_publication(tx: &mut Self::Tx) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Take the audit-sealing lock for `tx`'s lifetime; false when another process holds it.
    fn try_lock_audit_sealing(tx: &mut Self::Tx) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Lock the rows a batch of status changes touches, in an order every other multi-row locker
    /// uses too (PostgreSQL), before the batch reads them one by one.
    fn lock_for_status_changes(
        tx: &mut Self::Tx,
        ids: &[&CertificateId],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Serialise hostname-association replacements for `tx`'s lifetime (across replicas), so two
    /// accounts cannot claim one hostname at once.
    fn lock_hostname_associations(
        tx: &mut Self::Tx,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// After importing rows with explicit sequence values: move the sequences past them.
    fn after_import(
        tx: &mut Self::Tx,
        table: &'static str,
        column: &'static str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
