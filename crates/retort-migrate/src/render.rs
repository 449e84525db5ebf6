//! Rendering operations as SQL statements for a dialect.
//!
//! Most operations are pure: their SQL follows from the operation alone, so offline mode can
//! print them. A few need the table as it is, and ask a [`SchemaSource`], which an online run
//! backs with reflection and offline mode cannot:
//!
//! - on SQLite, whose `ALTER TABLE` can only add, rename and drop columns, every change it
//!   cannot make and every [`Operation::Batch`] rebuilds the table (see [`crate::batch`]), as
//!   does dropping a column that an index or constraint uses (which SQLite refuses; offline,
//!   such a drop is printed as a plain `DROP COLUMN`);
//! - on MySQL and MariaDB, changing a column's type or nullability restates the whole column
//!   (`MODIFY COLUMN`), so [`AlterColumn`]'s `existing_*` fields are needed; those not given
//!   are read from the database;
//! - on PostgreSQL, a table or column of an enum type creates the type unless the database
//!   has it already (made for another table, or kept after a downgrade dropped its table);
//!   offline, the script creates it.
//!
//! ```
//! use retort_core::dialect::postgres::PostgresDialect;
//! use retort_migrate::render::{operation_sql, Offline};
//! use retort_migrate::{AlterColumn, Operation};
//!
//! let mut change = AlterColumn::new("users", "name");
//! change.nullable(false);
//! let sql = operation_sql(&PostgresDialect, &Operation::AlterColumn(change), &mut Offline)?;
//! assert_eq!(sql, [r#"ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL"#]);
//! # Ok::<(), retort_core::Error>(())
//! ```

use retort_core::dialect::Dialect;
use retort_core::schema::{
    alter, drop_table_sql, Column, ColumnChange, CreateTable, DdlKind, DdlStatement, MetaData,
    ReflectedTable, ServerDefault, Table,
};
use retort_core::{Error, Result};

use crate::batch;
use crate::ops::{AlterColumn, Operation, TableName};

/// Where an operation that needs the current shape of a table finds it.
pub trait SchemaSource {
    /// The table as the database has it, or `None` when it does not exist.
    fn reflect_table(&mut self, table: &TableName) -> Result<Option<ReflectedTable>>;

    /// Whether there is a database to ask. Offline mode says no; an operation that only
    /// profits from the table's shape (SQLite dropping a column) then renders without it,
    /// while one that needs it fails with [`SchemaSource::reflect_table`]'s error.
    fn can_reflect(&self) -> bool {
        true
    }

    /// Whether the named type a `CREATE TYPE` statement (a PostgreSQL enum) would create
    /// exists already: made for another table, or left by a downgrade that dropped its table
    /// (as Alembic does, the table's types stay). Offline mode cannot tell and says no.
    fn type_exists(&mut self, _d: &dyn Dialect, _create: &DdlStatement) -> Result<bool> {
        Ok(false)
    }
}

/// The source of offline mode: there is no database to ask.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

impl SchemaSource for Offline {
    fn reflect_table(&mut self, table: &TableName) -> Result<Option<ReflectedTable>> {
        Err(Error::InvalidRequest(format!(
            "this operation on '{table}' needs the table as the database has it, and offline \
             mode has no database to ask"
        )))
    }

    fn can_reflect(&self) -> bool {
        false
    }
}

/// The SQL statements that carry out `op` on dialect `d`, in order.
///
/// On SQLite some operations rebuild their table: see [`crate::batch`] for the
/// `PRAGMA foreign_keys` setting the statements must run under.
pub fn operation_sql(
    d: &dyn Dialect,
    op: &Operation,
    source: &mut dyn SchemaSource,
) -> Result<Vec<String>> {
    if let Some(table) = op.table() {
        if needs_rebuild(d, op, source)? {
            let ops = match op {
                Operation::Batch { ops, .. } => ops.as_slice(),
                single => std::slice::from_ref(single),
            };
            return batch::rebuild_table_sql(d, table, ops, source);
        }
    }
    match op {
        Operation::CreateTable(def) => {
            let table = def.build(&MetaData::new())?;
            without_existing_types(d, CreateTable::new(&table).to_ddl(d)?, source)
        }
        Operation::DropTable(table) => drop_table_sql(&bare_table(table)?, d),
        Operation::RenameTable { table, new_name } => Ok(vec![
            alter::rename_table(d, table.schema.as_deref(), &table.name, new_name)?.sql,
        ]),
        Operation::AddColumn { table, column } => without_existing_types(
            d,
            alter::add_column(d, table.schema.as_deref(), &table.name, column)?,
            source,
        ),
        Operation::DropColumn { table, column } => Ok(vec![
            alter::drop_column(d, table.schema.as_deref(), &table.name, column)?.sql,
        ]),
        Operation::AlterColumn(change) => alter_column_sql(d, change, source),
        Operation::CreateIndex { table, index } => Ok(vec![
            alter::create_index(d, table.schema.as_deref(), &table.name, index)?.sql,
        ]),
        Operation::DropIndex { table, name } => Ok(vec![
            alter::drop_index(d, table.schema.as_deref(), &table.name, name)?.sql,
        ]),
        Operation::AddConstraint { table, constraint } => Ok(vec![
            alter::add_constraint(d, table.schema.as_deref(), &table.name, constraint)?.sql,
        ]),
        Operation::DropConstraint { table, name, kind } => Ok(vec![
            alter::drop_constraint(d, table.schema.as_deref(), &table.name, name, *kind)?.sql,
        ]),
        Operation::Execute(sql) => Ok(vec![sql.clone()]),
        Operation::Batch { table, ops } => {
            let mut statements = Vec::new();
            for op in ops {
                batch::check_batch_member(table, op)?;
                statements.extend(operation_sql(d, op, source)?);
            }
            Ok(statements)
        }
    }
}

/// Whether `op` is carried out by rebuilding its table on `d`.
fn needs_rebuild(d: &dyn Dialect, op: &Operation, source: &mut dyn SchemaSource) -> Result<bool> {
    let alter_column = d.capabilities().alter_column;
    let alter_constraints = d.alter_constraints();
    Ok(match op {
        // Where ALTER TABLE falls short anywhere, a batch is one rebuild for all its changes.
        Operation::Batch { .. } => !alter_column || !alter_constraints,
        Operation::AlterColumn(change) => !alter_column && to_change(change).changes_definition(),
        Operation::AddConstraint { .. } => !alter_constraints,
        Operation::DropConstraint { kind, .. } => {
            !alter_constraints && *kind != retort_core::schema::ConstraintKind::Index
        }
        Operation::AddColumn { column, .. } => {
            !alter_constraints
                && (column.is_primary_key() || (column.is_unique() && !column.is_indexed()))
        }
        Operation::DropColumn { table, column } if !alter_constraints && source.can_reflect() => {
            source
                .reflect_table(table)?
                .is_some_and(|t| batch::column_is_used(&t, column))
        }
        _ => false,
    })
}

fn to_change(change: &AlterColumn) -> ColumnChange {
    ColumnChange {
        new_name: change.new_name.clone(),
        sql_type: change.sql_type.clone(),
        nullable: change.nullable,
        server_default: change.server_default.clone(),
    }
}

/// An `alter_column`, with the column as it is where the dialect restates it: from the
/// `existing_*` fields, and what they leave out from the database.
fn alter_column_sql(
    d: &dyn Dialect,
    change: &AlterColumn,
    source: &mut dyn SchemaSource,
) -> Result<Vec<String>> {
    let column_change = to_change(change);
    let table = &change.table;
    let existing = if alter::alter_column_needs_existing(d, &column_change) {
        Some(existing_column(d, change, source)?)
    } else {
        None
    };
    Ok(sql_of(alter::alter_column(
        d,
        table.schema.as_deref(),
        &table.name,
        &change.column,
        &column_change,
        existing.as_ref(),
    )?))
}

fn existing_column(
    d: &dyn Dialect,
    change: &AlterColumn,
    source: &mut dyn SchemaSource,
) -> Result<Column> {
    let missing: Vec<&str> = [
        (change.existing_type.is_none(), "existing_type"),
        (change.existing_nullable.is_none(), "existing_nullable"),
        (
            change.existing_server_default.is_none(),
            "existing_server_default",
        ),
    ]
    .into_iter()
    .filter_map(|(missing, field)| missing.then_some(field))
    .collect();
    if let (Some(ty), Some(nullable), Some(default)) = (
        &change.existing_type,
        change.existing_nullable,
        &change.existing_server_default,
    ) {
        let mut column = Column::new(change.column.as_str(), ty.clone()).nullable(nullable);
        if let Some(default) = default {
            column = column.server_default(default.clone());
        }
        return Ok(column);
    }
    let table = &change.table;
    let what = || {
        format!(
            "{} restates the whole column to change its type or nullability: altering \
             {table}.{} needs {}",
            d.name(),
            change.column,
            missing.join(", ")
        )
    };
    if !source.can_reflect() {
        return Err(Error::Argument(format!(
            "{}, and offline mode has no database to read them from",
            what()
        )));
    }
    let reflected = source.reflect_table(table)?.ok_or_else(|| {
        Error::InvalidRequest(format!("{}, and table '{table}' does not exist", what()))
    })?;
    let current = reflected.to_table(&MetaData::new())?;
    let found = current.column(&change.column).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "{}, and table '{table}' has no column '{}'",
            what(),
            change.column
        ))
    })?;
    // What the revision states wins over what the database says.
    let mut column = Column::new(
        change.column.as_str(),
        change
            .existing_type
            .clone()
            .unwrap_or_else(|| found.sql_type().clone()),
    )
    .nullable(change.existing_nullable.unwrap_or(found.is_nullable()));
    let default: Option<ServerDefault> = match &change.existing_server_default {
        Some(default) => default.clone(),
        None => found.get_server_default().cloned(),
    };
    if let Some(default) = default {
        column = column.server_default(default);
    }
    if found.is_primary_key() {
        column = column.primary_key();
        let autoincrement = current
            .autoincrement_column()
            .is_some_and(|c| c.name() == found.name());
        column = column.autoincrement(autoincrement);
    }
    if let Some(comment) = found.get_comment() {
        column = column.comment(comment);
    }
    Ok(column)
}

/// The statements without the `CREATE TYPE`s of types the database has already.
fn without_existing_types(
    d: &dyn Dialect,
    statements: Vec<DdlStatement>,
    source: &mut dyn SchemaSource,
) -> Result<Vec<String>> {
    let mut sql = Vec::with_capacity(statements.len());
    for statement in statements {
        if statement.kind == DdlKind::CreateType && source.type_exists(d, &statement)? {
            continue;
        }
        sql.push(statement.sql);
    }
    Ok(sql)
}

fn sql_of(statements: Vec<DdlStatement>) -> Vec<String> {
    statements.into_iter().map(|s| s.sql).collect()
}

/// A Core table that carries only a name, for the statements that need nothing else.
fn bare_table(table: &TableName) -> Result<Table> {
    let metadata = MetaData::new();
    let mut builder = Table::new(table.name.as_str(), &metadata);
    if let Some(schema) = &table.schema {
        builder = builder.schema(schema.as_str());
    }
    builder.build()
}
