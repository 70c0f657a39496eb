//! Hand-written SQL with a variable number of binds, for the statements diesel's DSL cannot
//! share across backends or tables. Write `?` placeholders; PostgreSQL gets `$n`.

use super::{DbConnection, DbError};
use diesel::backend::Backend;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::query_dsl::RunQueryDsl;
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, HasSqlType, Integer, Nullable, Text, Timestamp};

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

fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

fn bind_all<'a, DB>(
    mut q: BoxedSqlQuery<'a, DB, SqlQuery>,
    vals: Vec<Val>,
) -> BoxedSqlQuery<'a, DB, SqlQuery>
where
    DB: Backend
        + HasSqlType<BigInt>
        + HasSqlType<Integer>
        + HasSqlType<Text>
        + HasSqlType<Timestamp>
        + HasSqlType<Binary>
        + 'a,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    String: ToSql<Text, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
    chrono::NaiveDateTime: ToSql<Timestamp, DB>,
    Vec<u8>: ToSql<Binary, DB>,
{
    for v in vals {
        q = match v {
            Val::I64(x) => q.bind::<BigInt, _>(x),
            Val::I32(x) => q.bind::<Integer, _>(x),
            Val::Text(x) => q.bind::<Text, _>(x),
            Val::OptText(x) => q.bind::<Nullable<Text>, _>(x),
            Val::OptI64(x) => q.bind::<Nullable<BigInt>, _>(x),
            Val::Ts(x) => q.bind::<Timestamp, _>(x),
            Val::Bytes(x) => q.bind::<Binary, _>(x),
        };
    }
    q
}

/// A statement of fixed shape that the connection keeps prepared, keyed by its text (diesel's
/// `sql_query` never caches, so a batch's 3,500-bind INSERT was parsed and planned every time).
/// Only for shapes that repeat: every distinct text stays in the connection's cache.
pub struct Prepared<'a> {
    /// The text around the `?` placeholders, which diesel writes back for the backend.
    parts: Vec<&'a str>,
    vals: Vec<Val>,
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'a str, vals: Vec<Val>) -> Prepared<'a> {
        let parts: Vec<&str> = sql.split('?').collect();
        debug_assert_eq!(parts.len(), vals.len() + 1, "one value per placeholder");
        Prepared { parts, vals }
    }
}

impl diesel::query_builder::QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Prepared<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<C> RunQueryDsl<C> for Prepared<'_> {}

macro_rules! prepared_fragment {
    ($backend:ty) => {
        impl diesel::query_builder::QueryFragment<$backend> for Prepared<'_> {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, $backend>,
            ) -> diesel::QueryResult<()> {
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
prepared_fragment!(diesel::pg::Pg);
prepared_fragment!(diesel::sqlite::Sqlite);

/// Runs a `Prepared` statement; returns the affected row count.
pub fn execute_prepared(conn: &mut DbConnection, q: Prepared) -> Result<usize, DbError> {
    Ok(match conn {
        DbConnection::Postgres(c) => q.execute(c),
        DbConnection::Sqlite(c) => q.execute(c),
    }?)
}

/// Runs a `Prepared` query and maps its rows by column name.
pub fn load_prepared<T>(conn: &mut DbConnection, q: Prepared) -> Result<Vec<T>, DbError>
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
    Ok(match conn {
        DbConnection::Postgres(c) => {
            bind_all(diesel::sql_query(numbered(sql)).into_boxed(), vals).execute(c)
        }
        DbConnection::Sqlite(c) => bind_all(diesel::sql_query(sql).into_boxed(), vals).execute(c),
    }?)
}

/// Runs a query and maps its rows by column name.
pub fn load<T>(conn: &mut DbConnection, sql: &str, vals: Vec<Val>) -> Result<Vec<T>, DbError>
where
    T: diesel::QueryableByName<diesel::pg::Pg>
        + diesel::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    Ok(match conn {
        DbConnection::Postgres(c) => {
            bind_all(diesel::sql_query(numbered(sql)).into_boxed(), vals).load(c)
        }
        DbConnection::Sqlite(c) => bind_all(diesel::sql_query(sql).into_boxed(), vals).load(c),
    }?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            super::numbered("a = ? AND b IN (?,?)"),
            "a = $1 AND b IN ($2,$3)"
        );
        assert_eq!(super::marks(3), "?,?,?");
        assert_eq!(super::marks(0), "");
    }
}
