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
    (
        6,
        "ca generations",
        include_str!("../migrations/sqlite/0006_ca_generations.sql"),
        include_str!("../migrations/postgres/0006_ca_generations.sql"),
    ),
    (
        7,
        "zone quotas and expiry index",
        include_str!("../migrations/sqlite/0007_zone_quotas.sql"),
        include_str!("../migrations/postgres/0007_zone_quotas.sql"),
    ),
    (
        8,
        "smaller list blocks",
        include_str!("../migrations/sqlite/0008_smaller_list_blocks.sql"),
        include_str!("../migrations/postgres/0008_smaller_list_blocks.sql"),
    ),
    (
        9,
        "crl lz4",
        include_str!("../migrations/sqlite/0009_crl_lz4.sql"),
        include_str!("../migrations/postgres/0009_crl_lz4.sql"),
    ),
];

/// SQLite migrations that bring their own transaction (a table rebuild must switch foreign keys
/// off, which SQLite ignores inside a transaction).
const SQLITE_OWN_TRANSACTION: &[i64] = &[6];

#[derive(Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

pub(crate) fn migrator(dialect: Dialect) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let (text, no_tx) = match dialect {
                Dialect::Sqlite => (sqlite, SQLITE_OWN_TRANSACTION.contains(&version)),
                Dialect::Postgres => (postgres, false),
            };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                text.into_sql_str(),
                no_tx,
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection, Row};

    use super::*;

    /// A new SQLite database (foreign keys on) migrated up to `version` only.
    async fn sqlite_at_version(version: i64) -> (tempfile::TempDir, sqlx::SqliteConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let mut conn = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .foreign_keys(true)
            .connect()
            .await
            .unwrap();
        let all = migrator(Dialect::Sqlite);
        let mut up_to = Migrator::with_migrations(
            all.iter()
                .filter(|m| m.version <= version)
                .cloned()
                .collect(),
        );
        up_to.set_locking(false);
        up_to.run(&mut conn).await.unwrap();
        (dir, conn)
    }

    /// Migration 6 rebuilds `certificate_authorities` on SQLite: a database at version 5 with a
    /// CA, its certificate and CRL keeps every row, every reference holds, and the CA becomes
    /// generation 1 and current — also when the migration runs a second time (a crash between
    /// its own COMMIT and sqlx's bookkeeping).
    #[tokio::test]
    async fn the_sqlite_ca_table_rebuild_keeps_every_row_and_reference() {
        let (_dir, mut conn) = sqlite_at_version(5).await;
        let all = migrator(Dialect::Sqlite);
        for statement in [
            "INSERT INTO accounts VALUES ('a', 'acme', 0)",
            "INSERT INTO certificate_authorities VALUES ('ca1', 'a', 'CA', 'pem', x'30', x'01', 0, 9, 0)",
            "INSERT INTO zones VALUES ('z', 'a', 'example.com', 0)",
            "INSERT INTO crls (ca_id, crl_number, this_update, next_update, der) VALUES ('ca1', 1, 0, 9, x'30')",
        ] {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
        let sixth = all.iter().find(|m| m.version == 6).unwrap();
        for _ in 0..2 {
            sqlx::raw_sql(sixth.sql.clone())
                .execute(&mut conn)
                .await
                .unwrap();
        }
        let row = sqlx::query(
            "SELECT id, account_id, generation, retired_at, chain_pem FROM certificate_authorities",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(row.get::<String, _>("id"), "ca1");
        assert_eq!(row.get::<i64, _>("generation"), 1);
        assert_eq!(row.get::<Option<i64>, _>("retired_at"), None);
        assert_eq!(row.get::<String, _>("chain_pem"), "");
        let broken = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert!(broken.is_empty(), "dangling references after the rebuild");
        let enforced: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(enforced, 1, "foreign keys are on again");
        // A second current CA for the account is refused by the new index.
        let second = sqlx::query(
            "INSERT INTO certificate_authorities (id, account_id, name, certificate_pem, \
             certificate_der, sealed_private_key, not_before, not_after, created_at) \
             VALUES ('ca2', 'a', 'CA', 'pem', x'30', x'01', 0, 9, 0)",
        )
        .execute(&mut conn)
        .await;
        assert!(second.is_err());
        conn.close().await.unwrap();
    }

    /// Migration 8 recounts the list blocks (4096 → 1024 sequence numbers): on a database at
    /// version 7 with old counts, afterwards every block count is what the rows say, nothing is
    /// lost, and running it twice changes nothing (it is a DELETE and two INSERT … SELECTs).
    #[tokio::test]
    async fn smaller_list_blocks_are_recounted_from_the_rows() {
        let (_dir, mut conn) = sqlite_at_version(7).await;
        let all = migrator(Dialect::Sqlite);
        for statement in [
            "INSERT INTO accounts (id, name, created_at) VALUES ('a', 'acme', 0)",
            "INSERT INTO certificate_authorities (id, account_id, name, certificate_pem, \
             certificate_der, sealed_private_key, not_before, not_after, created_at) \
             VALUES ('ca1', 'a', 'CA', 'pem', x'30', x'01', 0, 9, 0)",
            "INSERT INTO zones (id, account_id, name, created_at) VALUES ('z', 'a', 'example.com', 0)",
            // 5000 certificates, a third revoked, with the sequence numbers they had.
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             INSERT INTO certificates (seq, id, zone_id, ca_id, serial_number, status, \
             certificate_pem, csr, common_name, organization, organizational_unit, country, \
             state, location, fingerprint_sha256, ski, signature, issued_on, expires_on, \
             validity_days, updated_at) \
             SELECT i, 'c' || i, 'z', 'ca1', i, CASE i % 3 WHEN 0 THEN 'revoked' ELSE 'active' END, \
             'p', 'r', 'cn', '', '', '', '', '', 'f', 'k', 's', 0, 9, 1, 0 FROM n",
            // The counts as version 7 kept them.
            "INSERT INTO certificate_counts (zone_id, status, block, count) \
             SELECT zone_id, status, seq / 4096, COUNT(*) FROM certificates GROUP BY 1, 2, 3",
            "INSERT INTO certificate_counts (zone_id, status, block, count) \
             SELECT zone_id, '*', seq / 4096, COUNT(*) FROM certificates GROUP BY 1, 2, 3",
        ] {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
        let counts = "SELECT zone_id || ' ' || status || ' ' || block || ' ' || count \
            FROM certificate_counts ORDER BY zone_id, status, block";
        let from_rows = "SELECT zone_id || ' ' || s || ' ' || b || ' ' || n FROM ( \
            SELECT zone_id, status AS s, seq / 1024 AS b, COUNT(*) AS n FROM certificates \
            GROUP BY 1, 2, 3 UNION ALL \
            SELECT zone_id, '*', seq / 1024, COUNT(*) FROM certificates GROUP BY 1, 2, 3) \
            ORDER BY zone_id, s, b";
        let eighth = all.iter().find(|m| m.version == 8).unwrap();
        for _ in 0..2 {
            sqlx::raw_sql(eighth.sql.clone())
                .execute(&mut conn)
                .await
                .unwrap();
            let stored: Vec<String> = sqlx::query_scalar(counts)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let expected: Vec<String> = sqlx::query_scalar(from_rows)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert_eq!(stored, expected);
            assert_eq!(
                stored.iter().filter(|row| row.starts_with("z * ")).count(),
                5
            );
            let total: i64 =
                sqlx::query_scalar("SELECT SUM(count) FROM certificate_counts WHERE status = '*'")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            assert_eq!(total, 5000);
        }
        conn.close().await.unwrap();
    }
}
