//! INSERT, UPDATE and DELETE, with RETURNING and upserts.
//!
//! ```
//! use retort_core::dialect::{mysql::MySqlDialect, sqlite::SqliteDialect};
//! use retort_core::sql::{excluded, insert, table, Executable};
//!
//! let counters = table("counters");
//! let upsert = insert(&counters)
//!     .value("name", "hits")
//!     .value("n", 1)
//!     .on_conflict_do_update(["name"], [("n", counters.c("n") + excluded("n"))]);
//! assert_eq!(
//!     upsert.compile(&SqliteDialect).unwrap().sql,
//!     r#"INSERT INTO "counters" ("name", "n") VALUES (?, ?) ON CONFLICT ("name") DO UPDATE SET "n" = "counters"."n" + excluded."n""#
//! );
//! assert_eq!(
//!     upsert.compile(&MySqlDialect::default()).unwrap().sql,
//!     "INSERT INTO `counters` (`name`, `n`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `counters`.`n` = `counters`.`n` + VALUES(`n`)"
//! );
//! ```
//!
//! **Upserts on MySQL.** `ON CONFLICT ... DO UPDATE` becomes `ON DUPLICATE KEY UPDATE` (the
//! conflict target is ignored: MySQL checks every unique key), and [`excluded`](super::expr::excluded) becomes
//! `VALUES(col)`, which MariaDB and MySQL both accept. `DO NOTHING` becomes
//! `ON DUPLICATE KEY UPDATE t.col = t.col` on the first target (or inserted) column rather than
//! `INSERT IGNORE`, because `INSERT IGNORE` also downgrades NOT NULL, foreign key and
//! truncation errors to warnings and writes adjusted data; the no-op assignment skips only
//! rows that hit a duplicate key.

use std::sync::Arc;

use super::ast::{
    DeleteStatement, Expr, InsertSource, InsertStatement, OnConflict, Query, Statement,
    UpdateStatement,
};
use super::compiler::{Compiled, Dml, Executable, SqlCompiler};
use super::expr::{and_into, IntoExpr, IntoExprList};
use super::selectable::IntoTableRef;
use crate::dialect::Dialect;
use crate::error::Result;

fn names<S: Into<Arc<str>>>(columns: impl IntoIterator<Item = S>) -> Vec<Arc<str>> {
    columns.into_iter().map(Into::into).collect()
}

fn pairs<C: Into<Arc<str>>, E: IntoExpr>(
    pairs: impl IntoIterator<Item = (C, E)>,
) -> Vec<(Arc<str>, Expr)> {
    pairs
        .into_iter()
        .map(|(c, e)| (c.into(), e.into_expr()))
        .collect()
}

/// `INSERT INTO table ...`; see [`Insert`].
pub fn insert(table: impl IntoTableRef) -> Insert {
    Insert {
        stmt: InsertStatement {
            table: table.into_table_ref(),
            columns: Vec::new(),
            source: InsertSource::DefaultValues,
            on_conflict: None,
            returning: Vec::new(),
        },
    }
}

/// An INSERT under construction. Without values it inserts one row of defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    stmt: InsertStatement,
}

impl Insert {
    /// The statement as the AST holds it.
    pub fn statement(&self) -> &InsertStatement {
        &self.stmt
    }

    /// The statement as the AST holds it.
    pub fn into_statement(self) -> InsertStatement {
        self.stmt
    }

    /// Sets `column` to `value` in the single row inserted. Rows given before by
    /// [`values_many`](Insert::values_many) or [`from_select`](Insert::from_select) are
    /// replaced by this one row.
    pub fn value(mut self, column: impl Into<Arc<str>>, value: impl IntoExpr) -> Insert {
        match &mut self.stmt.source {
            InsertSource::Values(rows) if rows.len() == 1 => rows[0].push(value.into_expr()),
            source => {
                self.stmt.columns.clear();
                *source = InsertSource::Values(vec![vec![value.into_expr()]]);
            }
        }
        self.stmt.columns.push(column.into());
        self
    }

    /// Sets each `(column, value)` pair in the single row inserted, as
    /// [`value`](Insert::value) does.
    pub fn values<C: Into<Arc<str>>, E: IntoExpr>(
        self,
        values: impl IntoIterator<Item = (C, E)>,
    ) -> Insert {
        values
            .into_iter()
            .fold(self, |insert, (c, e)| insert.value(c, e))
    }

    /// Several rows in one multi-row `VALUES (..), (..)`: the column names, then one
    /// [list of expressions](IntoExprList) per row (a tuple, an array or a `Vec<Expr>`).
    ///
    /// ```
    /// use retort_core::sql::{insert, table};
    ///
    /// let stmt = insert(table("users")).values_many(["name", "age"], [("ann", 31), ("bob", 42)]);
    /// # let _ = stmt;
    /// ```
    pub fn values_many<S: Into<Arc<str>>, R: IntoExprList>(
        mut self,
        columns: impl IntoIterator<Item = S>,
        rows: impl IntoIterator<Item = R>,
    ) -> Insert {
        self.stmt.columns = names(columns);
        self.stmt.source =
            InsertSource::Values(rows.into_iter().map(IntoExprList::into_expr_list).collect());
        self
    }

    /// `INSERT INTO table (columns) SELECT ...`.
    pub fn from_select<S: Into<Arc<str>>>(
        mut self,
        columns: impl IntoIterator<Item = S>,
        query: impl Into<Query>,
    ) -> Insert {
        self.stmt.columns = names(columns);
        self.stmt.source = InsertSource::Query(Box::new(query.into()));
        self
    }

    /// One row where every column takes its default: `DEFAULT VALUES` (`() VALUES ()` on
    /// MySQL).
    pub fn default_values(mut self) -> Insert {
        self.stmt.columns.clear();
        self.stmt.source = InsertSource::DefaultValues;
        self
    }

    /// `RETURNING columns` (a compile error where the database lacks it: MySQL).
    pub fn returning(mut self, columns: impl IntoExprList) -> Insert {
        self.stmt.returning.extend(columns.into_expr_list());
        self
    }

    /// `ON CONFLICT (target) DO NOTHING`: rows that would violate a unique constraint are
    /// skipped. An empty target means any constraint. On MySQL see the module docs.
    pub fn on_conflict_do_nothing<S: Into<Arc<str>>>(
        mut self,
        target: impl IntoIterator<Item = S>,
    ) -> Insert {
        self.stmt.on_conflict = Some(OnConflict::DoNothing {
            target: names(target),
        });
        self
    }

    /// `ON CONFLICT (target) DO UPDATE SET col = value, ...`: a row that would violate the
    /// unique constraint on `target` updates the existing row instead. Use [`excluded`] for
    /// the value the row would have inserted. `ON DUPLICATE KEY UPDATE` on MySQL.
    ///
    /// [`excluded`]: super::expr::excluded
    pub fn on_conflict_do_update<S: Into<Arc<str>>, C: Into<Arc<str>>, E: IntoExpr>(
        mut self,
        target: impl IntoIterator<Item = S>,
        set: impl IntoIterator<Item = (C, E)>,
    ) -> Insert {
        self.stmt.on_conflict = Some(OnConflict::DoUpdate {
            target: names(target),
            set: pairs(set),
            where_: None,
        });
        self
    }

    /// A condition on the upsert's update: `DO UPDATE SET ... WHERE condition` (PostgreSQL
    /// and SQLite; a compile error on MySQL). Several are joined with AND; without an
    /// [`on_conflict_do_update`](Insert::on_conflict_do_update) it does nothing.
    pub fn on_conflict_where(mut self, condition: impl IntoExpr) -> Insert {
        if let Some(OnConflict::DoUpdate { where_, .. }) = &mut self.stmt.on_conflict {
            and_into(where_, condition.into_expr());
        }
        self
    }
}

impl From<Insert> for Statement {
    fn from(i: Insert) -> Statement {
        Statement::Insert(i.stmt)
    }
}

impl Executable for Insert {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        SqlCompiler::new(dialect).run(|c| c.insert(&self.stmt))
    }

    fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        Some(c.insert(&self.stmt))
    }
}

/// `UPDATE table SET ...`; see [`Update`].
pub fn update(table: impl IntoTableRef) -> Update {
    Update {
        stmt: UpdateStatement {
            table: table.into_table_ref(),
            set: Vec::new(),
            where_: None,
            returning: Vec::new(),
        },
    }
}

/// An UPDATE under construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    stmt: UpdateStatement,
}

impl Update {
    /// The statement as the AST holds it.
    pub fn statement(&self) -> &UpdateStatement {
        &self.stmt
    }

    /// The statement as the AST holds it.
    pub fn into_statement(self) -> UpdateStatement {
        self.stmt
    }

    /// `SET column = value`; setting a column again replaces its value.
    pub fn set(mut self, column: impl Into<Arc<str>>, value: impl IntoExpr) -> Update {
        let column = column.into();
        let value = value.into_expr();
        match self.stmt.set.iter_mut().find(|(c, _)| *c == column) {
            Some(slot) => slot.1 = value,
            None => self.stmt.set.push((column, value)),
        }
        self
    }

    /// `SET` each `(column, value)` pair, as [`set`](Update::set) does.
    pub fn values<C: Into<Arc<str>>, E: IntoExpr>(
        self,
        values: impl IntoIterator<Item = (C, E)>,
    ) -> Update {
        values.into_iter().fold(self, |u, (c, e)| u.set(c, e))
    }

    /// Adds a WHERE condition; several are joined with AND. Without one every row is updated.
    pub fn where_(mut self, condition: impl IntoExpr) -> Update {
        and_into(&mut self.stmt.where_, condition.into_expr());
        self
    }

    /// Same as [`where_`](Update::where_).
    pub fn filter(self, condition: impl IntoExpr) -> Update {
        self.where_(condition)
    }

    /// `RETURNING columns` (a compile error on MySQL and MariaDB).
    pub fn returning(mut self, columns: impl IntoExprList) -> Update {
        self.stmt.returning.extend(columns.into_expr_list());
        self
    }
}

impl From<Update> for Statement {
    fn from(u: Update) -> Statement {
        Statement::Update(u.stmt)
    }
}

impl Executable for Update {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        SqlCompiler::new(dialect).run(|c| c.update(&self.stmt))
    }

    fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        Some(c.update(&self.stmt))
    }

    fn dml(&self) -> Option<Dml<'_>> {
        Some(Dml::Update(&self.stmt))
    }
}

/// `DELETE FROM table ...`; see [`Delete`].
pub fn delete(table: impl IntoTableRef) -> Delete {
    Delete {
        stmt: DeleteStatement {
            table: table.into_table_ref(),
            where_: None,
            returning: Vec::new(),
        },
    }
}

/// A DELETE under construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    stmt: DeleteStatement,
}

impl Delete {
    /// The statement as the AST holds it.
    pub fn statement(&self) -> &DeleteStatement {
        &self.stmt
    }

    /// The statement as the AST holds it.
    pub fn into_statement(self) -> DeleteStatement {
        self.stmt
    }

    /// Adds a WHERE condition; several are joined with AND. Without one every row is deleted.
    pub fn where_(mut self, condition: impl IntoExpr) -> Delete {
        and_into(&mut self.stmt.where_, condition.into_expr());
        self
    }

    /// Same as [`where_`](Delete::where_).
    pub fn filter(self, condition: impl IntoExpr) -> Delete {
        self.where_(condition)
    }

    /// `RETURNING columns` (a compile error on MySQL; MariaDB has it).
    pub fn returning(mut self, columns: impl IntoExprList) -> Delete {
        self.stmt.returning.extend(columns.into_expr_list());
        self
    }
}

impl From<Delete> for Statement {
    fn from(d: Delete) -> Statement {
        Statement::Delete(d.stmt)
    }
}

impl Executable for Delete {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        SqlCompiler::new(dialect).run(|c| c.delete(&self.stmt))
    }

    fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        Some(c.delete(&self.stmt))
    }

    fn dml(&self) -> Option<Dml<'_>> {
        Some(Dml::Delete(&self.stmt))
    }
}
