//! The publication worker: turns `pending_revocation` into `revoked` and `pending_reactivation`
//! into `active` once the change is published.
//!
//! The pending states are the honest time publication takes. Each batch is: read pending
//! certificates → publish (the step where CRL signing, OCSP refresh and gateway notification
//! belong) → settle the batch in one transaction. State lives only in the database, so a restart
//! resumes whatever was left pending, and settling is conditional on the status still being the
//! one read, so a transition completes at most once even with several workers.

use std::time::Duration;

use store::{Actor, ActorKind, AuditEntry, DynStore, PendingTransition, StoreResult};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How often pending transitions are published (the window in which a revocation can be undone).
    pub interval: Duration,
    /// Certificates per batch (one publication and one settling transaction each).
    pub batch_size: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            batch_size: 500,
        }
    }
}

/// Batches per tick at most, so a store that keeps returning rows it cannot settle never spins.
const MAX_BATCHES_PER_TICK: usize = 1_000;

/// Run until `shutdown` turns true, publishing every `interval`.
pub async fn run(store: DynStore, config: WorkerConfig, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(
        interval_ms = config.interval.as_millis() as u64,
        "publication worker started"
    );
    loop {
        match publish_pending(&store, &config).await {
            Ok(0) => {}
            Ok(settled) => tracing::info!(settled, "published pending transitions"),
            Err(error) => tracing::warn!(%error, "publication failed; retrying next interval"),
        }
        tokio::select! {
            _ = tokio::time::sleep(config.interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    tracing::info!("publication worker stopped");
}

/// Publish and settle everything pending now; returns how many transitions completed.
pub async fn publish_pending(store: &DynStore, config: &WorkerConfig) -> StoreResult<u64> {
    let mut settled = 0;
    for _ in 0..MAX_BATCHES_PER_TICK {
        let batch = store.pending_transitions(config.batch_size).await?;
        if batch.is_empty() {
            break;
        }
        publish(&batch);
        let audit = AuditEntry {
            occurred_at: now(),
            actor: Actor::new(ActorKind::Worker),
            action: "certificate.published".into(),
            object_type: "certificate".into(),
            object_id: String::new(),
            account_id: None,
            zone_id: None,
            details: None,
        };
        settled += store.complete_transitions(&batch, &audit).await?;
        if batch.len() < config.batch_size as usize {
            break;
        }
    }
    Ok(settled)
}

/// Make the batch's new states visible to relying parties. Nothing consumes revocation data yet;
/// CRL and OCSP publication hook in here, before the batch is settled.
fn publish(batch: &[PendingTransition]) {
    tracing::debug!(certificates = batch.len(), "publishing batch");
}

fn now() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}
