//! Classifying PostgreSQL errors by SQLSTATE.

use std::error::Error as StdError;
use std::fmt;

use postgres::error::ErrorPosition;

use crate::error::{DatabaseError, Error, ErrorKind};

/// A parameter that could not be encoded for the type the server expects, raised from inside
/// the driver's `ToSql` and recognised again here.
#[derive(Debug)]
pub(super) struct BindError {
    pub(super) kind: ErrorKind,
    pub(super) message: String,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for BindError {}

/// Turns a `postgres` error into retort's error.
pub(super) fn classify(err: postgres::Error) -> Error {
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        // A position inside a query the server generated itself says nothing about ours.
        let position = match db.position() {
            Some(ErrorPosition::Original(p)) => Some(*p),
            _ => None,
        };
        let e = DatabaseError::new(kind_of(code), db.message())
            .with_code(code)
            .with_constraint(db.constraint().map(str::to_owned))
            .with_table(db.table().map(str::to_owned))
            .with_column(db.column().map(str::to_owned))
            .with_detail(db.detail().map(str::to_owned))
            .with_hint(db.hint().map(str::to_owned))
            .with_position(position);
        return Error::from_database(e.with_source(err));
    }
    // The driver's own message is short ("error connecting to server"); its causes say why.
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(bind) = cause.downcast_ref::<BindError>() {
            let e = DatabaseError::new(bind.kind, format!("{err}: {}", bind.message));
            return Error::from_database(e.with_source(err));
        }
        message.push_str(&format!(": {cause}"));
        if cause.is::<std::io::Error>() {
            let e = DatabaseError::new(ErrorKind::ConnectionLost, message);
            return Error::from_database(e.with_source(err));
        }
        source = cause.source();
    }
    let kind = if err.is_closed() || message.contains("connection closed") {
        ErrorKind::ConnectionLost
    } else if message.contains("parameters but") {
        // "expected 1 parameters but got 2"
        ErrorKind::OtherProgramming
    } else if message.starts_with("error serializing parameter") {
        // The driver's own encoding refused the value (a date too far out to transmit),
        // before anything was sent.
        ErrorKind::InvalidValue
    } else {
        ErrorKind::Other
    };
    Error::from_database(DatabaseError::new(kind, message).with_source(err))
}

/// SQLSTATE `in_failed_sql_transaction`: a statement sent after an earlier one aborted the
/// transaction.
const IN_FAILED_TRANSACTION: &str = "25P02";

fn sqlstate(err: &postgres::Error) -> Option<&str> {
    err.as_db_error().map(|db| db.code().code())
}

/// Whether the server refused a statement because the transaction is aborted.
pub(super) fn is_in_failed_transaction(err: &postgres::Error) -> bool {
    sqlstate(err) == Some(IN_FAILED_TRANSACTION)
}

/// What the server said, for naming the cause of an aborted transaction later; `None` for
/// errors that did not come from the server and for "transaction aborted" itself.
pub(super) fn server_failure(err: &postgres::Error) -> Option<String> {
    let db = err.as_db_error()?;
    let code = db.code().code();
    (code != IN_FAILED_TRANSACTION).then(|| format!("{code}: {}", db.message()))
}

/// The error of a COMMIT that found the transaction aborted: the transaction is lost, not
/// committed. `cause` is the server's last other error, which is what aborted it.
pub(super) fn aborted_commit(cause: Option<&str>) -> Error {
    let cause = cause.map_or_else(String::new, |c| format!(" ({c})"));
    let message = format!(
        "COMMIT refused: the transaction was rolled back, because an earlier statement in it \
         failed{cause} and PostgreSQL aborted it; nothing in it was committed. Roll back to a \
         savepoint taken before a statement that may fail to keep the work done before it"
    );
    Error::from_database(
        DatabaseError::new(kind_of(IN_FAILED_TRANSACTION), message)
            .with_code(IN_FAILED_TRANSACTION),
    )
}

/// The kind a SQLSTATE stands for.
fn kind_of(code: &str) -> ErrorKind {
    match code {
        "23505" => ErrorKind::UniqueViolation,
        "23503" => ErrorKind::ForeignKeyViolation,
        "23502" => ErrorKind::NotNullViolation,
        "23514" => ErrorKind::CheckViolation,
        "42601" => ErrorKind::Syntax,
        "42P01" => ErrorKind::UndefinedTable,
        "42703" => ErrorKind::UndefinedColumn,
        "42P07" | "42710" | "42P06" | "42701" | "42723" | "42P04" => ErrorKind::DuplicateObject,
        "40P01" => ErrorKind::Deadlock,
        "40001" => ErrorKind::SerializationFailure,
        "55P03" => ErrorKind::LockTimeout,
        "57014" => ErrorKind::StatementTimeout,
        // Administrator shutdown, crash shutdown, cannot connect now.
        "57P01" | "57P02" | "57P03" => ErrorKind::ConnectionLost,
        "22003" => ErrorKind::OutOfRange,
        "22001" => ErrorKind::TooLong,
        // Invalid text representation, datetime format and field overflow, bad characters.
        "22P02" | "22007" | "22008" | "22021" | "22P05" => ErrorKind::InvalidValue,
        _ => match code.get(..2) {
            Some("23") => ErrorKind::OtherIntegrity,
            Some("08") => ErrorKind::ConnectionLost,
            Some("42") | Some("0A") => ErrorKind::OtherProgramming,
            Some("22") => ErrorKind::OtherData,
            Some("25" | "28" | "3D" | "40" | "53" | "54" | "55" | "57" | "58") => {
                ErrorKind::OtherOperational
            }
            _ => ErrorKind::Other,
        },
    }
}
