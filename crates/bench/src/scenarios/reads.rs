//! `reads`: against a seeded database — startup time, list pages (first and deep, with and
//! without a status filter) and details latency.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use hyper::Method;
use serde_json::Value;

use super::common::{Seeded, idle_rss, memory_line, secs};
use crate::load::{self, Call};
use crate::server::{self, Server};

#[derive(Debug, clap::Args)]
pub(crate) struct ReadsArgs {
    /// The JSON file `seed` wrote.
    #[arg(long)]
    seed: PathBuf,
    /// The clientca binary to start (default: the one next to this benchmark).
    #[arg(long)]
    server: Option<PathBuf>,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

pub(crate) async fn run(args: ReadsArgs) -> anyhow::Result<()> {
    let ReadsArgs {
        seed: seed_file,
        server: binary,
        concurrency,
        seconds,
    } = args;
    let Seeded {
        json: seed,
        env,
        token,
        zone_id: zone,
    } = Seeded::read(&seed_file)?;
    let count = seed["count"].as_u64().unwrap_or(0);
    let binary = binary.unwrap_or_else(server::default_binary);

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
