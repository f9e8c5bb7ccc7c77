//! Group commit, shared by both databases: creates that arrive while a commit is in flight share
//! the next transaction, so N concurrent creates cost one durable commit instead of N. Every caller
//! is answered only after the COMMIT that holds its row has returned; a create that fails (a serial
//! collision, a quota) fails alone.
//!
//! The committer runs on its own thread with a single-threaded runtime: on a busy multi-threaded
//! runtime (signing certificates), a task woken after each statement would queue behind CPU-heavy
//! request tasks, and every create would wait for that queueing on the commit path.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::StoreResult;
use crate::error::StoreError;
use crate::model::{AuditEntry, CertificateRecord};

/// Creates committed together at most.
pub(crate) const MAX_GROUP: usize = 256;

/// One create waiting for the group commit.
pub(crate) struct CreateJob {
    pub(crate) cert: CertificateRecord,
    pub(crate) audit: AuditEntry,
    pub(crate) quota: Option<u64>,
    done: oneshot::Sender<StoreResult<()>>,
}

/// How one database commits a group.
pub(crate) trait CommitGroup: 'static {
    /// Commit what can be committed of `jobs`; one result per job, in order.
    fn commit_group(&mut self, jobs: &[CreateJob]) -> impl Future<Output = Vec<StoreResult<()>>>;
}

/// Where creates are handed to the committer.
#[derive(Clone)]
pub(crate) struct Creates(mpsc::Sender<CreateJob>);

impl Creates {
    /// Start the committer thread `name`; `make` builds the committer inside its runtime (so
    /// connections it opens belong to that runtime).
    pub(crate) fn spawn<C: CommitGroup>(
        name: &str,
        make: impl FnOnce() -> C + Send + 'static,
    ) -> StoreResult<Self> {
        let (sender, queue) = mpsc::channel(4 * MAX_GROUP);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StoreError::CommitterStart)?;
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || runtime.block_on(async move { run(make(), queue).await }))
            .map_err(StoreError::CommitterStart)?;
        Ok(Self(sender))
    }

    /// Hand a create to the committer and wait until its group is committed.
    pub(crate) async fn submit(
        &self,
        cert: &CertificateRecord,
        audit: &AuditEntry,
        quota: Option<u64>,
    ) -> StoreResult<()> {
        let (done, committed) = oneshot::channel();
        let job = CreateJob {
            cert: cert.clone(),
            audit: audit.clone(),
            quota,
            done,
        };
        self.0
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        committed.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run(mut committer: impl CommitGroup, mut queue: mpsc::Receiver<CreateJob>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        let started = std::time::Instant::now();
        let results = committer.commit_group(&jobs).await;
        tracing::debug!(
            creates = jobs.len(),
            micros = started.elapsed().as_micros() as u64,
            "group committed"
        );
        for (job, result) in jobs.drain(..).zip(results) {
            // The caller may have gone away (client disconnected); the row is committed regardless.
            let _ = job.done.send(result);
        }
    }
}

/// The same failure for every job of a group whose transaction could not be trusted.
pub(crate) fn failed_all(jobs: &[CreateJob], error: &StoreError) -> Vec<StoreResult<()>> {
    jobs.iter()
        .map(|_| Err(error.for_each_of_group()))
        .collect()
}
