//! One error type for the whole stack, shaped after SQLAlchemy's exception families.
//!
//! Database errors are classified by each dialect from the driver's own codes (SQLSTATE on
//! PostgreSQL, error numbers on MySQL/MariaDB, extended result codes on SQLite) into a family
//! ([`Error::Integrity`], [`Error::Operational`], [`Error::Programming`], [`Error::Data`]) and a
//! finer [`ErrorKind`] that can be matched on.
//!
//! ```
//! use retort_core::{Error, ErrorKind};
//!
//! fn is_duplicate(err: &Error) -> bool {
//!     matches!(err, Error::Integrity(e) if e.kind() == ErrorKind::UniqueViolation)
//! }
//! # let _ = is_duplicate;
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::value::Value;

/// The release an application names in its `Cargo.toml` (`0.1` for 0.1.x).
const RELEASE: &str = concat!(
    env!("CARGO_PKG_VERSION_MAJOR"),
    ".",
    env!("CARGO_PKG_VERSION_MINOR")
);

/// The result type used throughout retort.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error retort reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A constraint was violated: unique, foreign key, not null or check.
    #[error(transparent)]
    Integrity(DatabaseError),
    /// The database could not do the work for a reason outside the statement: a lost
    /// connection, a deadlock, a serialization failure, a lock or statement timeout.
    #[error(transparent)]
    Operational(DatabaseError),
    /// The statement itself is wrong: a syntax error, an unknown table or column.
    #[error(transparent)]
    Programming(DatabaseError),
    /// A value did not fit: out of range, too long, or not valid for its type.
    #[error(transparent)]
    Data(DatabaseError),
    /// Any other error the database reported.
    #[error(transparent)]
    Database(DatabaseError),
    /// No connection could be checked out of the pool before the timeout.
    #[error("PoolTimeout: no connection available within {0:?}")]
    PoolTimeout(Duration),
    /// A URL given to `create_engine` could not be understood.
    #[error("ArgumentError: invalid database URL: {0}")]
    Url(String),
    /// A URL names a database whose driver this build leaves out: retort was compiled
    /// without that backend's cargo feature. The message gives the `Cargo.toml` line that
    /// turns it on.
    #[error(
        "NoSuchModuleError: retort was built without its `{feature}` feature, which this \
         database URL needs; turn it on in Cargo.toml: \
         retort = {{ version = \"{}\", features = [\"{feature}\"] }}",
        RELEASE
    )]
    BackendNotCompiled {
        /// The cargo feature that compiles the driver: `sqlite`, `postgres` or `mysql`.
        feature: &'static str,
    },
    /// A statement could not be compiled for the dialect (an unknown column, a construct the
    /// database lacks).
    #[error("CompileError: {0}")]
    Compile(String),
    /// A value read from the database could not be converted to the requested Rust type.
    #[error("conversion error: {0}")]
    Conversion(String),
    /// A query that had to return a row returned none.
    #[error("NoResultFound: no row was found when one was required")]
    NoResultFound,
    /// A query that had to return at most one row returned more.
    #[error("MultipleResultsFound: multiple rows were found when one was required")]
    MultipleResultsFound,
    /// An UPDATE or DELETE matched fewer rows than expected (optimistic locking).
    #[error("StaleDataError: {0}")]
    StaleData(String),
    /// An object was used that is no longer attached to a session.
    #[error("DetachedInstanceError: {0}")]
    DetachedInstance(String),
    /// A session's earlier flush failed; it must be rolled back before further use.
    #[error("PendingRollbackError: {0}")]
    PendingRollback(String),
    /// An operation that is not valid in the current state.
    #[error("InvalidRequestError: {0}")]
    InvalidRequest(String),
    /// An argument that is not valid (an unknown attribute or column name, a bad option).
    #[error("ArgumentError: {0}")]
    Argument(String),
    /// A migration revision failed: which revision, which of its steps, and the error the
    /// step met (a database error keeps its kind: [`Error::kind`] and
    /// [`Error::database_error`] look through this variant). Boxed, so that every `Result`
    /// in the hot paths stays as small as it was.
    #[error("{0}")]
    Migration(Box<MigrationError>),
}

/// What [`Error::Migration`] says about a failed revision.
#[derive(Debug)]
pub struct MigrationError {
    /// The failing revision's id.
    pub revision: String,
    /// `"upgrade"` or `"downgrade"`.
    pub direction: &'static str,
    /// The failing operation, counted from 1; 0 when the operations all ran and recording
    /// the revision in the version table failed.
    pub step: usize,
    /// How many operations the revision has.
    pub steps: usize,
    /// The statement that failed, when one had been sent.
    pub sql: Option<String>,
    /// What went wrong.
    pub source: Error,
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let MigrationError {
            revision,
            direction,
            step,
            steps,
            source,
            ..
        } = self;
        if *step == 0 {
            write!(
                f,
                "MigrationError: {direction} of revision {revision}: recording it in the \
                 version table failed: {source}"
            )
        } else {
            write!(
                f,
                "MigrationError: {direction} of revision {revision} failed at step {step} of \
                 {steps}: {source}"
            )
        }
    }
}

impl Error {
    /// The database error behind this error, if it came from the database.
    pub fn database_error(&self) -> Option<&DatabaseError> {
        match self {
            Error::Integrity(e)
            | Error::Operational(e)
            | Error::Programming(e)
            | Error::Data(e)
            | Error::Database(e) => Some(e),
            Error::Migration(failure) => failure.source.database_error(),
            _ => None,
        }
    }

    /// The fine-grained kind of a database error; `None` for errors that did not come from
    /// the database.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.database_error().map(DatabaseError::kind)
    }

    /// Whether the error means the connection is gone and must not be reused
    /// ([`ErrorKind::ConnectionLost`] or [`ErrorKind::CommitOutcomeUnknown`]).
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self.kind(),
            Some(ErrorKind::ConnectionLost | ErrorKind::CommitOutcomeUnknown)
        )
    }

    /// Names the model field a value was being read into, when this is a conversion error;
    /// any other error comes back unchanged. `#[derive(Model)]` calls it for each field it
    /// loads, so that a value the field's type cannot hold says where it was going:
    ///
    /// ```
    /// use retort_core::value::{FromValue, Value};
    ///
    /// let err = i32::from_value(Value::Text("abc".into())).unwrap_err().in_field("User", "age");
    /// assert_eq!(
    ///     err.to_string(),
    ///     "conversion error: User.age: cannot convert text value 'abc' to i32"
    /// );
    /// ```
    #[cold]
    pub fn in_field(self, model: &str, field: &str) -> Error {
        match self {
            Error::Conversion(message) => Error::Conversion(format!("{model}.{field}: {message}")),
            other => other,
        }
    }

    /// Builds the family variant that matches `err.kind()`.
    pub fn from_database(err: DatabaseError) -> Error {
        match err.kind().family() {
            Family::Integrity => Error::Integrity(err),
            Family::Operational => Error::Operational(err),
            Family::Programming => Error::Programming(err),
            Family::Data => Error::Data(err),
            Family::Other => Error::Database(err),
        }
    }
}

/// The fine-grained classification of a database error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A unique or primary key constraint was violated.
    UniqueViolation,
    /// A foreign key constraint was violated.
    ForeignKeyViolation,
    /// NULL was written to a NOT NULL column.
    NotNullViolation,
    /// A CHECK constraint was violated.
    CheckViolation,
    /// Another integrity constraint was violated.
    OtherIntegrity,
    /// The connection to the server was lost or refused.
    ConnectionLost,
    /// The connection was lost while a COMMIT was in flight: the server may have committed
    /// the transaction or not, and only the database can tell. Check before retrying, or a
    /// retry may apply the work twice. Also a disconnect ([`Error::is_disconnect`]).
    CommitOutcomeUnknown,
    /// The transaction was chosen as a deadlock victim.
    Deadlock,
    /// A serializable transaction could not be serialized.
    SerializationFailure,
    /// A lock could not be acquired in time (or the database is locked).
    LockTimeout,
    /// The statement ran past its time limit or was cancelled.
    StatementTimeout,
    /// Another operational error.
    OtherOperational,
    /// The SQL could not be parsed.
    Syntax,
    /// A table or view that does not exist was named.
    UndefinedTable,
    /// A column that does not exist was named.
    UndefinedColumn,
    /// An object that already exists was created again.
    DuplicateObject,
    /// Another programming error.
    OtherProgramming,
    /// A number is out of the range of its column type.
    OutOfRange,
    /// A string or binary is longer than its column allows.
    TooLong,
    /// A value is not valid for its type (a bad date, a malformed number).
    InvalidValue,
    /// Another data error.
    OtherData,
    /// An error the dialect could not classify.
    Other,
}

/// The SQLAlchemy exception family an [`ErrorKind`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IntegrityError
    Integrity,
    /// OperationalError
    Operational,
    /// ProgrammingError
    Programming,
    /// DataError
    Data,
    /// DatabaseError
    Other,
}

impl ErrorKind {
    /// The family this kind belongs to.
    pub fn family(self) -> Family {
        use ErrorKind::*;
        match self {
            UniqueViolation | ForeignKeyViolation | NotNullViolation | CheckViolation
            | OtherIntegrity => Family::Integrity,
            ConnectionLost | CommitOutcomeUnknown | Deadlock | SerializationFailure
            | LockTimeout | StatementTimeout | OtherOperational => Family::Operational,
            Syntax | UndefinedTable | UndefinedColumn | DuplicateObject | OtherProgramming => {
                Family::Programming
            }
            OutOfRange | TooLong | InvalidValue | OtherData => Family::Data,
            Other => Family::Other,
        }
    }
}

/// An error reported by the database, with the statement that caused it.
///
/// Boxed inside so that `Result<T, Error>` stays small on the hot path.
#[derive(Debug, Clone)]
pub struct DatabaseError(Box<DatabaseErrorInner>);

#[derive(Debug, Clone)]
struct DatabaseErrorInner {
    kind: ErrorKind,
    message: String,
    code: Option<String>,
    constraint: Option<String>,
    table: Option<String>,
    column: Option<String>,
    detail: Option<String>,
    hint: Option<String>,
    position: Option<u32>,
    sql: Option<String>,
    params: Option<Vec<Value>>,
    params_hidden: bool,
    /// Shared so that the error stays cheap to clone.
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl DatabaseError {
    /// A new error of `kind` with the driver's message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DatabaseError(Box::new(DatabaseErrorInner {
            kind,
            message: message.into(),
            code: None,
            constraint: None,
            table: None,
            column: None,
            detail: None,
            hint: None,
            position: None,
            sql: None,
            params: None,
            params_hidden: false,
            source: None,
        }))
    }

    /// Sets the driver's own code (SQLSTATE, MySQL error number, SQLite extended code).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.0.code = Some(code.into());
        self
    }

    /// Sets the name of the violated constraint.
    pub fn with_constraint(mut self, constraint: Option<String>) -> Self {
        self.0.constraint = constraint;
        self
    }

    /// Sets the table the error concerns.
    pub fn with_table(mut self, table: Option<String>) -> Self {
        self.0.table = table;
        self
    }

    /// Sets the column the error concerns.
    pub fn with_column(mut self, column: Option<String>) -> Self {
        self.0.column = column;
        self
    }

    /// Sets the database's detail line (PostgreSQL's `DETAIL`).
    pub fn with_detail(mut self, detail: Option<String>) -> Self {
        self.0.detail = detail;
        self
    }

    /// Sets the database's hint (PostgreSQL's `HINT`).
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.0.hint = hint;
        self
    }

    /// Sets the 1-based character position in the SQL text the error points at.
    pub fn with_position(mut self, position: Option<u32>) -> Self {
        self.0.position = position;
        self
    }

    /// Keeps the driver's own error, which [`source`](std::error::Error::source) returns.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Arc::new(source));
        self
    }

    /// Attaches the statement and its parameters.
    pub fn with_statement(mut self, sql: &str, params: &[Value]) -> Self {
        self.0.sql = Some(sql.to_owned());
        self.0.params = Some(params.to_vec());
        self
    }

    /// The fine-grained kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The driver's message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The driver's own code: SQLSTATE on PostgreSQL, the error number on MySQL/MariaDB, the
    /// extended result code on SQLite.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// The violated constraint's name, where the database reports it.
    pub fn constraint(&self) -> Option<&str> {
        self.0.constraint.as_deref()
    }

    /// The table concerned, where the database reports it.
    pub fn table(&self) -> Option<&str> {
        self.0.table.as_deref()
    }

    /// The column concerned, where the database reports it.
    pub fn column(&self) -> Option<&str> {
        self.0.column.as_deref()
    }

    /// The SQL text of the failed statement.
    pub fn sql(&self) -> Option<&str> {
        self.0.sql.as_deref()
    }

    /// The parameters of the failed statement.
    pub fn params(&self) -> Option<&[Value]> {
        self.0.params.as_deref()
    }

    /// The same error with another kind and message, for an error whose meaning the engine
    /// knows better than the driver (a disconnect during COMMIT).
    pub(crate) fn reclassified(mut self, kind: ErrorKind, message: String) -> Self {
        self.0.kind = kind;
        self.0.message = message;
        self
    }

    /// The database's detail line (PostgreSQL's `DETAIL`), where it gave one.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// The database's hint (PostgreSQL's `HINT`), where it gave one.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// The 1-based character position in the SQL text the database points at, where it
    /// gave one (PostgreSQL's error position).
    pub fn position(&self) -> Option<u32> {
        self.0.position
    }

    /// Drops the parameters, for errors that may carry secrets; the error then says they
    /// were hidden. The engine option `hide_parameters` does this to every error.
    pub fn redact_params(&mut self) {
        self.0.params = None;
        self.0.params_hidden = true;
    }
}

/// Starts with the SQLAlchemy family name (`IntegrityError: ...`), which is also how an
/// [`Error`] holding it displays.
impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.0.kind.family() {
            Family::Integrity => "IntegrityError",
            Family::Operational => "OperationalError",
            Family::Programming => "ProgrammingError",
            Family::Data => "DataError",
            Family::Other => "DatabaseError",
        };
        write!(f, "{family}: ({:?}", self.0.kind)?;
        if let Some(code) = &self.0.code {
            write!(f, " {code}")?;
        }
        write!(f, ") {}", self.0.message)?;
        if let Some(c) = &self.0.constraint {
            write!(f, " [constraint: {c}]")?;
        }
        if let Some(detail) = &self.0.detail {
            write!(f, "\nDETAIL: {detail}")?;
        }
        if let Some(hint) = &self.0.hint {
            write!(f, "\nHINT: {hint}")?;
        }
        if let Some(sql) = &self.0.sql {
            write!(f, "\n[SQL: {sql}]")?;
        }
        if let Some(position) = self.0.position {
            write!(f, "\n[at position {position} of the SQL]")?;
        }
        if self.0.params_hidden {
            f.write_str("\n[parameters hidden by hide_parameters]")?;
        }
        if let Some(params) = &self.0.params {
            if !params.is_empty() {
                write!(f, "\n[parameters: (")?;
                for (i, p) in params.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{p}")?;
                }
                f.write_str(")]")?;
            }
        }
        Ok(())
    }
}

/// The source is the driver's own error (a `rusqlite::Error`, `postgres::Error` or
/// `mysql::Error`), where the error came from the driver. An [`Error`] holding a
/// `DatabaseError` has the same source.
impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source: &(dyn std::error::Error + 'static) = self.0.source.as_deref()?;
        Some(source)
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// Every `Result` in retort carries an `Error`: a large variant would make all of them
    /// larger, on the hot paths too. Variants with much to say box it.
    #[test]
    fn the_error_stays_small() {
        assert!(
            size_of::<Error>() <= 32,
            "Error is {} bytes",
            size_of::<Error>()
        );
    }
}
