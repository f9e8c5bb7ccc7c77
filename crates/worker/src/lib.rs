//! The publication worker: turns `pending_revocation` into `revoked` and `pending_reactivation`
//! into `active` once the change is published.
//!
//! The pending states are the honest time publication takes. Each pass (see
//! [`authority::Authority::publish`]) signs a new CRL for every CA whose revocations changed,
//! pre-signs OCSP answers for the changed serials, stores them, and only then settles the batch —
//! all in one transaction, so a crash or restart never loses or repeats a transition, and a
//! concurrent reactivation either lands before publication or finds the certificate revoked. CRLs
//! are also re-signed before they expire when nothing changed. With several replicas, one
//! publishes at a time; the others skip that round. Each round also seals the audit events
//! appended since the last one into the audit log's hash chain.

use std::sync::Arc;
use std::time::Duration;

use authority::{Authority, Error};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How often pending transitions are published (the window in which a revocation can be undone).
    pub interval: Duration,
    /// Certificates settled per pass at most (one transaction, one CRL per CA touched). Large,
    /// because a pass re-signs each touched CA's whole CRL: at 1M revoked entries that is the
    /// cost of the pass, however few certificates it settles.
    pub batch_size: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            batch_size: 10_000,
        }
    }
}

/// Batches per round at most, so a round always ends.
const MAX_BATCHES_PER_ROUND: usize = 1_000;

/// Run until `shutdown` turns true, publishing every `interval`.
pub async fn run(
    authority: Arc<Authority>,
    config: WorkerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(
        interval_ms = config.interval.as_millis() as u64,
        "publication worker started"
    );
    loop {
        match publish_pending(&authority, &config).await {
            Ok(0) => {}
            Ok(settled) => tracing::info!(settled, "published pending transitions"),
            Err(error) => tracing::warn!(%error, "publication failed; retrying next interval"),
        }
        if let Err(error) = authority.seal_audit_log().await {
            tracing::warn!(%error, "sealing the audit log failed; retrying next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(config.interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    tracing::info!("publication worker stopped");
}

/// One round: publish and settle everything pending now; returns how many transitions completed.
pub async fn publish_pending(authority: &Authority, config: &WorkerConfig) -> Result<u64, Error> {
    let mut settled = 0;
    for _ in 0..MAX_BATCHES_PER_ROUND {
        let report = authority.publish(config.batch_size).await?;
        settled += report.settled;
        if report.skipped || report.settled < u64::from(config.batch_size) {
            break;
        }
    }
    Ok(settled)
}
