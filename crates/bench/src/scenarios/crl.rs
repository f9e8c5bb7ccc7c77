//! `crl`: sign one CRL with N revoked entries; time and this process's peak RSS.

use std::time::Instant;

use pki::{RevocationReason, RevokedEntry, SerialNumber};

use super::common::now;
use crate::rss;

#[derive(Debug, clap::Args)]
pub(crate) struct CrlArgs {
    #[arg(long, default_value_t = 1_000_000)]
    entries: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

pub(crate) fn run(CrlArgs { entries, runs }: CrlArgs) -> anyhow::Result<()> {
    let now = now();
    let ca = pki::generate_managed_ca(
        "bench CA",
        now,
        time::Duration::days(3650),
        Default::default(),
    )?;
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
