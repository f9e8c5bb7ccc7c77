//! What the scenarios share: load and server flags, CSRs, starting a server, memory lines.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::ValueEnum;
use hyper::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::load::{self, Call, Gate, LoadReport, Tally};
use crate::rss;
use crate::server::{self, Server};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KeyType {
    P256,
    Rsa2048,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub(crate) seconds: u64,
    /// Unmeasured seconds first.
    #[arg(long, default_value_t = 2)]
    pub(crate) warmup: u64,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    /// The clientca binary to start (default: the one next to this benchmark).
    #[arg(long)]
    pub(crate) server: Option<PathBuf>,
    /// Database URL for the started server (default: SQLite in a temporary directory).
    #[arg(long)]
    pub(crate) database: Option<String>,
}

pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// The CSR the create benchmarks send: a fresh P-256 key, CN and O.
pub(crate) fn p256_csr() -> String {
    test_support::p256_csr(&[
        (rcgen::DnType::CommonName, "bench-device"),
        (rcgen::DnType::OrganizationName, "Bench Inc"),
    ])
}

pub(crate) fn csr_for(key: KeyType) -> String {
    match key {
        KeyType::P256 => p256_csr(),
        KeyType::Rsa2048 => test_support::RSA_2048_CSR.to_string(),
    }
}

pub(crate) fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// Start a server for a load scenario, with a fresh SQLite database unless one is given.
pub(crate) fn start_server(
    args: &ServerArgs,
    extra: &[&str],
) -> anyhow::Result<(Server, Option<tempfile::TempDir>)> {
    let binary = args.server.clone().unwrap_or_else(server::default_binary);
    let dir = tempfile::tempdir()?;
    let mut env = vec![("CLIENTCA_DATA_DIR", dir.path().display().to_string())];
    if let Some(url) = &args.database {
        env.push(("CLIENTCA_DATABASE_URL", url.clone()));
    }
    let server = Server::start(&binary, &env, extra)?;
    if server.token.is_none() {
        bail!("the database was not empty: give a fresh --database");
    }
    Ok((server, Some(dir)))
}

/// What `seed` wrote: the database and how to reach its zone.
pub(crate) struct Seeded {
    pub(crate) json: Value,
    /// The environment a server needs to open the seeded database.
    pub(crate) env: Vec<(&'static str, String)>,
    pub(crate) token: String,
    pub(crate) zone_id: String,
}

impl Seeded {
    pub(crate) fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let json: Value = serde_json::from_slice(
            &std::fs::read(path).with_context(|| path.display().to_string())?,
        )?;
        let field = |name: &str| {
            json[name]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("{} has no {name}", path.display()))
        };
        Ok(Self {
            env: vec![
                ("CLIENTCA_DATABASE_URL", field("database")?),
                ("CLIENTCA_MASTER_KEY", field("master_key")?),
            ],
            token: field("token")?,
            zone_id: field("zone_id")?,
            json,
        })
    }
}

pub(crate) fn memory_line(pid: u32, idle_kib: u64) -> String {
    let (current, peak) = rss::of_process(pid);
    format!(
        "server_rss idle={} MiB current={} MiB peak={} MiB",
        idle_kib / 1024,
        current / 1024,
        peak / 1024
    )
}

pub(crate) async fn idle_rss(pid: u32) -> u64 {
    tokio::time::sleep(Duration::from_secs(1)).await;
    rss::of_process(pid).0
}

pub(crate) fn certificates_url(server: &Server) -> anyhow::Result<String> {
    let zone = server.zone_id.as_deref().context("no zone")?;
    Ok(format!(
        "{}/client/v4/zones/{zone}/client_certificates",
        server.base_url
    ))
}

/// Create `count` certificates through the API; their ids.
pub(crate) async fn precreate(server: &Server, count: usize) -> anyhow::Result<Vec<String>> {
    let token = server.token.clone().context("token")?;
    let url = certificates_url(server)?;
    let client = load::client(8);
    let body = serde_json::to_vec(&json!({"csr": p256_csr(), "validity_days": 30}))?;
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let call = Call::new(Method::POST, url.clone())
            .header("authorization", &format!("Bearer {token}"))
            .json(body.clone());
        let answer: Value = serde_json::from_slice(&load::send(&client, &call).await?)?;
        ids.push(answer["result"]["id"].as_str().context("id")?.to_string());
    }
    Ok(ids)
}

/// `<label> concurrency=C <latencies> <memory>`, then the first error if any request failed.
/// Let `workers` run through the load's warm-up and measured time, then print the report with
/// the summed memory of the server processes `pids` (`idle_kib` measured before the load).
pub(crate) async fn drive_and_report(
    label: &str,
    load: &LoadArgs,
    pids: &[u32],
    idle_kib: u64,
    gate: Gate,
    workers: Vec<tokio::task::JoinHandle<Tally>>,
) {
    let report = load::drive(gate, secs(load.warmup), secs(load.seconds), workers).await;
    print_report(
        label,
        load.concurrency,
        &report,
        &rss::processes_line(pids, idle_kib),
    );
}

pub(crate) fn print_report(label: &str, concurrency: usize, report: &LoadReport, memory: &str) {
    println!(
        "{label} concurrency={concurrency} {} {memory}",
        report.summary()
    );
    if let Some(error) = &report.first_error {
        println!("first error: {error}");
    }
}
