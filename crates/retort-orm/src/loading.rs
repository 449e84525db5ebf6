//! The statements that load relationships: one parent's related rows (lazy loading), or the
//! related rows of many parents at once with `IN (...)` (selectin loading), and how each row
//! is matched back to its parent.
//!
//! Pure: it builds Core statements from resolved relationships and leaves executing and
//! hydrating to the session.

use std::sync::Arc;

use retort_core::sql::ast::{
    BinaryOp, ColumnRef, Direction as OrderDirection, Expr, FromItem, JoinKind, OrderBy,
    Query as CoreQuery, SelectCore, TableRef,
};
use retort_core::value::Value;

use crate::mapper::Mapper;
use crate::options::{LoadNode, Strategy};
use crate::rel_query;
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

/// The column `name` of `table`, with no type (an association table's, or a label).
pub(crate) fn named_column(table: &TableRef, name: &str) -> Expr {
    Expr::Column(ColumnRef {
        table: Some(table.clone()),
        name: Arc::from(name),
        sql_type: None,
    })
}

/// `left = right`.
pub(crate) fn eq(left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op: BinaryOp::Eq,
        left: Box::new(left),
        right: Box::new(right),
    }
}

/// All of `terms`: the one term itself, or their AND.
pub(crate) fn all_of(mut terms: Vec<Expr>) -> Expr {
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

/// The owner's join key, from the values of its [`owner_columns`], or `None` when one is
/// NULL (nothing relates).
pub(crate) fn owner_key(values: Vec<Value>) -> Option<Vec<Value>> {
    (!values.iter().any(Value::is_null)).then_some(values)
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
pub(crate) fn related_rows(rel: &Relationship, keys: &[Vec<Value>]) -> SelectCore {
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
    SelectCore {
        columns,
        from: vec![related_from(rel, &target)],
        where_: Some(condition),
        order_by: order_by(rel, &target),
        ..SelectCore::default()
    }
}

/// Where a relationship loaded by a join sits in the rows of a query.
#[derive(Debug, Clone)]
pub(crate) struct JoinedLoad {
    /// The relationship.
    pub rel: &'static Relationship,
    /// The entry whose objects own these (`None`: the query's own objects).
    pub parent: Option<usize>,
    /// The position of the target's first column in each row.
    pub offset: usize,
    /// The loading plan below it.
    pub node: LoadNode,
}

/// Adds the joined relationships among `nodes` (and the joined ones below them) to `core`:
/// a LEFT OUTER (or INNER) JOIN to an aliased target per relationship — through an aliased
/// association table for a many-to-many — whose columns are appended to the SELECT, and the
/// relationship's ORDER BY appended to the query's. `contains_eager` adds the columns of the
/// join the query already has. `owner` qualifies the owner's columns.
pub(crate) fn add_joined(
    core: &mut SelectCore,
    owner: &TableRef,
    nodes: &[LoadNode],
    parent: Option<usize>,
    plan: &mut Vec<JoinedLoad>,
) {
    for node in nodes.iter().filter(|n| n.strategy.is_joined()) {
        let rel = node.rel;
        let target = if node.strategy == Strategy::ContainsEager {
            TableRef::new(rel.target.table_name())
        } else {
            let target = aliased(rel.target.table_name(), plan.len());
            let kind = match node.strategy {
                Strategy::Joined { inner: true } => JoinKind::Inner,
                _ => JoinKind::Left,
            };
            join_related(core, rel, owner, &target, kind, plan.len());
            target
        };
        let offset = core.columns.len();
        core.columns.extend(columns_at(rel.target, &target));
        if rel.collection {
            core.order_by.extend(order_by(rel, &target));
        }
        let at = plan.len();
        plan.push(JoinedLoad {
            rel,
            parent,
            offset,
            node: node.clone(),
        });
        add_joined(core, &target, &node.children, Some(at), plan);
    }
}

fn aliased(table: &str, n: usize) -> TableRef {
    TableRef {
        name: Arc::from(table),
        schema: None,
        alias: Some(Arc::from(format!("{table}_{}", n + 1))),
    }
}

/// Joins `target` (an alias of the relationship's target) to the last FROM item of `core`.
fn join_related(
    core: &mut SelectCore,
    rel: &Relationship,
    owner: &TableRef,
    target: &TableRef,
    kind: JoinKind,
    n: usize,
) {
    let left = core
        .from
        .pop()
        .unwrap_or_else(|| FromItem::Table(owner.clone()));
    let joined = match &rel.secondary {
        Some(secondary) => {
            let link = aliased(secondary.table.name(), n);
            let with_link = FromItem::Join {
                left: Box::new(left),
                right: Box::new(FromItem::Table(link.clone())),
                kind,
                on: Some(rel_query::owner_link(rel, secondary, owner, &link)),
            };
            FromItem::Join {
                left: Box::new(with_link),
                right: Box::new(FromItem::Table(target.clone())),
                kind,
                on: Some(rel_query::target_link(rel, secondary, target, &link)),
            }
        }
        None => FromItem::Join {
            left: Box::new(left),
            right: Box::new(FromItem::Table(target.clone())),
            kind,
            on: Some(rel_query::direct_on(rel, owner, target)),
        },
    };
    core.from.push(joined);
}

/// The alias a limited query is wrapped in before collections are joined to it.
const LIMITED: &str = "anon_1";

/// Wraps a query of `mapper` that has a LIMIT or OFFSET into a subquery, so that a joined
/// collection's rows do not count against the limit: `SELECT anon_1.* , ... FROM (SELECT ...
/// LIMIT n) AS anon_1 LEFT OUTER JOIN ...`. Its ORDER BY terms are selected inside under
/// labels and repeated outside, so the parents keep their order. Returns the outer query and
/// the name that qualifies the parent's columns.
pub(crate) fn wrap_limited(mut inner: SelectCore, mapper: &Mapper) -> (SelectCore, TableRef) {
    let alias = TableRef::new(LIMITED);
    let mut outer_order = Vec::with_capacity(inner.order_by.len());
    for (i, term) in inner.order_by.iter().enumerate() {
        let label: Arc<str> = Arc::from(format!("anon_order_{}", i + 1));
        inner.columns.push(Expr::Label {
            expr: Box::new(term.expr.clone()),
            label: Arc::clone(&label),
        });
        outer_order.push(OrderBy {
            expr: named_column(&alias, &label),
            direction: term.direction,
            nulls: term.nulls,
        });
    }
    let outer = SelectCore {
        columns: columns_at(mapper, &alias),
        from: vec![FromItem::Subquery {
            query: Box::new(CoreQuery::Select(Box::new(inner))),
            alias: Arc::from(LIMITED),
        }],
        order_by: outer_order,
        ..SelectCore::default()
    };
    (outer, alias)
}

/// How many owners' keys fit in one statement under the database's parameter limit.
pub(crate) fn keys_per_statement(rel: &Relationship, max_params: usize) -> usize {
    (max_params / owner_columns(rel).len().max(1)).clamp(1, 500)
}

/// For a many-to-one whose join columns are the target's whole primary key: the target's key
/// in primary-key order, from the owner's join key (to find it in the identity map).
pub(crate) fn many_to_one_key(rel: &Relationship, owner_key: &[Value]) -> Option<Vec<Value>> {
    if rel.direction != Direction::ManyToOne {
        return None;
    }
    rel.target
        .primary_key()
        .iter()
        .map(|pk| {
            let at = rel.pairs.iter().position(|(_, t)| t == pk)?;
            owner_key.get(at).cloned()
        })
        .collect()
}
