//! Batch mode: changing a table by rebuilding it, for SQLite, whose `ALTER TABLE` cannot
//! change a column's type, nullability or default, nor add or drop a constraint.
//!
//! The table is reflected once, every change of the batch is applied to that description,
//! and the table is rebuilt in five steps:
//!
//! 1. `CREATE TABLE "_retort_batch_<t>"` with the new definition: every column, the primary
//!    key, unique and check constraints and foreign keys, under their names;
//! 2. `INSERT INTO "_retort_batch_<t>" (...) SELECT ... FROM "<t>"`: the kept columns, under
//!    their new names (SQLite converts values to a changed column's type as it stores them);
//! 3. `DROP TABLE "<t>"`;
//! 4. `ALTER TABLE "_retort_batch_<t>" RENAME TO "<t>"` (or the batch's new name);
//! 5. `CREATE INDEX` of each of the table's indexes, which died with the old table.
//!
//! # Foreign keys must be off
//!
//! The statements must run with `PRAGMA foreign_keys=OFF`, set **before** the transaction
//! begins (SQLite ignores it inside one), and `PRAGMA foreign_key_check` run before `COMMIT`
//! (it returns a row per broken reference; any row means roll back), with the setting restored
//! afterwards. With foreign keys on, step 3 would run the `ON DELETE` actions of the tables
//! that refer to this one — deleting or nulling their rows — or fail; with them off, those
//! references simply point at the rebuilt table by name again after step 4. The migration
//! runner does this for SQLite.
//!
//! Unlike Alembic's batch mode, unique constraints are kept, and nothing is left behind: the
//! temporary table is the table once renamed.
//!
//! Triggers and views on the table are not carried over (SQLite drops a table's triggers with
//! it).

use retort_core::dialect::Dialect;
use retort_core::schema::alter;
use retort_core::schema::ddl::qualified_name;
use retort_core::schema::Constraint;
use retort_core::schema::{
    Column, ConstraintKind, CreateTable, Index, MetaData, ReflectedCheck, ReflectedColumn,
    ReflectedForeignKey, ReflectedIndex, ReflectedPrimaryKey, ReflectedTable, ReflectedUnique,
    ServerDefault, Table,
};
use retort_core::{Error, Result};

use crate::ops::{AlterColumn, Operation, TableName};
use crate::render::SchemaSource;

/// The prefix of the temporary table a rebuild copies the rows into.
pub const TEMP_PREFIX: &str = "_retort_batch_";

/// The statements rebuilding `table` with `ops` (each on `table`) applied, reading the table's
/// current shape from `source`. They must run with foreign keys off: see the
/// [module documentation](self).
///
/// Errors: [`Error::InvalidRequest`] when the table does not exist or an operation names a
/// column, constraint or index it lacks; [`Error::Argument`] for an operation that cannot be
/// part of a batch (creating or dropping a table, raw SQL, another batch, an operation on
/// another table).
pub fn rebuild_table_sql(
    d: &dyn Dialect,
    table: &TableName,
    ops: &[Operation],
    source: &mut dyn SchemaSource,
) -> Result<Vec<String>> {
    let current = source.reflect_table(table)?.ok_or_else(|| {
        Error::InvalidRequest(format!("cannot rebuild table '{table}': it does not exist"))
    })?;
    let mut plan = Plan {
        table: table.clone(),
        new_name: table.name.clone(),
        sources: current
            .columns
            .iter()
            .map(|c| Some(c.name.clone()))
            .collect(),
        shape: current,
    };
    for op in ops {
        check_batch_member(table, op)?;
        plan.apply(d, op)?;
    }
    plan.statements(d)
}

/// Refuses an operation that cannot be one of the changes of a batch on `table`.
pub(crate) fn check_batch_member(table: &TableName, op: &Operation) -> Result<()> {
    match op {
        Operation::CreateTable(_)
        | Operation::DropTable(_)
        | Operation::Execute(_)
        | Operation::Batch { .. } => Err(Error::Argument(format!(
            "a batch on '{table}' can only change that table; {op:?} cannot be part of it"
        ))),
        _ if op.table() != Some(table) => Err(Error::Argument(format!(
            "a batch on '{table}' holds an operation on another table: {op:?}"
        ))),
        _ => Ok(()),
    }
}

/// Whether an index, the primary key, a unique constraint or a foreign key of `table` uses
/// `column` (SQLite refuses to drop such a column).
pub(crate) fn column_is_used(table: &ReflectedTable, column: &str) -> bool {
    let has = |columns: &[String]| columns.iter().any(|c| c == column);
    table
        .primary_key
        .as_ref()
        .is_some_and(|pk| has(&pk.columns))
        || table.indexes.iter().any(|ix| has(&ix.columns))
        || table.unique_constraints.iter().any(|u| has(&u.columns))
        || table.foreign_keys.iter().any(|fk| has(&fk.columns))
        || table
            .check_constraints
            .iter()
            .any(|ck| mentions(&ck.sqltext, column))
}

/// The table as it will be, and where each of its columns' values come from.
struct Plan {
    table: TableName,
    new_name: String,
    shape: ReflectedTable,
    /// Per column of `shape`: the old column it is copied from (`None`: added, left to its
    /// default).
    sources: Vec<Option<String>>,
}

impl Plan {
    fn position(&self, column: &str) -> Result<usize> {
        self.shape
            .columns
            .iter()
            .position(|c| c.name == column)
            .ok_or_else(|| {
                Error::InvalidRequest(format!("table '{}' has no column '{column}'", self.table))
            })
    }

    fn check_columns(&self, columns: &[String]) -> Result<()> {
        columns.iter().try_for_each(|c| self.position(c).map(drop))
    }

    fn apply(&mut self, d: &dyn Dialect, op: &Operation) -> Result<()> {
        match op {
            Operation::AddColumn { column, .. } => self.add_column(d, column),
            Operation::DropColumn { column, .. } => self.drop_column(column),
            Operation::AlterColumn(change) => self.alter_column(d, change),
            Operation::RenameTable { new_name, .. } => {
                self.new_name = new_name.clone();
                Ok(())
            }
            Operation::CreateIndex { index, .. } => {
                let name = index.name().ok_or_else(|| {
                    Error::Argument(format!(
                        "the index on {}{:?} needs a name",
                        self.table,
                        index.columns()
                    ))
                })?;
                let columns = strings(index.columns());
                self.check_columns(&columns)?;
                self.shape.indexes.push(ReflectedIndex {
                    name: name.to_owned(),
                    columns,
                    unique: index.is_unique(),
                });
                Ok(())
            }
            Operation::DropIndex { name, .. } => {
                let before = self.shape.indexes.len();
                self.shape.indexes.retain(|ix| ix.name != *name);
                self.found(before != self.shape.indexes.len(), "index", name)
            }
            Operation::AddConstraint { constraint, .. } => self.add_constraint(constraint),
            Operation::DropConstraint { name, kind, .. } => self.drop_constraint(name, *kind),
            other => check_batch_member(&self.table, other),
        }
    }

    fn found(&self, found: bool, what: &str, name: &str) -> Result<()> {
        if found {
            Ok(())
        } else {
            Err(Error::InvalidRequest(format!(
                "table '{}' has no {what} named '{name}'",
                self.table
            )))
        }
    }

    fn add_column(&mut self, d: &dyn Dialect, column: &Column) -> Result<()> {
        if self.position(column.name()).is_ok() {
            return Err(Error::InvalidRequest(format!(
                "table '{}' already has a column '{}'",
                self.table,
                column.name()
            )));
        }
        // A one-column table resolves what the column declares, as CREATE TABLE would.
        let one = Table::new(self.table.name.as_str(), &MetaData::new())
            .column(column.clone())
            .build()?;
        self.shape.columns.push(ReflectedColumn {
            name: column.name().to_owned(),
            sql_type: column.sql_type().clone(),
            nullable: one.columns().iter().all(Column::is_nullable),
            server_default: default_text(d, column.get_server_default())?,
            autoincrement: false,
            comment: column.get_comment().map(str::to_owned),
        });
        self.sources.push(None);
        for constraint in one.constraints() {
            self.add_constraint(constraint)?;
        }
        for index in one.indexes() {
            self.shape.indexes.push(ReflectedIndex {
                name: index.name().unwrap_or_default().to_owned(),
                columns: strings(index.columns()),
                unique: index.is_unique(),
            });
        }
        Ok(())
    }

    fn drop_column(&mut self, column: &str) -> Result<()> {
        let at = self.position(column)?;
        let has = |columns: &[String]| columns.iter().any(|c| c == column);
        if self
            .shape
            .primary_key
            .as_ref()
            .is_some_and(|pk| has(&pk.columns))
        {
            return Err(Error::InvalidRequest(format!(
                "cannot drop column '{column}' of table '{}': it is in the primary key",
                self.table
            )));
        }
        self.shape.columns.remove(at);
        self.sources.remove(at);
        // As PostgreSQL does: indexes and constraints over the column go with it.
        self.shape.indexes.retain(|ix| !has(&ix.columns));
        self.shape.unique_constraints.retain(|u| !has(&u.columns));
        self.shape.foreign_keys.retain(|fk| !has(&fk.columns));
        self.shape
            .check_constraints
            .retain(|ck| !mentions(&ck.sqltext, column));
        Ok(())
    }

    fn alter_column(&mut self, d: &dyn Dialect, change: &AlterColumn) -> Result<()> {
        let at = self.position(&change.column)?;
        let column = &mut self.shape.columns[at];
        if let Some(ty) = &change.sql_type {
            column.sql_type = ty.clone();
        }
        if let Some(nullable) = change.nullable {
            column.nullable = nullable;
        }
        if let Some(default) = &change.server_default {
            column.server_default = default_text(d, default.as_ref())?;
        }
        if let Some(new_name) = &change.new_name {
            if self.position(new_name).is_ok() {
                return Err(Error::InvalidRequest(format!(
                    "cannot rename column '{}' of table '{}' to '{new_name}': that column exists",
                    change.column, self.table
                )));
            }
            self.rename_column(d, &change.column, new_name);
            self.shape.columns[at].name = new_name.clone();
        }
        Ok(())
    }

    /// Renames a column in every constraint and index, and in the check constraints' SQL.
    fn rename_column(&mut self, d: &dyn Dialect, old: &str, new: &str) {
        let rename = |columns: &mut Vec<String>| {
            for c in columns.iter_mut().filter(|c| *c == old) {
                *c = new.to_owned();
            }
        };
        let shape = &mut self.shape;
        if let Some(pk) = &mut shape.primary_key {
            rename(&mut pk.columns);
        }
        shape
            .indexes
            .iter_mut()
            .for_each(|ix| rename(&mut ix.columns));
        shape
            .unique_constraints
            .iter_mut()
            .for_each(|u| rename(&mut u.columns));
        shape
            .foreign_keys
            .iter_mut()
            .for_each(|fk| rename(&mut fk.columns));
        for ck in &mut shape.check_constraints {
            ck.sqltext = rename_identifier(d, &ck.sqltext, old, new);
        }
    }

    fn add_constraint(&mut self, constraint: &Constraint) -> Result<()> {
        let name = constraint.name().map(str::to_owned);
        match constraint {
            Constraint::PrimaryKey(pk) => {
                if self.shape.primary_key.is_some() {
                    return Err(Error::InvalidRequest(format!(
                        "table '{}' already has a primary key",
                        self.table
                    )));
                }
                let columns = strings(pk.columns());
                self.check_columns(&columns)?;
                self.shape.primary_key = Some(ReflectedPrimaryKey { name, columns });
            }
            Constraint::Unique(u) => {
                let columns = strings(u.columns());
                self.check_columns(&columns)?;
                self.shape
                    .unique_constraints
                    .push(ReflectedUnique { name, columns });
            }
            Constraint::Check(ck) => self.shape.check_constraints.push(ReflectedCheck {
                name,
                sqltext: ck.sqltext().to_owned(),
            }),
            Constraint::ForeignKey(fk) => {
                let columns = strings(fk.columns());
                self.check_columns(&columns)?;
                self.shape.foreign_keys.push(ReflectedForeignKey {
                    name,
                    columns,
                    referred_schema: fk.get_referred_schema().map(str::to_owned),
                    referred_table: fk.referred_table().to_owned(),
                    referred_columns: strings(fk.referred_columns()),
                    ondelete: fk.ondelete(),
                    onupdate: fk.onupdate(),
                });
            }
        }
        Ok(())
    }

    fn drop_constraint(&mut self, name: &str, kind: ConstraintKind) -> Result<()> {
        let named = |n: &Option<String>| n.as_deref() == Some(name);
        let shape = &mut self.shape;
        let found = match kind {
            ConstraintKind::PrimaryKey => {
                // SQLite keeps no name for a primary key: an unnamed one matches any name.
                let matches = shape
                    .primary_key
                    .as_ref()
                    .is_some_and(|pk| pk.name.is_none() || named(&pk.name));
                if matches {
                    shape.primary_key = None;
                }
                matches
            }
            ConstraintKind::Unique => {
                let before = shape.unique_constraints.len();
                shape.unique_constraints.retain(|u| !named(&u.name));
                before != shape.unique_constraints.len()
            }
            ConstraintKind::Check => {
                let before = shape.check_constraints.len();
                shape.check_constraints.retain(|ck| !named(&ck.name));
                before != shape.check_constraints.len()
            }
            ConstraintKind::ForeignKey => {
                let before = shape.foreign_keys.len();
                shape.foreign_keys.retain(|fk| !named(&fk.name));
                before != shape.foreign_keys.len()
            }
            ConstraintKind::Index => {
                let before = shape.indexes.len();
                shape.indexes.retain(|ix| ix.name != name);
                before != shape.indexes.len()
            }
        };
        let what = match kind {
            ConstraintKind::PrimaryKey => "primary key",
            ConstraintKind::Unique => "unique constraint",
            ConstraintKind::Check => "check constraint",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::Index => "index",
        };
        self.found(found, what, name)
    }

    fn statements(self, d: &dyn Dialect) -> Result<Vec<String>> {
        let schema = self.table.schema.as_deref();
        let temp_name = format!("{TEMP_PREFIX}{}", self.table.name);
        let indexes = self.shape.indexes.clone();
        // The indexes are created on the final table: their names are taken until the old
        // table is dropped.
        let temp = ReflectedTable {
            name: temp_name.clone(),
            indexes: Vec::new(),
            ..self.shape
        };
        let temp = temp.to_table(&MetaData::new())?;
        let mut statements: Vec<String> = CreateTable::new(&temp)
            .to_ddl(d)?
            .into_iter()
            .map(|s| s.sql)
            .collect();

        let mut old = String::new();
        qualified_name(d, schema, &self.table.name, &mut old);
        let mut temp_sql = String::new();
        qualified_name(d, schema, &temp_name, &mut temp_sql);
        let (targets, origins): (Vec<&str>, Vec<&str>) = temp
            .columns()
            .iter()
            .zip(&self.sources)
            .filter_map(|(c, from)| Some((c.name(), from.as_deref()?)))
            .unzip();
        if !targets.is_empty() {
            statements.push(format!(
                "INSERT INTO {temp_sql} ({}) SELECT {} FROM {old}",
                quoted_list(d, &targets),
                quoted_list(d, &origins)
            ));
        }
        statements.push(format!("DROP TABLE {old}"));
        statements.push(alter::rename_table(d, schema, &temp_name, &self.new_name)?.sql);
        for ix in &indexes {
            let mut index = Index::new(ix.name.as_str(), ix.columns.iter().map(String::as_str));
            if ix.unique {
                index = index.unique();
            }
            statements.push(alter::create_index(d, schema, &self.new_name, &index)?.sql);
        }
        Ok(statements)
    }
}

/// `"a", "b"`: names quoted and separated by commas.
fn quoted_list(d: &dyn Dialect, names: &[&str]) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        d.quote_identifier(name, &mut out);
    }
    out
}

/// Column names as plain strings, the form reflected descriptions hold them in.
pub(crate) fn strings(columns: &[std::sync::Arc<str>]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

/// A server default as SQL text: the form a reflected column carries it in.
pub(crate) fn default_sql(d: &dyn Dialect, default: &ServerDefault) -> Result<String> {
    Ok(match default {
        ServerDefault::Text(text) => text.to_string(),
        ServerDefault::Value(value) => {
            let mut out = String::new();
            d.default_literal(d, value, &mut out)?;
            out
        }
    })
}

fn default_text(d: &dyn Dialect, default: Option<&ServerDefault>) -> Result<Option<String>> {
    default.map(|default| default_sql(d, default)).transpose()
}

/// A piece of SQL text: a name, bare or quoted, or anything else (string literals
/// included), kept as written.
enum Piece<'a> {
    Name {
        text: &'a str,
        name: &'a str,
        quoted: bool,
    },
    Other(&'a str),
}

impl Piece<'_> {
    /// Whether this piece names `column`: bare words compare without regard to case, as SQL
    /// names do; quoted names exactly.
    fn names(&self, column: &str) -> bool {
        match self {
            Piece::Name { name, quoted, .. } => {
                if *quoted {
                    *name == column
                } else {
                    name.eq_ignore_ascii_case(column)
                }
            }
            Piece::Other(_) => false,
        }
    }
}

fn pieces(sql: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let closing = match c {
            '\'' => Some('\''),
            '"' | '`' => Some(c),
            '[' => Some(']'),
            _ => None,
        };
        if let Some(close) = closing {
            let mut end = None;
            for (i, next) in chars.by_ref() {
                if next == close {
                    end = Some(i);
                    break;
                }
            }
            let text = &sql[start..end.map_or(sql.len(), |i| i + close.len_utf8())];
            match end {
                Some(i) if c != '\'' => out.push(Piece::Name {
                    text,
                    name: &sql[start + c.len_utf8()..i],
                    quoted: true,
                }),
                _ => out.push(Piece::Other(text)),
            }
        } else if c.is_alphabetic() || c == '_' {
            let mut end = start + c.len_utf8();
            while let Some(&(i, next)) = chars.peek() {
                if next.is_alphanumeric() || next == '_' || next == '$' {
                    end = i + next.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Piece::Name {
                text: &sql[start..end],
                name: &sql[start..end],
                quoted: false,
            });
        } else {
            out.push(Piece::Other(&sql[start..start + c.len_utf8()]));
        }
    }
    out
}

/// `sql` with every reference to the column `old` made to `new`; string literals are left
/// alone.
fn rename_identifier(d: &dyn Dialect, sql: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for piece in pieces(sql) {
        match piece {
            name if name.names(old) => d.quote_identifier(new, &mut out),
            Piece::Name { text, .. } | Piece::Other(text) => out.push_str(text),
        }
    }
    out
}

/// Whether the SQL text of a check constraint names `column`.
fn mentions(sql: &str, column: &str) -> bool {
    pieces(sql).iter().any(|p| p.names(column))
}

#[cfg(test)]
mod tests {
    use super::{mentions, rename_identifier};
    use retort_core::dialect::sqlite::SqliteDialect;

    #[test]
    fn renames_words_and_quoted_names_but_not_strings() {
        assert_eq!(
            rename_identifier(
                &SqliteDialect,
                r#"age >= 0 AND "age" < 200 AND note <> 'age'"#,
                "age",
                "years"
            ),
            r#""years" >= 0 AND "years" < 200 AND note <> 'age'"#
        );
        assert_eq!(
            rename_identifier(&SqliteDialect, "ages > 1 AND AGE < 3", "age", "n"),
            r#"ages > 1 AND "n" < 3"#
        );
    }

    #[test]
    fn a_check_mentions_a_column_by_word_or_quoted_name_not_in_strings() {
        assert!(mentions("qty >= 0", "QTY"));
        assert!(mentions(r#""Qty" >= 0"#, "Qty"));
        assert!(!mentions(r#""Qty" >= 0"#, "qty"));
        assert!(!mentions("note <> 'qty'", "qty"));
        assert!(!mentions("qtys > 0", "qty"));
    }
}
