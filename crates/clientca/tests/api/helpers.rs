//! A real server on port 0 with a fresh database, and a client that speaks to it over HTTP.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use authority::{
    AccountId, Actor, ActorKind, AuditAction, MasterKey, NewTokenRequest, Permission, Policy,
    Publication, TokenTarget, ZoneId,
};
use clientca::{ServeOptions, Server};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use store::DynStore;
use test_support::{TestDatabase, skip_notice, strict};

pub(crate) struct TestApp {
    pub server: Server,
    pub client: reqwest::Client,
    /// The bootstrap edit token (account-wide).
    pub token: String,
    pub zone_id: ZoneId,
    pub account_id: AccountId,
    /// A second handle on the server's database, for checking what it holds.
    pub store: DynStore,
    /// What the server was started with (its master key opens the same database again).
    pub options: ServeOptions,
    /// Kept alive for the server's lifetime (a temp dir or a PostgreSQL schema).
    _db: TestDatabase,
}

/// Parsed answer: status, the raw content type and the JSON body.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Answer {
    pub(crate) fn result(&self) -> &Value {
        &self.body["result"]
    }

    /// Assert a Cloudflare-style failure with this status and code.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: u64) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type, "application/json", "body: {}", self.body);
        assert_eq!(self.body["success"], false);
        assert_eq!(self.body["result"], Value::Null);
        assert_eq!(self.body["messages"], serde_json::json!([]));
        let errors = self.body["errors"].as_array().expect("errors array");
        assert_eq!(errors.len(), 1, "{}", self.body);
        assert_eq!(errors[0]["code"], code, "body: {}", self.body);
        assert!(!errors[0]["message"].as_str().unwrap_or("").is_empty());
    }

    #[track_caller]
    pub(crate) fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        assert_eq!(self.body["success"], true, "body: {}", self.body);
        assert_eq!(self.body["errors"], serde_json::json!([]));
        self.result()
    }
}

impl TestApp {
    /// A server whose worker publishes only when a test asks (interval of an hour).
    pub(crate) async fn spawn(db: TestDatabase) -> Self {
        Self::spawn_with(db, Duration::from_secs(3600)).await
    }

    pub(crate) async fn spawn_with(db: TestDatabase, publish_interval: Duration) -> Self {
        Self::spawn_with_publication(db, publish_interval, Publication::default()).await
    }

    pub(crate) async fn spawn_with_publication(
        db: TestDatabase,
        publish_interval: Duration,
        publication: Publication,
    ) -> Self {
        Self::spawn_configured(db, |options| {
            options.publish_interval = publish_interval;
            options.publication = publication;
        })
        .await
    }

    /// A server whose options `configure` adjusts (limits, rate limits, publication, …).
    pub(crate) async fn spawn_configured(
        db: TestDatabase,
        configure: impl FnOnce(&mut ServeOptions),
    ) -> Self {
        let mut options = ServeOptions {
            database_url: db.url.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            master_key: MasterKey::generate().unwrap(),
            publish_interval: Duration::from_secs(3600),
            policy: Policy::default(),
            publication: Publication::default(),
            token_cache_ttl: Duration::ZERO,
            publication_stale_after: None,
            api: api::ApiConfig::default(),
            limits: api::ServerLimits::default(),
            gateway: None,
            dashboard: true,
            metrics_listen: None,
            tls: None,
        };
        configure(&mut options);
        let server = clientca::start(options.clone())
            .await
            .expect("server starts");
        let bootstrap = server.bootstrap.clone().expect("fresh database bootstraps");
        let store = store::connect(&db.url)
            .await
            .expect("the database opens twice");
        Self {
            client: reqwest::Client::new(),
            token: bootstrap.secret,
            zone_id: bootstrap.zone.id,
            account_id: bootstrap.account.id,
            store,
            server,
            options,
            _db: db,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.api_base_url())
    }

    pub(crate) fn certificates_path(&self, zone_id: &(impl std::fmt::Display + ?Sized)) -> String {
        format!("/zones/{zone_id}/client_certificates")
    }

    /// Send with the bootstrap token.
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call_as(&self.token, method, path, body).await
    }

    pub(crate) async fn call_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("request sent")).await
    }

    /// List the bootstrap zone's certificates with a query string (without `?`).
    pub(crate) async fn list(&self, query: &str) -> Answer {
        let path = format!("{}?{query}", self.certificates_path(&self.zone_id));
        self.call(Method::GET, &path, None).await
    }

    pub(crate) async fn create(&self, csr: &str, validity_days: i64) -> Answer {
        let body = serde_json::json!({"csr": csr, "validity_days": validity_days});
        self.call(
            Method::POST,
            &self.certificates_path(&self.zone_id),
            Some(body),
        )
        .await
    }

    /// Create a certificate that must succeed; returns its JSON.
    pub(crate) async fn issue(&self, csr: &str) -> Value {
        self.create(csr, 30).await.assert_ok().clone()
    }

    pub(crate) async fn token(&self, target: TokenTarget, permission: Permission) -> String {
        let request = NewTokenRequest {
            target,
            permission,
            name: None,
            expires_in: None,
            legacy_email: None,
        };
        self.server
            .authority
            .create_token(request, Actor::new(ActorKind::Cli))
            .await
            .expect("token")
            .1
    }

    pub(crate) async fn new_zone(&self, account_id: Option<&AccountId>) -> ZoneId {
        self.server
            .authority
            .create_zone("other.example", account_id, Actor::new(ActorKind::Cli))
            .await
            .expect("zone")
            .id
    }

    /// The zone's managed CA certificate (PEM).
    pub(crate) async fn ca_pem(&self) -> String {
        self.server
            .authority
            .existing_ca(&self.account_id)
            .await
            .unwrap()
            .expect("CA exists once a certificate was issued")
            .certificate_pem
    }

    /// Run one publication pass now (what the worker does on its interval).
    pub(crate) async fn publish(&self) -> u64 {
        worker::publish_pending(&self.server.authority, &worker::WorkerConfig::default())
            .await
            .unwrap()
    }

    /// The URL of a public CA endpoint (outside /client/v4).
    pub(crate) fn public_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr)
    }

    /// The account's CA id (the CA exists once a certificate was issued).
    pub(crate) async fn ca_id(&self) -> String {
        self.server
            .authority
            .existing_ca(&self.account_id)
            .await
            .unwrap()
            .expect("CA exists")
            .id
            .to_string()
    }

    pub(crate) async fn count_created_events(&self) -> usize {
        self.store
            .audit_events(None, 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.entry.action == AuditAction::CertificateCreated)
            .count()
    }
}

pub(crate) async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
    Answer {
        status,
        content_type,
        body,
    }
}

/// A fresh CSR with a P-256 key.
pub(crate) fn p256_csr(common_name: &str) -> String {
    test_support::p256_csr(&[
        (rcgen::DnType::CommonName, common_name),
        (rcgen::DnType::OrganizationName, "Acme Devices"),
    ])
}

pub(crate) use test_support::fixture;

/// `openssl` run on files in a temp dir; returns stdout, panicking with its output on failure.
pub(crate) fn openssl(args: &[&str], files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir.path())
        .output()
        .expect("openssl on PATH");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `openssl verify -x509_strict -purpose sslclient` of `leaf_pem` against `ca_pem`: must pass.
pub(crate) fn verify_client_certificate(ca_pem: &str, leaf_pem: &str) {
    verify_client_certificate_via(ca_pem, "", leaf_pem);
}

/// The same, with `intermediates_pem` (PEM blocks, possibly none) as untrusted chain.
pub(crate) fn verify_client_certificate_via(
    root_pem: &str,
    intermediates_pem: &str,
    leaf_pem: &str,
) {
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-purpose",
        "sslclient",
        "-CAfile",
        "root.pem",
    ];
    if !intermediates_pem.is_empty() {
        args.extend(["-untrusted", "chain.pem"]);
    }
    args.push("leaf.pem");
    openssl(
        &args,
        &[
            ("root.pem", root_pem),
            ("chain.pem", intermediates_pem),
            ("leaf.pem", leaf_pem),
        ],
    );
}

/// `.venv/bin/<tool>` (made by scripts/test), or `None` (skip, unless strict).
pub(crate) fn venv_tool(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.venv/bin")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    if strict() {
        panic!(
            "CLIENTCA_TEST_STRICT=1 but {} is missing: run scripts/test",
            path.display()
        );
    }
    skip_notice(
        &format!("tests needing {name}"),
        "run scripts/test (it installs the Python tools into .venv)",
    );
    None
}
