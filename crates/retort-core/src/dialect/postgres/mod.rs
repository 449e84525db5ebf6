//! PostgreSQL, through the synchronous `postgres` client.

mod compiler;
mod ddl;
#[cfg(feature = "postgres")]
mod driver;
#[cfg(feature = "postgres")]
mod errors;
mod reflect;
#[cfg(feature = "postgres")]
mod statement_cache;

use super::{push_quoted, Capabilities, Dialect, UpsertStyle};
use crate::error::Result;
use crate::value::Value;

/// The PostgreSQL dialect.
#[derive(Debug, Clone, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            insert_returning: true,
            update_returning: true,
            delete_returning: true,
            max_params: 65535,
            upsert: UpsertStyle::OnConflict,
            full_outer_join: true,
            right_join: true,
            intersect_except: true,
            intersect_except_all: true,
            nulls_ordering: true,
            row_locking: true,
            transactional_ddl: true,
            literal_limit: false,
            native_boolean: true,
            if_not_exists: true,
            alter_column: true,
        }
    }

    fn quote_identifier(&self, ident: &str, out: &mut String) {
        push_quoted(ident, '"', out);
    }

    fn render_literal(&self, value: &Value, out: &mut String) -> Result<()> {
        compiler::render_literal(value, out)
    }

    fn placeholder(&self, index: usize, out: &mut String) {
        use std::fmt::Write;
        // Writing into a String cannot fail.
        let _ = write!(out, "${index}");
    }
}

#[cfg(not(feature = "postgres"))]
without_driver!(PostgresDialect, "postgres");
