//! The version table: one row per applied head, as Alembic's `alembic_version`.
//!
//! Applying a revision whose one parent is a head moves that row to the revision (UPDATE);
//! a revision starting a branch (or the history) adds a row (INSERT); a merge deletes its
//! parents' rows and adds its own. Undoing a revision does the reverse.
//!
//! ```
//! use retort_core::dialect::postgres::PostgresDialect;
//! use retort_migrate::version::{VersionChange, VersionTable};
//!
//! let table = VersionTable::new("retort_version");
//! let change = VersionChange::Update { from: "aaa".into(), to: "bbb".into() };
//! assert_eq!(
//!     table.change_sql(&change, &PostgresDialect)?,
//!     r#"UPDATE "retort_version" SET "version_num" = 'bbb' WHERE "retort_version"."version_num" = 'aaa'"#
//! );
//! # Ok::<(), retort_core::Error>(())
//! ```

use retort_core::dialect::Dialect;
use retort_core::schema::ddl::has_table;
use retort_core::schema::{create_table_sql, create_tables, Column, MetaData, Table};
use retort_core::sql::{delete, insert, select, update, Compiled, Executable};
use retort_core::types::SqlType;
use retort_core::{Connection, Result};

use crate::graph::RevisionGraph;
use crate::revision::Revision;

/// The default name of the version table.
pub const DEFAULT_VERSION_TABLE: &str = "retort_version";

/// The column holding a revision id.
const COLUMN: &str = "version_num";

/// One change to the version table's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    /// A new head row.
    Insert(String),
    /// A head row moved to another revision.
    Update {
        /// The row's revision now.
        from: String,
        /// Its revision after.
        to: String,
    },
    /// A head row removed.
    Delete(String),
}

impl VersionChange {
    /// Applies the change to a list of heads, as the database applies it to the rows.
    pub fn apply(&self, heads: &mut Vec<String>) {
        match self {
            VersionChange::Insert(id) => heads.push(id.clone()),
            VersionChange::Update { from, to } => {
                for head in heads.iter_mut().filter(|h| *h == from) {
                    head.clone_from(to);
                }
            }
            VersionChange::Delete(id) => heads.retain(|h| h != id),
        }
    }
}

/// The changes to the rows when `rev` is applied on `heads`.
pub fn upgrade_changes(heads: &[String], rev: &Revision) -> Vec<VersionChange> {
    let parent_heads: Vec<&String> = heads
        .iter()
        .filter(|h| rev.down_revisions.contains(&h.as_str()))
        .collect();
    match (parent_heads.as_slice(), rev.down_revisions.len()) {
        ([], _) => vec![VersionChange::Insert(rev.id.into())],
        ([parent], 1) => vec![VersionChange::Update {
            from: (*parent).clone(),
            to: rev.id.into(),
        }],
        (parents, _) => parents
            .iter()
            .map(|p| VersionChange::Delete((*p).clone()))
            .chain([VersionChange::Insert(rev.id.into())])
            .collect(),
    }
}

/// The changes to the rows when `rev`, one of `heads`, is undone: its parents come back as
/// heads unless another remaining head already follows them.
pub fn downgrade_changes(
    graph: &RevisionGraph,
    heads: &[String],
    rev: &Revision,
) -> Vec<VersionChange> {
    let others = graph.ancestors(heads.iter().map(String::as_str).filter(|h| *h != rev.id));
    let restored: Vec<&str> = rev
        .down_revisions
        .iter()
        .copied()
        .filter(|p| !others.contains(p))
        .collect();
    match (restored.as_slice(), rev.down_revisions.len()) {
        ([parent], 1) => vec![VersionChange::Update {
            from: rev.id.into(),
            to: (*parent).into(),
        }],
        (parents, _) => [VersionChange::Delete(rev.id.into())]
            .into_iter()
            .chain(parents.iter().map(|p| VersionChange::Insert((*p).into())))
            .collect(),
    }
}

/// The version table of a migrations folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTable {
    name: String,
}

impl VersionTable {
    /// The version table called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        VersionTable { name: name.into() }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Core table: one `version_num VARCHAR(32) NOT NULL` column, the primary key.
    pub fn table(&self) -> Result<Table> {
        let metadata = MetaData::new();
        Table::new(self.name.as_str(), &metadata)
            .column(
                Column::new(COLUMN, SqlType::string(32))
                    .not_null()
                    .primary_key(),
            )
            .build()
    }

    /// Whether the table exists.
    pub fn exists(&self, conn: &mut Connection) -> Result<bool> {
        let query = has_table(&self.table()?, conn.dialect())?;
        Ok(!conn
            .exec_driver_sql(&query.sql, &query.params)?
            .rows()
            .is_empty())
    }

    /// Creates the table unless it exists.
    pub fn ensure(&self, conn: &mut Connection) -> Result<()> {
        create_tables(&[self.table()?], conn, true)
    }

    /// The `CREATE TABLE` statements, for offline mode.
    pub fn create_sql(&self, d: &dyn Dialect) -> Result<Vec<String>> {
        create_table_sql(&self.table()?, d)
    }

    /// The applied heads, sorted; none when the table does not exist.
    pub fn read(&self, conn: &mut Connection) -> Result<Vec<String>> {
        if !self.exists(conn)? {
            return Ok(Vec::new());
        }
        let table = self.table()?;
        let rows = conn.execute(&select([table.c(COLUMN)]).from(&table))?;
        let mut heads = rows
            .rows()
            .iter()
            .map(|row| row.get::<String>(0))
            .collect::<Result<Vec<_>>>()?;
        heads.sort();
        Ok(heads)
    }

    /// The statement making `change`, with bound parameters.
    pub fn change_statement(&self, change: &VersionChange, d: &dyn Dialect) -> Result<Compiled> {
        let table = self.table()?;
        let column = || table.c(COLUMN);
        match change {
            VersionChange::Insert(id) => insert(&table).value(COLUMN, id.as_str()).compile(d),
            VersionChange::Update { from, to } => update(&table)
                .set(COLUMN, to.as_str())
                .where_(column().eq(from.as_str()))
                .compile(d),
            VersionChange::Delete(id) => delete(&table).where_(column().eq(id.as_str())).compile(d),
        }
    }

    /// The statement making `change`, with its values written as literals (offline mode).
    pub fn change_sql(&self, change: &VersionChange, d: &dyn Dialect) -> Result<String> {
        self.change_statement(change, d)?.with_literals(d)
    }

    /// Makes `change` on the database.
    pub fn apply(&self, conn: &mut Connection, change: &VersionChange) -> Result<()> {
        let statement = self.change_statement(change, conn.dialect())?;
        conn.exec_driver_sql(&statement.sql, &statement.params)?;
        Ok(())
    }
}
