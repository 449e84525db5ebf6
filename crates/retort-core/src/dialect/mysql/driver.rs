//! The MySQL / MariaDB driver adapter, over the synchronous `mysql` client.
//!
//! Every connection runs `SET NAMES utf8mb4` (so characters outside the Basic Multilingual
//! Plane round-trip) and adds `STRICT_TRANS_TABLES` to its `sql_mode` (so a value too long
//! or out of range is an error rather than silently truncated) and `NO_AUTO_VALUE_ON_ZERO` (so
//! an explicit key of 0 is stored as 0, as on the other databases, rather than replaced by a
//! generated one). `UPDATE` reports the rows it
//! *matched*, like the other databases (the `CLIENT_FOUND_ROWS` flag). URL query options are
//! the `mysql` crate's (`tcp_connect_timeout_ms`, `stmt_cache_size`, `prefer_socket`, ...).
//!
//! Statements with parameters, and queries (`SELECT`, `WITH`) without, go through the binary
//! protocol, prepared once per connection by the driver's statement cache: numbers then
//! arrive as numbers rather than as text to parse. Other statements without parameters run as
//! plain text queries, as some (DDL, `LOCK TABLES`, ...) cannot be prepared. Either way
//! columns decode by their type: integers (signed or unsigned), `DECIMAL` as a decimal, dates
//! and times as chrono values, strings as text unless their character set is binary, JSON as
//! text, and a DECIMAL that `rust_decimal` cannot hold exactly as its text.
//!
//! What the server cannot store as given is refused with [`Error::Data`] before anything is
//! sent: dates outside years 1000 to 9999, leap seconds, NaN and infinities, and a statement
//! or parameters larger than the server's `max_allowed_packet` (read when connecting), which
//! the server would answer by dropping the connection. More than 65535 parameters is an
//! [`Error::Argument`].

use std::collections::HashMap;
use std::sync::Arc;

use mysql::consts::{CapabilityFlags, ColumnFlags, ColumnType};
use mysql::prelude::{Protocol, Queryable};
use mysql::{Column, Conn, OptsBuilder, Params, QueryResult};

use super::errors::classify;
use super::MySqlDialect;
use crate::dialect::DialectRef;
use crate::engine::driver::{
    ConnectOptions, DriverConnection, DriverCursor, DriverDialect, DriverRow, DriverStatement,
    DriverStream, RowSink, RunOutcome,
};
use crate::engine::url::Url;
use crate::error::{DatabaseError, Error, ErrorKind, Result};
use crate::value::Value;

/// ER_LOCK_DEADLOCK.
const DEADLOCK: &str = "1213";

/// The `binary` character set: such string columns hold bytes, not text.
const BINARY_CHARSET: u16 = 63;

impl DriverDialect for MySqlDialect {
    fn connect(&self, url: &Url, options: &ConnectOptions) -> Result<Box<dyn DriverConnection>> {
        let mut init = vec![
            "SET NAMES utf8mb4".to_owned(),
            // Duplicate names in a SET value collapse, so appending is safe.
            "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), \
             'STRICT_TRANS_TABLES', 'NO_AUTO_VALUE_ON_ZERO')"
                .to_owned(),
        ];
        if let Some(level) = options.isolation_level {
            init.push(format!(
                "SET SESSION TRANSACTION ISOLATION LEVEL {}",
                level.as_sql()
            ));
        }
        let mut opts = OptsBuilder::new()
            .ip_or_hostname(Some(url.host().unwrap_or("localhost")))
            .tcp_port(url.port().unwrap_or(3306))
            .user(url.username())
            .pass(url.password())
            .db_name(url.database())
            .prefer_socket(false)
            .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS)
            .init(init);
        if !url.query().is_empty() {
            let query: HashMap<String, String> = url.query().iter().cloned().collect();
            opts = opts
                .from_hash_map(&query)
                .map_err(|e| Error::Url(format!("MySQL connection options: {e}")))?;
        }
        let mut conn = Conn::new(opts).map_err(classify)?;
        // Fixed for the session (the server refuses to change it there), so read once.
        let max_allowed_packet = conn
            .query_first::<u64, _>("SELECT @@max_allowed_packet")
            .map_err(classify)?
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(usize::MAX);
        Ok(Box::new(MySqlConnection {
            conn,
            max_allowed_packet,
        }))
    }

    fn initialize(&self, conn: &mut dyn DriverConnection) -> Result<Option<DialectRef>> {
        let version: String = conn
            .execute("SELECT VERSION()", &[])?
            .rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .and_then(|v| match v {
                Value::Text(s) => Some(s),
                _ => None,
            })
            .unwrap_or_default();
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        Ok(Some(Arc::new(MySqlDialect { mariadb })))
    }
}

struct MySqlConnection {
    conn: Conn,
    /// The server's largest accepted packet, in bytes.
    max_allowed_packet: usize,
}

/// The most placeholders a prepared statement may have (a 16-bit count in the protocol).
const MAX_PARAMS: usize = u16::MAX as usize;

/// The largest payload of one protocol packet; a longer statement execution sends its
/// long values separately (`COM_STMT_SEND_LONG_DATA`).
const MAX_PAYLOAD: usize = 0xFF_FFFF;

fn data_error(kind: ErrorKind, message: String) -> Error {
    Error::Data(DatabaseError::new(kind, message))
}

fn too_long(what: &str, size: usize, max: usize) -> Error {
    data_error(
        ErrorKind::TooLong,
        format!(
            "{what} of {size} bytes is larger than the server's max_allowed_packet \
             ({max} bytes); the server would drop the connection. Raise max_allowed_packet \
             or send less at once"
        ),
    )
}

/// Converts the parameters, refusing before anything is sent what the server would reject
/// by dropping the connection: more than 65535 of them, or more bytes than
/// `max_allowed_packet`.
fn to_params(params: &[Value], max_allowed_packet: usize) -> Result<Params> {
    if params.len() > MAX_PARAMS {
        return Err(Error::Argument(format!(
            "{} parameters were given; MySQL and MariaDB accept at most {MAX_PARAMS} in one \
             statement",
            params.len()
        )));
    }
    let values = params.iter().map(to_mysql).collect::<Result<Vec<_>>>()?;
    // The size of COM_STMT_EXECUTE as the client builds it: header, NULL bitmap, types,
    // then the values.
    let data: usize = values.iter().map(|v| v.bin_len() as usize).sum();
    let total = 11 + params.len().div_ceil(8) + 2 * params.len() + data;
    if total <= MAX_PAYLOAD {
        if total > max_allowed_packet {
            return Err(too_long(
                "the statement's parameters",
                total,
                max_allowed_packet,
            ));
        }
    } else {
        // Sent in pieces; the server still caps each value at max_allowed_packet.
        for v in &values {
            if let mysql::Value::Bytes(b) = v {
                if b.len() > max_allowed_packet {
                    return Err(too_long("a parameter", b.len(), max_allowed_packet));
                }
            }
        }
    }
    Ok(Params::Positional(values))
}

/// Refuses a statement text longer than the server accepts.
fn check_query_size(sql: &str, max_allowed_packet: usize) -> Result<()> {
    let size = sql.len() + 1;
    if size > max_allowed_packet {
        return Err(too_long("the statement", size, max_allowed_packet));
    }
    Ok(())
}

/// Binds a value as the MySQL value that stores it; decimals, JSON and UUIDs go as text.
/// What the server cannot store exactly is refused: NaN and infinities, dates outside years
/// 1000 to 9999, leap seconds.
fn to_mysql(value: &Value) -> Result<mysql::Value> {
    use mysql::Value as My;
    Ok(match value {
        Value::Null => My::NULL,
        Value::Bool(b) => My::Int(i64::from(*b)),
        Value::Int(i) => My::Int(*i),
        Value::Float(x) if !x.is_finite() => {
            return Err(data_error(
                ErrorKind::InvalidValue,
                format!("MySQL and MariaDB cannot store {x}"),
            ))
        }
        Value::Float(x) => My::Double(*x),
        Value::Text(s) => My::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => My::Bytes(b.clone()),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => My::Bytes(d.to_string().into_bytes()),
        #[cfg(feature = "chrono")]
        Value::Date(d) => datetime_value(value, d.and_time(chrono::NaiveTime::MIN))?,
        #[cfg(feature = "chrono")]
        Value::Time(t) => {
            let (h, m, s, us) = time_parts(value, *t)?;
            My::Time(false, 0, h, m, s, us)
        }
        #[cfg(feature = "chrono")]
        Value::DateTime(dt) => datetime_value(value, *dt)?,
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(dt) => datetime_value(value, dt.naive_utc())?,
        #[cfg(feature = "json")]
        Value::Json(j) => My::Bytes(j.to_string().into_bytes()),
        #[cfg(feature = "uuid")]
        Value::Uuid(u) => My::Bytes(u.hyphenated().to_string().into_bytes()),
    })
}

/// Hours, minutes, seconds and microseconds of a time of day; a leap second is refused, as
/// MySQL has no 60th second.
#[cfg(feature = "chrono")]
fn time_parts(value: &Value, t: chrono::NaiveTime) -> Result<(u8, u8, u8, u32)> {
    use chrono::Timelike;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return Err(data_error(
            ErrorKind::InvalidValue,
            format!("{value} is a leap second, which MySQL and MariaDB cannot store"),
        ));
    }
    // Each field is below 60 (24 for hours), so it fits a u8.
    let small = |n: u32| u8::try_from(n).unwrap_or(u8::MAX);
    Ok((
        small(t.hour()),
        small(t.minute()),
        small(t.second()),
        nanos / 1000,
    ))
}

/// A date-time as MySQL's binary DATETIME, refused outside the years MySQL and MariaDB
/// support (1000 to 9999) rather than sent as another date.
#[cfg(feature = "chrono")]
fn datetime_value(value: &Value, dt: chrono::NaiveDateTime) -> Result<mysql::Value> {
    use chrono::Datelike;
    let year = u16::try_from(dt.year())
        .ok()
        .filter(|y| (1000..=9999).contains(y))
        .ok_or_else(|| {
            data_error(
                ErrorKind::OutOfRange,
                format!(
                    "{value} is outside the dates MySQL and MariaDB support \
                     (years 1000 to 9999)"
                ),
            )
        })?;
    let (h, mi, s, us) = time_parts(value, dt.time())?;
    // Months and days are at most 12 and 31.
    let small = |n: u32| u8::try_from(n).unwrap_or(u8::MAX);
    Ok(mysql::Value::Date(
        year,
        small(dt.month()),
        small(dt.day()),
        h,
        mi,
        s,
        us,
    ))
}

fn text_or_bytes(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(s) => Value::Text(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    }
}

fn unsigned(u: u64) -> Value {
    // Above i64::MAX only BIGINT UNSIGNED reaches; it reads as its decimal text.
    i64::try_from(u)
        .map(Value::Int)
        .unwrap_or_else(|_| Value::Text(u.to_string()))
}

/// Decodes a column value. The binary protocol gives typed values; the text protocol gives
/// every value as bytes, parsed here by the column's type.
fn from_mysql(value: mysql::Value, column: &Column) -> Result<Value> {
    use mysql::Value as My;
    let ty = column.column_type();
    Ok(match value {
        My::NULL => Value::Null,
        My::Int(i) => Value::Int(i),
        My::UInt(u) => unsigned(u),
        // Through the shortest decimal form, so a FLOAT 0.1 reads as 0.1.
        My::Float(x) => Value::Float(x.to_string().parse().unwrap_or(f64::from(x))),
        My::Double(x) => Value::Float(x),
        My::Date(y, mo, d, h, mi, s, us) => date_value(ty, (y, mo, d, h, mi, s, us)),
        My::Time(neg, days, h, m, s, us) => time_value(neg, days, h, m, s, us),
        My::Bytes(b) => from_text_protocol(b, column)?,
    })
}

/// Whether the column's bytes are character data, read as they are: not a number, date or
/// bit string the text protocol spells out, and not a binary string.
fn is_character_data(column: &Column) -> bool {
    use ColumnType::*;
    matches!(
        column.column_type(),
        MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET
    ) && column.character_set() != BINARY_CHARSET
}

fn from_text_protocol(bytes: Vec<u8>, column: &Column) -> Result<Value> {
    use ColumnType::*;
    if is_character_data(column) {
        return Ok(text_or_bytes(bytes));
    }
    let ty = column.column_type();
    let text = || {
        std::str::from_utf8(&bytes).map_err(|_| {
            Error::Conversion(format!(
                "column '{}': the server sent a {ty:?} value that is not text",
                column.name_str()
            ))
        })
    };
    let parse_error = |what: &str| {
        Error::Conversion(format!(
            "column '{}': cannot read {:?} as {what}",
            column.name_str(),
            String::from_utf8_lossy(&bytes)
        ))
    };
    Ok(match ty {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => {
            let t = text()?;
            if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) {
                unsigned(t.parse().map_err(|_| parse_error("an integer"))?)
            } else {
                Value::Int(t.parse().map_err(|_| parse_error("an integer"))?)
            }
        }
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
            Value::Float(text()?.parse().map_err(|_| parse_error("a float"))?)
        }
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => decimal_value(text()?)?,
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2 => parse_date_text(ty, text()?),
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => parse_time_text(text()?),
        // BIT(n) arrives as at most 8 big-endian bytes; BIT(64) may exceed i64.
        MYSQL_TYPE_BIT if bytes.len() <= 8 => {
            unsigned(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        }
        MYSQL_TYPE_JSON => text_or_bytes(bytes),
        _ if column.character_set() == BINARY_CHARSET => Value::Bytes(bytes),
        _ => text_or_bytes(bytes),
    })
}

/// A DECIMAL as a `Decimal` when that holds it exactly; else (more than 28 decimal places
/// or 29 digits) as its exact text, which reads into a `String` but not into a `Decimal`.
#[cfg(feature = "decimal")]
fn decimal_value(text: &str) -> Result<Value> {
    Ok(crate::value::parse_exact(text)
        .map(Value::Decimal)
        .unwrap_or_else(|| Value::Text(text.to_owned())))
}

#[cfg(not(feature = "decimal"))]
fn decimal_value(text: &str) -> Result<Value> {
    Ok(Value::Text(text.to_owned()))
}

type DateParts = (u16, u8, u8, u8, u8, u8, u32);

#[cfg(feature = "chrono")]
fn date_value(ty: ColumnType, (y, mo, d, h, mi, s, us): DateParts) -> Value {
    let date = chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d));
    let time = chrono::NaiveTime::from_hms_micro_opt(u32::from(h), u32::from(mi), u32::from(s), us);
    match (date, time) {
        (Some(date), _) if ty == ColumnType::MYSQL_TYPE_DATE => Value::Date(date),
        (Some(date), Some(time)) => Value::DateTime(date.and_time(time)),
        // A zero date ('0000-00-00'), which chrono cannot hold.
        _ => Value::Text(format!(
            "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
        )),
    }
}

#[cfg(not(feature = "chrono"))]
fn date_value(ty: ColumnType, (y, mo, d, h, mi, s, us): DateParts) -> Value {
    if ty == ColumnType::MYSQL_TYPE_DATE {
        Value::Text(format!("{y:04}-{mo:02}-{d:02}"))
    } else {
        Value::Text(format!(
            "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
        ))
    }
}

fn time_value(negative: bool, days: u32, h: u8, m: u8, s: u8, us: u32) -> Value {
    #[cfg(feature = "chrono")]
    if !negative && days == 0 {
        if let Some(t) =
            chrono::NaiveTime::from_hms_micro_opt(u32::from(h), u32::from(m), u32::from(s), us)
        {
            return Value::Time(t);
        }
    }
    // A TIME outside a day (MySQL allows -838:59:59 to 838:59:59) stays text.
    let hours = u64::from(days) * 24 + u64::from(h);
    let sign = if negative { "-" } else { "" };
    Value::Text(format!("{sign}{hours:02}:{m:02}:{s:02}.{us:06}"))
}

#[cfg(feature = "chrono")]
fn parse_date_text(ty: ColumnType, text: &str) -> Value {
    let parsed = if ty == ColumnType::MYSQL_TYPE_DATE {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(Value::Date)
    } else {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(Value::DateTime)
    };
    parsed.unwrap_or_else(|| Value::Text(text.to_owned()))
}

#[cfg(not(feature = "chrono"))]
fn parse_date_text(_ty: ColumnType, text: &str) -> Value {
    Value::Text(text.to_owned())
}

#[cfg(feature = "chrono")]
fn parse_time_text(text: &str) -> Value {
    chrono::NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
        .map(Value::Time)
        .unwrap_or_else(|_| Value::Text(text.to_owned()))
}

#[cfg(not(feature = "chrono"))]
fn parse_time_text(text: &str) -> Value {
    Value::Text(text.to_owned())
}

/// Whether `sql` is a query (`SELECT`, `WITH`, or one in parentheses), which the server can
/// always prepare.
fn is_query(sql: &str) -> bool {
    let head = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
    ["SELECT", "WITH"].iter().any(|kw| {
        head.get(..kw.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(kw))
            && !head[kw.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

/// Hands the rows of the first result set to `sink` (dropping the result drains any others).
fn run_into<P: Protocol>(
    mut result: QueryResult<'_, '_, '_, P>,
    sink: &mut dyn RowSink,
) -> Result<RunOutcome> {
    // The counts belong to the current result set; read them before moving past it.
    let rows_affected = result.affected_rows();
    let last_insert_id = result
        .last_insert_id()
        .and_then(|id| i64::try_from(id).ok())
        .filter(|id| *id != 0);
    let columns = result.columns();
    if !columns.as_ref().is_empty() {
        sink.columns(&mut columns.as_ref().iter().map(column_name))?;
    }
    for row in result.by_ref() {
        let row = row.map_err(classify)?;
        let columns = row.columns();
        let mut row = MyRow {
            values: row.unwrap_raw(),
            columns,
        };
        sink.row(&mut row)?;
    }
    Ok(RunOutcome {
        rows_affected,
        last_insert_id,
    })
}

fn column_name(column: &Column) -> &str {
    std::str::from_utf8(column.name_ref()).unwrap_or("")
}

/// A row the client has read; taking a column moves its value out.
struct MyRow {
    values: Vec<Option<mysql::Value>>,
    columns: Arc<[Column]>,
}

/// Column `i` of `columns`.
fn column_at(columns: &[Column], i: usize) -> Result<&Column> {
    columns.get(i).ok_or_else(|| {
        Error::Argument(format!(
            "column index {i} is out of range for a row of {} columns",
            columns.len()
        ))
    })
}

impl DriverRow for MyRow {
    fn column_count(&self) -> usize {
        self.values.len()
    }

    fn column_name(&self, i: usize) -> &str {
        self.columns.get(i).map_or("", column_name)
    }

    fn get(&self, i: usize) -> Result<Value> {
        let column = column_at(&self.columns, i)?;
        match self.values.get(i) {
            Some(Some(value)) => from_mysql(value.clone(), column),
            _ => Err(taken(column)),
        }
    }

    fn take(&mut self, i: usize) -> Result<Value> {
        let column = column_at(&self.columns, i)?;
        match self.values.get_mut(i).and_then(Option::take) {
            Some(value) => from_mysql(value, column),
            None => Err(taken(column)),
        }
    }

    fn take_int(&mut self, i: usize) -> Result<std::result::Result<i64, Value>> {
        let column = column_at(&self.columns, i)?;
        match self.values.get_mut(i).and_then(Option::take) {
            Some(mysql::Value::Int(n)) => Ok(Ok(n)),
            Some(value) => from_mysql(value, column).map(Err),
            None => Err(taken(column)),
        }
    }

    fn take_text(&mut self, i: usize) -> Result<std::result::Result<String, Value>> {
        let column = column_at(&self.columns, i)?;
        match self.values.get_mut(i).and_then(Option::take) {
            Some(mysql::Value::Bytes(bytes)) if is_character_data(column) => {
                Ok(String::from_utf8(bytes).map_err(|e| Value::Bytes(e.into_bytes())))
            }
            Some(value) => from_mysql(value, column).map(Err),
            None => Err(taken(column)),
        }
    }
}

fn taken(column: &Column) -> Error {
    Error::InvalidRequest(format!(
        "the value of column {} was already read",
        column.name_str()
    ))
}

fn stream_rows<'c, P: Protocol + 'c>(result: QueryResult<'c, 'c, 'c, P>) -> DriverStream<'c> {
    let columns = result
        .columns()
        .as_ref()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    DriverStream {
        columns,
        rows: Box::new(MyRows(result)),
    }
}

/// The rows of a streamed statement, as the client reads them.
struct MyRows<'c, P: Protocol>(QueryResult<'c, 'c, 'c, P>);

impl<P: Protocol> DriverCursor for MyRows<'_, P> {
    fn next_row(
        &mut self,
        visit: &mut dyn FnMut(&mut dyn DriverRow) -> Result<()>,
    ) -> Result<Option<Result<()>>> {
        match self.0.next() {
            Some(Ok(row)) => {
                let columns = row.columns();
                let mut row = MyRow {
                    values: row.unwrap_raw(),
                    columns,
                };
                Ok(Some(visit(&mut row)))
            }
            Some(Err(e)) => Err(classify(e)),
            None => Ok(None),
        }
    }
}

impl DriverConnection for MySqlConnection {
    fn run(&mut self, sql: &str, params: &[Value], sink: &mut dyn RowSink) -> Result<RunOutcome> {
        check_query_size(sql, self.max_allowed_packet)?;
        if params.is_empty() && !is_query(sql) {
            run_into(self.conn.query_iter(sql).map_err(classify)?, sink)
        } else {
            let params = to_params(params, self.max_allowed_packet)?;
            run_into(self.conn.exec_iter(sql, params).map_err(classify)?, sink)
        }
    }

    fn stream<'c>(&'c mut self, sql: &str, params: &[Value]) -> Result<DriverStream<'c>> {
        check_query_size(sql, self.max_allowed_packet)?;
        if params.is_empty() && !is_query(sql) {
            Ok(stream_rows(self.conn.query_iter(sql).map_err(classify)?))
        } else {
            let params = to_params(params, self.max_allowed_packet)?;
            Ok(stream_rows(
                self.conn.exec_iter(sql, params).map_err(classify)?,
            ))
        }
    }

    fn prepare<'c>(&'c mut self, sql: &str) -> Result<Box<dyn DriverStatement + 'c>> {
        check_query_size(sql, self.max_allowed_packet)?;
        let statement = self.conn.prep(sql).map_err(classify)?;
        Ok(Box::new(MySqlPrepared {
            conn: &mut self.conn,
            statement,
            max_allowed_packet: self.max_allowed_packet,
        }))
    }

    fn execute_batch(&mut self, sql: &str) -> Result<()> {
        check_query_size(sql, self.max_allowed_packet)?;
        self.conn.query_drop(sql).map_err(classify)
    }

    fn ping(&mut self) -> Result<()> {
        self.conn.ping().map_err(classify)
    }

    fn rolled_back_by(&self, err: &Error) -> bool {
        // InnoDB rolls back the whole transaction of a deadlock victim, and the session goes
        // on in autocommit mode. Other errors undo only their statement (a lock wait timeout
        // too, unless the server runs with innodb_rollback_on_timeout).
        err.database_error().and_then(|e| e.code()) == Some(DEADLOCK)
    }
}

struct MySqlPrepared<'c> {
    conn: &'c mut Conn,
    statement: mysql::Statement,
    max_allowed_packet: usize,
}

impl DriverStatement for MySqlPrepared<'_> {
    fn run(&mut self, params: &[Value], sink: &mut dyn RowSink) -> Result<RunOutcome> {
        let params = to_params(params, self.max_allowed_packet)?;
        run_into(
            self.conn
                .exec_iter(&self.statement, params)
                .map_err(classify)?,
            sink,
        )
    }
}
