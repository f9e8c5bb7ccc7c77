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
