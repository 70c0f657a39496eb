//! SQLite copies its write-ahead log back into the database file in checkpoints, which the
//! connection that commits runs by default. For an import that was the writing thread: copying
//! pages was a fifth of its time, while the other core waited. An import's writer hands them
//! to a thread of its own instead, started with the writer and ended with it.

use diesel::connection::SimpleConnection;
use diesel::SqliteConnection;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// WAL pages past which the writer's own connection still checkpoints (128 MiB at 16 KiB
/// pages), should the thread fall behind: the log never grows without bound.
const BACKSTOP_PAGES: u32 = 8192;
/// SQLite's default, which the writer's pooled connection goes back to.
const DEFAULT_PAGES: u32 = 1000;

pub(super) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Takes over `writer`'s checkpoints, run on `conn`, a connection of its own, each time it
    /// is nudged.
    pub(super) fn start(
        mut conn: SqliteConnection,
        writer: &mut SqliteConnection,
    ) -> Result<Checkpointer, String> {
        // One pending nudge is enough: a checkpoint copies everything committed before it.
        let (nudge, nudged) = sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("hubport-checkpoint".into())
            .spawn(move || {
                while nudged.recv().is_ok() {
                    // PASSIVE never waits for readers or the writer; what it cannot copy yet,
                    // the next one does.
                    if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                        tracing::warn!(error = %e, "WAL checkpoint failed; the next commit retries");
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        let checkpointer = Checkpointer {
            nudge: Some(nudge),
            thread: Some(thread),
        };
        writer
            .batch_execute(&format!("PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}"))
            .map_err(|e| e.to_string())?;
        Ok(checkpointer)
    }

    /// After a commit: checkpoint what it wrote, unless a checkpoint is already due.
    pub(super) fn nudge(&self) {
        if let Some(n) = &self.nudge {
            let _ = n.try_send(());
        }
    }

    /// Waits for the last checkpoint, and gives `writer` its own checkpoints back.
    pub(super) fn finish(self, writer: &mut SqliteConnection) {
        drop(self);
        let _ = writer.batch_execute(&format!("PRAGMA wal_autocheckpoint = {DEFAULT_PAGES}"));
    }
}

impl Drop for Checkpointer {
    /// Waits for the last checkpoint, so the import ends with its pages in the database file.
    fn drop(&mut self) {
        self.nudge.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
