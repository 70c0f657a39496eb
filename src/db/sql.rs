//! Hand-written SQL with a variable number of binds, for the statements diesel's DSL cannot
//! share across backends or tables. Write `?` placeholders; diesel writes `$n` for PostgreSQL.

use super::{DbConnection, DbError};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::sql_types::{BigInt, Binary, Integer, Nullable, Text, Timestamp, Untyped};
use std::borrow::Cow;

/// One bind value.
#[derive(Debug, Clone)]
pub enum Val {
    I64(i64),
    I32(i32),
    Text(String),
    OptText(Option<String>),
    OptI64(Option<i64>),
    Ts(chrono::NaiveDateTime),
    Bytes(Vec<u8>),
}

/// `n` comma-separated placeholders, e.g. for `IN (…)`.
pub fn marks(n: usize) -> String {
    let mut s = String::with_capacity(n * 2);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push('?');
    }
    s
}

/// A statement and its values. A kept one stays prepared on its connection, keyed by its text
/// (diesel's `sql_query` never does, so a batch's 3,500-bind INSERT was parsed and planned every
/// time); keep only shapes that repeat, since every distinct text stays in the cache.
struct Statement<'a> {
    /// The text around the `?` placeholders, which diesel writes back for the backend.
    parts: Cow<'a, [&'a str]>,
    vals: Vec<Val>,
    keep: bool,
}

impl<'a> Statement<'a> {
    fn new(sql: &'a str, vals: Vec<Val>, keep: bool) -> Statement<'a> {
        Statement::from_parts(Cow::Owned(Split::new(sql).0), vals, keep)
    }

    fn from_parts(parts: Cow<'a, [&'a str]>, vals: Vec<Val>, keep: bool) -> Statement<'a> {
        debug_assert_eq!(parts.len(), vals.len() + 1, "one value per placeholder");
        Statement { parts, vals, keep }
    }
}

/// A statement's text cut at its `?` placeholders once, for one run per record
/// (`execute_shaped`): cutting it on every run was a fiftieth of a re-import's writing thread.
pub struct Split<'a>(Vec<&'a str>);

impl<'a> Split<'a> {
    pub fn new(sql: &'a str) -> Split<'a> {
        Split(sql.split('?').collect())
    }
}

impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

impl<C> RunQueryDsl<C> for Statement<'_> {}

macro_rules! statement_fragment {
    ($backend:ty) => {
        impl QueryFragment<$backend> for Statement<'_> {
            fn walk_ast<'b>(
                &'b self,
                mut out: AstPass<'_, 'b, $backend>,
            ) -> diesel::QueryResult<()> {
                if !self.keep {
                    out.unsafe_to_cache_prepared();
                }
                for (part, v) in self.parts.iter().zip(&self.vals) {
                    out.push_sql(part);
                    match v {
                        Val::I64(x) => out.push_bind_param::<BigInt, _>(x)?,
                        Val::I32(x) => out.push_bind_param::<Integer, _>(x)?,
                        Val::Text(x) => out.push_bind_param::<Text, _>(x)?,
                        Val::OptText(x) => out.push_bind_param::<Nullable<Text>, _>(x)?,
                        Val::OptI64(x) => out.push_bind_param::<Nullable<BigInt>, _>(x)?,
                        Val::Ts(x) => out.push_bind_param::<Timestamp, _>(x)?,
                        Val::Bytes(x) => out.push_bind_param::<Binary, _>(x)?,
                    }
                }
                out.push_sql(self.parts.last().copied().unwrap_or_default());
                Ok(())
            }
        }
    };
}
statement_fragment!(diesel::pg::Pg);
statement_fragment!(diesel::sqlite::Sqlite);

/// A kept statement that diesel finds in its cache by the type `S` instead of by its text, which
/// it otherwise rebuilds and hashes on every run (a third of what a per-record `UPDATE` cost the
/// writing thread beyond SQLite's own work). `S` must stand for one SQL text only.
struct Shaped<'a, S>(Statement<'a>, std::marker::PhantomData<S>);

impl<S: 'static> QueryId for Shaped<'_, S> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S> Query for Shaped<'_, S> {
    type SqlType = Untyped;
}

impl<S, C> RunQueryDsl<C> for Shaped<'_, S> {}

impl<S, DB: diesel::backend::Backend> QueryFragment<DB> for Shaped<'_, S>
where
    for<'a> Statement<'a>: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
        self.0.walk_ast(out)
    }
}

fn run(conn: &mut DbConnection, q: Statement) -> Result<usize, DbError> {
    Ok(match conn {
        DbConnection::Postgres(c) => q.execute(c),
        DbConnection::Sqlite(c) => q.execute(c),
    }?)
}

fn fetch<T>(conn: &mut DbConnection, q: Statement) -> Result<Vec<T>, DbError>
where
    T: diesel::QueryableByName<diesel::pg::Pg>
        + diesel::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    Ok(match conn {
        DbConnection::Postgres(c) => q.load(c),
        DbConnection::Sqlite(c) => q.load(c),
    }?)
}

/// Runs a statement; returns the affected row count.
pub fn execute(conn: &mut DbConnection, sql: &str, vals: Vec<Val>) -> Result<usize, DbError> {
    run(conn, Statement::new(sql, vals, false))
}

/// Runs a query and maps its rows by column name.
pub fn load<T>(conn: &mut DbConnection, sql: &str, vals: Vec<Val>) -> Result<Vec<T>, DbError>
where
    T: diesel::QueryableByName<diesel::pg::Pg>
        + diesel::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    fetch(conn, Statement::new(sql, vals, false))
}

/// `execute` for a statement of fixed shape that runs again and again: kept prepared.
pub fn execute_prepared(
    conn: &mut DbConnection,
    sql: &str,
    vals: Vec<Val>,
) -> Result<usize, DbError> {
    run(conn, Statement::new(sql, vals, true))
}

/// `execute_prepared` for a statement run once per record: `S` names its text (see `Shaped`).
pub fn execute_shaped<S: 'static>(
    conn: &mut DbConnection,
    sql: &Split,
    vals: Vec<Val>,
) -> Result<usize, DbError> {
    let q = Shaped::<S>(
        Statement::from_parts(Cow::Borrowed(&sql.0), vals, true),
        std::marker::PhantomData,
    );
    Ok(match conn {
        DbConnection::Postgres(c) => q.execute(c),
        DbConnection::Sqlite(c) => q.execute(c),
    }?)
}

/// `load` for a query of fixed shape that runs again and again: kept prepared.
pub fn load_prepared<T>(
    conn: &mut DbConnection,
    sql: &str,
    vals: Vec<Val>,
) -> Result<Vec<T>, DbError>
where
    T: diesel::QueryableByName<diesel::pg::Pg>
        + diesel::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    fetch(conn, Statement::new(sql, vals, true))
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholder_lists() {
        assert_eq!(super::marks(3), "?,?,?");
        assert_eq!(super::marks(0), "");
    }
}
