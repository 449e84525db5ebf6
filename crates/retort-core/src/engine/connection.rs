//! Connections, transactions and savepoints.
//!
//! A [`Connection`] is checked out of the engine's pool and returned when dropped. Outside a
//! transaction each statement commits on its own. [`Connection::begin`] opens a
//! [`Transaction`], which rolls back when dropped unless committed; inside one,
//! [`Connection::begin_nested`] opens a [`Savepoint`], nested to any depth. Both guards
//! dereference to the connection, so statements run through them:
//!
//! ```
//! use retort_core::{create_engine, Value};
//!
//! let engine = create_engine("sqlite://")?;
//! let mut conn = engine.connect()?;
//! conn.exec_driver_sql("CREATE TABLE t (x INTEGER)", &[])?;
//!
//! let mut tx = conn.begin()?;
//! tx.exec_driver_sql("INSERT INTO t VALUES (1)", &[])?;
//! {
//!     let mut sp = tx.begin_nested()?;
//!     sp.exec_driver_sql("INSERT INTO t VALUES (2)", &[])?;
//!     sp.rollback()?; // undoes only the second insert
//! }
//! tx.commit()?;
//!
//! let xs: Vec<i64> = conn.exec_driver_sql("SELECT x FROM t", &[])?.scalars()?;
//! assert_eq!(xs, vec![1]);
//! # Ok::<(), retort_core::Error>(())
//! ```
//!
//! # A statement that fails inside a transaction
//!
//! What the database does with the transaction then differs, and a COMMIT never hides it:
//!
//! - Most errors on SQLite and MariaDB undo only the failed statement. The transaction goes
//!   on, and COMMIT commits the work done before and after it.
//! - PostgreSQL aborts the whole transaction at any error: later statements fail, and the
//!   COMMIT fails with an `OperationalError` (SQLSTATE 25P02) saying the transaction was
//!   rolled back because of the earlier failure — the server itself rolls back a COMMIT of
//!   an aborted transaction without an error, which retort turns into one.
//! - Some errors make the database roll back the whole transaction and go on in autocommit
//!   mode: a deadlock on MariaDB, `INSERT OR ROLLBACK` or an I/O error on SQLite. Later
//!   statements would run outside the transaction, so they are refused, and so is the
//!   COMMIT, each with an `OperationalError` naming the failure.
//!
//! Rolling back to a savepoint taken before the failed statement puts a PostgreSQL
//! transaction right again; after that, COMMIT commits. A failed COMMIT leaves the
//! connection with no transaction open.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use super::cache::{PreparedStatement, QueryCache};
use crate::dialect::{Dialect, DialectRef};
use crate::engine::driver::{Discard, DriverCursor, DriverStatement, RowSink, RunOutcome};
use crate::engine::events::Events;
use crate::engine::pool::{Health, PooledConn};
use crate::engine::result::{CollectRows, CursorResult, FromRow, Row, RowReader};
use crate::error::{DatabaseError, Error, ErrorKind, Result};
use crate::sql::compiler::Executable;
use crate::value::{FromValue, ParamRef, Value};

/// A connection checked out of an [`Engine`](crate::Engine)'s pool.
///
/// Dropping it returns it to the pool; a transaction still open is rolled back first, and a
/// connection that lost its server is discarded instead.
pub struct Connection {
    conn: PooledConn,
    dialect: DialectRef,
    events: Arc<Events>,
    /// The engine's compiled-statement cache.
    cache: Arc<QueryCache>,
    /// The engine's knowledge of which column a one-row INSERT reports.
    insert_ids: Arc<InsertIdColumns>,
    /// 0 outside a transaction, 1 in one, one more per open savepoint.
    depth: usize,
    savepoints: u64,
    /// A `BEGIN` or `START TRANSACTION` was sent as raw SQL, so a transaction may be open
    /// that `depth` does not count.
    raw_begin: bool,
    /// The database rolled back the open transaction by itself when a statement failed; the
    /// failure, described. Until the transaction is ended, statements are refused (they
    /// would run outside it) and COMMIT fails.
    rolled_back: Option<String>,
    /// The last statement failure inside the transaction, not yet examined: whether the
    /// database rolled back the transaction because of it is asked before the next
    /// operation.
    failure: Option<Error>,
}

/// What an engine has learned of its tables, per table name: the column whose value a one-row
/// INSERT reports as its `last_insert_id` (or `None` where none is), with the schema version
/// it was read at. A table made again with another key, by any connection or process,
/// changes the version, and the answer is read again.
#[derive(Default)]
pub(crate) struct InsertIdColumns(Mutex<HashMap<String, KnownInsertId>>);

/// A table's insert-id column (or none), and the schema version it was read at.
type KnownInsertId = (i64, Option<Arc<str>>);

impl InsertIdColumns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KnownInsertId>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Something `execute_many` can run: raw SQL, or a statement compiled for the dialect (its
/// own parameters are ignored; each parameter set supplies them in placeholder order).
pub trait SqlSource {
    /// The SQL text for `dialect`.
    fn sql_for(&self, dialect: &dyn Dialect) -> Result<Cow<'_, str>>;
}

impl SqlSource for str {
    fn sql_for(&self, _dialect: &dyn Dialect) -> Result<Cow<'_, str>> {
        Ok(Cow::Borrowed(self))
    }
}

impl<E: Executable> SqlSource for E {
    fn sql_for(&self, dialect: &dyn Dialect) -> Result<Cow<'_, str>> {
        Ok(Cow::Owned(self.compile(dialect)?.sql))
    }
}

/// Adds the failed statement and its parameters (unless they are to be hidden) to a
/// database error.
fn with_statement(err: Error, sql: &str, params: &[Value], hide_params: bool) -> Error {
    let attach = |e: DatabaseError| {
        if hide_params {
            let mut e = e.with_statement(sql, &[]);
            e.redact_params();
            e
        } else {
            e.with_statement(sql, params)
        }
    };
    match err {
        Error::Integrity(e) => Error::Integrity(attach(e)),
        Error::Operational(e) => Error::Operational(attach(e)),
        Error::Programming(e) => Error::Programming(attach(e)),
        Error::Data(e) => Error::Data(attach(e)),
        Error::Database(e) => Error::Database(attach(e)),
        other => other,
    }
}

/// Whether raw SQL is a COMMIT (`COMMIT ...`, or PostgreSQL's `END`).
fn is_commit(sql: &str) -> bool {
    let head = sql.trim_start();
    let word = head
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    word.eq_ignore_ascii_case("COMMIT") || word.eq_ignore_ascii_case("END")
}

/// A disconnect during COMMIT: the server may have committed before the connection went, so
/// the error must not read as a failed (rolled back) transaction.
fn commit_outcome_unknown(err: Error) -> Error {
    match err {
        Error::Operational(e) if e.kind() == ErrorKind::ConnectionLost => {
            let message = format!(
                "the connection was lost while COMMIT was in flight: the transaction may or may \
                 not have been committed; check the database before retrying it ({})",
                e.message()
            );
            Error::Operational(e.reclassified(ErrorKind::CommitOutcomeUnknown, message))
        }
        other => other,
    }
}

/// A failure, described for a later error's message: its kind, code and message, without
/// the statement and its parameters.
fn describe(err: &Error) -> String {
    match err.database_error() {
        Some(e) => match e.code() {
            Some(code) => format!("{:?} {code}: {}", e.kind(), e.message()),
            None => format!("{:?}: {}", e.kind(), e.message()),
        },
        None => err.to_string(),
    }
}

/// The error for work attempted in a transaction the database has already rolled back by
/// itself: `what` names what was refused ("COMMIT", "the statement"), `cause` the failure
/// that made the database roll back.
fn rolled_back_error(what: &str, cause: &str) -> Error {
    let message = if what == "COMMIT" {
        format!(
            "COMMIT refused: the database rolled back the transaction when an earlier \
             statement failed ({cause}); nothing in it was committed"
        )
    } else {
        format!(
            "{what} was not sent: the database rolled back the transaction when an earlier \
             statement failed ({cause}), so it would run outside the transaction; roll the \
             transaction back before going on"
        )
    };
    Error::Operational(DatabaseError::new(ErrorKind::OtherOperational, message))
}

/// Keeps a copy of a database error raised inside a transaction, for
/// [`Connection::settle_failure`]. A lost connection says nothing about the transaction.
fn record_failure(failure: &mut Option<Error>, err: &Error) {
    if let Some(e) = err.database_error() {
        if !err.is_disconnect() {
            *failure = Some(Error::from_database(e.clone()));
        }
    }
}

/// Whether raw SQL opens a transaction the connection does not track.
fn opens_transaction(sql: &str) -> bool {
    let head = sql.trim_start();
    ["BEGIN", "START"].iter().any(|kw| {
        head.get(..kw.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(kw))
    })
}

impl Connection {
    pub(crate) fn new(
        conn: PooledConn,
        dialect: DialectRef,
        events: Arc<Events>,
        cache: Arc<QueryCache>,
        insert_ids: Arc<InsertIdColumns>,
    ) -> Connection {
        Connection {
            conn,
            dialect,
            events,
            cache,
            insert_ids,
            depth: 0,
            savepoints: 0,
            raw_begin: false,
            rolled_back: None,
            failure: None,
        }
    }

    /// The dialect statements are compiled for.
    pub fn dialect(&self) -> &dyn Dialect {
        self.dialect.as_ref()
    }

    /// A shared handle to the dialect.
    pub fn dialect_ref(&self) -> DialectRef {
        self.dialect.clone()
    }

    /// Compiles `stmt` for the dialect and runs it, reading the whole result. The SQL text
    /// of a statement shaped like one run before comes from the engine's
    /// [compiled-statement cache](crate::engine::cache).
    pub fn execute(&mut self, stmt: &(impl Executable + ?Sized)) -> Result<CursorResult> {
        self.execute_with(stmt, &[])
    }

    /// [`execute`](Self::execute) with values for the statement's
    /// [`bindparam`](crate::sql::bindparam)s, by name (SQLAlchemy's
    /// `conn.execute(stmt, {"id": 5})`). Every bind parameter needs a value and every value a
    /// bind parameter; either mistake is an [`Error::Argument`](crate::Error::Argument)
    /// naming it, before anything is sent.
    ///
    /// ```
    /// use retort_core::create_engine;
    /// use retort_core::sql::{bindparam, insert, table};
    ///
    /// let engine = create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", &[])?;
    /// let add = insert(&table("users")).values([("name", bindparam("name"))]);
    /// for name in ["Alice", "Bob"] {
    ///     conn.execute_with(&add, &[("name", name.into())])?;
    /// }
    /// assert!(conn.execute_with(&add, &[]).is_err());
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn execute_with(
        &mut self,
        stmt: &(impl Executable + ?Sized),
        params: &[(&str, Value)],
    ) -> Result<CursorResult> {
        let compiled = self.cache.compile_bound(&self.dialect, stmt, params)?;
        self.exec_driver_sql(compiled.sql(), &compiled.params)
    }

    /// Compiles `stmt` once for this connection's dialect (through the engine's statement
    /// cache), to run many times with [`execute_with`](Self::execute_with) and
    /// [`query_map_with`](Self::query_map_with) (or any method that runs a statement) on
    /// any connection of this engine, without building, keying or compiling it again: a
    /// statement with [`bindparam`](crate::sql::bindparam)s built once for a loop.
    pub fn prepare(&mut self, stmt: &(impl Executable + ?Sized)) -> Result<PreparedStatement> {
        let compiled = self.cache.compile(&self.dialect, stmt)?;
        Ok(compiled.prepared(self.dialect.clone()))
    }

    /// Runs SQL as written, with placeholders in the driver's style (`?` on SQLite and MySQL,
    /// `$1` on PostgreSQL) and `params` bound to them.
    ///
    /// A raw `COMMIT` whose connection is lost before the answer comes back fails with
    /// [`ErrorKind::CommitOutcomeUnknown`], as [`Transaction::commit`] does.
    pub fn exec_driver_sql(&mut self, sql: &str, params: &[Value]) -> Result<CursorResult> {
        let mut rows = CollectRows::default();
        let outcome = self.exec_driver_sql_into(sql, params, &mut rows)?;
        Ok(rows.finish(outcome))
    }

    /// Compiles and runs `stmt`, handing each row to `sink` as the driver reads it: no row
    /// is built as a [`Row`] and nothing holds the whole result unless the sink does. This is
    /// how the ORM builds its objects.
    pub fn execute_into(
        &mut self,
        stmt: &(impl Executable + ?Sized),
        sink: &mut dyn RowSink,
    ) -> Result<RunOutcome> {
        let compiled = self.cache.compile_bound(&self.dialect, stmt, &[])?;
        self.exec_driver_sql_into(compiled.sql(), &compiled.params, sink)
    }

    /// Compiles and runs `stmt` and builds a value from each row with `f`, reading the
    /// columns by position straight from the driver's row (rusqlite's `query_map`).
    ///
    /// ```
    /// use retort_core::create_engine;
    /// use retort_core::sql::{select, table};
    ///
    /// let engine = create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// conn.exec_driver_sql("CREATE TABLE users (id INTEGER, name TEXT)", &[])?;
    /// conn.exec_driver_sql("INSERT INTO users VALUES (1, 'Alice'), (2, 'Bob')", &[])?;
    ///
    /// let users = table("users");
    /// let stmt = select((users.c("id"), users.c("name"))).order_by(users.c("id"));
    /// let rows: Vec<(i64, String)> = conn.query_map(&stmt, |row| Ok((row.get(0)?, row.get(1)?)))?;
    /// assert_eq!(rows, vec![(1, "Alice".to_owned()), (2, "Bob".to_owned())]);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn query_map<T>(
        &mut self,
        stmt: &(impl Executable + ?Sized),
        f: impl FnMut(&mut RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query_map_with(stmt, &[], f)
    }

    /// [`query_map`](Self::query_map) with values for the statement's
    /// [`bindparam`](crate::sql::bindparam)s, as [`execute_with`](Self::execute_with) takes
    /// them.
    pub fn query_map_with<T>(
        &mut self,
        stmt: &(impl Executable + ?Sized),
        params: &[(&str, Value)],
        f: impl FnMut(&mut RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let compiled = self.cache.compile_bound(&self.dialect, stmt, params)?;
        self.query_map_driver_sql(compiled.sql(), &compiled.params, f)
    }

    /// Compiles and runs `stmt` and reads every row as a tuple of typed values, straight from
    /// the driver's rows (the streaming form of [`CursorResult::tuples`]).
    ///
    /// ```
    /// let engine = retort_core::create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// let rows: Vec<(String, i64)> =
    ///     conn.tuples(&retort_core::sql::text("SELECT 'a', 1 UNION ALL SELECT 'b', 2"))?;
    /// assert_eq!(rows, vec![("a".to_owned(), 1), ("b".to_owned(), 2)]);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn tuples<T: FromRow>(&mut self, stmt: &(impl Executable + ?Sized)) -> Result<Vec<T>> {
        self.query_map(stmt, T::from_reader)
    }

    /// Compiles and runs `stmt` and reads the first column of every row, straight from the
    /// driver's rows (the streaming form of [`CursorResult::scalars`]).
    pub fn scalars<T: FromValue>(&mut self, stmt: &(impl Executable + ?Sized)) -> Result<Vec<T>> {
        self.query_map(stmt, |row| row.get(0))
    }

    /// [`query_map`](Self::query_map) for raw SQL.
    pub fn query_map_driver_sql<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        f: impl FnMut(&mut RowReader<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        struct MapRows<F, T> {
            f: F,
            out: Vec<T>,
        }
        impl<F, T> RowSink for MapRows<F, T>
        where
            F: FnMut(&mut RowReader<'_>) -> Result<T>,
        {
            fn row(&mut self, row: &mut dyn crate::engine::driver::DriverRow) -> Result<()> {
                let value = (self.f)(&mut RowReader::new(row))?;
                self.out.push(value);
                Ok(())
            }
        }
        let mut sink = MapRows { f, out: Vec::new() };
        self.exec_driver_sql_into(sql, params, &mut sink)?;
        Ok(sink.out)
    }

    /// [`execute_into`](Self::execute_into) for raw SQL, with placeholders in the driver's
    /// style.
    pub fn exec_driver_sql_into(
        &mut self,
        sql: &str,
        params: &[Value],
        sink: &mut dyn RowSink,
    ) -> Result<RunOutcome> {
        self.check_not_rolled_back(sql, params)?;
        self.events.before_execute(sql, params);
        if opens_transaction(sql) {
            self.raw_begin = true;
        }
        let result = self.conn.driver.run(sql, params, sink);
        match result {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let err = self.fail(e, sql, params);
                Err(if is_commit(sql) {
                    commit_outcome_unknown(err)
                } else {
                    err
                })
            }
        }
    }

    /// Runs one statement once per parameter set, prepared once; returns the total rows
    /// affected. `stmt` is raw SQL (`&str`) or a statement to compile. Listeners and errors
    /// see each execution with its own parameters, as for [`run_many`](Self::run_many).
    pub fn execute_many<S, I>(&mut self, stmt: &S, param_sets: I) -> Result<u64>
    where
        S: SqlSource + ?Sized,
        I: IntoIterator,
        I::Item: AsRef<[Value]>,
    {
        let outcomes = self.run_many(stmt, param_sets)?;
        Ok(outcomes.iter().map(|o| o.rows_affected).sum())
    }

    /// Runs one statement once per parameter set, prepared once, and returns what each
    /// execution reported, in order: its rows affected and, for an INSERT, the key the
    /// database generated where it reports one ([`RunOutcome::last_insert_id`]). Rows the
    /// statement returns are read and dropped. `stmt` is raw SQL (`&str`) or a statement to
    /// compile, as for [`execute_many`](Self::execute_many).
    ///
    /// Each execution is reported to the engine's listeners with its own parameters. The
    /// first that fails stops the run; its error carries the statement and that execution's
    /// parameters, and the executions before it stay done (inside a transaction, they go
    /// with it if it is rolled back).
    ///
    /// ```
    /// use retort_core::{create_engine, Value};
    ///
    /// let engine = create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", &[])?;
    /// let names = [[Value::from("Alice")], [Value::from("Bob")]];
    /// let outcomes = conn.run_many("INSERT INTO users (name) VALUES (?)", names)?;
    /// let ids: Vec<Option<i64>> = outcomes.iter().map(|o| o.last_insert_id).collect();
    /// assert_eq!(ids, [Some(1), Some(2)]);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn run_many<S, I>(&mut self, stmt: &S, param_sets: I) -> Result<Vec<RunOutcome>>
    where
        S: SqlSource + ?Sized,
        I: IntoIterator,
        I::Item: AsRef<[Value]>,
    {
        let param_sets = param_sets.into_iter();
        let mut outcomes = Vec::with_capacity(param_sets.size_hint().0);
        self.run_prepared(stmt, |prepared| {
            for params in param_sets {
                outcomes.push(prepared.run_values(params.as_ref())?);
            }
            Ok(outcomes)
        })
    }

    /// Prepares `stmt` once and hands it to `f`, which runs it as many times as it needs,
    /// supplying each execution's parameters when it runs it: borrowed ones
    /// ([`StatementRunner::run`]) need to live only for that execution, so they can be
    /// read from data held under a lock that is released before the next. Returns what `f`
    /// returns. `stmt` is raw SQL (`&str`) or a statement to compile, as for
    /// [`execute_many`](Self::execute_many).
    ///
    /// Each execution is reported to the engine's listeners with its own parameters. One that
    /// fails returns an error carrying the statement and that execution's parameters, and the
    /// statement then refuses to run again, so that nothing runs before the connection has
    /// looked at what the failure did to the transaction; the executions before it stay done
    /// (inside a transaction, they go with it if it is rolled back).
    ///
    /// ```
    /// use retort_core::create_engine;
    /// use retort_core::value::ToValue;
    ///
    /// let engine = create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", &[])?;
    /// let names = vec![String::from("Alice"), String::from("Bob")];
    /// let ids = conn.run_prepared("INSERT INTO users (name) VALUES (?)", |insert| {
    ///     let mut ids = Vec::new();
    ///     for name in &names {
    ///         // The text is bound from `name` itself, not from a copy.
    ///         ids.push(insert.run(&[name.to_param()])?.last_insert_id);
    ///     }
    ///     Ok(ids)
    /// })?;
    /// assert_eq!(ids, [Some(1), Some(2)]);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn run_prepared<S, T>(
        &mut self,
        stmt: &S,
        f: impl FnOnce(&mut StatementRunner<'_>) -> Result<T>,
    ) -> Result<T>
    where
        S: SqlSource + ?Sized,
    {
        let sql = stmt.sql_for(self.dialect.as_ref())?;
        self.check_not_rolled_back(&sql, &[])?;
        let hide_params = self.events.hide_parameters();
        let inside = self.depth > 0;
        // The statement borrows the driver, so failures are noted on the connection's other
        // fields directly, as `fail` would.
        let pooled = &mut *self.conn;
        let statement = match pooled.driver.prepare(&sql) {
            Ok(statement) => statement,
            Err(e) => {
                pooled.health.note(&e);
                if inside {
                    record_failure(&mut self.failure, &e);
                }
                return Err(with_statement(e, &sql, &[], hide_params));
            }
        };
        let mut prepared = StatementRunner {
            sql: &sql,
            statement,
            events: &self.events,
            health: &mut pooled.health,
            failure: inside.then_some(&mut self.failure),
            hide_params,
            failed: false,
        };
        f(&mut prepared)
    }

    /// The column of `table` whose value, for a row inserted alone, is the
    /// [`last_insert_id`](RunOutcome::last_insert_id) its INSERT reports, exactly: on SQLite
    /// the rowid alias, a column declared `INTEGER PRIMARY KEY` (not `BIGINT`, not
    /// `INTEGER PRIMARY KEY DESC`) of a table with rowids (not `WITHOUT ROWID`). `None` for a
    /// table without one, for a table that does not exist, and on databases where the
    /// reported key is not tied to a column this way.
    ///
    /// Read from the database's catalog the first time a table is asked about, then kept by
    /// the engine for all its connections with the schema version it was read at; each call
    /// reads the version (one small statement) and reads the catalog again when it changed,
    /// by DDL through any connection or process. Both queries are the engine's own, like its
    /// first-connection setup: listeners do not see them.
    ///
    /// ```
    /// let engine = retort_core::create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// conn.exec_driver_sql("CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT)", &[])?;
    /// conn.exec_driver_sql("CREATE TABLE b (id BIGINT PRIMARY KEY, name TEXT)", &[])?;
    /// assert_eq!(conn.insert_id_column("a")?.as_deref(), Some("id"));
    /// assert_eq!(conn.insert_id_column("b")?, None);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn insert_id_column(&mut self, table: &str) -> Result<Option<Arc<str>>> {
        let (Some(sql), Some(version_sql)) = (
            self.dialect.insert_id_column_query(),
            self.dialect.schema_version_query(),
        ) else {
            return Ok(None);
        };
        // The schema as this connection sees it now, in its transaction: an answer read at
        // another version may describe a table since made again with another key.
        let version = match self.conn.driver.execute(version_sql, &[]) {
            Ok(result) => match result.rows.first().and_then(|row| row.first()) {
                Some(Value::Int(version)) => *version,
                _ => return Ok(None),
            },
            Err(e) => return Err(self.fail(e, version_sql, &[])),
        };
        if let Some((read_at, known)) = self.insert_ids.lock().get(table) {
            if *read_at == version {
                return Ok(known.clone());
            }
        }
        let params = [Value::Text(table.to_owned())];
        let found = match self.conn.driver.execute(sql, &params) {
            Ok(result) => {
                let first = result.rows.into_iter().next();
                match first.and_then(|row| row.into_iter().next()) {
                    Some(Value::Text(name)) => Some(Arc::from(name)),
                    _ => None,
                }
            }
            Err(e) => return Err(self.fail(e, sql, &params)),
        };
        self.insert_ids
            .lock()
            .insert(table.to_owned(), (version, found.clone()));
        Ok(found)
    }

    /// Compiles and runs `stmt`, returning its rows as the driver reads them rather than all
    /// at once. The connection stays borrowed until the stream is dropped.
    pub fn stream(&mut self, stmt: &(impl Executable + ?Sized)) -> Result<RowStream<'_>> {
        let compiled = self.cache.compile_bound(&self.dialect, stmt, &[])?;
        self.stream_driver_sql(compiled.sql(), &compiled.params)
    }

    /// [`stream`](Self::stream) for raw SQL.
    pub fn stream_driver_sql(&mut self, sql: &str, params: &[Value]) -> Result<RowStream<'_>> {
        self.check_not_rolled_back(sql, params)?;
        self.events.before_execute(sql, params);
        let hide_params = self.events.hide_parameters();
        let pooled = &mut *self.conn;
        // The driver stays borrowed on the error path too, so the failure is only recorded
        // here; the next operation asks the driver what it did to the transaction.
        let failure = &mut self.failure;
        let inside = self.depth > 0;
        match pooled.driver.stream(sql, params) {
            Ok(stream) => Ok(RowStream {
                columns: stream.columns,
                rows: stream.rows,
                health: &mut pooled.health,
                failure: inside.then_some(failure),
                sql: sql.to_owned(),
                params: if hide_params {
                    Vec::new()
                } else {
                    params.to_vec()
                },
                hide_params,
                finished: false,
            }),
            Err(e) => {
                pooled.health.note(&e);
                if inside {
                    record_failure(failure, &e);
                }
                Err(with_statement(e, sql, params, hide_params))
            }
        }
    }

    /// Opens a transaction; it rolls back when the returned guard is dropped uncommitted.
    /// Fails with [`Error::InvalidRequest`] if one is already open (use
    /// [`begin_nested`](Self::begin_nested)).
    pub fn begin(&mut self) -> Result<Transaction<'_>> {
        if self.depth > 0 {
            return Err(Error::InvalidRequest(
                "a transaction is already open on this connection; use begin_nested() for a savepoint"
                    .into(),
            ));
        }
        self.control("BEGIN")?;
        self.depth = 1;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }

    /// Opens a savepoint inside the current transaction (or savepoint). Fails with
    /// [`Error::InvalidRequest`] outside a transaction.
    pub fn begin_nested(&mut self) -> Result<Savepoint<'_>> {
        if self.depth == 0 {
            return Err(Error::InvalidRequest(
                "begin_nested() needs an open transaction; call begin() first".into(),
            ));
        }
        let name = self.open_savepoint()?;
        Ok(Savepoint {
            conn: self,
            name,
            done: false,
        })
    }

    /// Runs `f` in a transaction: committed when `f` returns `Ok`, rolled back when it
    /// returns `Err` (whose error is returned) or panics. A failed COMMIT is reported as by
    /// [`Transaction::commit`]; [`ErrorKind::CommitOutcomeUnknown`] means the work may have
    /// been committed, so retrying `f` blindly may apply it twice.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.begin()?;
        match f(&mut tx) {
            Ok(value) => {
                tx.commit()?;
                Ok(value)
            }
            Err(e) => {
                if let Err(rollback_err) = tx.rollback() {
                    tracing::warn!(target: "retort::engine", "rollback failed: {rollback_err}");
                }
                Err(e)
            }
        }
    }

    /// Opens a transaction without a guard, for owners that keep the connection across calls
    /// (the ORM's Session). End it with [`commit_transaction`](Self::commit_transaction) or
    /// [`rollback_transaction`](Self::rollback_transaction); if neither runs, returning the
    /// connection to the pool rolls it back.
    pub fn begin_transaction(&mut self) -> Result<()> {
        if self.depth > 0 {
            return Err(Error::InvalidRequest(
                "a transaction is already open on this connection".into(),
            ));
        }
        self.control("BEGIN")?;
        self.depth = 1;
        Ok(())
    }

    /// Commits the transaction opened by [`begin_transaction`](Self::begin_transaction),
    /// with any savepoints still open inside it.
    ///
    /// When the database refuses the COMMIT (a deferred constraint, a serialization failure)
    /// the transaction is rolled back and that error returned. When the connection is lost
    /// while COMMIT is in flight the error is [`ErrorKind::CommitOutcomeUnknown`]: the
    /// server may have committed, so check the database before retrying the work. A
    /// transaction the database gave up after a failed statement fails to commit as with
    /// [`Transaction::commit`].
    pub fn commit_transaction(&mut self) -> Result<()> {
        self.require_transaction()?;
        self.end_transaction(true)
    }

    /// Rolls back the transaction opened by [`begin_transaction`](Self::begin_transaction).
    pub fn rollback_transaction(&mut self) -> Result<()> {
        self.require_transaction()?;
        self.end_transaction(false)
    }

    /// Opens a savepoint without a guard and returns its (quoted) name, for
    /// [`release_savepoint`](Self::release_savepoint) and
    /// [`rollback_to_savepoint`](Self::rollback_to_savepoint).
    pub fn savepoint(&mut self) -> Result<String> {
        self.require_transaction()?;
        self.open_savepoint()
    }

    /// Sends `SAVEPOINT` with a fresh name and counts it; returns the quoted name.
    fn open_savepoint(&mut self) -> Result<String> {
        self.savepoints += 1;
        let mut name = String::new();
        self.dialect
            .quote_identifier(&format!("retort_sp_{}", self.savepoints), &mut name);
        let sql = format!("SAVEPOINT {name}");
        self.check_not_rolled_back(&sql, &[])?;
        self.control(&sql)?;
        self.depth += 1;
        Ok(name)
    }

    /// Releases a savepoint opened by [`savepoint`](Self::savepoint), keeping its work.
    pub fn release_savepoint(&mut self, name: &str) -> Result<()> {
        self.require_transaction()?;
        self.end_savepoint(name, true)
    }

    /// Undoes the work done since the savepoint opened by [`savepoint`](Self::savepoint).
    pub fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        self.require_transaction()?;
        self.end_savepoint(name, false)
    }

    fn require_transaction(&self) -> Result<()> {
        if self.depth == 0 {
            return Err(Error::InvalidRequest(
                "no transaction is open on this connection".into(),
            ));
        }
        Ok(())
    }

    /// Whether a transaction opened with [`begin`](Self::begin) is in progress.
    pub fn in_transaction(&self) -> bool {
        self.depth > 0
    }

    /// Whether a savepoint is open.
    pub fn in_nested_transaction(&self) -> bool {
        self.depth > 1
    }

    /// Returns the connection to the pool (what dropping it does).
    pub fn close(self) {}

    /// Closes the underlying database connection instead of returning it to the pool, for a
    /// connection in a state that must not be reused.
    pub fn invalidate(mut self) {
        self.conn.health.mark_broken();
    }

    /// Runs transaction-control SQL.
    fn control(&mut self, sql: &str) -> Result<()> {
        self.events.before_execute(sql, &[]);
        match self.conn.driver.execute_batch(sql) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(e, sql, &[])),
        }
    }

    /// Ends the transaction with COMMIT or ROLLBACK, never leaving the connection inside one.
    ///
    /// A COMMIT has three outcomes besides success. The database refused it: the transaction
    /// is rolled back and the error returned. The connection was already broken: COMMIT is not
    /// sent, and the transaction ends uncommitted when the connection is closed
    /// (`ConnectionLost`). The connection was lost with COMMIT in flight: the server may have
    /// committed before the connection died, so the error says the outcome is unknown
    /// (`CommitOutcomeUnknown`).
    fn end_transaction(&mut self, commit: bool) -> Result<()> {
        self.settle_failure();
        let rolled_back = self.rolled_back.take();
        self.depth = 0;
        self.raw_begin = false;
        if commit {
            if let Some(cause) = rolled_back {
                // Nothing is left to commit. A ROLLBACK makes sure no transaction stays open
                // where the driver cannot tell.
                self.rollback_quietly();
                return Err(with_statement(
                    rolled_back_error("COMMIT", &cause),
                    "COMMIT",
                    &[],
                    false,
                ));
            }
            if self.conn.health.is_broken() {
                return Err(Error::Operational(
                    DatabaseError::new(
                        ErrorKind::ConnectionLost,
                        "the connection broke before COMMIT was sent, so the transaction was \
                         not committed; it ends when the connection is closed",
                    )
                    .with_statement("COMMIT", &[]),
                ));
            }
            self.events.before_execute("COMMIT", &[]);
            let committed = match self.conn.driver.commit() {
                Ok(()) => Ok(()),
                Err(e) => Err(self.fail(e, "COMMIT", &[])),
            };
            match committed {
                Ok(()) => Ok(()),
                Err(e) if e.is_disconnect() => Err(commit_outcome_unknown(e)),
                Err(e) => {
                    self.rollback_quietly();
                    Err(e)
                }
            }
        } else if self.conn.driver.in_transaction() == Some(false) {
            // The database already ended it (raw SQL, or an error that rolls back by itself).
            Ok(())
        } else {
            self.control("ROLLBACK")
        }
    }

    fn end_savepoint(&mut self, name: &str, commit: bool) -> Result<()> {
        let sql = if commit {
            format!("RELEASE SAVEPOINT {name}")
        } else {
            format!("ROLLBACK TO SAVEPOINT {name}")
        };
        // When the database rolled back the whole transaction, the savepoint went with it:
        // there is nothing to release, and rolling back to it cannot bring the work back.
        let refused = self.check_not_rolled_back(&sql, &[]);
        self.depth = self.depth.saturating_sub(1);
        refused?;
        self.control(&sql)
    }

    /// ROLLBACK for cleanup paths; a failure means the connection cannot be trusted again.
    fn rollback_quietly(&mut self) {
        if self.conn.health.is_broken() || self.conn.driver.in_transaction() == Some(false) {
            return;
        }
        self.events.before_execute("ROLLBACK", &[]);
        if let Err(e) = self.conn.driver.execute_batch("ROLLBACK") {
            self.conn.health.note(&e);
            self.conn.health.mark_broken();
        }
    }

    fn fail(&mut self, err: Error, sql: &str, params: &[Value]) -> Error {
        self.conn.health.note(&err);
        if self.depth > 0 {
            record_failure(&mut self.failure, &err);
        }
        with_statement(err, sql, params, self.events.hide_parameters())
    }

    /// Asks the driver whether the last failure inside the transaction made the database roll
    /// the whole transaction back, before anything else runs on the connection.
    fn settle_failure(&mut self) {
        if let Some(err) = self.failure.take() {
            if self.depth > 0 && self.rolled_back.is_none() && self.conn.driver.rolled_back_by(&err)
            {
                self.rolled_back = Some(describe(&err));
            }
        }
    }

    /// Refuses `sql` when the database has rolled back the transaction it would run in: it
    /// would run outside it, in autocommit mode, unknown to the caller.
    fn check_not_rolled_back(&mut self, sql: &str, params: &[Value]) -> Result<()> {
        self.settle_failure();
        match &self.rolled_back {
            Some(cause) => Err(with_statement(
                rolled_back_error("the statement", cause),
                sql,
                params,
                self.events.hide_parameters(),
            )),
            None => Ok(()),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The driver knows best where it can tell; otherwise trust the bookkeeping.
        let open = self
            .conn
            .driver
            .in_transaction()
            .unwrap_or(self.depth > 0 || self.raw_begin);
        if open {
            self.rollback_quietly();
        }
        self.depth = 0;
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("dialect", &self.dialect.name())
            .field("in_transaction", &self.in_transaction())
            .finish_non_exhaustive()
    }
}

/// An open transaction; derefs to its [`Connection`]. Rolled back when dropped uncommitted.
#[must_use = "a transaction rolls back when dropped; call commit()"]
pub struct Transaction<'c> {
    conn: &'c mut Connection,
    done: bool,
}

impl Transaction<'_> {
    /// Commits.
    ///
    /// If the database refuses the COMMIT, the transaction is rolled back and the error
    /// returned. If the connection is lost while COMMIT is in flight, nobody can say from here
    /// whether the server committed before it went: the error is then
    /// [`ErrorKind::CommitOutcomeUnknown`] (an `OperationalError` that is also a disconnect),
    /// and the caller must check the database before retrying.
    ///
    /// A transaction the database gave up after a failed statement is not committed either,
    /// and the COMMIT fails with an `OperationalError` that says so (see the module
    /// documentation); the connection is then left with no transaction open.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.end_transaction(true)
    }

    /// Rolls back.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.conn.end_transaction(false)
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.conn.depth = 0;
            self.conn.raw_begin = false;
            self.conn.rolled_back = None;
            self.conn.failure = None;
            self.conn.rollback_quietly();
        }
    }
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction").finish_non_exhaustive()
    }
}

/// An open savepoint; derefs to its [`Connection`]. Rolled back to when dropped unreleased.
#[must_use = "a savepoint rolls back when dropped; call commit()"]
pub struct Savepoint<'c> {
    conn: &'c mut Connection,
    name: String,
    done: bool,
}

impl Savepoint<'_> {
    /// Releases the savepoint, keeping its work in the enclosing transaction.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        let name = std::mem::take(&mut self.name);
        self.conn.end_savepoint(&name, true)
    }

    /// Rolls back to the savepoint, undoing only the work done since it was opened.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        let name = std::mem::take(&mut self.name);
        self.conn.end_savepoint(&name, false)
    }
}

impl Deref for Savepoint<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl DerefMut for Savepoint<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if !self.done {
            let name = std::mem::take(&mut self.name);
            // Refused only because the database rolled back the whole transaction; the
            // connection itself is sound.
            if self.conn.end_savepoint(&name, false).is_err() && self.conn.rolled_back.is_none() {
                self.conn.conn.health.mark_broken();
            }
        }
    }
}

impl fmt::Debug for Savepoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Savepoint")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Rows read one at a time as the driver delivers them: SQLite steps its statement, PostgreSQL
/// reads the server's rows off the socket, MySQL reads its result set. An error ends the
/// stream.
///
/// Iterating it gives each row as a [`Row`] of values; [`map_rows`](Self::map_rows) reads
/// typed values straight from the driver's row instead, as
/// [`query_map`](Connection::query_map) does, without building the row's values first.
pub struct RowStream<'c> {
    columns: Arc<[String]>,
    rows: Box<dyn DriverCursor + 'c>,
    health: &'c mut Health,
    /// Where a failure inside a transaction is recorded for the connection to examine.
    failure: Option<&'c mut Option<Error>>,
    sql: String,
    params: Vec<Value>,
    hide_params: bool,
    finished: bool,
}

impl<'c> RowStream<'c> {
    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Reads the next row with `f`, straight from the driver's row; `None` once the rows have
    /// ended. An error, the driver's or `f`'s, ends the stream.
    pub fn next_with<T>(
        &mut self,
        f: impl FnOnce(&mut RowReader<'_>) -> Result<T>,
    ) -> Option<Result<T>> {
        if self.finished {
            return None;
        }
        let mut f = Some(f);
        let mut read = None;
        let outcome = self.rows.next_row(&mut |row| {
            if let Some(f) = f.take() {
                read = Some(f(&mut RowReader::new(row))?);
            }
            Ok(())
        });
        match outcome {
            Ok(Some(Ok(()))) => read.map(Ok),
            Ok(Some(Err(e))) => {
                self.finished = true;
                Some(Err(e))
            }
            Ok(None) => {
                self.finished = true;
                None
            }
            Err(e) => {
                self.finished = true;
                self.health.note(&e);
                if let Some(failure) = self.failure.as_deref_mut() {
                    record_failure(failure, &e);
                }
                Some(Err(with_statement(
                    e,
                    &self.sql,
                    &self.params,
                    self.hide_params,
                )))
            }
        }
    }

    /// The rows, each read with `f` straight from the driver's row: the streaming form of
    /// [`query_map`](Connection::query_map).
    ///
    /// ```
    /// use retort_core::sql::{select, table};
    ///
    /// let engine = retort_core::create_engine("sqlite://")?;
    /// let mut conn = engine.connect()?;
    /// conn.exec_driver_sql("CREATE TABLE users (id INTEGER, name TEXT)", &[])?;
    /// conn.exec_driver_sql("INSERT INTO users VALUES (1, 'Alice'), (2, 'Bob')", &[])?;
    ///
    /// let users = table("users");
    /// let stmt = select((users.c("id"), users.c("name"))).order_by(users.c("id"));
    /// let mut names = Vec::new();
    /// for user in conn.stream(&stmt)?.map_rows(|row| row.get::<String>(1)) {
    ///     names.push(user?);
    /// }
    /// assert_eq!(names, ["Alice", "Bob"]);
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn map_rows<T, F>(self, f: F) -> MapRows<'c, F>
    where
        F: FnMut(&mut RowReader<'_>) -> Result<T>,
    {
        MapRows { stream: self, f }
    }
}

impl Iterator for RowStream<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let columns = Arc::clone(&self.columns);
        self.next_with(|row| {
            let values = (0..row.len())
                .map(|i| row.get::<Value>(i))
                .collect::<Result<Vec<_>>>()?;
            Row::new(columns, values)
        })
    }
}

/// The rows of a [`RowStream`] read with a function: see [`RowStream::map_rows`].
pub struct MapRows<'c, F> {
    stream: RowStream<'c>,
    f: F,
}

impl<T, F> Iterator for MapRows<'_, F>
where
    F: FnMut(&mut RowReader<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let f = &mut self.f;
        self.stream.next_with(|row| f(row))
    }
}

impl<F> fmt::Debug for MapRows<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapRows")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RowStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStream")
            .field("columns", &self.columns)
            .field("sql", &self.sql)
            .finish_non_exhaustive()
    }
}

/// Runs a statement prepared by [`Connection::run_prepared`] once per call of
/// [`run`](Self::run) or [`run_values`](Self::run_values).
pub struct StatementRunner<'c> {
    sql: &'c str,
    statement: Box<dyn DriverStatement + 'c>,
    events: &'c Events,
    health: &'c mut Health,
    /// Where a failure inside a transaction is recorded for the connection to examine.
    failure: Option<&'c mut Option<Error>>,
    hide_params: bool,
    /// An execution failed: the connection must see to it before anything else runs.
    failed: bool,
}

impl StatementRunner<'_> {
    /// Whether each execution is shown to listeners or echoed: then [`run`](Self::run) makes
    /// owned copies of its parameters for them anyway. Listeners run inside `run`, so a
    /// caller that holds a lock for its borrowed parameters may rather copy them, release
    /// the lock and call [`run_values`](Self::run_values), leaving a listener free to take
    /// that lock.
    pub fn observed(&self) -> bool {
        self.events.observed()
    }

    /// Runs the statement once with `params`, bound where they lie (on SQLite; other drivers
    /// may copy them), and returns what the execution reported. Rows it returns are read and
    /// dropped. Listeners, and the error of a failed execution, get owned copies of the
    /// parameters, made only when there is a listener or echo, or an error.
    pub fn run(&mut self, params: &[ParamRef<'_>]) -> Result<RunOutcome> {
        self.check_not_failed()?;
        if self.events.observed() {
            let owned: Vec<Value> = params.iter().map(ParamRef::to_value).collect();
            self.events.before_execute(self.sql, &owned);
        }
        match self.statement.run_borrowed(params, &mut Discard) {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let owned: Vec<Value> = if self.hide_params {
                    Vec::new()
                } else {
                    params.iter().map(ParamRef::to_value).collect()
                };
                Err(self.fail(e, &owned))
            }
        }
    }

    /// [`run`](Self::run) with owned parameters.
    pub fn run_values(&mut self, params: &[Value]) -> Result<RunOutcome> {
        self.check_not_failed()?;
        self.events.before_execute(self.sql, params);
        match self.statement.run(params, &mut Discard) {
            Ok(outcome) => Ok(outcome),
            Err(e) => Err(self.fail(e, params)),
        }
    }

    fn check_not_failed(&self) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidRequest(format!(
                "an earlier execution of this prepared statement failed, so it is not run \
                 again: {}",
                self.sql
            )));
        }
        Ok(())
    }

    /// What `Connection::fail` does, for the connection this statement borrows.
    fn fail(&mut self, err: Error, params: &[Value]) -> Error {
        self.failed = true;
        self.health.note(&err);
        if let Some(failure) = self.failure.as_deref_mut() {
            record_failure(failure, &err);
        }
        with_statement(err, self.sql, params, self.hide_params)
    }
}

impl fmt::Debug for StatementRunner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatementRunner")
            .field("sql", &self.sql)
            .finish_non_exhaustive()
    }
}
