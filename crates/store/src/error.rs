use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A uniqueness rule was hit (duplicate id, serial already used by the CA, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A referenced row (zone, account, CA) does not exist.
    #[error("missing reference: {0}")]
    MissingReference(String),
    #[error(
        "unsupported database URL {0:?}: expected sqlite://PATH, sqlite::memory: or postgres://…"
    )]
    UnsupportedUrl(String),
    /// A create could not be committed with its group (the group committer says why).
    #[error("commit failed: {0}")]
    CommitFailed(String),
    /// The zone already holds `limit` certificates that are not revoked; nothing was written.
    #[error("the zone's quota of {limit} certificates that are not revoked is reached")]
    QuotaExceeded { limit: u64 },
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("cannot start the group committer: {0}")]
    CommitterStart(std::io::Error),
    #[error("cannot start the checkpointer: {0}")]
    CheckpointerStart(std::io::Error),
    #[error("a stored row is invalid: {0}")]
    Corrupt(String),
    /// This database does not do that (e.g. a backup file of a PostgreSQL database).
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("cannot write the backup: {0}")]
    Backup(std::io::Error),
    /// The disk (or the database's quota) is full: nothing was written; retry once space is freed.
    #[error("the database's storage is full: {0}")]
    StorageFull(String),
    #[error(
        "the database schema is at version {found}, this binary needs version {needed}: run \
         `clientca migrate` with this binary first"
    )]
    SchemaNotCurrent { found: i64, needed: i64 },
    #[error("database migration failed: {0}")]
    Migration(sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A statement on a rusqlite connection (a quick read, the checkpointer's) failed.
    #[error("database error: {0}")]
    Rusqlite(rusqlite::Error),
}

impl StoreError {
    /// What each item of a group gets when the group's transaction failed with `self`: a full
    /// disk stays a full disk (the API answers it with its own code), anything else is a failed
    /// commit naming the cause.
    pub(crate) fn for_each_of_group(&self) -> StoreError {
        match self {
            StoreError::StorageFull(message) => StoreError::StorageFull(message.clone()),
            other => StoreError::CommitFailed(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let Some(db) = error.as_database_error() {
            if is_storage_full(db) {
                return StoreError::StorageFull(db.message().to_string());
            }
            if db.is_unique_violation() {
                return StoreError::Conflict(db.message().to_string());
            }
            if db.is_foreign_key_violation() {
                return StoreError::MissingReference(db.message().to_string());
            }
        }
        StoreError::Database(error)
    }
}

/// SQLITE_FULL (primary result code 13), or PostgreSQL's `disk_full` (SQLSTATE 53100).
fn is_storage_full(error: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = error.code() else {
        return false;
    };
    if error
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        return code.parse::<i32>().is_ok_and(|code| code & 0xff == 13);
    }
    code == "53100"
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(error)
    }
}
