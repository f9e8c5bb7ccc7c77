//! Leader-follower batching: callers queue their job; whoever finds no batch in flight takes every
//! queued job and runs them together, then each caller gets its own result. Used for status
//! changes, so concurrent revocations share one transaction and one durable commit, on either
//! database, without a thread of their own.
//!
//! A batch runs in a task of its own: a leader whose request is cancelled (the client went away,
//! a timeout) must not take the other callers' jobs down with it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;

/// Jobs run together at most.
const MAX_BATCH: usize = 256;

/// Queued jobs: a ticket (to withdraw one), the job, where its answer goes.
type Waiting<J, R> = Vec<(u64, J, oneshot::Sender<R>)>;

pub(crate) struct Batcher<J, R> {
    queued: Mutex<Waiting<J, R>>,
    next_ticket: AtomicU64,
    /// Held while a batch runs.
    running: Arc<tokio::sync::Mutex<()>>,
}

impl<J, R> Default for Batcher<J, R> {
    fn default() -> Self {
        Self {
            queued: Mutex::new(Vec::new()),
            next_ticket: AtomicU64::new(0),
            running: Arc::default(),
        }
    }
}

impl<J: Send + 'static, R: Send + 'static> Batcher<J, R> {
    /// Queue `job` and return its result, starting a batch (`run`: one result per job, in
    /// order) whenever none is running. `None` only if the batch holding the job panicked.
    ///
    /// A caller dropped while its job is still queued takes the job back out: nobody would start
    /// a batch for it, and it must not run later on someone else's turn.
    pub(crate) async fn submit<Fut>(&self, job: J, run: impl Fn(Vec<J>) -> Fut) -> Option<R>
    where
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (done, mut result) = oneshot::channel();
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        self.lock_queue().push((ticket, job, done));
        let _withdraw = Withdraw {
            batcher: self,
            ticket,
        };
        loop {
            let running = tokio::select! {
                answer = &mut result => return answer.ok(),
                guard = Arc::clone(&self.running).lock_owned() => guard,
            };
            // A batch answers (or, panicking, drops its senders) before it lets go of `running`,
            // so whatever the channel holds now is final.
            match result.try_recv() {
                Ok(answer) => return Some(answer),
                Err(TryRecvError::Closed) => return None,
                Err(TryRecvError::Empty) => {}
            }
            let batch: Waiting<J, R> = {
                let mut queued = self.lock_queue();
                let take = queued.len().min(MAX_BATCH);
                queued.drain(..take).collect()
            };
            let (jobs, senders): (Vec<J>, Vec<_>) = batch
                .into_iter()
                .map(|(_, job, sender)| (job, sender))
                .unzip();
            let answers = run(jobs);
            tokio::spawn(async move {
                for (sender, answer) in senders.into_iter().zip(answers.await) {
                    let _ = sender.send(answer);
                }
                drop(running);
            });
        }
    }
}

impl<J, R> Batcher<J, R> {
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Waiting<J, R>> {
        // Only pushes, drains and removals happen under this lock; none can leave the Vec
        // inconsistent, so a poisoned lock (a panic elsewhere while holding it) is safe to use.
        self.queued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Takes a caller's job back out of the queue when the caller goes away before a batch took it.
struct Withdraw<'a, J, R> {
    batcher: &'a Batcher<J, R>,
    ticket: u64,
}

impl<J, R> Drop for Withdraw<'_, J, R> {
    fn drop(&mut self) {
        self.batcher
            .lock_queue()
            .retain(|(ticket, ..)| *ticket != self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Every job gets its own answer, and concurrent callers share batches.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_jobs_share_batches_and_each_gets_its_answer() {
        let batcher = Arc::new(Batcher::<u32, u32>::default());
        let batches = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..200u32)
            .map(|n| {
                let batcher = Arc::clone(&batcher);
                let batches = Arc::clone(&batches);
                tokio::spawn(async move {
                    let answer = batcher
                        .submit(n, |jobs| {
                            let batches = Arc::clone(&batches);
                            batches.fetch_add(1, Ordering::SeqCst);
                            async move {
                                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                                jobs.into_iter().map(|job| job * 2).collect()
                            }
                        })
                        .await;
                    (n, answer)
                })
            })
            .collect();
        for caller in callers {
            let (n, answer) = caller.await.unwrap();
            assert_eq!(answer, Some(n * 2));
        }
        let batches = batches.load(Ordering::SeqCst);
        assert!(batches < 200, "{batches} batches for 200 concurrent jobs");
    }

    /// A caller cancelled while its batch runs (its request dropped) does not fail the others in
    /// that batch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_caller_does_not_fail_its_batch() {
        let batcher = Arc::new(Batcher::<u32, u32>::default());
        let batches = Arc::new(AtomicUsize::new(0));
        // Both jobs queue while a batch is "running", so the next batch holds both.
        let running = Arc::clone(&batcher.running).lock_owned().await;
        let callers: Vec<_> = [1, 2]
            .map(|n| {
                let batcher = Arc::clone(&batcher);
                let batches = Arc::clone(&batches);
                tokio::spawn(async move {
                    batcher
                        .submit(n, |jobs| {
                            batches.fetch_add(1, Ordering::SeqCst);
                            async move {
                                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                                jobs
                            }
                        })
                        .await
                })
            })
            .into_iter()
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        drop(running);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let [first, second]: [_; 2] = callers.try_into().unwrap();
        first.abort();
        assert_eq!(second.await.unwrap(), Some(2));
        assert_eq!(
            batches.load(Ordering::SeqCst),
            1,
            "both jobs ran in one batch"
        );
    }

    /// A caller dropped while its job waits behind a running batch takes the job with it: the
    /// next batch does not run it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_whose_caller_left_before_its_batch_never_runs() {
        let batcher = Arc::new(Batcher::<u32, u32>::default());
        let ran = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::clone(&batcher.running).lock_owned().await;
        let submit = |n: u32| {
            let batcher = Arc::clone(&batcher);
            let ran = Arc::clone(&ran);
            tokio::spawn(async move {
                batcher
                    .submit(n, move |jobs| {
                        ran.lock().unwrap().extend(jobs.iter().copied());
                        async move { jobs }
                    })
                    .await
            })
        };
        let left = submit(1);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        left.abort();
        let _ = left.await;
        drop(running);
        assert_eq!(submit(2).await.unwrap(), Some(2));
        assert_eq!(*ran.lock().unwrap(), [2], "the withdrawn job never ran");
    }

    /// A batch that panics answers its callers `None`; none of them panics or hangs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_batch_answers_none() {
        let batcher = Arc::new(Batcher::<u32, u32>::default());
        let callers: Vec<_> = (0..8)
            .map(|n| {
                let batcher = Arc::clone(&batcher);
                tokio::spawn(async move {
                    batcher
                        .submit(n, |_jobs| async move {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            panic!("a batch that fails badly");
                        })
                        .await
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), None);
        }
    }
}
