//! `publication`: one worker round settling N pending revocations on a seeded database (e.g. a
//! million already revoked), in this process: time end to end, CRLs signed, peak RSS of the round.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use authority::{Authority, Config, MasterKey, RevocationReason};
use store::{Actor, ActorKind, CertificateId, CertificateQuery, CertificateStatus, Zone, ZoneId};

use crate::rss;

/// Revocations requested at once while preparing (they queue on the one SQLite writer anyway).
const REVOKERS: usize = 16;

#[derive(Debug, clap::Args)]
pub(crate) struct PublicationArgs {
    /// The JSON file `seed` wrote; its database is changed (copy it first to run again).
    #[arg(long)]
    seed: PathBuf,
    /// Active certificates to revoke before the measured round.
    #[arg(long, default_value_t = 10_000)]
    pending: u64,
    /// Only prepare (baseline CRL, revocations requested) and stop: a later `--measure-only` run
    /// then measures the round in a fresh process, whose peak RSS is the round's alone.
    #[arg(long, conflicts_with = "measure_only")]
    prepare_only: bool,
    /// Only run and measure the round (after a `--prepare-only` run on the same seed).
    #[arg(long)]
    measure_only: bool,
}

pub(crate) async fn run(args: PublicationArgs) -> anyhow::Result<()> {
    let seed: serde_json::Value = serde_json::from_slice(&std::fs::read(&args.seed)?)?;
    let text = |key: &str| {
        seed[key]
            .as_str()
            .with_context(|| format!("{key} in {}", args.seed.display()))
    };
    let store = store::connect(text("database")?).await?;
    let config = Config {
        master_key: Some(MasterKey::from_hex(text("master_key")?)?),
        ..Config::default()
    };
    let authority = Authority::new(Arc::clone(&store), config).await?;
    let zone_id = ZoneId::parse(text("zone_id")?).context("zone_id")?;
    let zone = authority
        .zones()
        .await?
        .into_iter()
        .find(|zone| zone.id == zone_id)
        .context("the seeded zone")?;
    let round = worker::WorkerConfig::default();
    if !args.measure_only {
        prepare(&authority, &store, &zone, &round, args.pending).await?;
        if args.prepare_only {
            return Ok(());
        }
    }
    let already_revoked = store
        .count_certificates(&zone_id, Some(CertificateStatus::Revoked))
        .await?;
    let crls_before = crl_total(&authority).await?;
    rss::reset_peak();
    let before_kib = rss::peak_kib();
    let started = Instant::now();
    let settled = worker::publish_pending(&authority, &round).await?;
    let took = started.elapsed();
    let crls = crl_total(&authority).await? - crls_before;
    println!(
        "publication already_revoked={already_revoked} settled={settled} seconds={:.2} crls_signed={crls} \
         peak_rss={} MiB (before the round: {} MiB)",
        took.as_secs_f64(),
        rss::peak_kib() / 1024,
        before_kib / 1024,
    );
    Ok(())
}

/// A CRL listing what the seed revoked, as a running deployment would have, then `pending`
/// revocations requested through the authority.
async fn prepare(
    authority: &Arc<Authority>,
    store: &store::DynStore,
    zone: &Zone,
    round: &worker::WorkerConfig,
    pending: u64,
) -> anyhow::Result<()> {
    let zone_id = zone.id.clone();
    let page = store
        .list_certificates(&CertificateQuery {
            zone_id: zone_id.clone(),
            status: Some(CertificateStatus::Active),
            offset: 0,
            limit: pending + 1,
        })
        .await?;
    anyhow::ensure!(
        page.items.len() as u64 == pending + 1,
        "the seed has {} active certificates, fewer than --pending {pending} + 1",
        page.total,
    );
    let mut ids: Vec<_> = page.items.into_iter().map(|item| item.id).collect();

    // The seed imports revoked rows without publishing them: one revocation and a round sign the
    // CRL a running deployment would already have (read from the database, the CRL being empty).
    let started = Instant::now();
    revoke(authority, zone, vec![ids.remove(0)]).await?;
    let settled = worker::publish_pending(authority, round).await?;
    eprintln!(
        "baseline round: {settled} settled in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let requested = ids.len();
    let chunk = ids.len().div_ceil(REVOKERS).max(1);
    let mut revokers = Vec::new();
    for part in ids.chunks(chunk) {
        let (authority, zone, part) = (Arc::clone(authority), zone.clone(), part.to_vec());
        revokers.push(tokio::spawn(async move {
            revoke(&authority, &zone, part).await
        }));
    }
    for revoker in revokers {
        revoker.await??;
    }
    eprintln!(
        "{requested} revocations requested in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn revoke(authority: &Authority, zone: &Zone, ids: Vec<CertificateId>) -> anyhow::Result<()> {
    for id in ids {
        authority
            .revoke_certificate(
                zone,
                &id,
                Some(RevocationReason::KeyCompromise),
                Actor::new(ActorKind::Cli),
            )
            .await?;
    }
    Ok(())
}

/// CRLs signed so far, over every CA (their numbers count up from 1).
async fn crl_total(authority: &Authority) -> anyhow::Result<i64> {
    Ok(authority
        .published_crl_numbers()
        .await?
        .iter()
        .map(|(_, number)| number)
        .sum())
}
