//! Classifying MySQL and MariaDB errors by error number.
//!
//! The server names constraints, tables and columns only inside its messages, so they are
//! read from there.

use mysql::{DriverError, MySqlError};

use crate::error::{DatabaseError, Error, ErrorKind};

/// Turns a `mysql` client error into retort's error, keeping the client's error as its
/// source.
pub(super) fn classify(err: mysql::Error) -> Error {
    let e = match &err {
        mysql::Error::MySqlError(e) => server_error(e),
        mysql::Error::DriverError(e) => {
            let kind = match e {
                DriverError::MismatchedStmtParams(..)
                | DriverError::MissingNamedParameter(_)
                | DriverError::NamedParamsForPositionalQuery
                | DriverError::MixedParams => ErrorKind::OtherProgramming,
                DriverError::UnknownAuthPlugin(_)
                | DriverError::OldMysqlPasswordDisabled
                | DriverError::CleartextPluginDisabled => ErrorKind::OtherOperational,
                _ => ErrorKind::ConnectionLost,
            };
            DatabaseError::new(kind, e.to_string())
        }
        mysql::Error::UrlError(e) => return Error::Url(format!("MySQL connection options: {e}")),
        mysql::Error::FromValueError(v) => {
            return Error::Conversion(format!("cannot convert MySQL value {v:?}"))
        }
        mysql::Error::FromRowError(r) => {
            return Error::Conversion(format!("cannot convert row {r:?}"))
        }
        // I/O and packet errors: the connection is gone.
        other => DatabaseError::new(ErrorKind::ConnectionLost, other.to_string()),
    };
    Error::from_database(e.with_source(err))
}

fn server_error(e: &MySqlError) -> DatabaseError {
    let message = &e.message;
    let mut err = DatabaseError::new(kind_of(e.code, &e.state), message.clone())
        .with_code(e.code.to_string());
    match e.code {
        // "Duplicate entry 'x' for key 'uq_name'" (MySQL 8 writes 'users.uq_name').
        1062 | 1586 => {
            let key = quoted_after(message, "for key ", '\'');
            let name = key.map(|k| match k.split_once('.') {
                Some((_, name)) => name.to_owned(),
                None => k,
            });
            err = err.with_constraint(name);
        }
        // "... fails (`db`.`child`, CONSTRAINT `fk_x` FOREIGN KEY (`pid`) REFERENCES ..."
        1451 | 1452 | 1216 | 1217 => {
            err = err
                .with_constraint(quoted_after(message, "CONSTRAINT ", '`'))
                .with_table(last_backquoted_before(message, ", CONSTRAINT"));
        }
        // MariaDB: "CONSTRAINT `chk_age` failed for `db`.`t`";
        // MySQL: "Check constraint 'chk_age' is violated."
        4025 | 3819 => {
            let name = quoted_after(message, "CONSTRAINT ", '`')
                .or_else(|| quoted_after(message, "constraint ", '\''));
            err = err.with_constraint(name);
        }
        // "Column 'name' cannot be null", "Field 'name' doesn't have a default value",
        // "Unknown column 'x' in 'field list'"
        1048 | 1364 | 1054 => err = err.with_column(first_quoted(message, '\'')),
        // "Data too long for column 'x' at row 1", "Out of range value for column 'x' ..."
        1406 | 1264 => err = err.with_column(quoted_after(message, "for column ", '\'')),
        // "Table 'db.t' doesn't exist"
        1146 => {
            let table = quoted_after(message, "Table ", '\'')
                .map(|t| t.rsplit('.').next().unwrap_or_default().to_owned());
            err = err.with_table(table);
        }
        _ => {}
    }
    err
}

/// The text between the first pair of `quote` characters after `marker`.
fn quoted_after(message: &str, marker: &str, quote: char) -> Option<String> {
    let (_, rest) = message.split_once(marker)?;
    let rest = rest.trim_start();
    let inner = rest.strip_prefix(quote)?;
    let (value, _) = inner.split_once(quote)?;
    Some(value.to_owned())
}

/// The text between the first pair of `quote` characters.
fn first_quoted(message: &str, quote: char) -> Option<String> {
    let (_, rest) = message.split_once(quote)?;
    let (value, _) = rest.split_once(quote)?;
    Some(value.to_owned())
}

/// The last backquoted name before `marker`: the table in "(`db`.`child`, CONSTRAINT".
fn last_backquoted_before(message: &str, marker: &str) -> Option<String> {
    let (before, _) = message.split_once(marker)?;
    let before = before.strip_suffix('`')?;
    let (_, name) = before.rsplit_once('`')?;
    Some(name.to_owned())
}

fn kind_of(code: u16, state: &str) -> ErrorKind {
    match code {
        1062 | 1586 => ErrorKind::UniqueViolation,
        1451 | 1452 | 1216 | 1217 => ErrorKind::ForeignKeyViolation,
        1048 | 1364 => ErrorKind::NotNullViolation,
        3819 | 4025 => ErrorKind::CheckViolation,
        1064 | 1149 => ErrorKind::Syntax,
        1146 | 1051 | 1109 => ErrorKind::UndefinedTable,
        1054 => ErrorKind::UndefinedColumn,
        1050 | 1060 | 1061 | 1007 | 1826 => ErrorKind::DuplicateObject,
        1213 => ErrorKind::Deadlock,
        // Lock wait timeout; NOWAIT could not lock.
        1205 | 3572 => ErrorKind::LockTimeout,
        // max_execution_time (MySQL), max_statement_time (MariaDB), KILL QUERY.
        3024 | 1969 | 1317 => ErrorKind::StatementTimeout,
        // Server gone away, lost connection, connection killed, server shutdown, cannot connect.
        2006 | 2013 | 1927 | 1053 | 2002 | 2003 | 2055 => ErrorKind::ConnectionLost,
        // Too many placeholders in a prepared statement.
        1390 => ErrorKind::OtherProgramming,
        1264 | 1690 => ErrorKind::OutOfRange,
        // Data too long; a packet or a function result over max_allowed_packet.
        1406 | 1153 | 1301 => ErrorKind::TooLong,
        // Bad values; 1300: bytes not valid in their character set.
        1292 | 1366 | 1265 | 1367 | 1411 | 1300 => ErrorKind::InvalidValue,
        // Access denied, unknown database, too many connections.
        1044 | 1045 | 1049 | 1040 => ErrorKind::OtherOperational,
        _ => match state.get(..2) {
            Some("23") => ErrorKind::OtherIntegrity,
            Some("42") => ErrorKind::OtherProgramming,
            Some("22") => ErrorKind::OtherData,
            Some("08") => ErrorKind::ConnectionLost,
            Some("40") => ErrorKind::OtherOperational,
            _ => ErrorKind::Other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_parts_are_found() {
        assert_eq!(
            quoted_after("Duplicate entry 'a' for key 'users.uq'", "for key ", '\''),
            Some("users.uq".into())
        );
        let fk = "Cannot add or update a child row: a foreign key constraint fails \
                  (`db`.`child`, CONSTRAINT `fk_x` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`))";
        assert_eq!(quoted_after(fk, "CONSTRAINT ", '`'), Some("fk_x".into()));
        assert_eq!(
            last_backquoted_before(fk, ", CONSTRAINT"),
            Some("child".into())
        );
    }
}
