//! Rendering operations as SQL statements for a dialect.
//!
//! Most operations are pure: their SQL follows from the operation alone, so offline mode can
//! print them. A few need the table as it is (SQLite rebuilding a table, MySQL restating a
//! column in `MODIFY`): they ask a [`SchemaSource`], which an online run backs with reflection
//! and offline mode cannot.

use retort_core::dialect::Dialect;
use retort_core::schema::{
    create_index_sql, create_table_sql, drop_table_sql, Column, MetaData, ReflectedTable, Table,
};
use retort_core::types::SqlType;
use retort_core::{Error, Result};

use crate::ops::{Operation, TableName};

/// Where an operation that needs the current shape of a table finds it.
pub trait SchemaSource {
    /// The table as the database has it, or `None` when it does not exist.
    fn reflect_table(&mut self, table: &TableName) -> Result<Option<ReflectedTable>>;
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
}

/// The SQL statements that carry out `op` on dialect `d`, in order.
pub fn operation_sql(
    d: &dyn Dialect,
    op: &Operation,
    _source: &mut dyn SchemaSource,
) -> Result<Vec<String>> {
    match op {
        Operation::CreateTable(def) => create_table_sql(&def.build(&MetaData::new())?, d),
        Operation::DropTable(table) => drop_table_sql(&bare_table(table)?, d),
        Operation::CreateIndex { table, index } => {
            let columns: Vec<Column> = index
                .columns()
                .iter()
                .map(|c| Column::new(c.clone(), SqlType::Integer))
                .collect();
            Ok(vec![create_index_sql(
                &bare_table_with(table, columns)?,
                index,
                d,
            )?])
        }
        Operation::Execute(sql) => Ok(vec![sql.clone()]),
        other => Err(Error::InvalidRequest(format!(
            "rendering {other:?} is not built yet"
        ))),
    }
}

/// A Core table that carries only a name, for the statements that need nothing else.
fn bare_table(table: &TableName) -> Result<Table> {
    bare_table_with(table, Vec::new())
}

fn bare_table_with(table: &TableName, columns: Vec<Column>) -> Result<Table> {
    let metadata = MetaData::new();
    let mut builder = Table::new(table.name.as_str(), &metadata);
    if let Some(schema) = &table.schema {
        builder = builder.schema(schema.as_str());
    }
    for column in columns {
        builder = builder.column(column);
    }
    builder.build()
}
