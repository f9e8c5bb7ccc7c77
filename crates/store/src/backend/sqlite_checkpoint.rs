//! Checkpoints off the write path: a thread of its own copies the write-ahead log into the
//! database file, instead of the COMMIT that happens to cross SQLite's 1000-page mark.
//!
//! SQLite's automatic checkpoint runs inside the committing call: that write waits while the log
//! is copied and the database file synced — about 0.7 s of a publication pass that stores a
//! 49 MB CRL (BENCHMARKS.md, "Publication at scale"). So the write connection turns it off
//! (`wal_autocheckpoint = 0`) and tells this checkpointer after each commit; it lets a burst of
//! commits land, then copies what it can without holding anyone up (PASSIVE). Durability is
//! untouched: a commit is durable once its frames are synced to the log.
//!
//! Under writes that never pause, a checkpoint on another connection never quite catches up, and
//! the log starts over only once one has: when the log has grown past `LONG_LOG` frames, the
//! checkpointer asks the writer to copy the rest itself before its next transaction — a few
//! frames, since the bulk is already copied — so the next write starts the log afresh.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreResult;
use crate::error::StoreError;

/// Copy what can be copied without waiting for anyone.
pub(crate) const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";
/// How long a checkpoint waits after being told of a commit, so a burst is copied at once.
const SETTLE: Duration = Duration::from_millis(50);
/// Log frames beyond which the writer is asked to catch up: 16 MiB of SQLite's default 4 KiB
/// pages.
const LONG_LOG: i64 = 4096;

/// The checkpoint thread of one database file; it ends when this is dropped.
pub(crate) struct Checkpointer {
    due: SyncSender<()>,
    long_log: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Open a connection of its own to `path` (an existing database in WAL mode) and start.
    pub(crate) fn start(path: &Path) -> StoreResult<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(StoreError::Rusqlite)?;
        // One pending request is enough: a checkpoint copies everything committed before it.
        let (due, requests) = sync_channel(1);
        let long_log = Arc::new(AtomicBool::new(false));
        let found_long = Arc::clone(&long_log);
        std::thread::Builder::new()
            .name("clientca-checkpoint".into())
            .spawn(move || run(&connection, &requests, &found_long))
            .map_err(StoreError::CheckpointerStart)?;
        Ok(Self { due, long_log })
    }

    /// Whether the writer should copy the rest of the log before its next transaction (asked
    /// once per long log).
    pub(crate) fn take_long_log(&self) -> bool {
        self.long_log.swap(false, Ordering::Relaxed)
    }

    /// A write transaction committed: a checkpoint follows shortly.
    pub(crate) fn committed(&self) {
        match self.due.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            // The thread is gone (it can only have panicked): the writer copies the log itself
            // before each transaction from now on, as SQLite's automatic checkpoint would.
            Err(TrySendError::Disconnected(())) => {
                if !self.long_log.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "sqlite: the checkpoint thread has stopped; the writer checkpoints"
                    );
                }
            }
        }
    }
}

fn run(connection: &Connection, requests: &Receiver<()>, long_log: &AtomicBool) {
    while requests.recv().is_ok() {
        std::thread::sleep(SETTLE);
        // Whatever was asked for meanwhile is covered by the checkpoint about to run.
        while requests.try_recv().is_ok() {}
        // Columns: busy (another checkpoint held it up), frames in the log, frames copied.
        let checkpoint = connection.query_row(CHECKPOINT, [], |row| row.get::<_, i64>(1));
        match checkpoint {
            Ok(frames) if frames >= LONG_LOG => long_log.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "sqlite: checkpoint failed; the next commit retries");
            }
        }
    }
}
