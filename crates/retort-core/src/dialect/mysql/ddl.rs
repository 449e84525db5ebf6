//! MySQL's and MariaDB's differences in DDL.

use super::MySqlDialect;
use crate::dialect::Dialect;
use crate::error::Result;
use crate::schema::ddl::{
    default_column_type, numeric_type, qualified_name, CommentStyle, DdlHooks,
};
use crate::schema::{Column, ConstraintKind, Table};
use crate::sql::compiler::Compiled;
use crate::types::SqlType;
use crate::value::Value;

impl DdlHooks for MySqlDialect {
    fn max_identifier_length(&self) -> Option<usize> {
        Some(64)
    }

    fn identifier_length(&self, ident: &str) -> usize {
        // MySQL counts identifier length in characters.
        ident.chars().count()
    }

    fn identifier_problem(&self, ident: &str) -> Option<String> {
        // Identifiers are stored as utf8mb3 whatever the table's character set.
        ident.chars().find(|c| u32::from(*c) > 0xFFFF).map(|c| {
            format!(
                "'{c}' is outside the Basic Multilingual Plane, which MySQL and MariaDB \
                 do not allow in identifiers"
            )
        })
    }

    fn column_type(&self, d: &dyn Dialect, ty: &SqlType, out: &mut String) -> Result<()> {
        match ty {
            SqlType::Float => out.push_str("FLOAT"),
            SqlType::Double => out.push_str("DOUBLE"),
            // A bare DECIMAL is DECIMAL(10, 0) and would silently drop every fraction; 38
            // digits with 10 after the point holds any money amount and reads back into a
            // rust_decimal.
            SqlType::Numeric {
                precision: None,
                scale: None,
            } => out.push_str("DECIMAL(38, 10)"),
            SqlType::Numeric { precision, scale } => {
                numeric_type("DECIMAL", *precision, *scale, out)?
            }
            // MySQL requires a length on VARCHAR; 255 characters of utf8mb4 still fit in an
            // index.
            SqlType::String(None) => out.push_str("VARCHAR(255)"),
            // Unbounded text: TEXT stops at 64 KiB, LONGTEXT at 4 GiB.
            SqlType::Text => out.push_str("LONGTEXT"),
            SqlType::Boolean => out.push_str("BOOL"),
            // Microsecond precision, as chrono values carry; zone-aware values are stored as
            // UTC wall-clock time, since TIMESTAMP would convert by the session's zone and
            // ends in 2038.
            SqlType::Time => out.push_str("TIME(6)"),
            SqlType::DateTime { .. } => out.push_str("DATETIME(6)"),
            SqlType::LargeBinary => out.push_str("LONGBLOB"),
            SqlType::Uuid => out.push_str("CHAR(36)"),
            SqlType::Enum { variants, .. } => {
                out.push_str("ENUM(");
                for (i, v) in variants.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    d.render_literal(&Value::from(v.as_str()), out)?;
                }
                out.push(')');
            }
            other => default_column_type(other, out)?,
        }
        Ok(())
    }

    fn autoincrement_clause(
        &self,
        _d: &dyn Dialect,
        _table: &Table,
        _column: &Column,
        out: &mut String,
    ) -> Result<bool> {
        out.push_str(" AUTO_INCREMENT");
        Ok(false)
    }

    fn enum_check(&self) -> bool {
        false
    }

    fn comment_style(&self) -> CommentStyle {
        CommentStyle::Inline
    }

    fn table_options(&self, d: &dyn Dialect, table: &Table, out: &mut String) -> Result<()> {
        // utf8mb4: MySQL's "utf8" is three bytes at most and cannot store emoji and other
        // characters outside the Basic Multilingual Plane.
        out.push_str(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
        if let Some(comment) = table.comment() {
            out.push_str(" COMMENT=");
            d.render_literal(&Value::from(comment), out)?;
        }
        Ok(())
    }

    fn drop_constraint_clause(
        &self,
        d: &dyn Dialect,
        name: &str,
        kind: ConstraintKind,
        out: &mut String,
    ) -> Result<()> {
        // Each kind has its own syntax; a unique constraint is an index.
        match kind {
            ConstraintKind::ForeignKey => out.push_str("DROP FOREIGN KEY "),
            ConstraintKind::Unique | ConstraintKind::Index => out.push_str("DROP INDEX "),
            // MariaDB has no DROP CHECK; MySQL 8.0.19+ takes both spellings.
            ConstraintKind::Check if self.mariadb => out.push_str("DROP CONSTRAINT "),
            ConstraintKind::Check => out.push_str("DROP CHECK "),
            ConstraintKind::PrimaryKey => {
                out.push_str("DROP PRIMARY KEY");
                return Ok(());
            }
        }
        d.quote_identifier(name, out);
        Ok(())
    }

    fn alter_column_restates(&self) -> bool {
        true
    }

    fn restate_column_clause(
        &self,
        _d: &dyn Dialect,
        name: &str,
        definition: &str,
        renamed: bool,
        out: &mut String,
    ) -> Result<()> {
        if renamed {
            out.push_str("CHANGE COLUMN ");
            out.push_str(name);
            out.push(' ');
        } else {
            out.push_str("MODIFY COLUMN ");
        }
        out.push_str(definition);
        Ok(())
    }

    fn index_if_not_exists(&self) -> bool {
        // MariaDB has CREATE INDEX IF NOT EXISTS and DROP INDEX IF EXISTS; MySQL has neither.
        self.mariadb
    }

    fn drop_index(
        &self,
        d: &dyn Dialect,
        schema: Option<&str>,
        table: &str,
        name: &str,
        if_exists: bool,
        out: &mut String,
    ) -> Result<()> {
        out.push_str(if if_exists {
            "DROP INDEX IF EXISTS "
        } else {
            "DROP INDEX "
        });
        d.quote_identifier(name, out);
        out.push_str(" ON ");
        qualified_name(d, schema, table, out);
        Ok(())
    }

    fn has_table_query(
        &self,
        d: &dyn Dialect,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Compiled> {
        let mut sql = String::from(
            "SELECT 1 FROM information_schema.tables WHERE table_type = 'BASE TABLE' \
             AND table_name = ",
        );
        d.placeholder(1, &mut sql);
        let mut params = vec![Value::from(name)];
        sql.push_str(" AND table_schema = ");
        match schema {
            Some(schema) => {
                d.placeholder(2, &mut sql);
                params.push(Value::from(schema));
            }
            None => sql.push_str("DATABASE()"),
        }
        Ok(Compiled::new(sql, params))
    }
}
