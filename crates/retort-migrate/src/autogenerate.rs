//! Autogenerate: the difference between the models' metadata and the database, as the
//! operations of a new revision (Alembic's `revision --autogenerate`).
//!
//! [`compare`] looks at what Alembic looks at: tables, columns (type, nullability, server
//! default), indexes, unique constraints and foreign keys added or removed. Each difference
//! becomes a [`Change`] holding both its upgrade and its downgrade steps, so the revision it
//! writes can be undone.
//!
//! - **Types** are compared as the dialect renders them, so `String(None)` in a model and the
//!   `VARCHAR(255)` MySQL reports for it are the same type.
//! - **Server defaults** are compared after removing what databases add when they store one:
//!   type casts (`'a'::character varying`), wrapping parentheses, letter case outside quotes.
//! - **Unique constraints and unique indexes** are compared by their columns, since MySQL keeps
//!   every unique constraint as a unique index.
//! - **Foreign keys** are compared by their columns, the referred table and columns, and their
//!   ON DELETE / ON UPDATE actions.
//! - **Check constraints** are not compared (nor does Alembic): databases rewrite their text.
//! - **Destructive steps** (dropping a table or a column) carry a note that says so. A column
//!   dropped and another of the same type added in one table may be a rename: the change
//!   renames it, and gives the drop and add (which lose the values) as commented-out lines.
//! - Constraints the models leave unnamed get explicit names in the revision (`fk_<table>_<column>_<referred>`,
//!   `uq_<table>_<columns>`), so its downgrade can drop them by name.

use std::collections::{HashMap, HashSet};

use retort_core::dialect::Dialect;
use retort_core::schema::{
    sort_tables, Column, Constraint, ConstraintKind, ForeignKeyConstraint, Index, MetaData,
    PrimaryKeyConstraint, ReflectedColumn, ReflectedTable, ServerDefault, Table, UniqueConstraint,
};
use retort_core::types::SqlType;
use retort_core::{Engine, Error, Result};

use crate::batch::{default_sql, strings};
use crate::ops::{AlterColumn, Operation, TableDef, TableName};
use crate::runner::Migrator;

/// One step of a generated revision: an operation, and how the revision file shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The operation.
    pub op: Operation,
    /// A comment written above it.
    pub note: Option<String>,
    /// Written commented out: an alternative for the user to choose, not run as generated.
    pub commented_out: bool,
}

impl Step {
    fn run(op: Operation) -> Step {
        let note = destructive_note(&op);
        Step {
            op,
            note,
            commented_out: false,
        }
    }

    fn alternative(op: Operation) -> Step {
        Step {
            op,
            note: None,
            commented_out: true,
        }
    }

    fn noted(mut self, note: impl Into<String>) -> Step {
        self.note = Some(match self.note.take() {
            Some(first) => format!("{}\n{first}", note.into()),
            None => note.into(),
        });
        self
    }
}

/// One difference between the models and the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// What changed, in a line: `add column users.nickname`.
    pub summary: String,
    /// The steps that bring the database to the models.
    pub upgrade: Vec<Step>,
    /// The steps that undo them.
    pub downgrade: Vec<Step>,
}

impl Change {
    fn new(summary: impl Into<String>, upgrade: Operation, downgrade: Operation) -> Change {
        Change {
            summary: summary.into(),
            upgrade: vec![Step::run(upgrade)],
            downgrade: vec![Step::run(downgrade)],
        }
    }
}

/// Every difference [`compare`] found, in the order the upgrade applies them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// The differences.
    pub changes: Vec<Change>,
}

impl Comparison {
    /// Whether the models and the database agree.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The upgrade's steps, in order.
    pub fn upgrade_steps(&self) -> Vec<Step> {
        self.changes
            .iter()
            .flat_map(|c| c.upgrade.iter().cloned())
            .collect()
    }

    /// The downgrade's steps: each change undone, last change first.
    pub fn downgrade_steps(&self) -> Vec<Step> {
        self.changes
            .iter()
            .rev()
            .flat_map(|c| c.downgrade.iter().cloned())
            .collect()
    }

    /// One line per change.
    pub fn summaries(&self) -> Vec<&str> {
        self.changes.iter().map(|c| c.summary.as_str()).collect()
    }
}

/// What [`compare`] leaves out.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Tables of the database that the models do not describe and that must stay (the
    /// migrations' own version table).
    pub ignore_tables: Vec<String>,
}

/// Compares the models' `metadata` with the `database`'s tables (reflected from the default
/// schema) for dialect `d`.
pub fn compare(
    d: &dyn Dialect,
    metadata: &MetaData,
    database: &[ReflectedTable],
    options: &CompareOptions,
) -> Result<Comparison> {
    let ignored: HashSet<&str> = options.ignore_tables.iter().map(String::as_str).collect();
    let models: Vec<Table> = metadata
        .sorted_tables()?
        .into_iter()
        .filter(|t| t.schema().is_none() && !ignored.contains(t.name()))
        .collect();
    let database: Vec<&ReflectedTable> = database
        .iter()
        .filter(|t| !ignored.contains(t.name.as_str()))
        .collect();
    let reflected: HashMap<&str, &ReflectedTable> =
        database.iter().map(|t| (t.name.as_str(), *t)).collect();
    let modelled: HashSet<&str> = models.iter().map(|t| t.name()).collect();

    let mut changes = Vec::new();
    for table in models.iter().filter(|t| !reflected.contains_key(t.name())) {
        changes.push(Change::new(
            format!("add table {}", table.name()),
            Operation::CreateTable(table_def(table)),
            Operation::DropTable(TableName::of(table)),
        ));
    }
    for table in &models {
        if let Some(found) = reflected.get(table.name()) {
            compare_table(d, table, found, &mut changes)?;
        }
    }
    // Dropped tables go referring tables first, so no foreign key points at a missing table.
    let scratch = MetaData::new();
    let gone: Vec<Table> = database
        .iter()
        .filter(|t| !modelled.contains(t.name.as_str()))
        .map(|t| t.to_table(&scratch))
        .collect::<Result<_>>()?;
    for table in sort_tables(&gone)?.iter().rev() {
        changes.push(Change::new(
            format!("remove table {}", table.name()),
            Operation::DropTable(TableName::of(table)),
            Operation::CreateTable(table_def(table)),
        ));
    }
    Ok(Comparison { changes })
}

impl Migrator {
    /// Compares the models' metadata (given with [`Migrator::metadata`]) with the database
    /// behind `engine`, leaving out the version table: what `revision --autogenerate` writes
    /// and what `check` reports.
    ///
    /// The database must be at the revisions' heads, as Alembic insists: a change compared
    /// against an older schema would be written into the new revision a second time.
    pub fn compare(&self, engine: &Engine) -> Result<Comparison> {
        let metadata = self.target_metadata().ok_or_else(|| {
            Error::InvalidRequest(
                "autogenerate needs the models' metadata: give it with Migrator::metadata".into(),
            )
        })?;
        let graph = self.graph()?;
        let mut conn = engine.connect()?;
        let current = self.versions().read(&mut conn)?;
        graph.check_current(&current)?;
        let heads = graph.heads();
        if current != heads {
            let shown = |ids: &[&str]| match ids {
                [] => "base".to_owned(),
                ids => ids.join(", "),
            };
            let current: Vec<&str> = current.iter().map(String::as_str).collect();
            return Err(Error::InvalidRequest(format!(
                "the database is at {} and the revisions end at {}: run `upgrade heads` first, \
                 so that the models are compared with the newest schema",
                shown(&current),
                shown(&heads)
            )));
        }
        let tables = conn.inspect().tables(None)?;
        let options = CompareOptions {
            ignore_tables: vec![self.versions().name().to_owned()],
        };
        compare(engine.dialect(), metadata, &tables, &options)
    }
}

fn destructive_note(op: &Operation) -> Option<String> {
    match op {
        Operation::DropTable(table) => Some(format!(
            "DESTRUCTIVE: drops table {table} and every row in it."
        )),
        Operation::DropColumn { table, column } => Some(format!(
            "DESTRUCTIVE: drops column {table}.{column} and its values."
        )),
        _ => None,
    }
}

/// Changes to a table both sides have, in an order that works: columns added, columns
/// altered, keys and indexes dropped, indexes and keys added, columns dropped.
fn compare_table(
    d: &dyn Dialect,
    model: &Table,
    found: &ReflectedTable,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let name = TableName::of(model);
    let mut added: Vec<&Column> = model
        .columns()
        .iter()
        .filter(|c| !found.columns.iter().any(|r| r.name == c.name()))
        .collect();
    let mut removed: Vec<&ReflectedColumn> = found
        .columns
        .iter()
        .filter(|r| model.column(&r.name).is_none())
        .collect();

    let mut renames = Vec::new();
    added.retain(|new| {
        let new_type = rendered_type(d, &new.sql_type().clone(), false);
        match removed
            .iter()
            .position(|old| rendered_type(d, &old.sql_type, old.autoincrement) == new_type)
        {
            Some(i) => {
                renames.push((removed.remove(i), *new));
                false
            }
            None => true,
        }
    });

    for column in &added {
        changes.push(Change::new(
            format!("add column {name}.{}", column.name()),
            Operation::AddColumn {
                table: name.clone(),
                column: plain_column(column),
            },
            Operation::DropColumn {
                table: name.clone(),
                column: column.name().into(),
            },
        ));
    }
    for (old, new) in &renames {
        changes.push(rename_change(&name, old, new));
    }
    for column in model.columns() {
        if let Some(existing) = found.columns.iter().find(|r| r.name == column.name()) {
            let autoincrement = model
                .autoincrement_column()
                .is_some_and(|a| a.name() == column.name());
            if let Some(change) = compare_column(d, &name, column, autoincrement, existing) {
                changes.push(change);
            }
        }
    }

    let mut adds = Vec::new();
    compare_foreign_keys(&name, model, found, changes, &mut adds);
    compare_indexes(&name, model, found, changes, &mut adds);
    changes.append(&mut adds);

    for column in &removed {
        changes.push(Change::new(
            format!("remove column {name}.{}", column.name),
            Operation::DropColumn {
                table: name.clone(),
                column: column.name.clone(),
            },
            Operation::AddColumn {
                table: name.clone(),
                column: reflected_column(column),
            },
        ));
    }
    Ok(())
}

fn rename_change(table: &TableName, old: &ReflectedColumn, new: &Column) -> Change {
    let rename = |from: &str, to: &str| {
        let mut alter = AlterColumn::new(table.clone(), from);
        alter.rename_to(to);
        Operation::AlterColumn(alter)
    };
    let drop = |column: &str| Operation::DropColumn {
        table: table.clone(),
        column: column.into(),
    };
    let add = |column: Column| Operation::AddColumn {
        table: table.clone(),
        column,
    };
    let note = format!(
        "The models lost column {table}.{} and gained {table}.{} of the same type: this may be \
         a rename. The rename below keeps the values. To drop and add instead (the values are \
         lost), use the commented-out lines and remove the rename.",
        old.name,
        new.name()
    );
    Change {
        summary: format!(
            "rename column {table}.{} to {} (or drop and add)",
            old.name,
            new.name()
        ),
        upgrade: vec![
            Step::run(rename(&old.name, new.name())).noted(note),
            Step::alternative(add(plain_column(new))),
            Step::alternative(drop(&old.name)),
        ],
        downgrade: vec![
            Step::run(rename(new.name(), &old.name)),
            Step::alternative(add(reflected_column(old))),
            Step::alternative(drop(new.name())),
        ],
    }
}

fn compare_column(
    d: &dyn Dialect,
    table: &TableName,
    model: &Column,
    autoincrement: bool,
    found: &ReflectedColumn,
) -> Option<Change> {
    let mut up = AlterColumn::new(table.clone(), model.name());
    let mut down = AlterColumn::new(table.clone(), model.name());
    let mut what = Vec::new();
    let found_default = found.server_default.as_deref().map(ServerDefault::text);
    up.existing_type(found.sql_type.clone())
        .existing_nullable(found.nullable)
        .existing_server_default(found_default.clone());
    down.existing_type(model.sql_type().clone())
        .existing_nullable(model.is_nullable())
        .existing_server_default(model.get_server_default().cloned());

    if rendered_type(d, model.sql_type(), autoincrement)
        != rendered_type(d, &found.sql_type, found.autoincrement)
    {
        up.sql_type(model.sql_type().clone());
        down.sql_type(found.sql_type.clone());
        what.push("type");
    }
    if model.is_nullable() != found.nullable {
        up.nullable(model.is_nullable());
        down.nullable(found.nullable);
        what.push("nullability");
    }
    // A key the database numbers has a default of its own (a sequence, an identity).
    if !autoincrement {
        let wanted = model
            .get_server_default()
            // A default the dialect cannot write never equals one the database has.
            .map(|default| {
                default_sql(d, default).unwrap_or_else(|e| format!("unrenderable: {e}"))
            });
        let same = match (&wanted, &found.server_default) {
            (None, None) => true,
            (Some(wanted), Some(found)) => same_default(wanted, found),
            _ => false,
        };
        if !same {
            up.server_default = Some(model.get_server_default().cloned());
            down.server_default = Some(found_default);
            what.push("server default");
        }
    }
    if what.is_empty() {
        return None;
    }
    Some(Change::new(
        format!(
            "change {} of column {table}.{}",
            what.join(" and "),
            model.name()
        ),
        Operation::AlterColumn(up),
        Operation::AlterColumn(down),
    ))
}

/// The foreign keys to drop go straight into `changes`; those to add wait in `adds` until
/// the indexes are done.
fn compare_foreign_keys(
    table: &TableName,
    model: &Table,
    found: &ReflectedTable,
    changes: &mut Vec<Change>,
    adds: &mut Vec<Change>,
) {
    type Signature = (Vec<String>, String, Vec<String>, String, String);
    let signature = |columns: &[String],
                     referred: &str,
                     referred_columns: &[String],
                     ondelete,
                     onupdate|
     -> Signature {
        let action = |a: Option<retort_core::schema::ReferentialAction>| {
            a.map_or("", |a| a.as_sql()).to_owned()
        };
        (
            columns.to_vec(),
            referred.to_owned(),
            referred_columns.to_vec(),
            action(ondelete),
            action(onupdate),
        )
    };
    let model_keys: Vec<(Signature, &ForeignKeyConstraint)> = model
        .foreign_keys()
        .map(|fk| {
            (
                signature(
                    &strings(fk.columns()),
                    fk.referred_table(),
                    &strings(fk.referred_columns()),
                    fk.ondelete(),
                    fk.onupdate(),
                ),
                fk,
            )
        })
        .collect();
    let found_keys: Vec<(Signature, ForeignKeyConstraint)> = found
        .foreign_keys
        .iter()
        .map(|fk| {
            let mut key = ForeignKeyConstraint::new(
                fk.columns.iter().map(String::as_str),
                fk.referred_table.as_str(),
                fk.referred_columns.iter().map(String::as_str),
            );
            if let Some(name) = &fk.name {
                key = key.named(name.as_str());
            }
            if let Some(a) = fk.ondelete {
                key = key.on_delete(a);
            }
            if let Some(a) = fk.onupdate {
                key = key.on_update(a);
            }
            (
                signature(
                    &fk.columns,
                    &fk.referred_table,
                    &fk.referred_columns,
                    fk.ondelete,
                    fk.onupdate,
                ),
                key,
            )
        })
        .collect();

    for (sig, key) in &found_keys {
        if model_keys.iter().any(|(s, _)| s == sig) {
            continue;
        }
        let summary = format!(
            "remove foreign key {table}({}) -> {}",
            sig.0.join(", "),
            sig.1
        );
        changes.push(drop_constraint_change(
            summary,
            table,
            key.name(),
            ConstraintKind::ForeignKey,
            Constraint::ForeignKey(key.clone()),
        ));
    }
    for (sig, key) in &model_keys {
        if found_keys.iter().any(|(s, _)| s == sig) {
            continue;
        }
        let key = match key.name() {
            Some(_) => (*key).clone(),
            None => {
                (*key)
                    .clone()
                    .named(format!("fk_{}_{}_{}", table.name, sig.0.join("_"), sig.1))
            }
        };
        let name = key.name().unwrap_or_default().to_owned();
        adds.push(Change::new(
            format!("add foreign key {table}({}) -> {}", sig.0.join(", "), sig.1),
            Operation::AddConstraint {
                table: table.clone(),
                constraint: Constraint::ForeignKey(key),
            },
            Operation::DropConstraint {
                table: table.clone(),
                name,
                kind: ConstraintKind::ForeignKey,
            },
        ));
    }
}

/// A constraint the database has and the models do not. One without a name (SQLite keeps
/// none for a constraint declared without one) cannot be dropped by name: the step is written
/// commented out, with a note.
fn drop_constraint_change(
    summary: String,
    table: &TableName,
    name: Option<&str>,
    kind: ConstraintKind,
    restore: Constraint,
) -> Change {
    let drop = Operation::DropConstraint {
        table: table.clone(),
        name: name.unwrap_or_default().to_owned(),
        kind,
    };
    let add = Operation::AddConstraint {
        table: table.clone(),
        constraint: restore,
    };
    match name {
        Some(_) => Change::new(summary, drop, add),
        None => Change {
            upgrade: vec![Step::alternative(drop).noted(format!(
                "The database has this constraint without a name, so it cannot be dropped by \
                 name: {summary}. Drop it by hand (on SQLite, rebuild the table in a batch)."
            ))],
            downgrade: Vec::new(),
            summary,
        },
    }
}

/// A unique rule, as a constraint or as a unique index.
enum Unique {
    Constraint(UniqueConstraint),
    Index(Index),
}

fn compare_indexes(
    table: &TableName,
    model: &Table,
    found: &ReflectedTable,
    changes: &mut Vec<Change>,
    adds: &mut Vec<Change>,
) {
    let reflected_index = |ix: &retort_core::schema::ReflectedIndex| {
        let index = Index::new(ix.name.as_str(), ix.columns.iter().map(String::as_str));
        if ix.unique {
            index.unique()
        } else {
            index
        }
    };

    // Plain indexes, by name.
    let model_plain: Vec<&Index> = model.indexes().iter().filter(|i| !i.is_unique()).collect();
    let found_plain: Vec<_> = found.indexes.iter().filter(|i| !i.unique).collect();
    for ix in &found_plain {
        let kept = model_plain
            .iter()
            .any(|m| m.name() == Some(ix.name.as_str()) && strings(m.columns()) == ix.columns);
        if !kept {
            changes.push(Change::new(
                format!(
                    "remove index {} on {table}({})",
                    ix.name,
                    ix.columns.join(", ")
                ),
                Operation::DropIndex {
                    table: table.clone(),
                    name: ix.name.clone(),
                },
                Operation::CreateIndex {
                    table: table.clone(),
                    index: reflected_index(ix),
                },
            ));
        }
    }
    for ix in &model_plain {
        let exists = found_plain
            .iter()
            .any(|f| ix.name() == Some(f.name.as_str()) && strings(ix.columns()) == f.columns);
        if !exists {
            let name = ix.name().unwrap_or_default();
            adds.push(Change::new(
                format!(
                    "add index {name} on {table}({})",
                    strings(ix.columns()).join(", ")
                ),
                Operation::CreateIndex {
                    table: table.clone(),
                    index: (*ix).clone(),
                },
                Operation::DropIndex {
                    table: table.clone(),
                    name: name.into(),
                },
            ));
        }
    }

    // Unique constraints and unique indexes, by their columns.
    let mut model_unique: Vec<(Vec<String>, Unique)> = model
        .constraints()
        .iter()
        .filter_map(|c| match c {
            Constraint::Unique(u) => Some((strings(u.columns()), Unique::Constraint(u.clone()))),
            _ => None,
        })
        .collect();
    model_unique.extend(
        model
            .indexes()
            .iter()
            .filter(|i| i.is_unique())
            .map(|i| (strings(i.columns()), Unique::Index(i.clone()))),
    );
    let mut found_unique: Vec<(Vec<String>, Unique)> = found
        .unique_constraints
        .iter()
        .map(|u| {
            let mut c = UniqueConstraint::new(u.columns.iter().map(String::as_str));
            if let Some(name) = &u.name {
                c = c.named(name.as_str());
            }
            (u.columns.clone(), Unique::Constraint(c))
        })
        .collect();
    found_unique.extend(
        found
            .indexes
            .iter()
            .filter(|i| i.unique)
            .map(|i| (i.columns.clone(), Unique::Index(reflected_index(i)))),
    );

    for (columns, unique) in &found_unique {
        if model_unique.iter().any(|(c, _)| c == columns) {
            continue;
        }
        let summary = format!("remove unique ({}) on {table}", columns.join(", "));
        changes.push(match unique {
            Unique::Index(ix) => Change::new(
                summary,
                Operation::DropIndex {
                    table: table.clone(),
                    name: ix.name().unwrap_or_default().into(),
                },
                Operation::CreateIndex {
                    table: table.clone(),
                    index: ix.clone(),
                },
            ),
            Unique::Constraint(u) => drop_constraint_change(
                summary,
                table,
                u.name(),
                ConstraintKind::Unique,
                Constraint::Unique(u.clone()),
            ),
        });
    }
    for (columns, unique) in &model_unique {
        if found_unique.iter().any(|(c, _)| c == columns) {
            continue;
        }
        let summary = format!("add unique ({}) on {table}", columns.join(", "));
        adds.push(match unique {
            Unique::Index(ix) => Change::new(
                summary,
                Operation::CreateIndex {
                    table: table.clone(),
                    index: ix.clone(),
                },
                Operation::DropIndex {
                    table: table.clone(),
                    name: ix.name().unwrap_or_default().into(),
                },
            ),
            Unique::Constraint(u) => {
                let u = match u.name() {
                    Some(_) => u.clone(),
                    None => u
                        .clone()
                        .named(format!("uq_{}_{}", table.name, columns.join("_"))),
                };
                let name = u.name().unwrap_or_default().to_owned();
                Change::new(
                    summary,
                    Operation::AddConstraint {
                        table: table.clone(),
                        constraint: Constraint::Unique(u),
                    },
                    Operation::DropConstraint {
                        table: table.clone(),
                        name,
                        kind: ConstraintKind::Unique,
                    },
                )
            }
        });
    }
}

/// The type as the dialect writes it in DDL, in one spelling: the form types are compared in.
fn rendered_type(d: &dyn Dialect, ty: &SqlType, autoincrement: bool) -> String {
    let mut out = String::new();
    let rendered = if autoincrement {
        d.autoincrement_column_type(d, ty, &mut out)
    } else {
        d.column_type(d, ty, &mut out)
    };
    match rendered {
        Ok(()) => out
            .to_uppercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(", ", ","),
        // A type the dialect cannot write never equals one it can.
        Err(e) => format!("unrenderable: {e}"),
    }
}

/// Whether two server defaults say the same thing, once each database's decorations are
/// removed.
fn same_default(a: &str, b: &str) -> bool {
    canonical_default(a) == canonical_default(b)
}

/// Strips type casts (`'a'::character varying`), wrapping parentheses, and the empty
/// argument list of a niladic function (`current_timestamp()`); folds case outside quotes.
fn canonical_default(sql: &str) -> String {
    let mut s = sql.trim().to_owned();
    loop {
        let before = s.clone();
        if let Some(cast) = last_cast(&s) {
            s.truncate(cast);
            s = s.trim_end().to_owned();
        }
        if s.starts_with('(') && s.ends_with(')') && closes_at_end(&s) {
            s = s[1..s.len() - 1].trim().to_owned();
        }
        if s == before {
            break;
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut quoted = false;
    for c in s.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if quoted {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    match out.strip_suffix("()") {
        Some(f) if f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => f.to_owned(),
        _ => out,
    }
}

/// Where a trailing `::type` cast starts, outside quotes.
fn last_cast(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut last = None;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b':' if !quoted && bytes.get(i + 1) == Some(&b':') => last = Some(i),
            _ => {}
        }
    }
    let at = last?;
    let tail = &s[at + 2..];
    let balanced = tail.matches('(').count() == tail.matches(')').count();
    (balanced
        && tail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _(),\"".contains(c)))
    .then_some(at)
}

/// Whether the parenthesis opening `s` is the one closing it.
fn closes_at_end(s: &str) -> bool {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i == s.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// A model column without the index, unique and foreign key it declares: those become
/// operations of their own.
fn plain_column(c: &Column) -> Column {
    let mut column = Column::new(c.name(), c.sql_type().clone()).nullable(c.is_nullable());
    if c.is_primary_key() {
        column = column.primary_key();
    }
    if let Some(default) = c.get_server_default() {
        column = column.server_default(default.clone());
    }
    if let Some(autoincrement) = c.get_autoincrement() {
        column = column.autoincrement(autoincrement);
    }
    if let Some(comment) = c.get_comment() {
        column = column.comment(comment);
    }
    column
}

fn reflected_column(c: &ReflectedColumn) -> Column {
    let mut column = Column::new(c.name.as_str(), c.sql_type.clone()).nullable(c.nullable);
    if let Some(default) = &c.server_default {
        column = column.server_default(ServerDefault::text(default.as_str()));
    }
    if let Some(comment) = &c.comment {
        column = column.comment(comment.as_str());
    }
    column
}

/// The table as a revision creates it: plain columns, then every constraint and index by
/// the name the table resolved for it.
pub fn table_def(table: &Table) -> TableDef {
    let pk = table.primary_key_constraint();
    let inline_pk = pk.is_some_and(|pk| pk.name().is_none() && pk.columns().len() == 1);
    let mut def = TableDef::new(TableName::of(table));
    def.comment = table.comment().map(Into::into);
    for c in table.columns() {
        let mut column = plain_column(c);
        if !inline_pk && c.is_primary_key() {
            // The key goes in as a constraint below; a column flag would say it twice.
            column = Column::new(c.name(), c.sql_type().clone()).nullable(false);
            if let Some(default) = c.get_server_default() {
                column = column.server_default(default.clone());
            }
            if let Some(autoincrement) = c.get_autoincrement() {
                column = column.autoincrement(autoincrement);
            }
        }
        def.columns.push(column);
    }
    for constraint in table.constraints() {
        match constraint {
            Constraint::PrimaryKey(pk) if !inline_pk => {
                let mut key = PrimaryKeyConstraint::new(pk.columns().iter().cloned());
                if let Some(name) = pk.name() {
                    key = key.named(name);
                }
                def.constraints.push(Constraint::PrimaryKey(key));
            }
            Constraint::PrimaryKey(_) => {}
            other => def.constraints.push(other.clone()),
        }
    }
    def.indexes = table.indexes().to_vec();
    def
}

#[cfg(test)]
mod tests {
    use super::canonical_default;

    #[test]
    fn defaults_lose_casts_parentheses_and_case() {
        assert_eq!(canonical_default("'abc'::character varying"), "'abc'");
        assert_eq!(canonical_default("('{}'::jsonb)"), "'{}'");
        assert_eq!(canonical_default("(42)"), "42");
        assert_eq!(canonical_default("TRUE"), "true");
        assert_eq!(
            canonical_default("current_timestamp()"),
            "current_timestamp"
        );
        assert_eq!(canonical_default("'It''s'"), "'It''s'");
        assert_eq!(canonical_default("'A::B'"), "'A::B'");
        assert_eq!(canonical_default("(1) + (2)"), "(1) + (2)");
    }
}
