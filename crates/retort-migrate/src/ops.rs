//! The operations a revision's `upgrade` and `downgrade` are written with: Alembic's `op`.
//!
//! A revision does not talk to the database. Its functions record [`Operation`]s on an
//! [`Ops`]; the runner then renders them for the database's dialect and runs them, or prints
//! them as SQL (offline mode). So what runs and what `--sql` prints are the same statements.
//!
//! ```
//! use retort_core::schema::{Column, Index};
//! use retort_core::types::SqlType;
//! use retort_migrate::{Operation, Ops, TableDef};
//!
//! let mut op = Ops::new();
//! op.create_table(
//!     TableDef::new("users")
//!         .column(Column::new("id", SqlType::Integer).primary_key())
//!         .column(Column::new("name", SqlType::string(50)).not_null()),
//! );
//! op.create_index("users", Index::new("ix_users_name", ["name"]));
//! op.alter_column("users", "name").nullable(true).existing_type(SqlType::string(50));
//! assert_eq!(op.operations().len(), 3);
//! assert!(matches!(op.operations()[2], Operation::AlterColumn(_)));
//! ```

use std::fmt;

use retort_core::schema::{
    CheckConstraint, Column, Constraint, ConstraintKind, ForeignKeyConstraint, Index, MetaData,
    ServerDefault, Table, UniqueConstraint,
};
use retort_core::types::SqlType;
use retort_core::Result;

/// A table's name, optionally in a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    /// The schema, or `None` for the connection's default.
    pub schema: Option<String>,
    /// The table's name.
    pub name: String,
}

impl TableName {
    /// An unqualified table name.
    pub fn new(name: impl Into<String>) -> Self {
        TableName {
            schema: None,
            name: name.into(),
        }
    }

    /// The same name in `schema`.
    pub fn in_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The name of a Core table.
    pub fn of(table: &Table) -> Self {
        TableName {
            schema: table.schema().map(Into::into),
            name: table.name().into(),
        }
    }
}

impl From<&str> for TableName {
    fn from(name: &str) -> Self {
        TableName::new(name)
    }
}

impl From<String> for TableName {
    fn from(name: String) -> Self {
        TableName::new(name)
    }
}

impl From<&String> for TableName {
    fn from(name: &String) -> Self {
        TableName::new(name.as_str())
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A table to create: the same parts as Core's [`Table`] builder, held as plain data so a
/// revision can describe a table without a [`MetaData`] of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// The table's name.
    pub name: TableName,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Table-level constraints.
    pub constraints: Vec<Constraint>,
    /// Indexes created with it.
    pub indexes: Vec<Index>,
    /// The table's comment.
    pub comment: Option<String>,
}

impl TableDef {
    /// A table with no columns yet.
    pub fn new(name: impl Into<TableName>) -> Self {
        TableDef {
            name: name.into(),
            columns: Vec::new(),
            constraints: Vec::new(),
            indexes: Vec::new(),
            comment: None,
        }
    }

    /// Adds a column.
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Adds a table-level constraint.
    pub fn constraint(mut self, constraint: impl Into<Constraint>) -> Self {
        self.constraints.push(constraint.into());
        self
    }

    /// Adds an index.
    pub fn index(mut self, index: Index) -> Self {
        self.indexes.push(index);
        self
    }

    /// Sets the table's comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Builds the Core table on `metadata` (whose naming convention names what is unnamed).
    pub fn build(&self, metadata: &MetaData) -> Result<Table> {
        let mut builder = Table::new(self.name.name.as_str(), metadata).extend_existing();
        if let Some(schema) = &self.name.schema {
            builder = builder.schema(schema.as_str());
        }
        if let Some(comment) = &self.comment {
            builder = builder.comment(comment.as_str());
        }
        for column in &self.columns {
            builder = builder.column(column.clone());
        }
        for constraint in &self.constraints {
            builder = builder.constraint(constraint.clone());
        }
        for index in &self.indexes {
            builder = builder.index(index.clone());
        }
        builder.build()
    }
}

/// A change to one column: Alembic's `alter_column`.
///
/// The `existing_*` fields describe the column as it is. Some databases need them to write
/// the change (MySQL restates the whole column in `MODIFY`); when they are missing, an online
/// run reads them from the database, and offline mode asks for them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterColumn {
    /// The table.
    pub table: TableName,
    /// The column, by its current name.
    pub column: String,
    /// A new name for it.
    pub new_name: Option<String>,
    /// A new type.
    pub sql_type: Option<SqlType>,
    /// New nullability.
    pub nullable: Option<bool>,
    /// A new server default: `Some(None)` drops the default.
    pub server_default: Option<Option<ServerDefault>>,
    /// The column's type as it is.
    pub existing_type: Option<SqlType>,
    /// The column's nullability as it is.
    pub existing_nullable: Option<bool>,
    /// The column's server default as it is (`Some(None)`: it has none).
    pub existing_server_default: Option<Option<ServerDefault>>,
}

impl Default for TableName {
    fn default() -> Self {
        TableName::new("")
    }
}

impl AlterColumn {
    /// A change to `column` of `table` that changes nothing yet.
    pub fn new(table: impl Into<TableName>, column: impl Into<String>) -> Self {
        AlterColumn {
            table: table.into(),
            column: column.into(),
            ..AlterColumn::default()
        }
    }

    /// Renames the column.
    pub fn rename_to(&mut self, name: impl Into<String>) -> &mut Self {
        self.new_name = Some(name.into());
        self
    }

    /// Changes the column's type.
    pub fn sql_type(&mut self, sql_type: SqlType) -> &mut Self {
        self.sql_type = Some(sql_type);
        self
    }

    /// Makes the column nullable (`true`) or NOT NULL (`false`).
    pub fn nullable(&mut self, nullable: bool) -> &mut Self {
        self.nullable = Some(nullable);
        self
    }

    /// Sets the column's server default.
    pub fn server_default(&mut self, default: impl Into<ServerDefault>) -> &mut Self {
        self.server_default = Some(Some(default.into()));
        self
    }

    /// Drops the column's server default.
    pub fn drop_server_default(&mut self) -> &mut Self {
        self.server_default = Some(None);
        self
    }

    /// States the column's type as it is.
    pub fn existing_type(&mut self, sql_type: SqlType) -> &mut Self {
        self.existing_type = Some(sql_type);
        self
    }

    /// States the column's nullability as it is.
    pub fn existing_nullable(&mut self, nullable: bool) -> &mut Self {
        self.existing_nullable = Some(nullable);
        self
    }

    /// States the column's server default as it is (`None`: it has none).
    pub fn existing_server_default(&mut self, default: Option<ServerDefault>) -> &mut Self {
        self.existing_server_default = Some(default);
        self
    }
}

/// One schema change.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Operation {
    /// `CREATE TABLE`, with its indexes.
    CreateTable(TableDef),
    /// `DROP TABLE`.
    DropTable(TableName),
    /// Renames a table.
    RenameTable {
        /// The table, by its current name.
        table: TableName,
        /// The new name (in the same schema).
        new_name: String,
    },
    /// Adds a column.
    AddColumn {
        /// The table.
        table: TableName,
        /// The new column.
        column: Column,
    },
    /// Drops a column.
    DropColumn {
        /// The table.
        table: TableName,
        /// The column's name.
        column: String,
    },
    /// Changes a column's name, type, nullability or server default.
    AlterColumn(AlterColumn),
    /// `CREATE [UNIQUE] INDEX`.
    CreateIndex {
        /// The table.
        table: TableName,
        /// The index; it must be named.
        index: Index,
    },
    /// `DROP INDEX`.
    DropIndex {
        /// The table the index is on.
        table: TableName,
        /// The index's name.
        name: String,
    },
    /// Adds a unique, check or foreign key constraint to a table.
    AddConstraint {
        /// The table.
        table: TableName,
        /// The constraint; it must be named.
        constraint: Constraint,
    },
    /// Drops a constraint by name.
    DropConstraint {
        /// The table.
        table: TableName,
        /// The constraint's name.
        name: String,
        /// What kind of constraint it is (MySQL drops each kind with its own syntax).
        kind: ConstraintKind,
    },
    /// Raw SQL, for data migrations and what the other operations do not cover.
    Execute(String),
    /// Several changes to one table, made together: on SQLite by rebuilding the table once
    /// (Alembic's `batch_alter_table`); elsewhere one after another.
    Batch {
        /// The table.
        table: TableName,
        /// The changes, each on `table`.
        ops: Vec<Operation>,
    },
}

impl Operation {
    /// The table the operation changes, if it changes one.
    pub fn table(&self) -> Option<&TableName> {
        match self {
            Operation::CreateTable(def) => Some(&def.name),
            Operation::DropTable(table)
            | Operation::RenameTable { table, .. }
            | Operation::AddColumn { table, .. }
            | Operation::DropColumn { table, .. }
            | Operation::CreateIndex { table, .. }
            | Operation::DropIndex { table, .. }
            | Operation::AddConstraint { table, .. }
            | Operation::DropConstraint { table, .. }
            | Operation::Batch { table, .. } => Some(table),
            Operation::AlterColumn(alter) => Some(&alter.table),
            Operation::Execute(_) => None,
        }
    }
}

/// Records a revision's operations, in order.
#[derive(Debug, Clone, Default)]
pub struct Ops {
    operations: Vec<Operation>,
}

impl Ops {
    /// An empty recording.
    pub fn new() -> Self {
        Self::default()
    }

    /// The recorded operations.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// Takes the recorded operations.
    pub fn into_operations(self) -> Vec<Operation> {
        self.operations
    }

    /// Records an operation.
    pub fn push(&mut self, operation: Operation) -> &mut Self {
        self.operations.push(operation);
        self
    }

    /// Creates a table, with the indexes it declares.
    pub fn create_table(&mut self, table: TableDef) -> &mut Self {
        self.push(Operation::CreateTable(table))
    }

    /// Drops a table.
    pub fn drop_table(&mut self, table: impl Into<TableName>) -> &mut Self {
        self.push(Operation::DropTable(table.into()))
    }

    /// Renames a table.
    pub fn rename_table(
        &mut self,
        table: impl Into<TableName>,
        new_name: impl Into<String>,
    ) -> &mut Self {
        self.push(Operation::RenameTable {
            table: table.into(),
            new_name: new_name.into(),
        })
    }

    /// Adds a column.
    pub fn add_column(&mut self, table: impl Into<TableName>, column: Column) -> &mut Self {
        self.push(Operation::AddColumn {
            table: table.into(),
            column,
        })
    }

    /// Drops a column.
    pub fn drop_column(
        &mut self,
        table: impl Into<TableName>,
        column: impl Into<String>,
    ) -> &mut Self {
        self.push(Operation::DropColumn {
            table: table.into(),
            column: column.into(),
        })
    }

    /// Changes a column; the returned [`AlterColumn`] says how.
    pub fn alter_column(
        &mut self,
        table: impl Into<TableName>,
        column: impl Into<String>,
    ) -> &mut AlterColumn {
        self.operations
            .push(Operation::AlterColumn(AlterColumn::new(table, column)));
        match self.operations.last_mut() {
            Some(Operation::AlterColumn(alter)) => alter,
            _ => unreachable!("an AlterColumn was pushed on the line above"),
        }
    }

    /// Creates an index.
    pub fn create_index(&mut self, table: impl Into<TableName>, index: Index) -> &mut Self {
        self.push(Operation::CreateIndex {
            table: table.into(),
            index,
        })
    }

    /// Drops an index.
    pub fn drop_index(
        &mut self,
        table: impl Into<TableName>,
        name: impl Into<String>,
    ) -> &mut Self {
        self.push(Operation::DropIndex {
            table: table.into(),
            name: name.into(),
        })
    }

    /// Adds a constraint (unique, check or foreign key).
    pub fn add_constraint(
        &mut self,
        table: impl Into<TableName>,
        constraint: impl Into<Constraint>,
    ) -> &mut Self {
        self.push(Operation::AddConstraint {
            table: table.into(),
            constraint: constraint.into(),
        })
    }

    /// Adds a unique constraint: Alembic's `create_unique_constraint`.
    pub fn create_unique_constraint(
        &mut self,
        table: impl Into<TableName>,
        constraint: UniqueConstraint,
    ) -> &mut Self {
        self.add_constraint(table, constraint)
    }

    /// Adds a foreign key: Alembic's `create_foreign_key`.
    pub fn create_foreign_key(
        &mut self,
        table: impl Into<TableName>,
        constraint: ForeignKeyConstraint,
    ) -> &mut Self {
        self.add_constraint(table, constraint)
    }

    /// Adds a check constraint: Alembic's `create_check_constraint`.
    pub fn create_check_constraint(
        &mut self,
        table: impl Into<TableName>,
        constraint: CheckConstraint,
    ) -> &mut Self {
        self.add_constraint(table, constraint)
    }

    /// Drops a constraint by name.
    pub fn drop_constraint(
        &mut self,
        table: impl Into<TableName>,
        name: impl Into<String>,
        kind: ConstraintKind,
    ) -> &mut Self {
        self.push(Operation::DropConstraint {
            table: table.into(),
            name: name.into(),
            kind,
        })
    }

    /// Runs raw SQL: data migrations and anything the other operations do not cover.
    pub fn execute(&mut self, sql: impl Into<String>) -> &mut Self {
        self.push(Operation::Execute(sql.into()))
    }

    /// Makes several changes to one table together: Alembic's `batch_alter_table`. On SQLite,
    /// whose `ALTER TABLE` cannot change a column's type or nullability or add a constraint,
    /// the table is rebuilt once with all of them, keeping its rows, indexes and constraints.
    pub fn batch_alter_table(
        &mut self,
        table: impl Into<TableName>,
        changes: impl FnOnce(&mut BatchOps),
    ) -> &mut Self {
        let mut batch = BatchOps {
            table: table.into(),
            ops: Ops::new(),
        };
        changes(&mut batch);
        self.push(Operation::Batch {
            table: batch.table,
            ops: batch.ops.into_operations(),
        })
    }
}

/// The changes of a [`Ops::batch_alter_table`], each on the batch's table.
#[derive(Debug)]
pub struct BatchOps {
    table: TableName,
    ops: Ops,
}

impl BatchOps {
    /// Adds a column.
    pub fn add_column(&mut self, column: Column) -> &mut Self {
        self.ops.add_column(self.table.clone(), column);
        self
    }

    /// Drops a column.
    pub fn drop_column(&mut self, column: impl Into<String>) -> &mut Self {
        self.ops.drop_column(self.table.clone(), column);
        self
    }

    /// Changes a column.
    pub fn alter_column(&mut self, column: impl Into<String>) -> &mut AlterColumn {
        self.ops.alter_column(self.table.clone(), column)
    }

    /// Creates an index.
    pub fn create_index(&mut self, index: Index) -> &mut Self {
        self.ops.create_index(self.table.clone(), index);
        self
    }

    /// Drops an index.
    pub fn drop_index(&mut self, name: impl Into<String>) -> &mut Self {
        self.ops.drop_index(self.table.clone(), name);
        self
    }

    /// Adds a constraint.
    pub fn add_constraint(&mut self, constraint: impl Into<Constraint>) -> &mut Self {
        self.ops.add_constraint(self.table.clone(), constraint);
        self
    }

    /// Drops a constraint.
    pub fn drop_constraint(&mut self, name: impl Into<String>, kind: ConstraintKind) -> &mut Self {
        self.ops.drop_constraint(self.table.clone(), name, kind);
        self
    }
}
