//! SQLite, through rusqlite with the bundled library.

mod compiler;
mod ddl;
#[cfg(feature = "sqlite")]
mod driver;
#[cfg(feature = "sqlite")]
mod errors;
mod reflect;
mod table_sql;

use super::{push_quoted, Capabilities, Dialect, UpsertStyle};

/// The SQLite dialect.
#[derive(Debug, Clone, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            insert_returning: true,
            update_returning: true,
            delete_returning: true,
            max_params: 32766,
            upsert: UpsertStyle::OnConflict,
            full_outer_join: true,
            right_join: true,
            intersect_except: true,
            intersect_except_all: false,
            nulls_ordering: true,
            row_locking: false,
            transactional_ddl: true,
            // A bound LIMIT makes SQLite re-plan the statement on every execution.
            literal_limit: true,
            native_boolean: false,
            if_not_exists: true,
            alter_column: false,
        }
    }

    fn quote_identifier(&self, ident: &str, out: &mut String) {
        push_quoted(ident, '"', out);
    }

    fn placeholder(&self, _index: usize, out: &mut String) {
        out.push('?');
    }
}

#[cfg(not(feature = "sqlite"))]
without_driver!(SqliteDialect, "sqlite");
