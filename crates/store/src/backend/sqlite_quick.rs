//! Quick reads on SQLite: the small indexed reads of the request path (a serial's status for OCSP,
//! one certificate, a list page) answered on the calling thread through rusqlite, over the same
//! bundled libsqlite3 that sqlx links.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement and every
//! row across a channel; for a lookup of a few microseconds those thread switches were most of
//! the cost (over half of the server's samples under OCSP load). These reads are bounded (an
//! index lookup, at most a page of rows), so running them on an executor thread costs less than
//! the hand-off did. Everything else stays on sqlx.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::Arg;
use crate::StoreResult;
use crate::error::StoreError;
use crate::rows::DecodeRow;

/// Idle connections kept; more are opened when more threads read at once.
const KEEP_IDLE: usize = 8;
/// Prepared statements kept per connection (the quick reads are a handful of fixed texts).
const STATEMENT_CACHE: usize = 32;

/// Read-only rusqlite connections to one database file.
pub(crate) struct QuickReader {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl QuickReader {
    pub(crate) fn new(path: &Path, busy_timeout: Duration) -> Self {
        Self {
            path: path.to_path_buf(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Every row of `sql` with `args` bound.
    pub(crate) fn fetch_all(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<OwnedRow>> {
        let connection = match self.lock_idle().pop() {
            Some(connection) => connection,
            None => self.open()?,
        };
        let rows = read(&connection, sql, args);
        // A connection that failed is dropped rather than kept in an unknown state.
        if rows.is_ok() {
            let mut idle = self.lock_idle();
            if idle.len() < KEEP_IDLE {
                idle.push(connection);
            }
        }
        rows.map_err(StoreError::Rusqlite)
    }

    fn open(&self) -> StoreResult<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection =
            Connection::open_with_flags(&self.path, flags).map_err(StoreError::Rusqlite)?;
        connection
            .busy_timeout(self.busy_timeout)
            .map_err(StoreError::Rusqlite)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(connection)
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Only pushes and pops happen under this lock; a poisoned one is still consistent.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn read(connection: &Connection, sql: &str, args: &[Arg<'_>]) -> rusqlite::Result<Vec<OwnedRow>> {
    let mut statement = connection.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        // `$N` names argument N, as sqlx binds it; anything else binds in order.
        let position = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix(['$', '?']))
            .and_then(|number| number.parse::<usize>().ok())
            .unwrap_or(index);
        let arg = args
            .get(position - 1)
            .ok_or(rusqlite::Error::InvalidParameterCount(position, args.len()))?;
        match *arg {
            Arg::Text(value) => statement.raw_bind_parameter(index, value)?,
            Arg::OptText(value) => statement.raw_bind_parameter(index, value)?,
            Arg::Int(value) => statement.raw_bind_parameter(index, value)?,
            Arg::OptInt(value) => statement.raw_bind_parameter(index, value)?,
            Arg::Bool(value) => statement.raw_bind_parameter(index, value)?,
            Arg::Bytes(value) => statement.raw_bind_parameter(index, value)?,
        }
    }
    let columns: Arc<[String]> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut rows = statement.raw_query();
    let mut read = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len())
            .map(|index| {
                let value = row.get_ref(index)?;
                Value::try_from(value).map_err(|error| {
                    rusqlite::Error::FromSqlConversionFailure(
                        index,
                        value.data_type(),
                        Box::new(error),
                    )
                })
            })
            .collect::<rusqlite::Result<_>>()?;
        read.push(OwnedRow {
            columns: Arc::clone(&columns),
            values,
        });
    }
    Ok(read)
}

/// A row read by a quick read: its values, owned, by column name.
pub(crate) struct OwnedRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl OwnedRow {
    /// The same row as sqlx read it (an in-memory database lives in sqlx's one connection).
    pub(crate) fn from_sqlx(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Self> {
        use sqlx::{Column, Decode, Row, TypeInfo, ValueRef as _};
        let columns: Arc<[String]> = row.columns().iter().map(|c| c.name().into()).collect();
        let mut values = Vec::with_capacity(columns.len());
        for index in 0..columns.len() {
            let raw = row.try_get_raw(index)?;
            let decode_error = |e| StoreError::Corrupt(format!("column {index}: {e}"));
            values.push(if raw.is_null() {
                Value::Null
            } else {
                match raw.type_info().name() {
                    "INTEGER" | "BOOLEAN" => Value::Integer(
                        <i64 as Decode<sqlx::Sqlite>>::decode(raw).map_err(decode_error)?,
                    ),
                    "REAL" => Value::Real(
                        <f64 as Decode<sqlx::Sqlite>>::decode(raw).map_err(decode_error)?,
                    ),
                    "BLOB" => Value::Blob(
                        <Vec<u8> as Decode<sqlx::Sqlite>>::decode(raw).map_err(decode_error)?,
                    ),
                    _ => Value::Text(
                        <String as Decode<sqlx::Sqlite>>::decode(raw).map_err(decode_error)?,
                    ),
                }
            });
        }
        Ok(Self { columns, values })
    }

    fn get(&self, column: &str) -> StoreResult<&Value> {
        self.columns
            .iter()
            .position(|name| name == column)
            .and_then(|index| self.values.get(index))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {column} in the row")))
    }

    fn first(&self) -> StoreResult<&Value> {
        self.values
            .first()
            .ok_or_else(|| StoreError::Corrupt("an empty row".into()))
    }
}

fn mismatch(what: &str, value: &Value) -> StoreError {
    StoreError::Corrupt(format!("expected {what}, found {:?}", value.data_type()))
}

fn opt_text(value: &Value) -> StoreResult<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::Text(text) => Ok(Some(text.clone())),
        other => Err(mismatch("text", other)),
    }
}

fn opt_int(value: &Value) -> StoreResult<Option<i64>> {
    match value {
        Value::Null => Ok(None),
        Value::Integer(number) => Ok(Some(*number)),
        other => Err(mismatch("an integer", other)),
    }
}

fn required<T>(value: Option<T>) -> StoreResult<T> {
    value.ok_or_else(|| StoreError::Corrupt("a required value is NULL".into()))
}

impl DecodeRow for OwnedRow {
    fn text(&self, column: &str) -> StoreResult<String> {
        required(opt_text(self.get(column)?)?)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        opt_text(self.get(column)?)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        required(opt_int(self.get(column)?)?)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        opt_int(self.get(column)?)
    }
    fn flag(&self, column: &str) -> StoreResult<bool> {
        Ok(self.int(column)? != 0)
    }
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        match self.get(column)? {
            Value::Blob(bytes) => Ok(bytes.clone()),
            Value::Text(text) => Ok(text.clone().into_bytes()),
            other => Err(mismatch("bytes", other)),
        }
    }
    fn first_opt_int(&self) -> StoreResult<Option<i64>> {
        opt_int(self.first()?)
    }
    fn first_opt_text(&self) -> StoreResult<Option<String>> {
        opt_text(self.first()?)
    }
    fn first_flag(&self) -> StoreResult<bool> {
        Ok(required(opt_int(self.first()?)?)? != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arguments bind by their `$N` (in any order, repeated), NULLs and every stored type read
    /// back as the role code's decoders expect them, and a failing statement leaves the reader
    /// usable.
    #[test]
    fn quick_reads_bind_by_number_and_decode_every_stored_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quick.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE t (name TEXT NOT NULL, note TEXT, n INTEGER NOT NULL,
                                 flag INTEGER NOT NULL, der BLOB NOT NULL);
                 INSERT INTO t VALUES ('a', NULL, 7, 1, x'0102'), ('b', 'x', 8, 0, x'03');",
            )
            .unwrap();
        let reader = QuickReader::new(&path, Duration::from_secs(1));
        let rows = reader
            .fetch_all(
                "SELECT name, note, n, flag, der FROM t WHERE n >= $2 AND name <> $1 AND n < $2 + 5 ORDER BY n",
                &[Arg::Text("b"), Arg::Int(7)],
            )
            .unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.text("name").unwrap(), "a");
        assert_eq!(row.opt_text("note").unwrap(), None);
        assert_eq!(row.int("n").unwrap(), 7);
        assert!(row.flag("flag").unwrap());
        assert_eq!(row.bytes("der").unwrap(), [1, 2]);
        assert!(row.text("note").is_err(), "NULL is not a required text");
        assert!(row.int("missing").is_err());

        assert!(reader.fetch_all("SELECT nothing FROM t", &[]).is_err());
        let count = reader
            .fetch_all(
                "SELECT COUNT(*) FROM t WHERE flag = $1",
                &[Arg::Bool(false)],
            )
            .unwrap();
        assert_eq!(count[0].first_int().unwrap(), 1);
    }
}
