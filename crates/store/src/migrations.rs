//! Schema migrations, embedded in the binary. Each backend has its own dialect of the same schema.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQLite text, PostgreSQL text). Append only; never edit a shipped one.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "revocation publication",
        include_str!("../migrations/sqlite/0002_revocation_publication.sql"),
        include_str!("../migrations/postgres/0002_revocation_publication.sql"),
    ),
    (
        3,
        "list index",
        include_str!("../migrations/sqlite/0003_list_index.sql"),
        include_str!("../migrations/postgres/0003_list_index.sql"),
    ),
    (
        4,
        "audit chain",
        include_str!("../migrations/sqlite/0004_audit_chain.sql"),
        include_str!("../migrations/postgres/0004_audit_chain.sql"),
    ),
    (
        5,
        "mtls certificates",
        include_str!("../migrations/sqlite/0005_mtls_certificates.sql"),
        include_str!("../migrations/postgres/0005_mtls_certificates.sql"),
    ),
];

#[derive(Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

pub(crate) fn migrator(dialect: Dialect) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let text = match dialect {
                Dialect::Sqlite => sqlite,
                Dialect::Postgres => postgres,
            };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                text.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// What opening a database does about its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Bring it up to date (the API server, the CLI).
    Migrate,
    /// Leave it alone and refuse one that is not up to date: for processes that only read, such
    /// as the gateway, which may hold a read-only database role.
    RequireCurrent,
}

/// The schema version this binary expects.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |&(version, ..)| version)
}

/// The newest migration applied (0 when none or no bookkeeping table), as both dialects read it.
pub(crate) const APPLIED_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";

/// `found` must be exactly what this binary expects.
pub(crate) fn check_current(found: i64) -> Result<(), crate::StoreError> {
    let needed = latest_version();
    if found == needed {
        Ok(())
    } else {
        Err(crate::StoreError::SchemaNotCurrent { found, needed })
    }
}
