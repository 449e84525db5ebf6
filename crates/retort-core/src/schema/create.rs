//! `create_all` and `drop_all`: the DDL of a whole [`MetaData`] in dependency order, run
//! through anything that implements [`DdlExecutor`] (a connection, or a recorder in tests).
//!
//! Neither function opens a transaction: run them inside one where DDL is transactional
//! (`capabilities().transactional_ddl`), so that a failure leaves nothing half-created.

use std::collections::HashSet;
use std::sync::Arc;

use crate::dialect::DialectRef;
use crate::error::Result;
use crate::sql::compiler::Compiled;

use super::ddl::{
    add_foreign_key, drop_foreign_key, has_enum_type, has_table, CreateTable, DdlKind,
    DdlStatement, DropTable,
};
use super::metadata::{sort_tables, MetaData};
use super::table::Table;

/// What `create_all` and `drop_all` need from a connection.
pub trait DdlExecutor {
    /// The connection's dialect.
    fn dialect(&self) -> DialectRef;

    /// Runs `query` (with its parameters bound) and says whether it returned a row.
    fn exists(&mut self, query: &Compiled) -> Result<bool>;

    /// Runs one DDL statement, which takes no parameters.
    fn execute(&mut self, sql: &str) -> Result<()>;
}

/// Creates every table of `metadata` that does not exist yet, referred tables first, with
/// their indexes and (PostgreSQL) enum types; then adds the `use_alter` foreign keys of the
/// tables it created. SQLAlchemy's `metadata.create_all(engine)` with `checkfirst=True`.
pub fn create_all(metadata: &MetaData, executor: &mut dyn DdlExecutor) -> Result<()> {
    create_tables(&metadata.tables(), executor, true)
}

/// Drops every table of `metadata` that exists, referring tables first, after dropping their
/// `use_alter` foreign keys; then drops their enum types that exist.
pub fn drop_all(metadata: &MetaData, executor: &mut dyn DdlExecutor) -> Result<()> {
    drop_tables(&metadata.tables(), executor, true)
}

/// Creates `tables` in dependency order. With `checkfirst`, tables and enum types that exist
/// are skipped (a skipped table's indexes too); without it every statement runs. An enum type
/// shared by several tables is created once.
pub fn create_tables(
    tables: &[Table],
    executor: &mut dyn DdlExecutor,
    checkfirst: bool,
) -> Result<()> {
    let dialect = executor.dialect();
    let d = &*dialect;
    let mut types_seen: HashSet<Arc<str>> = HashSet::new();
    let mut created = Vec::new();
    for table in sort_tables(tables)? {
        if checkfirst && executor.exists(&has_table(&table, d)?)? {
            continue;
        }
        for statement in CreateTable::new(&table).to_ddl(d)? {
            if statement.kind == DdlKind::CreateType
                && (!types_seen.insert(statement.name.clone())
                    || checkfirst && executor.exists(&has_enum_type(&statement, d)?)?)
            {
                continue;
            }
            executor.execute(&statement.sql)?;
        }
        created.push(table);
    }
    if d.alter_constraints() {
        for table in &created {
            for fk in table.foreign_keys().filter(|fk| fk.is_use_alter()) {
                executor.execute(&add_foreign_key(table, fk, d)?.sql)?;
            }
        }
    }
    Ok(())
}

/// Drops `tables` in reverse dependency order, and the enum types they use. With
/// `checkfirst`, tables and types that do not exist are skipped.
///
/// The enum types of the dropped tables are dropped even if a table outside `tables` still
/// uses them (the database then refuses), as SQLAlchemy's `Table.drop` does; drop such tables
/// together.
pub fn drop_tables(
    tables: &[Table],
    executor: &mut dyn DdlExecutor,
    checkfirst: bool,
) -> Result<()> {
    let dialect = executor.dialect();
    let d = &*dialect;
    let mut sorted = sort_tables(tables)?;
    sorted.reverse();
    let mut existing = Vec::new();
    for table in sorted {
        if !checkfirst || executor.exists(&has_table(&table, d)?)? {
            existing.push(table);
        }
    }
    if d.alter_constraints() {
        for table in &existing {
            for fk in table.foreign_keys().filter(|fk| fk.is_use_alter()) {
                executor.execute(&drop_foreign_key(table, fk, d)?.sql)?;
            }
        }
    }
    let mut types: Vec<DdlStatement> = Vec::new();
    for table in tables {
        for statement in DropTable::new(table).to_ddl(d)? {
            if statement.kind == DdlKind::DropType
                && !types.iter().any(|t| t.name == statement.name)
            {
                types.push(statement);
            }
        }
    }
    for table in &existing {
        for statement in DropTable::new(table).to_ddl(d)? {
            if statement.kind != DdlKind::DropType {
                executor.execute(&statement.sql)?;
            }
        }
    }
    for statement in types {
        if !checkfirst || executor.exists(&has_enum_type(&statement, d)?)? {
            executor.execute(&statement.sql)?;
        }
    }
    Ok(())
}
