//! The statements that load relationships: one parent's related rows (lazy loading), or the
//! related rows of many parents at once with `IN (...)` (selectin loading), and how each row
//! is matched back to its parent.
//!
//! Pure: it builds Core statements from resolved relationships and leaves executing and
//! hydrating to the session.

use std::sync::Arc;

use retort_core::sql::ast::{
    BinaryOp, ColumnRef, Direction as OrderDirection, Expr, FromItem, JoinKind, OrderBy,
    Query as CoreQuery, SelectCore, Statement, TableRef,
};
use retort_core::value::Value;

use crate::mapper::Mapper;
use crate::relationship::{Direction, Relationship};

/// A column of `mapper`'s table, qualified by `table`.
pub(crate) fn column_at(mapper: &Mapper, table: &TableRef, index: usize) -> Expr {
    let column = &mapper.columns()[index];
    Expr::Column(ColumnRef {
        table: Some(table.clone()),
        name: Arc::from(column.name),
        sql_type: Some(column.sql_type.clone()),
    })
}

/// Every column of `mapper`, in mapper order, qualified by `table`.
pub(crate) fn columns_at(mapper: &Mapper, table: &TableRef) -> Vec<Expr> {
    (0..mapper.columns().len())
        .map(|i| column_at(mapper, table, i))
        .collect()
}

fn named_column(table: &TableRef, name: &str) -> Expr {
    Expr::Column(ColumnRef {
        table: Some(table.clone()),
        name: Arc::from(name),
        sql_type: None,
    })
}

fn eq(left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op: BinaryOp::Eq,
        left: Box::new(left),
        right: Box::new(right),
    }
}

fn all_of(mut terms: Vec<Expr>) -> Expr {
    if terms.len() == 1 {
        terms.pop().unwrap_or(Expr::And(Vec::new()))
    } else {
        Expr::And(terms)
    }
}

/// The owner's columns a relationship joins on, in the order of [`match_columns`].
pub(crate) fn owner_columns(rel: &Relationship) -> Vec<usize> {
    match &rel.secondary {
        Some(secondary) => secondary.owner.iter().map(|(_, i)| *i).collect(),
        None => rel.pairs.iter().map(|(o, _)| *o).collect(),
    }
}

/// The owner's values for the join columns, or `None` when one is NULL (nothing relates).
pub(crate) fn owner_key(rel: &Relationship, owner_values: &[Value]) -> Option<Vec<Value>> {
    owner_columns(rel)
        .into_iter()
        .map(|i| {
            let value = owner_values.get(i)?;
            (!value.is_null()).then(|| value.clone())
        })
        .collect()
}

/// The expressions, on the related side, that equal the owner's join columns: the target's
/// columns, or the association table's.
fn match_columns(rel: &Relationship, target: &TableRef) -> Vec<Expr> {
    match &rel.secondary {
        Some(secondary) => {
            let table = TableRef::new(secondary.table.name());
            secondary
                .owner
                .iter()
                .map(|(name, _)| named_column(&table, name))
                .collect()
        }
        None => rel
            .pairs
            .iter()
            .map(|(_, t)| column_at(rel.target, target, *t))
            .collect(),
    }
}

/// `FROM target` (joined to the association table for a many-to-many).
fn related_from(rel: &Relationship, target: &TableRef) -> FromItem {
    match &rel.secondary {
        Some(secondary) => {
            let table = TableRef::new(secondary.table.name());
            let on = secondary
                .target
                .iter()
                .map(|(name, at)| {
                    eq(
                        named_column(&table, name),
                        column_at(rel.target, target, *at),
                    )
                })
                .collect();
            FromItem::Join {
                left: Box::new(FromItem::Table(target.clone())),
                right: Box::new(FromItem::Table(table)),
                kind: JoinKind::Inner,
                on: Some(all_of(on)),
            }
        }
        None => FromItem::Table(target.clone()),
    }
}

/// The relationship's ORDER BY, on the target qualified by `target`.
pub(crate) fn order_by(rel: &Relationship, target: &TableRef) -> Vec<OrderBy> {
    rel.order_by
        .iter()
        .map(|&(i, desc)| OrderBy {
            expr: column_at(rel.target, target, i),
            direction: Some(if desc {
                OrderDirection::Desc
            } else {
                OrderDirection::Asc
            }),
            nulls: None,
        })
        .collect()
}

/// The related rows of the owners whose join values are `keys` (each from [`owner_key`]):
/// every target column, then the join columns on the related side, so each row can be
/// matched to its owner. One key compares with `=`; several with `IN` (or ORs of ANDs for a
/// composite key).
pub(crate) fn related_rows(rel: &Relationship, keys: &[Vec<Value>]) -> Statement {
    let target = TableRef::new(rel.target.table_name());
    let matches = match_columns(rel, &target);
    let condition = if let ([column], true) = (matches.as_slice(), keys.len() > 1) {
        Expr::InList {
            expr: Box::new(column.clone()),
            list: keys
                .iter()
                .filter_map(|k| k.first().cloned().map(Expr::Param))
                .collect(),
            negated: false,
        }
    } else {
        let per_key = keys
            .iter()
            .map(|key| {
                all_of(
                    matches
                        .iter()
                        .zip(key)
                        .map(|(c, v)| eq(c.clone(), Expr::Param(v.clone())))
                        .collect(),
                )
            })
            .collect::<Vec<_>>();
        if per_key.len() == 1 {
            all_of(per_key)
        } else {
            Expr::Or(per_key)
        }
    };
    let mut columns = columns_at(rel.target, &target);
    columns.extend(matches);
    Statement::Query(CoreQuery::Select(Box::new(SelectCore {
        columns,
        from: vec![related_from(rel, &target)],
        where_: Some(condition),
        order_by: order_by(rel, &target),
        ..SelectCore::default()
    })))
}

/// How many owners' keys fit in one statement under the database's parameter limit.
pub(crate) fn keys_per_statement(rel: &Relationship, max_params: usize) -> usize {
    (max_params / owner_columns(rel).len().max(1)).clamp(1, 500)
}

/// For a many-to-one whose join columns are the target's whole primary key: the target's key
/// in primary-key order, from the owner's values (to find it in the identity map).
pub(crate) fn many_to_one_key(rel: &Relationship, owner_values: &[Value]) -> Option<Vec<Value>> {
    if rel.direction != Direction::ManyToOne {
        return None;
    }
    rel.target
        .primary_key()
        .iter()
        .map(|pk| {
            let (o, _) = rel.pairs.iter().find(|(_, t)| t == pk)?;
            let value = owner_values.get(*o)?;
            (!value.is_null()).then(|| value.clone())
        })
        .collect()
}
