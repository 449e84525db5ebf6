//! The PostgreSQL driver adapter, over the synchronous `postgres` client.
//!
//! The URL becomes a libpq-style connection string; its query options (`options`,
//! `connect_timeout`, `application_name`, `sslmode`, ...) are passed through, so
//! `?options=-csearch_path%3Dapp` selects a schema. Connections are plain TCP (no TLS).
//!
//! Statements are prepared once per connection and kept in a bounded cache. The server infers
//! each parameter's type; values are encoded for that type whatever their Rust variant — an
//! `Int` binds to INT2, INT4 or INT8 (out of range is a `DataError`), text binds to any type in
//! PostgreSQL's text format, so the server parses it — and each column decodes by its type.
//! A value the parameter's type would hold only as another value is refused (a REAL
//! overflowing to infinity, an integer a DOUBLE cannot hold exactly, a leap second), and a
//! NUMERIC that `rust_decimal` cannot hold exactly reads as its text. More than 65535
//! parameters (or a placeholder numbered past that) is an [`Error::Argument`] before anything
//! is sent: the protocol counts them in 16 bits.

use std::error::Error as StdError;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type};
use postgres::{Client, NoTls, Statement};

use super::errors::{
    aborted_commit, classify, is_in_failed_transaction, server_failure, BindError,
};
use super::statement_cache::StatementCache;
use super::PostgresDialect;
use crate::engine::driver::{
    ConnectOptions, DriverConnection, DriverCursor, DriverDialect, DriverRow, DriverStatement,
    DriverStream, RowSink, RunOutcome,
};
use crate::engine::url::Url;
use crate::error::{Error, ErrorKind, Result};
use crate::value::Value;

const STATEMENT_CACHE_CAPACITY: usize = 256;

/// COMMIT, behind a statement that fails if the transaction is aborted. PostgreSQL answers
/// the COMMIT of an aborted transaction with ROLLBACK and no error, and the driver exposes
/// neither the command tag nor the transaction status that would tell. The statement before
/// it gets the server's own verdict in the same round trip: in an aborted transaction it
/// fails with SQLSTATE 25P02, and the COMMIT after it in the same query string is skipped,
/// leaving the transaction open for the engine's ROLLBACK.
const COMMIT_CHECKED: &str = "SELECT 1; COMMIT";
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Quotes a connection-string value.
fn conninfo_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn conninfo(url: &Url) -> String {
    let mut parts = Vec::new();
    let mut push = |key: &str, value: &str| parts.push(format!("{key}={}", conninfo_value(value)));
    push("host", url.host().unwrap_or("localhost"));
    if let Some(port) = url.port() {
        push("port", &port.to_string());
    }
    if let Some(user) = url.username() {
        push("user", user);
    }
    if let Some(password) = url.password() {
        push("password", password);
    }
    if let Some(db) = url.database() {
        push("dbname", db);
    }
    for (key, value) in url.query() {
        push(key, value);
    }
    parts.join(" ")
}

impl DriverDialect for PostgresDialect {
    fn connect(&self, url: &Url, options: &ConnectOptions) -> Result<Box<dyn DriverConnection>> {
        let config = postgres::Config::from_str(&conninfo(url)).map_err(|e| {
            // The parser's message is generic; the cause names the option.
            let mut message = format!("PostgreSQL connection options: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            Error::Url(message)
        })?;
        let mut client = config.connect(NoTls).map_err(classify)?;
        if let Some(level) = options.isolation_level {
            client
                .batch_execute(&format!(
                    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {}",
                    level.as_sql()
                ))
                .map_err(classify)?;
        }
        Ok(Box::new(PgConnection {
            client,
            statements: StatementCache::new(STATEMENT_CACHE_CAPACITY),
            last_failure: None,
        }))
    }
}

/// A prepared statement and its column names, shared by every result it produces.
#[derive(Clone)]
struct Prepared {
    statement: Statement,
    columns: Arc<[String]>,
}

struct PgConnection {
    client: Client,
    statements: StatementCache<Prepared>,
    /// The server's last error, other than "transaction aborted", described: what aborted
    /// the transaction, when a COMMIT finds it aborted.
    last_failure: Option<String>,
}

/// Classifies `err`, remembering what the server said in `last_failure`.
fn noted(last_failure: &mut Option<String>, err: postgres::Error) -> Error {
    if let Some(failure) = server_failure(&err) {
        *last_failure = Some(failure);
    }
    classify(err)
}

impl PgConnection {
    fn prepared(&mut self, sql: &str) -> Result<Prepared> {
        if let Some(p) = self.statements.get(sql) {
            return Ok(p);
        }
        let highest = highest_placeholder(sql);
        if highest > MAX_PARAMS {
            return Err(Error::Argument(format!(
                "the statement has placeholder ${highest}; PostgreSQL accepts at most \
                 {MAX_PARAMS} parameters in one statement"
            )));
        }
        let statement = self
            .client
            .prepare(sql)
            .map_err(|e| noted(&mut self.last_failure, e))?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let prepared = Prepared { statement, columns };
        self.statements.insert(sql, prepared.clone());
        Ok(prepared)
    }

    /// Classifies an error and forgets the statement, whose cached plan may be what failed
    /// (after the table it reads was altered, say).
    fn fail(&mut self, sql: &str, err: postgres::Error) -> Error {
        self.statements.remove(sql);
        noted(&mut self.last_failure, err)
    }
}

/// The most parameters the protocol's Bind message can carry (a 16-bit count).
const MAX_PARAMS: usize = u16::MAX as usize;

/// Refuses more parameters than the protocol can carry, before anything is sent (the
/// driver would otherwise fail mid-message and leave the connection unusable).
fn check_param_limit(params: &[Value]) -> Result<()> {
    if params.len() > MAX_PARAMS {
        return Err(Error::Argument(format!(
            "{} parameters were given; PostgreSQL accepts at most {MAX_PARAMS} in one statement",
            params.len()
        )));
    }
    Ok(())
}

/// The highest `$n` placeholder in `sql`, outside string literals, quoted identifiers,
/// dollar-quoted bodies and comments. A statement numbering placeholders past the protocol's
/// 16-bit count would be answered with a parameter description the driver misreads, losing
/// the connection, so it is refused before it is sent.
fn highest_placeholder(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut highest = 0;
    let mut i = 0;
    // The end of the text from `from` on that ends with `close`, or of the whole SQL.
    let skip_to = |from: usize, close: &[u8]| {
        bytes[from..]
            .windows(close.len())
            .position(|w| w == close)
            .map_or(bytes.len(), |p| from + p + close.len())
    };
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => i = skip_to(i + 1, b"'"),
            b'"' => i = skip_to(i + 1, b"\""),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_to(i + 2, b"\n"),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_to(i + 2, b"*/"),
            b'$' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits > 0 {
                    let n = sql[i + 1..i + 1 + digits].parse().unwrap_or(usize::MAX);
                    highest = highest.max(n);
                    i += 1 + digits;
                } else {
                    // A dollar quote: $$ or $tag$ up to the same tag again.
                    let tag_len = bytes[i + 1..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                    let end = i + 1 + tag_len;
                    if bytes.get(end) == Some(&b'$') {
                        i = skip_to(end + 1, &bytes[i..=end]);
                    } else {
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    highest
}

/// Checks the parameter count up front, for a clearer message than the driver's.
fn check_params(statement: &Statement, params: &[Value]) -> Result<()> {
    let expected = statement.params().len();
    if expected == params.len() {
        return Ok(());
    }
    Err(Error::from_database(crate::error::DatabaseError::new(
        ErrorKind::OtherProgramming,
        format!(
            "the statement has {expected} placeholders but {} parameters were given",
            params.len()
        ),
    )))
}

/// Whether the server refused a cached statement because a table it reads changed shape
/// since it was prepared (by another session, say).
fn is_stale_plan(err: &postgres::Error) -> bool {
    err.as_db_error()
        .is_some_and(|db| db.code().code() == "0A000" && db.message().contains("cached plan"))
}

/// Why a statement run into a sink stopped.
enum RunError {
    Server(postgres::Error),
    Sink(Error),
}

/// Runs `statement`, handing its rows to `sink`; `delivered` counts the rows handed over, so
/// that a failure before the first one can be retried.
///
/// The rows are read in one call and then handed over: the synchronous client's row iterator
/// enters its runtime once per row, which cost more than decoding the row. What is held
/// meanwhile is the server's encoded rows, as the raw client holds them.
fn run_into(
    client: &mut Client,
    prepared: &Prepared,
    params: &[Value],
    sink: &mut dyn RowSink,
    delivered: &mut u64,
) -> std::result::Result<u64, RunError> {
    let params: Vec<PgParam<'_>> = params.iter().map(PgParam).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    if prepared.columns.is_empty() {
        return client
            .execute(&prepared.statement, &refs)
            .map_err(RunError::Server);
    }
    let rows = client
        .query(&prepared.statement, &refs)
        .map_err(RunError::Server)?;
    sink.columns(&mut prepared.columns.iter().map(String::as_str))
        .map_err(RunError::Sink)?;
    for row in &rows {
        *delivered += 1;
        sink.row(&mut PgRow(row)).map_err(RunError::Sink)?;
    }
    Ok(*delivered)
}

impl DriverConnection for PgConnection {
    fn run(&mut self, sql: &str, params: &[Value], sink: &mut dyn RowSink) -> Result<RunOutcome> {
        check_param_limit(params)?;
        let mut stale: Option<postgres::Error> = None;
        loop {
            let prepared = self.prepared(sql)?;
            check_params(&prepared.statement, params)?;
            let mut delivered = 0;
            match run_into(&mut self.client, &prepared, params, sink, &mut delivered) {
                Ok(rows_affected) => {
                    return Ok(RunOutcome {
                        rows_affected,
                        last_insert_id: None,
                    })
                }
                Err(RunError::Sink(e)) => return Err(e),
                // Prepare again, once, if no row was handed over yet. Inside a transaction
                // the retry fails as well (the transaction is aborted) and the first error is
                // the one reported.
                Err(RunError::Server(e))
                    if stale.is_none() && delivered == 0 && is_stale_plan(&e) =>
                {
                    self.statements.remove(sql);
                    stale = Some(e);
                }
                Err(RunError::Server(e)) => return Err(self.fail(sql, stale.take().unwrap_or(e))),
            }
        }
    }

    fn stream<'c>(&'c mut self, sql: &str, params: &[Value]) -> Result<DriverStream<'c>> {
        // Always prepared afresh (and cached for `execute`): a cached plan may have gone stale,
        // and the failed attempt could not be retried — the row iterator keeps the client
        // borrowed on every path. One extra round trip per stream.
        check_param_limit(params)?;
        self.statements.remove(sql);
        let prepared = self.prepared(sql)?;
        check_params(&prepared.statement, params)?;
        let last_failure = &mut self.last_failure;
        let iter = match self
            .client
            .query_raw(&prepared.statement, params.iter().map(PgParam))
        {
            Ok(iter) => iter,
            Err(e) => return Err(noted(last_failure, e)),
        };
        Ok(DriverStream {
            columns: prepared.columns,
            rows: Box::new(PgRows { iter, last_failure }),
        })
    }

    fn prepare<'c>(&'c mut self, sql: &str) -> Result<Box<dyn DriverStatement + 'c>> {
        let prepared = self.prepared(sql)?;
        Ok(Box::new(PgPrepared {
            client: &mut self.client,
            last_failure: &mut self.last_failure,
            prepared,
        }))
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .map_err(|e| noted(&mut self.last_failure, e))
    }

    fn commit(&mut self) -> Result<()> {
        match self.client.batch_execute(COMMIT_CHECKED) {
            Ok(()) => Ok(()),
            Err(e) if is_in_failed_transaction(&e) => {
                Err(aborted_commit(self.last_failure.as_deref()))
            }
            Err(e) => Err(noted(&mut self.last_failure, e)),
        }
    }

    fn ping(&mut self) -> Result<()> {
        self.client.is_valid(PING_TIMEOUT).map_err(classify)
    }

    fn is_broken(&self) -> bool {
        self.client.is_closed()
    }
}

struct PgPrepared<'c> {
    client: &'c mut Client,
    last_failure: &'c mut Option<String>,
    prepared: Prepared,
}

impl DriverStatement for PgPrepared<'_> {
    fn run(&mut self, params: &[Value], sink: &mut dyn RowSink) -> Result<RunOutcome> {
        check_params(&self.prepared.statement, params)?;
        let mut delivered = 0;
        match run_into(self.client, &self.prepared, params, sink, &mut delivered) {
            Ok(rows_affected) => Ok(RunOutcome {
                rows_affected,
                last_insert_id: None,
            }),
            Err(RunError::Sink(e)) => Err(e),
            Err(RunError::Server(e)) => Err(noted(self.last_failure, e)),
        }
    }
}

/// The type whose encoding a value of `ty` uses: a domain's base type, else `ty`.
fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base_type(inner),
        _ => ty,
    }
}

/// Types whose binary format is their UTF-8 text.
fn is_textual(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
        || ty.name() == "citext"
        || matches!(ty.kind(), Kind::Enum(_))
}

type BoxError = Box<dyn StdError + Sync + Send>;

fn bind_error(kind: ErrorKind, message: String) -> BoxError {
    Box::new(BindError { kind, message })
}

fn mismatch(value: &Value, ty: &Type) -> BoxError {
    bind_error(
        ErrorKind::InvalidValue,
        format!(
            "cannot bind a {} value to a parameter of PostgreSQL type {}",
            value.type_name(),
            ty.name()
        ),
    )
}

fn out_of_range(value: impl std::fmt::Display, ty: &Type) -> BoxError {
    bind_error(
        ErrorKind::OutOfRange,
        format!("{value} is out of range for PostgreSQL type {}", ty.name()),
    )
}

/// Converts an integer for an integer parameter type, checking its range.
fn bind_integer(i: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if *ty == Type::INT2 {
        i16::try_from(i)
            .map_err(|_| out_of_range(i, ty))?
            .to_sql(ty, out)
    } else if *ty == Type::INT4 {
        i32::try_from(i)
            .map_err(|_| out_of_range(i, ty))?
            .to_sql(ty, out)
    } else if *ty == Type::OID {
        u32::try_from(i)
            .map_err(|_| out_of_range(i, ty))?
            .to_sql(ty, out)
    } else {
        i.to_sql(ty, out)
    }
}

fn inexact(value: impl std::fmt::Display, ty: &Type) -> BoxError {
    bind_error(
        ErrorKind::OutOfRange,
        format!(
            "{value} cannot be stored exactly in PostgreSQL type {}",
            ty.name()
        ),
    )
}

/// An integer as a double, refused unless the double holds it exactly.
fn exact_float(i: i64, ty: &Type) -> Result<f64, BoxError> {
    let x = i as f64;
    // i64::MAX rounds up to 2^63, outside i64: compare in the float domain first.
    if x < 9_223_372_036_854_775_808.0 && x as i64 == i {
        Ok(x)
    } else {
        Err(inexact(i, ty))
    }
}

/// A double for a REAL parameter: rounded to single precision, but refused when it is finite
/// and beyond REAL's range (it would become infinity) or non-zero and too small (it would
/// become zero).
fn single(x: f64, ty: &Type) -> Result<f32, BoxError> {
    let y = x as f32;
    if (y.is_infinite() && x.is_finite()) || (y == 0.0 && x != 0.0) {
        return Err(out_of_range(format!("{x:?}"), ty));
    }
    Ok(y)
}

/// Refuses a leap second, which PostgreSQL has no representation for: the driver would send
/// the next second instead.
#[cfg(feature = "chrono")]
fn check_leap_second(value: &Value) -> Result<(), BoxError> {
    use chrono::Timelike;
    let nanos = match value {
        Value::Time(t) => t.nanosecond(),
        Value::DateTime(dt) => dt.nanosecond(),
        Value::DateTimeUtc(dt) => dt.nanosecond(),
        _ => 0,
    };
    if nanos >= 1_000_000_000 {
        return Err(bind_error(
            ErrorKind::InvalidValue,
            format!("{value} is a leap second, which PostgreSQL cannot store"),
        ));
    }
    Ok(())
}

fn is_integer_type(ty: &Type) -> bool {
    [Type::INT2, Type::INT4, Type::INT8, Type::OID].contains(ty)
}

/// The text a value is written as when it binds to a text parameter (bytes have none: they
/// are not text).
fn text_of(value: &Value) -> Option<String> {
    Some(match value {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Text(s) => s.clone(),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => d.to_string(),
        #[cfg(feature = "chrono")]
        Value::Date(d) => d.to_string(),
        #[cfg(feature = "chrono")]
        Value::Time(t) => t.to_string(),
        #[cfg(feature = "chrono")]
        Value::DateTime(dt) => dt.to_string(),
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(dt) => dt.to_rfc3339(),
        #[cfg(feature = "json")]
        Value::Json(j) => j.to_string(),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => u.to_string(),
        Value::Null | Value::Bytes(_) => return None,
    })
}

/// Encodes `value` for a parameter the server typed `ty`.
fn bind_value(value: &Value, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    let ty = base_type(ty);
    if let Value::Null = value {
        return Ok(IsNull::Yes);
    }
    // Text goes in the text format (see `encode_format`), and every textual type's binary
    // format is its text, so either way the bytes are the string's.
    if let Value::Text(s) = value {
        out.extend_from_slice(s.as_bytes());
        return Ok(IsNull::No);
    }
    if is_textual(ty) {
        let text = text_of(value).ok_or_else(|| mismatch(value, ty))?;
        out.extend_from_slice(text.as_bytes());
        return Ok(IsNull::No);
    }
    match value {
        Value::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
        Value::Bool(b) if is_integer_type(ty) => bind_integer(i64::from(*b), ty, out),
        Value::Int(i) if is_integer_type(ty) => bind_integer(*i, ty, out),
        Value::Int(i) if *ty == Type::FLOAT8 => exact_float(*i, ty)?.to_sql(ty, out),
        Value::Int(i) if *ty == Type::FLOAT4 => {
            let x = exact_float(*i, ty)?;
            let y = x as f32;
            if f64::from(y) != x {
                return Err(inexact(i, ty));
            }
            y.to_sql(ty, out)
        }
        Value::Float(x) if *ty == Type::FLOAT8 => x.to_sql(ty, out),
        Value::Float(x) if *ty == Type::FLOAT4 => single(*x, ty)?.to_sql(ty, out),
        Value::Float(x) if is_integer_type(ty) && x.fract() == 0.0 => {
            if *x < i64::MIN as f64 || *x >= i64::MAX as f64 {
                return Err(out_of_range(x, ty));
            }
            bind_integer(*x as i64, ty, out)
        }
        Value::Bytes(b) if *ty == Type::BYTEA => b.as_slice().to_sql(ty, out),
        Value::Bytes(b) if *ty == Type::UUID && b.len() == 16 => {
            out.extend_from_slice(b);
            Ok(IsNull::No)
        }
        #[cfg(feature = "json")]
        Value::Json(j) if *ty == Type::JSON || *ty == Type::JSONB => j.to_sql(ty, out),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) if *ty == Type::UUID => u.to_sql(ty, out),
        _ => bind_converted(value, ty, out),
    }
}

/// The less common pairings: numbers across NUMERIC, and dates across date/time types.
#[cfg_attr(
    not(any(feature = "decimal", feature = "chrono")),
    allow(unused_variables)
)]
fn bind_converted(value: &Value, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    #[cfg(feature = "decimal")]
    {
        use rust_decimal::prelude::ToPrimitive;
        use rust_decimal::Decimal;
        match value {
            Value::Int(i) if *ty == Type::NUMERIC => return Decimal::from(*i).to_sql(ty, out),
            // The double's shortest decimal form, refused if a Decimal cannot hold it exactly.
            Value::Float(x) if *ty == Type::NUMERIC => {
                let d =
                    crate::value::parse_exact(&x.to_string()).ok_or_else(|| out_of_range(x, ty))?;
                return d.to_sql(ty, out);
            }
            Value::Decimal(d) if *ty == Type::NUMERIC => return d.to_sql(ty, out),
            Value::Decimal(d) if *ty == Type::FLOAT8 || *ty == Type::FLOAT4 => {
                let x = d.to_f64().ok_or_else(|| out_of_range(d, ty))?;
                return bind_value(&Value::Float(x), ty, out);
            }
            Value::Decimal(d) if is_integer_type(ty) && d.fract().is_zero() => {
                let i = d.to_i64().ok_or_else(|| out_of_range(d, ty))?;
                return bind_integer(i, ty, out);
            }
            _ => {}
        }
    }
    #[cfg(feature = "chrono")]
    {
        use chrono::NaiveTime;
        check_leap_second(value)?;
        match value {
            Value::Date(d) if *ty == Type::DATE => return d.to_sql(ty, out),
            Value::Date(d) if *ty == Type::TIMESTAMP => {
                return d.and_time(NaiveTime::MIN).to_sql(ty, out)
            }
            Value::Date(d) if *ty == Type::TIMESTAMPTZ => {
                return d.and_time(NaiveTime::MIN).and_utc().to_sql(ty, out)
            }
            Value::Time(t) if *ty == Type::TIME => return t.to_sql(ty, out),
            Value::DateTime(dt) if *ty == Type::TIMESTAMP => return dt.to_sql(ty, out),
            // A naive date-time bound to a zone-aware column is taken as UTC.
            Value::DateTime(dt) if *ty == Type::TIMESTAMPTZ => return dt.and_utc().to_sql(ty, out),
            Value::DateTimeUtc(dt) if *ty == Type::TIMESTAMPTZ => return dt.to_sql(ty, out),
            Value::DateTimeUtc(dt) if *ty == Type::TIMESTAMP => {
                return dt.naive_utc().to_sql(ty, out)
            }
            _ => {}
        }
    }
    Err(mismatch(value, ty))
}

/// A value bound to whatever type the server inferred for its placeholder.
#[derive(Debug)]
struct PgParam<'a>(&'a Value);

impl ToSql for PgParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        bind_value(self.0, ty, out)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        bind_value(self.0, ty, out)
    }

    fn encode_format(&self, ty: &Type) -> Format {
        // Text is sent as text and parsed by the server for the parameter's type, as a literal
        // would be — except for BYTEA, whose text format would read escapes.
        match self.0 {
            Value::Text(_) if *base_type(ty) != Type::BYTEA => Format::Text,
            _ => Format::Binary,
        }
    }
}

/// A column's raw bytes, whatever its type; decoded by [`decode`].
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Raw(raw))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Decodes column `i` of `row`.
fn column_value(row: &postgres::Row, i: usize) -> Result<Value> {
    let Some(column) = row.columns().get(i) else {
        return Err(Error::Argument(format!(
            "column index {i} is out of range for a row of {} columns",
            row.len()
        )));
    };
    let raw: Option<Raw<'_>> = row
        .try_get(i)
        .map_err(|e| Error::Conversion(format!("column '{}': {e}", column.name())))?;
    match raw {
        None => Ok(Value::Null),
        Some(Raw(bytes)) => decode(column.type_(), bytes).map_err(|e| {
            Error::Conversion(format!(
                "column '{}' of type {}: {e}",
                column.name(),
                column.type_().name()
            ))
        }),
    }
}

/// The rows of a streamed statement, as the client reads them off the socket.
struct PgRows<'c> {
    iter: postgres::RowIter<'c>,
    last_failure: &'c mut Option<String>,
}

impl DriverCursor for PgRows<'_> {
    fn next_row(
        &mut self,
        visit: &mut dyn FnMut(&mut dyn DriverRow) -> Result<()>,
    ) -> Result<Option<Result<()>>> {
        match self.iter.next() {
            Ok(Some(row)) => Ok(Some(visit(&mut PgRow(&row)))),
            Ok(None) => Ok(None),
            Err(e) => Err(noted(self.last_failure, e)),
        }
    }
}

/// A row the client has read, decoded column by column.
struct PgRow<'r>(&'r postgres::Row);

impl DriverRow for PgRow<'_> {
    fn column_count(&self) -> usize {
        self.0.len()
    }

    fn column_name(&self, i: usize) -> &str {
        self.0.columns().get(i).map_or("", |c| c.name())
    }

    fn get(&self, i: usize) -> Result<Value> {
        column_value(self.0, i)
    }
}

/// Decodes a non-NULL binary-format value of type `ty`.
fn decode(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    let ty = base_type(ty);
    let value = if *ty == Type::BOOL {
        Value::Bool(bool::from_sql(ty, raw)?)
    } else if *ty == Type::INT2 {
        Value::Int(i16::from_sql(ty, raw)?.into())
    } else if *ty == Type::INT4 {
        Value::Int(i32::from_sql(ty, raw)?.into())
    } else if *ty == Type::INT8 {
        Value::Int(i64::from_sql(ty, raw)?)
    } else if *ty == Type::OID {
        Value::Int(u32::from_sql(ty, raw)?.into())
    } else if *ty == Type::CHAR {
        Value::Int(i8::from_sql(ty, raw)?.into())
    } else if *ty == Type::FLOAT4 {
        // Through the shortest decimal form, so 0.1::real reads as 0.1, not 0.10000000149.
        let x = f32::from_sql(ty, raw)?;
        Value::Float(x.to_string().parse().unwrap_or(f64::from(x)))
    } else if *ty == Type::FLOAT8 {
        Value::Float(f64::from_sql(ty, raw)?)
    } else if is_textual(ty) {
        Value::Text(std::str::from_utf8(raw)?.to_owned())
    } else if *ty == Type::BYTEA {
        Value::Bytes(raw.to_vec())
    } else {
        return decode_typed(ty, raw);
    };
    Ok(value)
}

/// Decodes a binary NUMERIC exactly: a [`Value::Decimal`] when a `Decimal` holds it without
/// rounding, else its decimal text (more than 28 decimal places, a mantissa beyond 96 bits,
/// NaN or an infinity), which reads into a `String` or fails to read into a `Decimal`.
fn numeric_value(raw: &[u8]) -> Result<Value, BoxError> {
    let text = numeric_text(raw).ok_or("malformed NUMERIC value")?;
    #[cfg(feature = "decimal")]
    if let Some(d) = crate::value::parse_exact(&text) {
        return Ok(Value::Decimal(d));
    }
    Ok(Value::Text(text))
}

/// The decimal text of a binary NUMERIC: a count of base-10000 digits, the power of 10000 of
/// the first, a sign word, the number of decimal places to show, then the digits.
fn numeric_text(raw: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u16> {
        let bytes = raw.get(i * 2..i * 2 + 2)?;
        Some(u16::from_be_bytes([bytes[0], bytes[1]]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Option<Vec<u16>>>()?;
    // The digit with power 10000^(weight - i), or 0 outside the stored ones.
    let digit = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&digit(0).to_string());
        for i in 1..=weight {
            out.push_str(&format!("{:04}", digit(i)));
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut fraction = String::with_capacity(dscale + 4);
        let mut i = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        fraction.truncate(dscale);
        out.push_str(&fraction);
    }
    Some(out)
}

#[cfg_attr(
    not(any(
        feature = "decimal",
        feature = "chrono",
        feature = "json",
        feature = "uuid"
    )),
    allow(unused_variables)
)]
fn decode_typed(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    if *ty == Type::NUMERIC {
        return numeric_value(raw);
    }
    #[cfg(feature = "chrono")]
    {
        if *ty == Type::DATE {
            return Ok(Value::Date(chrono::NaiveDate::from_sql(ty, raw)?));
        }
        if *ty == Type::TIME {
            // PostgreSQL allows 24:00:00, which chrono's decoder would wrap to midnight.
            if raw == 86_400_000_000_i64.to_be_bytes() {
                return Ok(Value::Text("24:00:00".into()));
            }
            return Ok(Value::Time(chrono::NaiveTime::from_sql(ty, raw)?));
        }
        if *ty == Type::TIMESTAMP {
            return Ok(Value::DateTime(chrono::NaiveDateTime::from_sql(ty, raw)?));
        }
        if *ty == Type::TIMESTAMPTZ {
            return Ok(Value::DateTimeUtc(
                chrono::DateTime::<chrono::Utc>::from_sql(ty, raw)?,
            ));
        }
    }
    #[cfg(feature = "json")]
    if *ty == Type::JSON || *ty == Type::JSONB {
        return Ok(Value::Json(serde_json::Value::from_sql(ty, raw)?));
    }
    #[cfg(feature = "uuid")]
    if *ty == Type::UUID {
        return Ok(Value::Uuid(uuid::Uuid::from_sql(ty, raw)?));
    }
    Err(format!(
        "retort cannot read PostgreSQL type {}; cast the column in the query (to text, say)",
        ty.name()
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::highest_placeholder;

    #[test]
    fn placeholders_are_found_outside_quotes_and_comments() {
        assert_eq!(highest_placeholder("SELECT $1, $12"), 12);
        assert_eq!(highest_placeholder("SELECT '$99', \"$98\", $2 -- $97\n"), 2);
        assert_eq!(highest_placeholder("SELECT /* $70000 */ $3"), 3);
        assert_eq!(
            highest_placeholder("SELECT $$ $70000 $$, $tag$ $1 $x$ $tag$, $4"),
            4
        );
        assert_eq!(highest_placeholder("SELECT $70000"), 70000);
        assert_eq!(highest_placeholder("SELECT 'unterminated $5"), 0);
        assert_eq!(highest_placeholder("SELECT $"), 0);
    }
}
