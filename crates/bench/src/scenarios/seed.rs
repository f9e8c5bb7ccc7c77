//! `seed`: bulk-load a zone with real, signed certificates through the store's import path (a
//! benchmark tool reaches below the authority on purpose: a million API creates would take
//! longer than the benchmark they prepare).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use authority::{Authority, Config, IssueRequest, MasterKey, RevocationReason};
use pki::{CaSigner, LeafRequest, SerialNumber, VerifiedCsr};
use serde_json::json;
use store::{Actor, ActorKind, CertificateId, CertificateRecord, CertificateStatus, Rows};

use super::common::{now, p256_csr};

const BATCH: usize = 5_000;
const SAMPLE_IDS: usize = 10_000;

#[derive(Debug, clap::Args)]
pub(crate) struct SeedArgs {
    #[arg(long)]
    database: String,
    #[arg(long, default_value_t = 1_000_000)]
    count: usize,
    /// Percentage of certificates revoked.
    #[arg(long, default_value_t = 5)]
    revoked_percent: u64,
    #[arg(long)]
    out: PathBuf,
}

pub(crate) async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let SeedArgs {
        database,
        count,
        revoked_percent,
        out,
    } = args;
    let (database, out) = (database.as_str(), out.as_path());
    let started = Instant::now();
    let store = store::connect(database).await?;
    let key = MasterKey::generate()?;
    let config = Config {
        master_key: Some(key.clone()),
        ..Config::default()
    };
    let authority = Authority::new(Arc::clone(&store), config).await?;
    let boot = authority
        .bootstrap_if_empty()
        .await?
        .context("seed needs an empty database")?;
    // The first certificate goes through the normal path, which also creates the zone's CA.
    let csr_pem = p256_csr();
    let request = IssueRequest {
        csr: csr_pem.clone(),
        validity_days: 365,
    };
    let first = authority
        .issue_certificate(&boot.zone, request, Actor::new(ActorKind::Cli))
        .await?;
    let ca = store.get_ca(&first.ca_id).await?.context("CA")?;
    let signer = CaSigner::from_parts(
        &ca.certificate_der,
        &key.open(&ca.sealed_private_key, ca.id.as_str().as_bytes())?,
    )?;
    let csr = VerifiedCsr::parse_pem(&csr_pem)?;

    let mut sample_ids = vec![first.id.to_string()];
    let mut seq = 1_i64; // the first certificate, in a fresh database, has sequence number 1
    let mut done = 1;
    while done < count {
        let size = BATCH.min(count - done);
        let records = sign_batch(&signer, &csr, &first, size, revoked_percent)?;
        if sample_ids.len() < SAMPLE_IDS {
            sample_ids.extend(records.iter().step_by(50).map(|r| r.id.to_string()));
        }
        let rows = records
            .into_iter()
            .map(|record| {
                seq += 1;
                (seq, record)
            })
            .collect();
        store.import_rows(&Rows::Certificates(rows)).await?;
        done += size;
        if done % 100_000 < BATCH {
            eprintln!(
                "seeded {done}/{count} ({:.0}s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.analyze().await?;
    sample_ids.truncate(SAMPLE_IDS);
    let revoked = store
        .count_certificates(&boot.zone.id, Some(CertificateStatus::Revoked))
        .await?;
    let summary = json!({
        "database": database,
        "master_key": key.to_hex(),
        "token": boot.secret,
        "zone_id": boot.zone.id.to_string(),
        "count": count,
        "revoked_percent": revoked_percent,
        "revoked": revoked,
        "sample_ids": sample_ids,
    });
    std::fs::write(out, serde_json::to_vec_pretty(&summary)?)?;
    println!(
        "seeded {count} certificates ({revoked_percent}% revoked) in {:.1}s; details in {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// `size` real leaves signed on two threads, shaped like the first (same zone, CA, subject).
fn sign_batch(
    signer: &CaSigner,
    csr: &VerifiedCsr,
    template: &CertificateRecord,
    size: usize,
    revoked_percent: u64,
) -> anyhow::Result<Vec<CertificateRecord>> {
    let halves = [size / 2, size - size / 2];
    std::thread::scope(|scope| {
        let workers: Vec<_> = halves
            .iter()
            .map(|&n| {
                scope.spawn(move || {
                    (0..n)
                        .map(|_| sign_one(signer, csr, template, revoked_percent))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(size);
        for worker in workers {
            all.extend(
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("signing thread panicked"))??,
            );
        }
        Ok(all)
    })
}

fn sign_one(
    signer: &CaSigner,
    csr: &VerifiedCsr,
    template: &CertificateRecord,
    revoked_percent: u64,
) -> anyhow::Result<CertificateRecord> {
    let now = now();
    let leaf = pki::issue_leaf(
        signer,
        LeafRequest {
            csr,
            serial: SerialNumber::time_ordered(now),
            now,
            validity_days: 365,
            publication: None,
        },
    )?;
    let revoked = (uuid::Uuid::new_v4().as_u128() % 100) < u128::from(revoked_percent);
    Ok(CertificateRecord {
        id: CertificateId::new_v7(),
        serial_number: leaf.serial,
        status: if revoked {
            CertificateStatus::Revoked
        } else {
            CertificateStatus::Active
        },
        certificate_pem: leaf.pem,
        fingerprint_sha256: leaf.fingerprint_sha256,
        ski: leaf.ski,
        issued_on: leaf.not_before,
        expires_on: leaf.not_after,
        revoked_at: revoked.then_some(now),
        revocation_reason: revoked.then_some(RevocationReason::KeyCompromise),
        updated_at: now,
        ..template.clone()
    })
}
