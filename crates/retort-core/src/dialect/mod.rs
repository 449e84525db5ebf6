//! Database dialects: everything that differs between SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! A dialect is a value implementing [`Dialect`]. It states what the database can do as
//! [`Capabilities`] — the generic compiler and the ORM ask these, they never test which database
//! it is — and overrides only the pieces of SQL rendering ([`SqlHooks`]), DDL rendering
//! ([`DdlHooks`]) and driver access ([`DriverDialect`]) that differ from the defaults, and
//! reads its catalog for reflection ([`ReflectionHooks`]). Each database's code lives in its
//! own folder below this one, and nowhere else.

use std::fmt::Debug;
use std::sync::Arc;

use crate::engine::driver::DriverDialect;
use crate::error::Result;
use crate::schema::ddl::DdlHooks;
use crate::schema::reflect::ReflectionHooks;
use crate::sql::compiler::SqlHooks;
use crate::sql::literal::render_literal;
use crate::value::Value;

/// Implements [`DriverDialect`](crate::engine::driver::DriverDialect) for a dialect whose
/// backend feature is off: its URLs are refused with [`Error::BackendNotCompiled`], which
/// names the feature to turn on. The dialect's SQL still compiles.
///
/// [`Error::BackendNotCompiled`]: crate::Error::BackendNotCompiled
#[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
macro_rules! without_driver {
    ($dialect:ty, $feature:literal) => {
        impl $crate::engine::driver::DriverDialect for $dialect {
            fn check_driver(&self) -> $crate::error::Result<()> {
                Err($crate::error::Error::BackendNotCompiled { feature: $feature })
            }

            fn connect(
                &self,
                _url: &$crate::engine::url::Url,
                _options: &$crate::engine::driver::ConnectOptions,
            ) -> $crate::error::Result<Box<dyn $crate::engine::driver::DriverConnection>> {
                Err($crate::error::Error::BackendNotCompiled { feature: $feature })
            }
        }
    };
}

pub mod mysql;
pub mod postgres;
pub mod sqlite;

/// A database dialect.
pub trait Dialect:
    SqlHooks + DdlHooks + ReflectionHooks + DriverDialect + Debug + Send + Sync + 'static
{
    /// The dialect's name: `"sqlite"`, `"postgresql"` or `"mysql"`.
    fn name(&self) -> &'static str;

    /// What the database supports.
    fn capabilities(&self) -> Capabilities;

    /// Appends `ident` quoted as an identifier, doubling any quote character inside it.
    fn quote_identifier(&self, ident: &str, out: &mut String);

    /// Appends the placeholder for the `index`-th parameter (1-based).
    fn placeholder(&self, index: usize, out: &mut String);

    /// Appends `value` as a SQL literal (for DDL defaults and display only; statements bind
    /// their values).
    fn render_literal(&self, value: &Value, out: &mut String) -> Result<()> {
        render_literal(value, false, self.capabilities().native_boolean, out)
    }
}

/// Appends `ident` between `quote` characters, doubling any `quote` inside it: the one way
/// every dialect quotes identifiers.
pub(crate) fn push_quoted(ident: &str, quote: char, out: &mut String) {
    out.reserve(ident.len() + 2);
    out.push(quote);
    for c in ident.chars() {
        if c == quote {
            out.push(quote);
        }
        out.push(c);
    }
    out.push(quote);
}

/// How a dialect writes an upsert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertStyle {
    /// `ON CONFLICT (cols) DO UPDATE SET col = excluded.col` (PostgreSQL, SQLite).
    OnConflict,
    /// `ON DUPLICATE KEY UPDATE col = VALUES(col)` (MySQL, MariaDB).
    OnDuplicateKey,
}

/// What a database supports, as the compiler and the ORM need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `INSERT ... RETURNING`.
    pub insert_returning: bool,
    /// `UPDATE ... RETURNING`.
    pub update_returning: bool,
    /// `DELETE ... RETURNING`.
    pub delete_returning: bool,
    /// The most bind parameters one statement may carry.
    pub max_params: usize,
    /// How upserts are written.
    pub upsert: UpsertStyle,
    /// `FULL OUTER JOIN`.
    pub full_outer_join: bool,
    /// `RIGHT OUTER JOIN`.
    pub right_join: bool,
    /// `INTERSECT` and `EXCEPT`.
    pub intersect_except: bool,
    /// `INTERSECT ALL` and `EXCEPT ALL`.
    pub intersect_except_all: bool,
    /// `NULLS FIRST` / `NULLS LAST` in ORDER BY.
    pub nulls_ordering: bool,
    /// `SELECT ... FOR UPDATE` row locks.
    pub row_locking: bool,
    /// DDL takes part in transactions.
    pub transactional_ddl: bool,
    /// LIMIT and OFFSET are rendered as literal integers rather than bound.
    pub literal_limit: bool,
    /// A native boolean type (not an integer standing in for one).
    pub native_boolean: bool,
    /// `CREATE TABLE IF NOT EXISTS` / `DROP TABLE IF EXISTS`.
    pub if_not_exists: bool,
    /// `ALTER TABLE` can change a column's type, nullability and default in place; where it
    /// cannot (SQLite: only a rename), such a change rebuilds the table.
    pub alter_column: bool,
}

/// A shared handle to a dialect.
pub type DialectRef = Arc<dyn Dialect>;

#[cfg(test)]
mod tests {
    /// Runs in CI's `cargo test -p retort-core --no-default-features --features sqlite --lib`:
    /// a backend left out of the build refuses its URLs up front, naming the feature to turn
    /// on, and its dialect's own `connect` says the same.
    #[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "mysql")))]
    #[test]
    fn a_backend_left_out_names_the_feature_to_turn_on() {
        use super::mysql::MySqlDialect;
        use super::postgres::PostgresDialect;
        use super::sqlite::SqliteDialect;
        use super::Dialect;
        use crate::engine::driver::ConnectOptions;
        use crate::{create_engine, Error, Url};

        // (built, feature, URL, dialect)
        let cases: [(bool, &str, &str, &dyn Dialect); 3] = [
            (
                cfg!(feature = "sqlite"),
                "sqlite",
                "sqlite://",
                &SqliteDialect,
            ),
            (
                cfg!(feature = "postgres"),
                "postgres",
                "postgresql://u@h/db",
                &PostgresDialect,
            ),
            (
                cfg!(feature = "mysql"),
                "mysql",
                "mariadb://u@h/db",
                &MySqlDialect { mariadb: true },
            ),
        ];
        let mut left_out = 0;
        for (built, feature, url, dialect) in cases {
            if built {
                continue;
            }
            left_out += 1;
            let expected = format!(
                "NoSuchModuleError: retort was built without its `{feature}` feature, which this \
                 database URL needs; turn it on in Cargo.toml: \
                 retort = {{ version = \"0.1\", features = [\"{feature}\"] }}"
            );
            let err = create_engine(url)
                .err()
                .expect("refused without its feature");
            assert!(
                matches!(err, Error::BackendNotCompiled { feature: f } if f == feature),
                "{err:?}"
            );
            assert_eq!(err.to_string(), expected);
            let url = Url::parse(url).expect("a valid URL");
            let err = dialect
                .connect(&url, &ConnectOptions::default())
                .err()
                .expect("no driver to connect with");
            assert_eq!(err.to_string(), expected);
        }
        assert!(left_out > 0);
    }
}
