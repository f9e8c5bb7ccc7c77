//! `clientca-bench`: the figures in BENCHMARKS.md come from here.
//!
//! Build and run in release mode: `cargo build --release -p bench -p clientca`, then
//! `target/release/clientca-bench <scenario> …`. Scenarios that need a server start
//! `target/release/clientca serve` themselves (next to this binary) and report its memory.

mod load;
mod rss;
mod seed;
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use hyper::Method;
use pki::{LeafRequest, RevocationReason, RevokedEntry, SerialNumber, VerifiedCsr};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::load::Call;
use crate::server::Server;

const RSA_2048_CSR: &str = include_str!("../../pki/tests/fixtures/rsa2048.csr");

#[derive(Debug, Parser)]
#[command(name = "clientca-bench", about = "Benchmarks for clientca")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeyType {
    P256,
    Rsa2048,
}

#[derive(Debug, clap::Args)]
struct LoadArgs {
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured seconds first.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
}

#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// The clientca binary to start (default: the one next to this benchmark).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Database URL for the started server (default: SQLite in a temporary directory).
    #[arg(long)]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Sign one CRL with N revoked entries (P-256 CA); time and this process's peak RSS.
    Crl {
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The in-process issuance ceiling: CSR parse + verify + leaf signing on one thread.
    Inprocess {
        #[arg(long, value_enum, default_value_t = KeyType::P256)]
        key: KeyType,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// POST creates against a freshly started server; throughput, latency, server RSS.
    Create {
        #[arg(long, value_enum, default_value_t = KeyType::P256)]
        key: KeyType,
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// POST a fixed body to any URL (the peer benchmark: cfssl's /api/v1/cfssl/sign).
    Post {
        #[arg(long)]
        url: String,
        #[arg(long)]
        body_file: PathBuf,
        /// `Name: value`, repeatable.
        #[arg(long)]
        header: Vec<String>,
        /// The server's pid, to report its memory.
        #[arg(long)]
        pid: Option<u32>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Put N certificates into one zone of a database through the store (bulk import of real,
    /// signed leaves); writes what the read benchmarks need to a JSON file.
    Seed {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Percentage of certificates revoked.
        #[arg(long, default_value_t = 5)]
        revoked_percent: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Against a seeded database: startup time, list (first and deep pages, with and without a
    /// status filter) and details latency.
    Reads {
        #[arg(long)]
        seed: PathBuf,
        #[arg(long)]
        server: Option<PathBuf>,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Revoke then reactivate (inside the publication window) certificates, over and over.
    RevokeCycle {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// 10% creates, 50% details, 30% list page 1, 10% revoke/reactivate.
    Mixed {
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn main() -> anyhow::Result<()> {
    let scenario = Cli::parse().scenario;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match scenario {
            Scenario::Crl { entries, runs } => crl(entries, runs),
            Scenario::Inprocess { key, seconds } => inprocess(key, seconds),
            Scenario::Create { key, load, server } => create(key, load, server).await,
            Scenario::Post {
                url,
                body_file,
                header,
                pid,
                load,
            } => post(url, body_file, header, pid, load).await,
            Scenario::Seed {
                database,
                count,
                revoked_percent,
                out,
            } => seed::seed(&database, count, revoked_percent, &out).await,
            Scenario::Reads {
                seed,
                server,
                concurrency,
                seconds,
            } => reads(seed, server, concurrency, seconds).await,
            Scenario::RevokeCycle { load, server } => revoke_cycle(load, server).await,
            Scenario::Mixed { load, server } => mixed(load, server).await,
        }
    })
}

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn p256_csr() -> anyhow::Result<String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bench-device");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Bench Inc");
    Ok(params.serialize_request(&key)?.pem()?)
}

fn csr_for(key: KeyType) -> anyhow::Result<String> {
    match key {
        KeyType::P256 => p256_csr(),
        KeyType::Rsa2048 => Ok(RSA_2048_CSR.to_string()),
    }
}

fn crl(entries: usize, runs: usize) -> anyhow::Result<()> {
    let now = now();
    let ca = pki::generate_managed_ca("bench CA", now, time::Duration::days(3650))?;
    let signer = pki::CaSigner::from_parts(&ca.certificate_der, &ca.private_key_pkcs8_der)?;
    let revoked: Vec<RevokedEntry> = (0..entries)
        .map(|i| RevokedEntry {
            serial: SerialNumber::random(),
            revoked_at: now - time::Duration::seconds(i as i64 % 86_400),
            reason: if i % 3 == 0 {
                RevocationReason::KeyCompromise
            } else {
                RevocationReason::Unspecified
            },
        })
        .collect();
    let baseline = rss::peak_kib();
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let der = pki::sign_crl(&signer, 2, now, now + time::Duration::days(1), &revoked)?;
        times.push(started.elapsed());
        size = der.len();
    }
    times.sort();
    println!(
        "crl entries={entries} runs={} best={:.3}s median={:.3}s der_bytes={size} peak_rss={} MiB (before signing: {} MiB)",
        times.len(),
        times[0].as_secs_f64(),
        times[times.len() / 2].as_secs_f64(),
        rss::peak_kib() / 1024,
        baseline / 1024,
    );
    Ok(())
}

fn inprocess(key: KeyType, seconds: u64) -> anyhow::Result<()> {
    let ca = pki::generate_managed_ca("bench CA", now(), time::Duration::days(3650))?;
    let signer = pki::CaSigner::from_parts(&ca.certificate_der, &ca.private_key_pkcs8_der)?;
    let csr = csr_for(key)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut issued = 0u64;
    while Instant::now() < deadline {
        let verified = VerifiedCsr::parse_pem(&csr)?;
        let request = LeafRequest {
            csr: &verified,
            serial: SerialNumber::random(),
            now: now(),
            validity_days: 30,
            publication: None,
        };
        std::hint::black_box(pki::issue_leaf(&signer, request)?);
        issued += 1;
    }
    println!(
        "inprocess key={key:?} threads=1 issued={issued} rate={:.0}/s (CSR parse + verify + sign, P-256 CA)",
        issued as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Start a server for a load scenario, with a fresh SQLite database unless one is given.
fn start_server(
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

fn memory_line(pid: u32, idle_kib: u64) -> String {
    let (current, peak) = rss::of_process(pid);
    format!(
        "server_rss idle={} MiB current={} MiB peak={} MiB",
        idle_kib / 1024,
        current / 1024,
        peak / 1024
    )
}

async fn idle_rss(pid: u32) -> u64 {
    tokio::time::sleep(Duration::from_secs(1)).await;
    rss::of_process(pid).0
}

fn certificates_url(server: &Server) -> anyhow::Result<String> {
    let zone = server.zone_id.as_deref().context("no zone")?;
    Ok(format!(
        "{}/client/v4/zones/{zone}/client_certificates",
        server.base_url
    ))
}

async fn create(key: KeyType, load: LoadArgs, args: ServerArgs) -> anyhow::Result<()> {
    let (server, _dir) = start_server(&args, &[])?;
    let idle = idle_rss(server.pid()).await;
    let token = server.token.clone().context("token")?;
    let url = certificates_url(&server)?;
    let body = serde_json::to_vec(&json!({"csr": csr_for(key)?, "validity_days": 30}))?;
    let call = Call::new(Method::POST, url)
        .header("authorization", &format!("Bearer {token}"))
        .json(body);
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |_, _| call.clone(),
    )
    .await;
    println!(
        "create key={key:?} concurrency={} {} {}",
        load.concurrency,
        report.summary(),
        memory_line(server.pid(), idle)
    );
    if let Some(error) = report.first_error {
        println!("first error: {error}");
    }
    Ok(())
}

async fn post(
    url: String,
    body_file: PathBuf,
    headers: Vec<String>,
    pid: Option<u32>,
    load: LoadArgs,
) -> anyhow::Result<()> {
    let body = std::fs::read(&body_file).with_context(|| format!("{}", body_file.display()))?;
    let mut call = Call::new(Method::POST, url).json(body);
    for header in headers {
        let (name, value) = header
            .split_once(':')
            .context("--header takes `Name: value`")?;
        call = call.header(name.trim(), value.trim());
    }
    let idle = pid
        .map(rss::of_process)
        .map(|(current, _)| current)
        .unwrap_or(0);
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |_, _| call.clone(),
    )
    .await;
    let memory = pid.map(|pid| memory_line(pid, idle)).unwrap_or_default();
    println!(
        "post concurrency={} {} {memory}",
        load.concurrency,
        report.summary()
    );
    if let Some(error) = report.first_error {
        println!("first error: {error}");
    }
    Ok(())
}

fn secs(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

async fn reads(
    seed_file: PathBuf,
    binary: Option<PathBuf>,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let seed: Value = serde_json::from_slice(&std::fs::read(&seed_file)?)?;
    let field = |name: &str| {
        seed[name]
            .as_str()
            .map(str::to_string)
            .context(name.to_string())
    };
    let (database, key, token, zone) = (
        field("database")?,
        field("master_key")?,
        field("token")?,
        field("zone_id")?,
    );
    let count = seed["count"].as_u64().unwrap_or(0);
    let binary = binary.unwrap_or_else(server::default_binary);
    let env = vec![
        ("CLIENTCA_DATABASE_URL", database.clone()),
        ("CLIENTCA_MASTER_KEY", key),
    ];

    // Startup: spawn to /healthz answering, five times.
    let mut startups = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let server = Server::start(&binary, &env, &[])?;
        server::wait_ready(&format!("{}/healthz", server.base_url), secs(30)).await?;
        startups.push(started.elapsed());
    }
    startups.sort();
    println!(
        "startup certificates={count} runs=5 best={:.0}ms median={:.0}ms worst={:.0}ms (spawn to /healthz 200)",
        startups[0].as_secs_f64() * 1000.0,
        startups[2].as_secs_f64() * 1000.0,
        startups[4].as_secs_f64() * 1000.0
    );

    let server = Server::start(&binary, &env, &[])?;
    let idle = idle_rss(server.pid()).await;
    let base = format!(
        "{}/client/v4/zones/{zone}/client_certificates",
        server.base_url
    );
    let auth = format!("Bearer {token}");
    // The last full page of each set (page 20,000 of 1,000,000 with per_page 50).
    let revoked = seed["revoked"].as_u64().unwrap_or(0);
    let deep_all = (count / 50).max(1);
    let deep_active = ((count - revoked) / 50).max(1);
    let deep_revoked = (revoked / 50).max(1);
    let lists = [
        ("list page=1".to_string(), "per_page=50&page=1".to_string()),
        (
            format!("list page={deep_all}"),
            format!("per_page=50&page={deep_all}"),
        ),
        (
            "list status=active page=1".into(),
            "status=active&per_page=50&page=1".into(),
        ),
        (
            format!("list status=active page={deep_active}"),
            format!("status=active&per_page=50&page={deep_active}"),
        ),
        (
            "list status=revoked page=1".into(),
            "status=revoked&per_page=50&page=1".into(),
        ),
        (
            format!("list status=revoked page={deep_revoked}"),
            format!("status=revoked&per_page=50&page={deep_revoked}"),
        ),
        ("list page=20000".into(), "per_page=50&page=20000".into()),
        (
            "list status=active page=20000".into(),
            "status=active&per_page=50&page=20000".into(),
        ),
    ];
    for (name, query) in lists {
        let call = Call::new(Method::GET, format!("{base}?{query}")).header("authorization", &auth);
        let check = load::send(&load::client(1), &call).await?;
        let returned = serde_json::from_slice::<Value>(&check)?["result"]
            .as_array()
            .map_or(0, Vec::len);
        let report = load::run(concurrency, secs(1), secs(seconds), move |_, _| {
            call.clone()
        })
        .await;
        println!(
            "{name:<36} items={returned:<3} concurrency={concurrency} {}",
            report.summary()
        );
    }
    let ids: Vec<String> = seed["sample_ids"]
        .as_array()
        .context("sample_ids")?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let details_base = base.clone();
    let report = load::run(concurrency, secs(1), secs(seconds), move |worker, n| {
        let id = &ids[(worker * 7919 + n * 104_729) % ids.len()];
        Call::new(Method::GET, format!("{details_base}/{id}")).header("authorization", &auth)
    })
    .await;
    println!(
        "{:<36} concurrency={concurrency} {}",
        "details (random ids)",
        report.summary()
    );
    println!("{}", memory_line(server.pid(), idle));
    Ok(())
}

/// Create `count` certificates through the API; their ids.
async fn precreate(server: &Server, count: usize) -> anyhow::Result<Vec<String>> {
    let token = server.token.clone().context("token")?;
    let url = certificates_url(server)?;
    let client = load::client(8);
    let body = serde_json::to_vec(&json!({"csr": p256_csr()?, "validity_days": 30}))?;
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

async fn revoke_cycle(load: LoadArgs, args: ServerArgs) -> anyhow::Result<()> {
    // A long publication interval: revocations stay undoable, so the cycle never hits "final".
    let (server, _dir) = start_server(&args, &["--publish-interval", "1h"])?;
    let idle = idle_rss(server.pid()).await;
    let ids = precreate(&server, load.concurrency * 8).await?;
    let base = certificates_url(&server)?;
    let auth = format!("Bearer {}", server.token.clone().context("token")?);
    let per_worker = 8;
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |worker, n| {
            let id = &ids[worker * per_worker + (n / 2) % per_worker];
            let url = format!("{base}/{id}");
            if n % 2 == 0 {
                Call::new(Method::DELETE, url).header("authorization", &auth)
            } else {
                Call::new(Method::PATCH, url)
                    .header("authorization", &auth)
                    .json(b"{}".to_vec())
            }
        },
    )
    .await;
    println!(
        "revoke+reactivate concurrency={} {} {}",
        load.concurrency,
        report.summary(),
        memory_line(server.pid(), idle)
    );
    Ok(())
}

async fn mixed(load: LoadArgs, args: ServerArgs) -> anyhow::Result<()> {
    let (server, _dir) = start_server(&args, &["--publish-interval", "1h"])?;
    let idle = idle_rss(server.pid()).await;
    let ids = precreate(&server, 1000).await?;
    let base = certificates_url(&server)?;
    let auth = format!("Bearer {}", server.token.clone().context("token")?);
    let create_body = serde_json::to_vec(&json!({"csr": p256_csr()?, "validity_days": 30}))?;
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |worker, n| {
            let id = &ids[(worker * 31 + n * 17) % ids.len()];
            let call = match n % 10 {
                0 => Call::new(Method::POST, base.clone()).json(create_body.clone()),
                1..=5 => Call::new(Method::GET, format!("{base}/{id}")),
                6..=8 => Call::new(Method::GET, format!("{base}?per_page=50")),
                // Revoke on even rounds, reactivate on odd ones: always the same certificate pair.
                _ if (n / 10) % 2 == 0 => Call::new(
                    Method::DELETE,
                    format!("{base}/{}", ids[worker % ids.len()]),
                ),
                _ => Call::new(Method::PATCH, format!("{base}/{}", ids[worker % ids.len()]))
                    .json(b"{}".to_vec()),
            };
            call.header("authorization", &auth)
        },
    )
    .await;
    println!(
        "mixed concurrency={} {} {}",
        load.concurrency,
        report.summary(),
        memory_line(server.pid(), idle)
    );
    if let Some(error) = report.first_error {
        println!("first error: {error}");
    }
    Ok(())
}
