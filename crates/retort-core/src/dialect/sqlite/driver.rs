//! The SQLite driver adapter, over rusqlite.
//!
//! Every connection turns on `PRAGMA foreign_keys`, waits up to a busy timeout (5 s, or the
//! URL's `?timeout=<seconds>`) for a locked database, and reuses prepared statements through
//! rusqlite's statement cache.
//!
//! A database file is put in WAL mode (`PRAGMA journal_mode = WAL`): readers and a writer then
//! do not block each other, so a transaction that has only read does not hold up every writer
//! until it ends. Writers still take turns, each waiting up to the busy timeout. The URL's
//! `?journal_mode=delete` (or `truncate`, `persist`) keeps SQLite's rollback journal instead,
//! where a transaction that has read blocks writers' COMMITs until it ends. The mode is
//! stored in the file, so every connection to it should ask for the same one; leaving WAL
//! needs every other connection to the file closed. `synchronous` stays `FULL`, so a
//! committed transaction survives a power cut in either mode. In-memory databases keep their
//! memory journal.
//!
//! Values SQLite has no type for are stored as TEXT: dates as `YYYY-MM-DD`, times as
//! `HH:MM:SS.ffffff`, date-times as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC for zone-aware ones, as
//! SQLAlchemy does), decimals, JSON and UUIDs as their text; booleans as 0 and 1. They read
//! back as text or numbers, which [`FromValue`](crate::value::FromValue) converts. A decimal
//! that a NUMERIC column would round (more than 15 significant digits, unless a whole number
//! within `i64`) is refused with a [`Error::Data`] instead, and so is NaN, which SQLite would
//! store as NULL. A statement with more parameters than SQLite's variable limit (32766 in the
//! bundled build) is refused with [`Error::Argument`] before it is prepared.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::limits::Limit;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, ToSql};

use super::errors::classify;
use super::SqliteDialect;
use crate::engine::driver::{
    ConnectOptions, DriverConnection, DriverCursor, DriverDialect, DriverRow, DriverStatement,
    DriverStream, IsolationLevel, RowSink, RunOutcome,
};
use crate::engine::url::Url;
use crate::error::{DatabaseError, Error, ErrorKind, Result};
use crate::value::{ParamRef, Value};

const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const STATEMENT_CACHE_CAPACITY: usize = 128;

fn is_memory(url: &Url) -> bool {
    matches!(url.database(), None | Some(":memory:"))
}

impl DriverDialect for SqliteDialect {
    fn connect(&self, url: &Url, options: &ConnectOptions) -> Result<Box<dyn DriverConnection>> {
        if url.host().is_some() || url.port().is_some() {
            return Err(Error::Url(
                "a sqlite URL has no host: write sqlite:///relative.db, sqlite:////absolute.db or sqlite://".into(),
            ));
        }
        let mut busy_timeout = DEFAULT_BUSY_TIMEOUT;
        let mut journal_mode = (!is_memory(url)).then_some("wal");
        for (key, value) in url.query() {
            match key.as_str() {
                "journal_mode" => {
                    journal_mode = Some(parse_journal_mode(url, value)?);
                }
                "timeout" => {
                    busy_timeout = value
                        .parse::<f64>()
                        .ok()
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                        .ok_or_else(|| {
                            Error::Url(format!(
                                "the sqlite timeout '{value}' is not a number of seconds"
                            ))
                        })?;
                }
                other => {
                    return Err(Error::Url(format!(
                    "unknown option '{other}' for sqlite URLs (supported: timeout, journal_mode)"
                )))
                }
            }
        }
        let conn = match url.database() {
            Some(path) if !is_memory(url) => rusqlite::Connection::open(path),
            _ => rusqlite::Connection::open_in_memory(),
        }
        .map_err(classify)?;
        conn.busy_timeout(busy_timeout).map_err(classify)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(classify)?;
        if let Some(mode) = journal_mode {
            set_journal_mode(&conn, mode)?;
        }
        // SQLite transactions are always serializable; dirty reads are possible only between
        // connections sharing a cache, which is what this pragma allows.
        let read_uncommitted = options.isolation_level == Some(IsolationLevel::ReadUncommitted);
        conn.execute_batch(if read_uncommitted {
            "PRAGMA read_uncommitted = 1"
        } else {
            "PRAGMA read_uncommitted = 0"
        })
        .map_err(classify)?;
        Ok(Box::new(SqliteConnection { conn }))
    }

    fn requires_single_connection(&self, url: &Url) -> bool {
        is_memory(url)
    }

    fn insert_id_column_query(&self) -> Option<&'static str> {
        // last_insert_rowid() is the key only where the key is the rowid: a table's one key
        // column declared exactly INTEGER PRIMARY KEY. Any other key (BIGINT, INTEGER PRIMARY
        // KEY DESC, composite, WITHOUT ROWID) is kept in an index whose origin is 'pk'; the
        // rowid alias has none.
        Some(
            "SELECT name FROM pragma_table_info(?1) WHERE pk = 1 AND upper(type) = 'INTEGER' \
             AND NOT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE pk > 1) \
             AND NOT EXISTS (SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk')",
        )
    }

    fn schema_version_query(&self) -> Option<&'static str> {
        // Changed by every schema change, by any connection, once this one can see it.
        Some("PRAGMA schema_version")
    }
}

/// The journal modes a URL may ask for: those that keep a journal on disk, on which
/// rollback and crash recovery depend.
fn parse_journal_mode(url: &Url, value: &str) -> Result<&'static str> {
    if is_memory(url) {
        return Err(Error::Url(
            "journal_mode applies to database files; an in-memory database keeps its journal \
             in memory"
                .into(),
        ));
    }
    ["wal", "delete", "truncate", "persist"]
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            Error::Url(format!(
                "the sqlite journal_mode '{value}' is not supported (supported: wal, delete, \
                 truncate, persist; off and memory would give up rollback after a crash)"
            ))
        })
}

/// Sets the journal mode and checks that SQLite took it (a file system without shared memory
/// cannot hold a WAL database, for one).
fn set_journal_mode(conn: &rusqlite::Connection, mode: &str) -> Result<()> {
    let set: String = conn
        .query_row(&format!("PRAGMA journal_mode = {mode}"), [], |row| {
            row.get(0)
        })
        .map_err(classify)?;
    if set.eq_ignore_ascii_case(mode) {
        return Ok(());
    }
    Err(Error::Operational(DatabaseError::new(
        ErrorKind::OtherOperational,
        format!(
            "SQLite kept journal_mode '{set}' instead of '{mode}'; choose another with the \
             URL's ?journal_mode="
        ),
    )))
}

struct SqliteConnection {
    conn: rusqlite::Connection,
}

/// A value bound as the SQLite type that stores it.
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Float(x) => ToSqlOutput::Borrowed(ValueRef::Real(*x)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            #[cfg(feature = "decimal")]
            Value::Decimal(d) => ToSqlOutput::from(d.to_string()),
            #[cfg(feature = "chrono")]
            Value::Date(d) => ToSqlOutput::from(d.format("%Y-%m-%d").to_string()),
            #[cfg(feature = "chrono")]
            Value::Time(t) => ToSqlOutput::from(t.format("%H:%M:%S%.6f").to_string()),
            #[cfg(feature = "chrono")]
            Value::DateTime(dt) => {
                ToSqlOutput::from(dt.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
            }
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(dt) => {
                ToSqlOutput::from(dt.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string())
            }
            #[cfg(feature = "json")]
            Value::Json(j) => ToSqlOutput::from(j.to_string()),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => ToSqlOutput::from(u.hyphenated().to_string()),
        })
    }
}

/// Refuses a decimal SQLite would round. A NUMERIC column stores it as an INTEGER when it is
/// a whole number that fits, else as a REAL, which keeps 15 significant digits: more would be
/// lost silently.
#[cfg(feature = "decimal")]
fn check_decimal(d: &rust_decimal::Decimal) -> Result<()> {
    let n = d.normalize();
    let whole = n.scale() == 0 && i64::try_from(n).is_ok();
    if whole || n.mantissa().unsigned_abs().to_string().len() <= 15 {
        return Ok(());
    }
    Err(Error::Data(DatabaseError::new(
        ErrorKind::OutOfRange,
        format!(
            "SQLite keeps 15 significant digits of a decimal and {d} has more; \
             store it as text (SqlType::String) or as a scaled integer"
        ),
    )))
}

/// Refuses a float SQLite would not store as given: it binds NaN as NULL.
fn check_float(x: f64) -> Result<()> {
    if x.is_nan() {
        return Err(Error::Data(DatabaseError::new(
            ErrorKind::InvalidValue,
            "SQLite cannot store NaN (it would store NULL)",
        )));
    }
    Ok(())
}

/// Refuses more parameters than SQLite accepts in one statement, before it is prepared.
fn check_param_count(conn: &rusqlite::Connection, params: &[Value]) -> Result<()> {
    let limit = conn.limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER);
    if usize::try_from(limit).is_ok_and(|limit| params.len() > limit) {
        return Err(Error::Argument(format!(
            "{} parameters were given; SQLite accepts at most {limit} in one statement",
            params.len()
        )));
    }
    Ok(())
}

/// Refuses a parameter count other than the statement's number of placeholders.
fn check_bind_count(stmt: &CachedStatement<'_>, given: usize) -> Result<()> {
    let expected = stmt.parameter_count();
    if expected != given {
        return Err(Error::Programming(DatabaseError::new(
            ErrorKind::OtherProgramming,
            format!("the statement has {expected} placeholders but {given} parameters were given"),
        )));
    }
    Ok(())
}

/// Binds `value` to placeholder `index` (from 1), refusing what SQLite would not store as
/// given.
fn bind_value(stmt: &mut CachedStatement<'_>, index: usize, value: &Value) -> Result<()> {
    match value {
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => check_decimal(d)?,
        Value::Float(x) => check_float(*x)?,
        _ => {}
    }
    stmt.raw_bind_parameter(index, Param(value))
        .map_err(classify)
}

fn bind(stmt: &mut CachedStatement<'_>, params: &[Value]) -> Result<()> {
    check_bind_count(stmt, params.len())?;
    for (i, p) in params.iter().enumerate() {
        bind_value(stmt, i + 1, p)?;
    }
    Ok(())
}

/// [`bind`] for borrowed parameters: text and bytes are bound where they lie, as
/// [`Param`] binds those of a [`Value`].
fn bind_borrowed(stmt: &mut CachedStatement<'_>, params: &[ParamRef<'_>]) -> Result<()> {
    check_bind_count(stmt, params.len())?;
    for (i, p) in params.iter().enumerate() {
        let bound = match p {
            ParamRef::Value(v) => bind_value(stmt, i + 1, v),
            ParamRef::Owned(v) => bind_value(stmt, i + 1, v),
            ParamRef::Text(t) => stmt
                .raw_bind_parameter(i + 1, ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())))
                .map_err(classify),
            ParamRef::Bytes(b) => stmt
                .raw_bind_parameter(i + 1, ToSqlOutput::Borrowed(ValueRef::Blob(b)))
                .map_err(classify),
        };
        bound?;
    }
    Ok(())
}

fn column_names(stmt: &CachedStatement<'_>) -> Arc<[String]> {
    stmt.column_names().into_iter().map(str::to_owned).collect()
}

/// A column's value as retort holds it: text that is not UTF-8 reads as bytes.
/// SQLite text as a `String`; text that is not UTF-8 is kept as its bytes.
fn text(t: &[u8]) -> std::result::Result<String, Vec<u8>> {
    std::str::from_utf8(t)
        .map(str::to_owned)
        .map_err(|_| t.to_vec())
}

fn to_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(x) => Value::Float(x),
        ValueRef::Text(t) => text(t).map_or_else(Value::Bytes, Value::Text),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

/// Reads a row. The column count comes from the statement as it is now: stepping may have
/// recompiled it after a schema change (`SELECT *` gaining a column).
fn read_row(row: &rusqlite::Row<'_>) -> Result<Vec<Value>> {
    (0..row.as_ref().column_count())
        .map(|i| row.get_ref(i).map(to_value).map_err(classify))
        .collect()
}

/// A row being stepped, read in place.
struct SqliteRow<'r, 's>(&'r rusqlite::Row<'s>);

impl DriverRow for SqliteRow<'_, '_> {
    fn column_count(&self) -> usize {
        self.0.as_ref().column_count()
    }

    fn column_name(&self, i: usize) -> &str {
        self.0.as_ref().column_name(i).unwrap_or("")
    }

    fn get(&self, i: usize) -> Result<Value> {
        self.0.get_ref(i).map(to_value).map_err(classify)
    }

    fn take_int(&mut self, i: usize) -> Result<std::result::Result<i64, Value>> {
        Ok(match self.0.get_ref(i).map_err(classify)? {
            ValueRef::Integer(n) => Ok(n),
            other => Err(to_value(other)),
        })
    }

    fn take_text(&mut self, i: usize) -> Result<std::result::Result<String, Value>> {
        Ok(match self.0.get_ref(i).map_err(classify)? {
            ValueRef::Text(t) => text(t).map_err(Value::Bytes),
            other => Err(to_value(other)),
        })
    }
}

/// The statement's column names, as it stands after its first step.
fn names<'s>(stmt: &'s rusqlite::Statement<'_>) -> impl Iterator<Item = &'s str> {
    (0..stmt.column_count()).map(|i| stmt.column_name(i).unwrap_or(""))
}

/// Whether `sql` is exactly one of the fixed transaction-control statements the engine sends.
fn is_transaction_control(sql: &str) -> bool {
    matches!(sql, "BEGIN" | "COMMIT" | "ROLLBACK")
}

/// Whether the statement is an INSERT (or REPLACE), whose rowid SQLite then reports.
fn is_insert(sql: &str) -> bool {
    let head = sql.trim_start();
    ["INSERT", "REPLACE"].iter().any(|kw| {
        head.get(..kw.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(kw))
    })
}

/// Steps a bound statement to its end, handing its rows to `sink`; `insert` says whether it is
/// an INSERT, whose new rowid SQLite then reports.
fn run_bound(
    conn: &rusqlite::Connection,
    stmt: &mut CachedStatement<'_>,
    insert: bool,
    sink: &mut dyn RowSink,
) -> Result<RunOutcome> {
    if stmt.column_count() == 0 {
        let changed = stmt.raw_execute().map_err(classify)?;
        let last_insert_id = (changed > 0 && insert).then(|| conn.last_insert_rowid());
        return Ok(RunOutcome {
            rows_affected: changed as u64,
            last_insert_id,
        });
    }
    let mut count = 0u64;
    {
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(classify)? {
            // Named after the first step, which recompiles a statement whose tables
            // changed.
            if count == 0 {
                sink.columns(&mut names(row.as_ref()))?;
            }
            sink.row(&mut SqliteRow(row))?;
            count += 1;
        }
    }
    if count == 0 {
        sink.columns(&mut names(stmt))?;
    }
    // INSERT ... RETURNING
    let last_insert_id = (count > 0 && insert).then(|| conn.last_insert_rowid());
    Ok(RunOutcome {
        rows_affected: count,
        last_insert_id,
    })
}

impl DriverConnection for SqliteConnection {
    fn run(&mut self, sql: &str, params: &[Value], sink: &mut dyn RowSink) -> Result<RunOutcome> {
        check_param_count(&self.conn, params)?;
        let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
        bind(&mut stmt, params)?;
        run_bound(&self.conn, &mut stmt, is_insert(sql), sink)
    }

    fn stream<'c>(&'c mut self, sql: &str, params: &[Value]) -> Result<DriverStream<'c>> {
        check_param_count(&self.conn, params)?;
        let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
        bind(&mut stmt, params)?;
        let mut rows = SqliteRows {
            stmt,
            done: false,
            first: None,
            columns: Arc::from([]),
        };
        // The first step recompiles a statement whose tables changed; name the columns after
        // it, and hand its row out first.
        let mut first = None;
        rows.first = match rows.step(&mut |row| {
            first = Some(read_row(row.0));
            Ok(())
        }) {
            Ok(Some(_)) => first,
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        };
        rows.columns = column_names(&rows.stmt);
        Ok(DriverStream {
            columns: rows.columns.clone(),
            rows: Box::new(rows),
        })
    }

    fn prepare<'c>(&'c mut self, sql: &str) -> Result<Box<dyn DriverStatement + 'c>> {
        let conn = &self.conn;
        let stmt = conn.prepare_cached(sql).map_err(classify)?;
        Ok(Box::new(SqlitePrepared {
            conn,
            stmt,
            insert: is_insert(sql),
        }))
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        // Transaction control runs for every session and transaction: prepared once and
        // reused, rather than parsed on every call as a batch is.
        if is_transaction_control(sql) {
            let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
            return stmt.raw_execute().map(drop).map_err(classify);
        }
        self.conn.execute_batch(sql).map_err(classify)
    }

    fn ping(&mut self) -> Result<()> {
        self.conn
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(classify)
    }

    fn in_transaction(&self) -> Option<bool> {
        Some(!self.conn.is_autocommit())
    }
}

/// A row of values already read: the first row of a SQLite stream, stepped when it opened.
struct ValuesRow<'v> {
    columns: &'v [String],
    values: &'v mut [Value],
}

impl DriverRow for ValuesRow<'_> {
    fn column_count(&self) -> usize {
        self.values.len()
    }

    fn column_name(&self, i: usize) -> &str {
        self.columns.get(i).map_or("", String::as_str)
    }

    fn get(&self, i: usize) -> Result<Value> {
        self.values
            .get(i)
            .cloned()
            .ok_or_else(|| out_of_range(i, self.values.len()))
    }

    fn take(&mut self, i: usize) -> Result<Value> {
        let width = self.values.len();
        self.values
            .get_mut(i)
            .map(|value| std::mem::replace(value, Value::Null))
            .ok_or_else(|| out_of_range(i, width))
    }
}

fn out_of_range(i: usize, width: usize) -> Error {
    Error::Argument(format!(
        "column index {i} is out of range for a row of {width} columns"
    ))
}

/// Steps a statement one row per `next_row()`.
///
/// rusqlite's `Rows` borrows the statement it steps, so it cannot live beside the statement
/// in one struct. A fresh `Rows` is made for each step instead and forgotten afterwards:
/// dropping it would reset the statement to its first row, and forgetting it leaks nothing
/// (it holds only a reference). The statement is reset when the stream ends or is dropped.
struct SqliteRows<'c> {
    stmt: CachedStatement<'c>,
    done: bool,
    /// The row read while opening the stream.
    first: Option<Result<Vec<Value>>>,
    columns: Arc<[String]>,
}

impl SqliteRows<'_> {
    fn step(
        &mut self,
        visit: &mut dyn FnMut(&mut SqliteRow<'_, '_>) -> Result<()>,
    ) -> Result<Option<Result<()>>> {
        if self.done {
            return Ok(None);
        }
        let mut rows = self.stmt.raw_query();
        match rows.next() {
            Ok(Some(row)) => {
                let visited = visit(&mut SqliteRow(row));
                std::mem::forget(rows);
                Ok(Some(visited))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(classify(e))
            }
        }
    }
}

impl DriverCursor for SqliteRows<'_> {
    fn next_row(
        &mut self,
        visit: &mut dyn FnMut(&mut dyn DriverRow) -> Result<()>,
    ) -> Result<Option<Result<()>>> {
        match self.first.take() {
            Some(Ok(mut values)) => Ok(Some(visit(&mut ValuesRow {
                columns: &self.columns,
                values: &mut values,
            }))),
            Some(Err(e)) => Err(e),
            None => self.step(&mut |row| visit(row)),
        }
    }
}

impl Drop for SqliteRows<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Dropping a Rows resets the statement, releasing its read lock.
            drop(self.stmt.raw_query());
        }
    }
}

struct SqlitePrepared<'c> {
    conn: &'c rusqlite::Connection,
    stmt: CachedStatement<'c>,
    /// Whether the statement is an INSERT, whose rowid each run reports.
    insert: bool,
}

impl DriverStatement for SqlitePrepared<'_> {
    fn run(&mut self, params: &[Value], sink: &mut dyn RowSink) -> Result<RunOutcome> {
        bind(&mut self.stmt, params)?;
        run_bound(self.conn, &mut self.stmt, self.insert, sink)
    }

    fn run_borrowed(
        &mut self,
        params: &[ParamRef<'_>],
        sink: &mut dyn RowSink,
    ) -> Result<RunOutcome> {
        bind_borrowed(&mut self.stmt, params)?;
        run_bound(self.conn, &mut self.stmt, self.insert, sink)
    }
}
