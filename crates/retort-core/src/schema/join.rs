//! Join inference: the ON clause of a join between two tables, found from the foreign keys
//! between them, as SQLAlchemy's `join()` does when given no `onclause`.
//!
//! Exactly one foreign key (one constraint, of one or several columns) must relate the two
//! sides, in either direction; none, or more than one, is an error naming both tables.
//!
//! ```
//! use retort_core::dialect::sqlite::SqliteDialect;
//! use retort_core::schema::{join_condition, Column, MetaData, Table};
//! use retort_core::sql::{select, Executable};
//! use retort_core::types::SqlType;
//!
//! let metadata = MetaData::new();
//! let users = Table::new("users", &metadata)
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("name", SqlType::String(None)))
//!     .build()?;
//! let addresses = Table::new("addresses", &metadata)
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
//!     .build()?;
//!
//! // The condition alone...
//! let on = join_condition(&users, &addresses)?;
//! assert_eq!(on, users.c("id").eq(addresses.c("user_id")));
//! // ...or a SELECT's join, which finds its left side as `join()` does.
//! let q = select(users.c("name")).join_table(&addresses);
//! assert_eq!(
//!     q.compile(&SqliteDialect)?.sql,
//!     r#"SELECT "users"."name" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#
//! );
//! # Ok::<(), retort_core::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::sql::ast::{BinaryOp, Expr, FromItem, TableRef};

use super::table::{column_expr, table_key, Table, TableAlias};

/// A table, or an alias of one: a side of a join whose ON clause can be inferred.
pub trait JoinTable {
    /// The table whose foreign keys count.
    fn schema_table(&self) -> &Table;

    /// How the join names it (by its alias, for an alias).
    fn join_ref(&self) -> TableRef;
}

impl JoinTable for Table {
    fn schema_table(&self) -> &Table {
        self
    }

    fn join_ref(&self) -> TableRef {
        self.table_ref()
    }
}

impl JoinTable for TableAlias {
    fn schema_table(&self) -> &Table {
        self.table()
    }

    fn join_ref(&self) -> TableRef {
        self.table_ref()
    }
}

/// A table on one side of a join, with the name the join gives it.
struct Side {
    table: Table,
    table_ref: TableRef,
}

impl Side {
    fn of(t: &impl JoinTable) -> Side {
        Side {
            table: t.schema_table().clone(),
            table_ref: t.join_ref(),
        }
    }

    fn name(&self) -> String {
        match &self.table_ref.alias {
            Some(alias) => alias.to_string(),
            None => self.table.key().to_owned(),
        }
    }

    fn column(&self, name: &str) -> Expr {
        column_expr(&self.table, &self.table_ref, name)
    }
}

/// One foreign key relating the two sides: the equalities it joins on, and how to name it.
struct Path {
    on: Vec<Expr>,
    describe: String,
}

/// The foreign key path(s) from `referring` to `referred`, added to `out`.
fn paths_from(referring: &Side, referred: &Side, out: &mut Vec<Path>) {
    for fk in referring.table.foreign_keys() {
        if fk.referred_key() != referred.table.key() {
            continue;
        }
        let on = fk
            .referred_columns()
            .iter()
            .zip(fk.columns())
            .map(|(to, from)| Expr::Binary {
                op: BinaryOp::Eq,
                left: Box::new(referred.column(to)),
                right: Box::new(referring.column(from)),
            })
            .collect();
        let list = |table: String, columns: &[std::sync::Arc<str>]| {
            columns
                .iter()
                .map(|c| format!("{table}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let describe = format!(
            "{} -> {}",
            list(referring.name(), fk.columns()),
            list(referred.name(), fk.referred_columns())
        );
        out.push(Path { on, describe });
    }
}

fn quoted(sides: &[Side]) -> String {
    sides
        .iter()
        .map(|s| format!("'{}'", s.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ON clause joining `right` to the first group of `lefts` that a foreign key relates it
/// to. Groups are tried in order (the right-most table of a join before the whole join, as
/// SQLAlchemy does); within a group, exactly one path must exist.
fn infer(lefts: &[Vec<Side>], right: &Side) -> Result<Expr> {
    for group in lefts {
        let mut paths: Vec<Path> = Vec::new();
        for left in group {
            paths_from(right, left, &mut paths);
            // A table joined to itself under the same name would find its own foreign keys
            // twice; an alias is another FROM item, and counts both ways.
            if left.table_ref != right.table_ref {
                paths_from(left, right, &mut paths);
            }
        }
        // The same columns declared twice (a column's foreign key and a constraint) are one
        // path.
        let mut unique: Vec<Path> = Vec::with_capacity(paths.len());
        for path in paths {
            if !unique.iter().any(|p| p.on == path.on) {
                unique.push(path);
            }
        }
        match unique.len() {
            0 => continue,
            1 => {
                let mut on = unique.swap_remove(0).on;
                return Ok(if on.len() == 1 {
                    on.swap_remove(0)
                } else {
                    Expr::And(on)
                });
            }
            _ => {
                let described: Vec<String> = unique.into_iter().map(|p| p.describe).collect();
                return Err(Error::Argument(format!(
                    "can't determine the join between {} and '{}': they are related by more \
                     than one foreign key ({}); give the join an ON clause",
                    quoted(group),
                    right.name(),
                    described.join("; ")
                )));
            }
        }
    }
    let everything = lefts.last().map(|g| quoted(g)).unwrap_or_default();
    Err(Error::Argument(format!(
        "can't find any foreign key between {everything} and '{}' to join them on; give the \
         join an ON clause",
        right.name()
    )))
}

/// The ON clause of `left JOIN right`: the equality of the columns of the one foreign key
/// between them (either way round), the referred column first.
///
/// An [`Error::Argument`] naming both tables when no foreign key relates them, or more than
/// one does (say, `messages.sender_id` and `messages.recipient_id`, both referring to
/// `users.id`): such a join needs an explicit ON clause.
pub fn join_condition(left: &impl JoinTable, right: &impl JoinTable) -> Result<Expr> {
    infer(&[vec![Side::of(left)]], &Side::of(right))
}

/// The ON clause joining `right` to the FROM item `left`: a table, or a join whose right-most
/// table is tried first, then all its tables. The tables `left` names are looked up in
/// `right`'s MetaData.
pub(crate) fn join_condition_from(left: &FromItem, right: &impl JoinTable) -> Result<Expr> {
    let right = Side::of(right);
    let resolve = |t: &TableRef| -> Result<Side> {
        let key = table_key(t.schema.as_deref(), &t.name);
        if key == right.table.key() {
            return Ok(Side {
                table: right.table.clone(),
                table_ref: t.clone(),
            });
        }
        let why = match right.table.metadata() {
            Some(metadata) => match metadata.table(&key) {
                Some(table) => {
                    return Ok(Side {
                        table,
                        table_ref: t.clone(),
                    })
                }
                None => format!(
                    "'{key}' is not a table of the MetaData '{}' was built in",
                    right.name()
                ),
            },
            None => format!(
                "the MetaData '{}' was built in, where '{key}' would be looked up, no longer \
                 exists (a table does not keep its MetaData alive)",
                right.name()
            ),
        };
        Err(Error::Argument(format!(
            "can't infer the join between '{}' and '{}': {why}, so the foreign keys between \
             them are unknown; give the join an ON clause",
            t.qualifier(),
            right.name()
        )))
    };
    // The tables of `left`, left to right, and its right-most item.
    let mut tables = Vec::new();
    let mut todo = vec![left];
    while let Some(item) = todo.pop() {
        match item {
            FromItem::Table(t) => tables.push(t),
            FromItem::Join { left, right, .. } => todo.extend([&**right, &**left]),
            FromItem::Subquery { .. } | FromItem::Derived(_) => {}
        }
    }
    let mut last = left;
    while let FromItem::Join { right, .. } = last {
        last = right;
    }
    if tables.is_empty() {
        return Err(Error::Argument(format!(
            "can't infer the join to '{}' from a subquery, whose foreign keys are unknown; give \
             the join an ON clause",
            right.name()
        )));
    }
    let mut groups = Vec::with_capacity(2);
    if let (FromItem::Join { .. }, FromItem::Table(t)) = (left, last) {
        groups.push(vec![resolve(t)?]);
    }
    groups.push(
        tables
            .into_iter()
            .map(resolve)
            .collect::<Result<Vec<_>>>()?,
    );
    infer(&groups, &right)
}
