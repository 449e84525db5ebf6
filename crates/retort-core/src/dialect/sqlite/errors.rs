//! Classifying SQLite errors by extended result code.

use rusqlite::ffi;

use crate::error::{DatabaseError, Error, ErrorKind};

/// Turns a rusqlite error into retort's error: the family and kind from the extended result
/// code (or the message, for the codes SQLite shares between causes), with the table, column
/// or constraint SQLite names in its message.
pub(super) fn classify(source: rusqlite::Error) -> Error {
    let err = &source;
    let (code, message) = match err {
        rusqlite::Error::SqliteFailure(e, msg) => (
            Some(e.extended_code),
            msg.clone().unwrap_or_else(|| e.to_string()),
        ),
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            (Some(error.extended_code), msg.clone())
        }
        other => (None, other.to_string()),
    };
    let Some(code) = code else {
        let kind = match err {
            rusqlite::Error::InvalidParameterCount(..)
            | rusqlite::Error::InvalidParameterName(_)
            | rusqlite::Error::MultipleStatement => ErrorKind::OtherProgramming,
            rusqlite::Error::ToSqlConversionFailure(_) => ErrorKind::InvalidValue,
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(_) => ErrorKind::OtherData,
            _ => ErrorKind::Other,
        };
        return Error::from_database(DatabaseError::new(kind, message).with_source(source));
    };

    let mut err =
        DatabaseError::new(kind_of(code, &message), message.clone()).with_code(code.to_string());
    match code {
        ffi::SQLITE_CONSTRAINT_UNIQUE
        | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        | ffi::SQLITE_CONSTRAINT_NOTNULL => {
            // "UNIQUE constraint failed: users.name" — the first table.column named.
            if let Some((table, column)) = detail(&message)
                .and_then(|d| d.split(',').next())
                .and_then(|tc| tc.trim().split_once('.'))
            {
                err = err
                    .with_table(Some(table.to_owned()))
                    .with_column(Some(column.to_owned()));
            }
        }
        ffi::SQLITE_CONSTRAINT_CHECK => {
            // "CHECK constraint failed: chk_age" names the constraint; an unnamed one shows its
            // expression, which is not a name.
            let name = detail(&message)
                .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_alphanumeric() || c == '_'));
            err = err.with_constraint(name.map(str::to_owned));
        }
        _ => {}
    }
    Error::from_database(err.with_source(source))
}

/// The text after "...: " in a constraint message.
fn detail(message: &str) -> Option<&str> {
    message.split_once(": ").map(|(_, d)| d.trim())
}

fn kind_of(code: i32, message: &str) -> ErrorKind {
    match code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            return ErrorKind::UniqueViolation
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return ErrorKind::ForeignKeyViolation,
        ffi::SQLITE_CONSTRAINT_NOTNULL => return ErrorKind::NotNullViolation,
        ffi::SQLITE_CONSTRAINT_CHECK => return ErrorKind::CheckViolation,
        _ => {}
    }
    match code & 0xff {
        ffi::SQLITE_CONSTRAINT => ErrorKind::OtherIntegrity,
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => ErrorKind::LockTimeout,
        ffi::SQLITE_TOOBIG => ErrorKind::TooLong,
        ffi::SQLITE_MISMATCH => ErrorKind::InvalidValue,
        ffi::SQLITE_INTERRUPT => ErrorKind::StatementTimeout,
        ffi::SQLITE_RANGE => ErrorKind::OtherProgramming,
        ffi::SQLITE_FULL
        | ffi::SQLITE_IOERR
        | ffi::SQLITE_CANTOPEN
        | ffi::SQLITE_CORRUPT
        | ffi::SQLITE_NOTADB
        | ffi::SQLITE_READONLY
        | ffi::SQLITE_PERM
        | ffi::SQLITE_NOMEM
        | ffi::SQLITE_PROTOCOL => ErrorKind::OtherOperational,
        // SQLITE_ERROR covers every mistake in the SQL itself; the message says which.
        ffi::SQLITE_ERROR => {
            let m = message.to_ascii_lowercase();
            if m.contains("no such table") {
                ErrorKind::UndefinedTable
            } else if m.contains("no such column") || m.contains("has no column named") {
                ErrorKind::UndefinedColumn
            } else if m.contains("syntax error")
                || m.contains("incomplete input")
                || m.contains("unrecognized token")
            {
                ErrorKind::Syntax
            } else if m.contains("already exists") {
                ErrorKind::DuplicateObject
            } else {
                ErrorKind::OtherProgramming
            }
        }
        _ => ErrorKind::Other,
    }
}
