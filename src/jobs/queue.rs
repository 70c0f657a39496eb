//! The durable job queue: one job per import, enqueued in the transaction that records the
//! import, claimed with a lease, checkpointed with every committed batch.

use crate::crm::PortalId;
use crate::db::schema::jobs;
use crate::db::sql::{self, Val};
use crate::db::{now, DbConnection, DbError};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use std::time::Duration;

#[derive(Debug, Clone, QueryableByName)]
pub struct Job {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub import_id: i64,
    #[diesel(sql_type = BigInt)]
    pub portal_id: i64,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// Checkpoint: the file being processed and how many of its data rows are committed.
    #[diesel(sql_type = Integer)]
    pub file_index: i32,
    #[diesel(sql_type = BigInt)]
    pub rows_done: i64,
    /// Why the previous attempt stopped, if it failed.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub last_error: Option<String>,
}

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const FINISHED: &str = "finished";

/// Must run inside the caller's transaction, so an import never exists without its job.
pub fn enqueue(conn: &mut DbConnection, portal: PortalId, import_id: i64) -> Result<(), DbError> {
    let t = now();
    diesel::insert_into(jobs::table)
        .values((
            jobs::import_id.eq(import_id),
            jobs::portal_id.eq(portal.0),
            jobs::state.eq(QUEUED),
            jobs::created_at.eq(t),
            jobs::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(())
}

fn lease_end(lease: Duration) -> chrono::NaiveDateTime {
    now() + lease
}

/// Claims the oldest queued job, or a running one whose lease expired (its worker died), of a
/// portal with fewer than `per_portal` imports running. PostgreSQL skips rows other nodes are
/// claiming; SQLite has a single writer anyway.
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    lease: Duration,
    per_portal: u32,
) -> Result<Option<Job>, DbError> {
    let lock = match conn {
        DbConnection::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        DbConnection::Sqlite(_) => "",
    };
    let q = format!(
        "UPDATE jobs SET state = ?, locked_by = ?, locked_until = ?, attempts = attempts + 1, updated_at = ? \
         WHERE id = (SELECT j.id FROM jobs j WHERE (j.state = ? OR (j.state = ? AND j.locked_until < ?)) \
           AND (SELECT COUNT(*) FROM jobs r WHERE r.portal_id = j.portal_id AND r.state = ? AND r.locked_until >= ? AND r.id <> j.id) < ? \
           ORDER BY j.id LIMIT 1{lock}) \
         RETURNING id, import_id, portal_id, attempts, file_index, rows_done, last_error"
    );
    let t = now();
    let mut rows: Vec<Job> = sql::load(
        conn,
        &q,
        vec![
            Val::Text(RUNNING.into()),
            Val::Text(worker.into()),
            Val::Ts(lease_end(lease)),
            Val::Ts(t),
            Val::Text(QUEUED.into()),
            Val::Text(RUNNING.into()),
            Val::Ts(t),
            Val::Text(RUNNING.into()),
            Val::Ts(t),
            Val::I64(i64::from(per_portal)),
        ],
    )?;
    Ok(rows.pop())
}

/// Shows imports waiting for their portal's running ones as DEFERRED (HubSpot's state for it).
pub fn mark_deferred(conn: &mut DbConnection, per_portal: u32) -> Result<usize, DbError> {
    let t = now();
    sql::execute(
        conn,
        "UPDATE imports SET state = 'DEFERRED', updated_at = ? WHERE state = 'STARTED' AND id IN (\
           SELECT j.import_id FROM jobs j WHERE j.state = ? \
           AND (SELECT COUNT(*) FROM jobs r WHERE r.portal_id = j.portal_id AND r.state = ? AND r.locked_until >= ?) >= ?)",
        vec![Val::Ts(t), Val::Text(QUEUED.into()), Val::Text(RUNNING.into()), Val::Ts(t), Val::I64(i64::from(per_portal))],
    )
}

/// Records progress and extends the lease, inside the batch's transaction. Returns false when
/// this worker no longer holds the job (its lease expired and another took it): the caller must
/// roll back so the batch is not written twice.
pub fn checkpoint(
    conn: &mut DbConnection,
    job: &Job,
    worker: &str,
    file_index: i32,
    rows_done: i64,
    lease: Duration,
) -> Result<bool, DbError> {
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(job.id))
            .filter(jobs::state.eq(RUNNING))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set((
        jobs::file_index.eq(file_index),
        jobs::rows_done.eq(rows_done),
        jobs::locked_until.eq(lease_end(lease)),
        jobs::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The job will not run again (its import reached a final state).
pub fn finish(conn: &mut DbConnection, job: &Job, error: Option<&str>) -> Result<(), DbError> {
    diesel::update(jobs::table.filter(jobs::id.eq(job.id)))
        .set((
            jobs::state.eq(FINISHED),
            jobs::locked_by.eq(None::<String>),
            jobs::locked_until.eq(None::<chrono::NaiveDateTime>),
            jobs::last_error.eq(error),
            jobs::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Retires a job that no worker has started (its import was canceled first).
pub fn finish_queued(conn: &mut DbConnection, import_id: i64) -> Result<(), DbError> {
    diesel::update(
        jobs::table
            .filter(jobs::import_id.eq(import_id))
            .filter(jobs::state.eq(QUEUED)),
    )
    .set((jobs::state.eq(FINISHED), jobs::updated_at.eq(now())))
    .execute(conn)?;
    Ok(())
}

/// Whether a failed run counts against the job's `MAX_ATTEMPTS` (claiming counted it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Counted,
    /// The job is not at fault (the database was unreachable, or the worker is shutting down),
    /// so the claim is taken back.
    NotCounted,
}

/// Gives the job back after a failure, to be retried once `retry_in` has passed.
pub fn release(
    conn: &mut DbConnection,
    job: &Job,
    worker: &str,
    error: &str,
    retry_in: Duration,
    attempt: Attempt,
) -> Result<(), DbError> {
    let uncount = i32::from(attempt == Attempt::NotCounted);
    diesel::update(
        jobs::table
            .filter(jobs::id.eq(job.id))
            .filter(jobs::locked_by.eq(worker)),
    )
    .set((
        jobs::locked_until.eq(lease_end(retry_in)),
        jobs::last_error.eq(error),
        jobs::attempts.eq(jobs::attempts - uncount),
        jobs::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Jobs waiting or running, for `/metrics`.
pub fn depth(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(jobs::table
        .filter(jobs::state.ne(FINISHED))
        .count()
        .get_result(conn)?)
}
