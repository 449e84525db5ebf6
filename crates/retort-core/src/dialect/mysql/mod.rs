//! MySQL and MariaDB, through the synchronous `mysql` client: one dialect with a flavour.

mod compiler;
mod ddl;
#[cfg(feature = "mysql")]
mod driver;
#[cfg(feature = "mysql")]
mod errors;
mod reflect;

use super::{push_quoted, Capabilities, Dialect, UpsertStyle};
use crate::error::Result;
use crate::value::Value;

/// The MySQL / MariaDB dialect.
#[derive(Debug, Clone, Default)]
pub struct MySqlDialect {
    /// Whether the server is MariaDB (10.5 or later), which adds `INSERT ... RETURNING` and
    /// `DELETE ... RETURNING`, `INTERSECT` and `EXCEPT`.
    pub mariadb: bool,
}

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            insert_returning: self.mariadb,
            update_returning: false,
            delete_returning: self.mariadb,
            max_params: 65535,
            upsert: UpsertStyle::OnDuplicateKey,
            full_outer_join: false,
            right_join: true,
            intersect_except: true,
            intersect_except_all: self.mariadb,
            nulls_ordering: false,
            row_locking: true,
            transactional_ddl: false,
            literal_limit: false,
            native_boolean: false,
            if_not_exists: true,
            alter_column: true,
        }
    }

    fn quote_identifier(&self, ident: &str, out: &mut String) {
        push_quoted(ident, '`', out);
    }

    fn placeholder(&self, _index: usize, out: &mut String) {
        out.push('?');
    }

    fn render_literal(&self, value: &Value, out: &mut String) -> Result<()> {
        compiler::render_literal(value, out)
    }
}

#[cfg(not(feature = "mysql"))]
without_driver!(MySqlDialect, "mysql");
