//! SQLite's differences in DDL.

use super::SqliteDialect;
use crate::dialect::Dialect;
use crate::error::Result;
use crate::schema::ddl::{constraint_prefix, default_column_type, DdlHooks, ForeignKeySwitch};
use crate::schema::{Column, Table};
use crate::sql::compiler::Compiled;
use crate::types::SqlType;
use crate::value::Value;

impl DdlHooks for SqliteDialect {
    fn column_type(&self, _d: &dyn Dialect, ty: &SqlType, out: &mut String) -> Result<()> {
        // SQLite keeps any type name and derives an affinity from it; these names give the
        // right affinity and read back as what they mean.
        match ty {
            SqlType::Float => out.push_str("FLOAT"),
            SqlType::Double => out.push_str("DOUBLE"),
            SqlType::DateTime { .. } => out.push_str("DATETIME"),
            SqlType::Uuid => out.push_str("CHAR(36)"),
            // A type named JSON would have NUMERIC affinity and turn a document that is a
            // bare number (`-12`, `1.0`) into an INTEGER or REAL; TEXT keeps it as written,
            // as SQLite's JSON functions expect.
            SqlType::Json => out.push_str("TEXT"),
            other => default_column_type(other, out)?,
        }
        Ok(())
    }

    fn autoincrement_column_type(
        &self,
        _d: &dyn Dialect,
        _ty: &SqlType,
        out: &mut String,
    ) -> Result<()> {
        // Only a column declared exactly `INTEGER PRIMARY KEY` becomes the rowid, which SQLite
        // fills in; `BIGINT PRIMARY KEY` would stay NULL. INTEGER holds 64 bits anyway.
        out.push_str("INTEGER");
        Ok(())
    }

    fn autoincrement_clause(
        &self,
        d: &dyn Dialect,
        table: &Table,
        _column: &Column,
        out: &mut String,
    ) -> Result<bool> {
        match table.primary_key_constraint() {
            Some(pk) if pk.columns().len() == 1 => {
                out.push(' ');
                constraint_prefix(d, pk.name.as_ref(), out)?;
                out.push_str("PRIMARY KEY");
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn alter_constraints(&self) -> bool {
        // SQLite cannot add a constraint to a table; it accepts a foreign key to a table that
        // does not exist yet, so use_alter keys go into CREATE TABLE.
        false
    }

    fn index_name_qualified(&self) -> bool {
        true
    }

    fn has_table_query(
        &self,
        d: &dyn Dialect,
        schema: Option<&str>,
        name: &str,
    ) -> Result<Compiled> {
        let mut sql = String::from("SELECT 1 FROM ");
        if let Some(schema) = schema {
            d.quote_identifier(schema, &mut sql);
            sql.push('.');
        }
        sql.push_str("sqlite_master WHERE type = 'table' AND name = ");
        d.placeholder(1, &mut sql);
        Ok(Compiled::new(sql, vec![Value::from(name)]))
    }

    fn foreign_key_switch(&self) -> Option<ForeignKeySwitch> {
        // SQLite ignores the pragma inside a transaction, and with enforcement on, dropping a
        // referenced table during a rebuild would run the referring tables' ON DELETE actions.
        Some(ForeignKeySwitch {
            status: "PRAGMA foreign_keys",
            disable: "PRAGMA foreign_keys = OFF",
            enable: "PRAGMA foreign_keys = ON",
            check: "PRAGMA foreign_key_check",
        })
    }
}
