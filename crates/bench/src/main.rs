//! `clientca-bench`: the figures in BENCHMARKS.md come from here.
//!
//! Run in release mode: `cargo run --release -p bench -- <scenario> …`.

mod rss;

use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pki::{RevocationReason, RevokedEntry, SerialNumber};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Parser)]
#[command(name = "clientca-bench", about = "Benchmarks for clientca")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Sign one CRL with N revoked entries (P-256 CA); reports time and the process's peak RSS.
    Crl {
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        /// Repetitions (the best and median times are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().scenario {
        Scenario::Crl { entries, runs } => crl(entries, runs),
    }
}

fn crl(entries: usize, runs: usize) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .context("time")?;
    let ca = pki::generate_managed_ca("bench CA", now, Duration::days(3650))?;
    let signer = pki::CaSigner::from_parts(&ca.certificate_der, &ca.private_key_pkcs8_der)?;
    let revoked: Vec<RevokedEntry> = (0..entries)
        .map(|i| RevokedEntry {
            serial: SerialNumber::random(),
            revoked_at: now - Duration::seconds(i as i64 % 86_400),
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
        let der = pki::sign_crl(&signer, 2, now, now + Duration::days(1), &revoked)?;
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
