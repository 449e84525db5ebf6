//! `ALTER TABLE` rendering: adding, dropping and changing columns, renaming tables, adding
//! and dropping constraints, and indexes on a table known only by name — the statements a
//! migration is made of.
//!
//! Everything here is pure, like [`ddl`](super::ddl): each function returns the statements
//! and runs nothing. What a database's `ALTER TABLE` cannot do is an [`Error::Compile`]
//! naming the table and column, so that the caller can rebuild the table instead (SQLite,
//! whose `ALTER TABLE` can rename and add columns but not change one or touch a constraint;
//! see [`Capabilities::alter_column`] and [`DdlHooks::alter_constraints`]).
//!
//! | Change | SQLite | PostgreSQL | MySQL / MariaDB |
//! |---|---|---|---|
//! | column type | rebuild | `ALTER COLUMN c TYPE t USING c::t` | `MODIFY COLUMN <definition>` |
//! | nullability | rebuild | `ALTER COLUMN c SET / DROP NOT NULL` | `MODIFY COLUMN <definition>` |
//! | server default | rebuild | `ALTER COLUMN c SET / DROP DEFAULT` | same |
//! | rename column | `RENAME COLUMN a TO b` | same | same; `CHANGE COLUMN a <definition>` with another change |
//! | drop constraint | rebuild | `DROP CONSTRAINT n` | `DROP FOREIGN KEY / INDEX / CHECK` (MariaDB: `DROP CONSTRAINT` for a check) |
//!
//! MySQL restates the whole column to change its type or nullability, so that change needs the
//! column as it is ([`alter_column_needs_existing`]).
//!
//! ```
//! use retort_core::dialect::postgres::PostgresDialect;
//! use retort_core::schema::alter::{alter_column, ColumnChange};
//! use retort_core::types::SqlType;
//!
//! let change = ColumnChange { nullable: Some(false), ..ColumnChange::default() };
//! let sql = alter_column(&PostgresDialect, None, "users", "name", &change, None)?;
//! assert_eq!(sql[0].sql, r#"ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL"#);
//! # Ok::<(), retort_core::Error>(())
//! ```
//!
//! [`Capabilities::alter_column`]: crate::dialect::Capabilities::alter_column
//! [`DdlHooks::alter_constraints`]: super::ddl::DdlHooks::alter_constraints

use std::sync::Arc;

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::types::SqlType;
use crate::value::Value;

use super::column::{Column, ServerDefault};
use super::constraint::{Constraint, Index};
use super::ddl::{
    check_identifier, column_definition, constraint_element, constraint_prefix,
    enum_check_elements, index_statement, qualified_name, references_clause, CommentStyle, DdlKind,
    DdlStatement,
};
use super::metadata::MetaData;
use super::naming::ConstraintKind;
use super::table::Table;

/// A change to one column: each field left `None` stays as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnChange {
    /// A new name.
    pub new_name: Option<String>,
    /// A new type.
    pub sql_type: Option<SqlType>,
    /// New nullability.
    pub nullable: Option<bool>,
    /// A new server default; `Some(None)` drops it.
    pub server_default: Option<Option<ServerDefault>>,
}

impl ColumnChange {
    /// Whether it changes anything.
    pub fn is_empty(&self) -> bool {
        self.new_name.is_none()
            && self.sql_type.is_none()
            && self.nullable.is_none()
            && self.server_default.is_none()
    }

    /// Whether it changes more than the name.
    pub fn changes_definition(&self) -> bool {
        self.sql_type.is_some() || self.nullable.is_some() || self.server_default.is_some()
    }
}

/// Whether [`alter_column`] needs the column as it is to write `change` on `d` (MySQL
/// restates the whole column to change its type or nullability).
pub fn alter_column_needs_existing(d: &dyn Dialect, change: &ColumnChange) -> bool {
    d.capabilities().alter_column
        && d.alter_column_restates()
        && (change.sql_type.is_some() || change.nullable.is_some())
}

/// `ALTER TABLE ... ADD COLUMN`, with what the column brings: on PostgreSQL the `CREATE TYPE`
/// of an enum type first ([`DdlKind::CreateType`]: skip it when the type exists); then the
/// column; its primary key, unique constraint and foreign keys as `ADD CONSTRAINT` where the
/// database can add constraints (on SQLite a foreign key is written inline as `REFERENCES`, and
/// a primary key or unique column is refused); its comment; its index.
pub fn add_column(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    column: &Column,
) -> Result<Vec<DdlStatement>> {
    let one = one_column_table(schema, table, column)?;
    let column = one_column(&one)?;
    let alter_constraints = d.alter_constraints();
    let schema_arc: Option<Arc<str>> = schema.map(Into::into);
    let mut statements = Vec::new();
    let mut head = String::from("ALTER TABLE ");
    qualified_name(d, schema, table, &mut head);

    if let SqlType::Enum { name, variants } = column.sql_type() {
        let mut sql = String::new();
        if d.create_enum_type(d, name, variants, &mut sql)? {
            statements.push(DdlStatement {
                kind: DdlKind::CreateType,
                schema: None,
                name: name.as_str().into(),
                sql,
            });
        }
    }

    let mut inline_pk = false;
    let mut definition = column_definition(d, &one, column, &mut inline_pk)?;
    if d.enum_check() {
        let mut checks = Vec::new();
        enum_check_elements(d, &one, &mut checks)?;
        for check in checks {
            definition.push(' ');
            definition.push_str(&check);
        }
    }
    let mut added_constraints = Vec::new();
    for constraint in one.constraints() {
        match constraint {
            Constraint::PrimaryKey(_) if inline_pk => {}
            Constraint::ForeignKey(fk) if !alter_constraints => {
                // SQLite takes a column's own REFERENCES clause in ADD COLUMN.
                definition.push(' ');
                constraint_prefix(d, fk.name.as_ref(), &mut definition)?;
                references_clause(d, fk, &mut definition);
            }
            Constraint::PrimaryKey(_) | Constraint::Unique(_) if !alter_constraints => {
                return Err(Error::Compile(format!(
                    "{} cannot add column {table}.{} as a primary key or unique column with \
                     ALTER TABLE; add it in a batch, which rebuilds the table",
                    d.name(),
                    column.name()
                )));
            }
            other => added_constraints.push(other),
        }
    }
    statements.push(DdlStatement {
        kind: DdlKind::AddColumn,
        schema: schema_arc.clone(),
        name: table.into(),
        sql: format!("{head} ADD COLUMN {definition}"),
    });
    for constraint in added_constraints {
        statements.push(add_constraint(d, schema, table, constraint)?);
    }
    if let (CommentStyle::CommentOn, Some(comment)) = (d.comment_style(), column.get_comment()) {
        let mut sql = String::from("COMMENT ON COLUMN ");
        qualified_name(d, schema, table, &mut sql);
        sql.push('.');
        d.quote_identifier(column.name(), &mut sql);
        sql.push_str(" IS ");
        d.render_literal(&Value::from(comment), &mut sql)?;
        statements.push(DdlStatement {
            kind: DdlKind::Comment,
            schema: schema_arc,
            name: table.into(),
            sql,
        });
    }
    for index in one.indexes() {
        statements.push(index_statement(d, schema, table, index, false)?);
    }
    Ok(statements)
}

/// `ALTER TABLE ... DROP COLUMN`.
pub fn drop_column(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    column: &str,
) -> Result<DdlStatement> {
    let mut sql = String::from("ALTER TABLE ");
    qualified_name(d, schema, table, &mut sql);
    sql.push_str(" DROP COLUMN ");
    d.quote_identifier(column, &mut sql);
    Ok(statement(DdlKind::DropColumn, schema, table, sql))
}

/// `ALTER TABLE ... RENAME TO`; the table stays in its schema.
pub fn rename_table(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    new_name: &str,
) -> Result<DdlStatement> {
    check_identifier(d, new_name, "table")?;
    let mut sql = String::from("ALTER TABLE ");
    qualified_name(d, schema, table, &mut sql);
    sql.push_str(" RENAME TO ");
    d.quote_identifier(new_name, &mut sql);
    Ok(statement(DdlKind::RenameTable, schema, table, sql))
}

/// The statements making `change` to column `column` of `table`, in order: type, nullability,
/// default, then the rename — or, where the database restates the column (MySQL), one
/// `MODIFY COLUMN` / `CHANGE COLUMN` with the full new definition, built from `existing` (the
/// column as it is, with its type, nullability, server default and comment; an
/// autoincrementing key keeps `AUTO_INCREMENT` when `existing` is a primary key column).
///
/// Errors: [`Error::Compile`] where the database cannot make the change in place (SQLite:
/// anything but a rename); [`Error::Argument`] when `existing` is needed and missing.
pub fn alter_column(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    column: &str,
    change: &ColumnChange,
    existing: Option<&Column>,
) -> Result<Vec<DdlStatement>> {
    if change.changes_definition() && !d.capabilities().alter_column {
        return Err(Error::Compile(format!(
            "{}'s ALTER TABLE cannot change the type, nullability or default of column \
             {table}.{column}; alter it in a batch, which rebuilds the table",
            d.name()
        )));
    }
    let mut head = String::from("ALTER TABLE ");
    qualified_name(d, schema, table, &mut head);
    head.push(' ');
    let mut quoted = String::new();
    d.quote_identifier(column, &mut quoted);
    let mut statements = Vec::new();
    let mut push =
        |sql: String| statements.push(statement(DdlKind::AlterColumn, schema, table, sql));

    if alter_column_needs_existing(d, change) {
        let existing = existing.ok_or_else(|| {
            Error::Argument(format!(
                "{} restates the whole column to change its type or nullability: altering \
                 {table}.{column} needs its existing type, nullability and server default",
                d.name()
            ))
        })?;
        let one = one_column_table(schema, table, &restated_column(column, change, existing))?;
        let mut inline_pk = false;
        let definition = column_definition(d, &one, one_column(&one)?, &mut inline_pk)?;
        let mut sql = head;
        d.restate_column_clause(d, &quoted, &definition, change.new_name.is_some(), &mut sql)?;
        push(sql);
        return Ok(statements);
    }

    if let Some(ty) = &change.sql_type {
        let mut sql = head.clone();
        d.alter_column_type_clause(d, &quoted, ty, &mut sql)?;
        push(sql);
    }
    if let Some(nullable) = change.nullable {
        let action = if nullable { "DROP" } else { "SET" };
        push(format!("{head}ALTER COLUMN {quoted} {action} NOT NULL"));
    }
    match &change.server_default {
        Some(Some(default)) => {
            let mut sql = format!("{head}ALTER COLUMN {quoted} SET DEFAULT ");
            match default {
                ServerDefault::Value(v) => d.default_literal(d, v, &mut sql)?,
                ServerDefault::Text(text) => sql.push_str(text),
            }
            push(sql);
        }
        Some(None) => push(format!("{head}ALTER COLUMN {quoted} DROP DEFAULT")),
        None => {}
    }
    if let Some(new_name) = &change.new_name {
        check_identifier(d, new_name, "column")?;
        let mut sql = format!("{head}RENAME COLUMN {quoted} TO ");
        d.quote_identifier(new_name, &mut sql);
        push(sql);
    }
    Ok(statements)
}

/// A table of `column` alone: it resolves what the column declares (constraints, the index's
/// conventional name, whether it autoincrements) the same way CREATE TABLE does.
fn one_column_table(schema: Option<&str>, table: &str, column: &Column) -> Result<Table> {
    let metadata = MetaData::new();
    let mut builder = Table::new(table, &metadata).column(column.clone());
    if let Some(schema) = schema {
        builder = builder.schema(schema);
    }
    builder.build()
}

fn one_column(table: &Table) -> Result<&Column> {
    table
        .columns()
        .first()
        .ok_or_else(|| Error::Argument(format!("no column for table '{}'", table.name())))
}

/// The column as it will be: `existing` with `change` applied.
fn restated_column(column: &str, change: &ColumnChange, existing: &Column) -> Column {
    let name = change.new_name.as_deref().unwrap_or(column);
    let ty = change
        .sql_type
        .clone()
        .unwrap_or_else(|| existing.sql_type().clone());
    let mut restated =
        Column::new(name, ty).nullable(change.nullable.unwrap_or_else(|| existing.is_nullable()));
    let default = match &change.server_default {
        Some(default) => default.as_ref(),
        None => existing.get_server_default(),
    };
    if let Some(default) = default {
        restated = restated.server_default(default.clone());
    }
    if existing.is_primary_key() {
        restated = restated.primary_key();
        if let Some(autoincrement) = existing.get_autoincrement() {
            restated = restated.autoincrement(autoincrement);
        }
    }
    if let Some(comment) = existing.get_comment() {
        restated = restated.comment(comment);
    }
    restated
}

/// `ALTER TABLE ... ADD <constraint>`: a primary key, unique, check or foreign key constraint.
///
/// Errors: [`Error::Compile`] where the database cannot add constraints to a table (SQLite).
pub fn add_constraint(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    constraint: &Constraint,
) -> Result<DdlStatement> {
    if !d.alter_constraints() {
        return Err(Error::Compile(format!(
            "{}'s ALTER TABLE cannot add a constraint to table '{table}'; add it in a batch, \
             which rebuilds the table",
            d.name()
        )));
    }
    let columns: &[Arc<str>] = match constraint {
        Constraint::PrimaryKey(pk) => pk.columns(),
        Constraint::Unique(u) => u.columns(),
        Constraint::ForeignKey(fk) => fk.columns(),
        Constraint::Check(_) => &[],
    };
    for c in columns {
        check_identifier(d, c, "column")?;
    }
    let mut sql = String::from("ALTER TABLE ");
    qualified_name(d, schema, table, &mut sql);
    sql.push_str(" ADD ");
    constraint_element(d, constraint, &mut sql)?;
    let name = constraint.name().unwrap_or_default();
    Ok(DdlStatement {
        kind: DdlKind::AddConstraint,
        schema: schema.map(Into::into),
        name: name.into(),
        sql,
    })
}

/// The statement dropping the constraint `name` of `table`, of kind `kind` (MySQL drops each
/// kind with its own syntax). An index is dropped with [`drop_index`] instead.
///
/// Errors: [`Error::Compile`] where the database cannot drop constraints (SQLite).
pub fn drop_constraint(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    name: &str,
    kind: ConstraintKind,
) -> Result<DdlStatement> {
    if !d.alter_constraints() {
        return Err(Error::Compile(format!(
            "{}'s ALTER TABLE cannot drop constraint '{name}' of table '{table}'; drop it in a \
             batch, which rebuilds the table",
            d.name()
        )));
    }
    if kind == ConstraintKind::Index {
        return Err(Error::Argument(format!(
            "'{name}' of table '{table}' is an index: drop it with drop_index"
        )));
    }
    check_identifier(d, name, "constraint")?;
    let mut sql = String::from("ALTER TABLE ");
    qualified_name(d, schema, table, &mut sql);
    sql.push(' ');
    d.drop_constraint_clause(d, name, kind, &mut sql)?;
    Ok(DdlStatement {
        kind: DdlKind::DropConstraint,
        schema: schema.map(Into::into),
        name: name.into(),
        sql,
    })
}

/// `CREATE [UNIQUE] INDEX` of a named `index` on `table`, whose columns need not be known.
pub fn create_index(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    index: &Index,
) -> Result<DdlStatement> {
    for c in index.columns() {
        check_identifier(d, c, "column")?;
    }
    index_statement(d, schema, table, index, false)
}

/// `DROP INDEX` of the index `name` on `table`.
pub fn drop_index(
    d: &dyn Dialect,
    schema: Option<&str>,
    table: &str,
    name: &str,
) -> Result<DdlStatement> {
    check_identifier(d, name, "index")?;
    let mut sql = String::new();
    d.drop_index(d, schema, table, name, false, &mut sql)?;
    Ok(DdlStatement {
        kind: DdlKind::DropIndex,
        schema: schema.map(Into::into),
        name: name.into(),
        sql,
    })
}

fn statement(kind: DdlKind, schema: Option<&str>, table: &str, sql: String) -> DdlStatement {
    DdlStatement {
        kind,
        schema: schema.map(Into::into),
        name: table.into(),
        sql,
    }
}
