//! Fresh, isolated databases for tests, on every backend the project supports.
//!
//! PostgreSQL tests need `CLIENTCA_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`).
//! Without it they are skipped with one line on stderr, unless `CLIENTCA_TEST_STRICT=1` (set by
//! `.ci/run`), in which case they fail instead. A server that is set but unreachable always fails.
//! Strict mode also makes tests that need the Python SDK fail rather than skip.

mod foreign_ca;
pub use foreign_ca::ForeignCa;

use std::path::PathBuf;
use std::sync::Mutex;

use tempfile::TempDir;

pub const POSTGRES_URL_VAR: &str = "CLIENTCA_TEST_POSTGRES_URL";
pub const STRICT_VAR: &str = "CLIENTCA_TEST_STRICT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test. SQLite lives in a temp dir; PostgreSQL in its own schema,
/// dropped when this value is.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<TempDir>,
    schema: Option<(String, String)>,
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("clientca.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            schema: None,
        }
    }

    pub async fn postgres() -> Option<Self> {
        let base = match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => url,
            _ => {
                if strict() {
                    panic!("{STRICT_VAR}=1 but {POSTGRES_URL_VAR} is not set");
                }
                skip_notice(
                    "PostgreSQL tests",
                    &format!("set {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test"),
                );
                return None;
            }
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = connect_admin(&base).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create test schema");
        admin.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        Some(Self {
            url,
            backend: Backend::Postgres,
            _dir: None,
            schema: Some((base, schema)),
        })
    }
}

/// A CSR whose key ring cannot generate (RSA-2048, `CN=rsa2048.example.com` and a full subject),
/// for tests and benchmarks that need RSA.
pub const RSA_2048_CSR: &str = include_str!("../fixtures/rsa2048.csr");

/// The path of a committed fixture (CSRs made with OpenSSL, an OCSP request; see
/// `fixtures/README.md`).
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// A fixture's bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A text fixture (a PEM CSR).
pub fn fixture(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).expect("a text fixture")
}

/// A PEM CSR for a fresh P-256 key with only a common name.
pub fn csr_with_common_name(common_name: &str) -> String {
    p256_csr(&[(rcgen::DnType::CommonName, common_name)])
}

/// A PEM CSR for a fresh P-256 key with exactly `subject`.
pub fn p256_csr(subject: &[(rcgen::DnType, &str)]) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (attribute, value) in subject {
        params.distinguished_name.push(attribute.clone(), *value);
    }
    params
        .serialize_request(&key)
        .and_then(|request| request.pem())
        .expect("CSR")
}

/// Run raw SQL behind clientca's back, as someone with write access to the database would.
pub async fn run_sql_directly(url: &str, statements: &[&str]) {
    if let Err(error) = try_run_sql_directly(url, statements).await {
        panic!("{error}");
    }
}

/// As [`run_sql_directly`], but a refused statement is returned (`"<statement>: <error>"`).
pub async fn try_run_sql_directly(url: &str, statements: &[&str]) -> Result<(), String> {
    macro_rules! run_all {
        ($pool:expr) => {{
            let pool = $pool
                .max_connections(1)
                .connect(url)
                .await
                .expect("open database");
            let mut outcome = Ok(());
            for statement in statements {
                let result = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                    .execute(&pool)
                    .await;
                if let Err(error) = result {
                    outcome = Err(format!("{statement}: {error}"));
                    break;
                }
            }
            pool.close().await;
            outcome
        }};
    }
    if url.starts_with("sqlite:") {
        run_all!(sqlx::sqlite::SqlitePoolOptions::new())
    } else {
        run_all!(sqlx::postgres::PgPoolOptions::new())
    }
}

async fn connect_admin(base: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {POSTGRES_URL_VAR} is unreachable: {e}"))
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((base, schema)) = self.schema.take() else {
            return;
        };
        // Drop runs inside or outside a runtime; a short-lived thread with its own runtime works in both.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let admin = connect_admin(&base).await;
                    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await;
                    admin.close().await;
                });
            }
        })
        .join();
    }
}

/// Whether skipping is forbidden (CI): every backend and tool must be present.
pub fn strict() -> bool {
    std::env::var(STRICT_VAR).is_ok_and(|v| v == "1")
}

/// Say once per test process that something is skipped and how to enable it.
pub fn skip_notice(what: &str, how: &str) {
    static SHOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut shown = SHOWN.lock().unwrap_or_else(|p| p.into_inner());
    if !shown.iter().any(|w| w == what) {
        shown.push(what.to_string());
        // Written to the real stderr, not through eprintln!, so the test harness does not swallow it.
        let line = format!("note: skipping {what}: {how} to run them\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }
}

/// Generate one `#[tokio::test]` per backend from an `async fn(TestDatabase)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::TestDatabase::sqlite();
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::TestDatabase::postgres().await else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}
