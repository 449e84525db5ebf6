//! Walking expression trees: the tables an expression refers to (for FROM inference and
//! correlation) and the CTEs a statement uses (for its WITH clause).

use std::sync::Arc;

use super::ast::{ColumnRef, Cte, Derived, Expr, FromItem, Query, SelectCore, TableRef};
use super::compiler::MAX_DEPTH;

/// What identifies a FROM item: its alias, or its schema and name.
pub(crate) type Key<'a> = (Option<&'a Arc<str>>, &'a Arc<str>);

pub(crate) fn key_eq(a: Key<'_>, b: Key<'_>) -> bool {
    a.0.map(|s| &**s) == b.0.map(|s| &**s) && *a.1 == *b.1
}

pub(crate) fn table_key(t: &TableRef) -> Key<'_> {
    match &t.alias {
        Some(alias) => (None, alias),
        None => (t.schema.as_ref(), &t.name),
    }
}

/// A FROM item an expression refers to through one of its columns.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    Table(&'a TableRef),
    Derived(&'a Arc<Derived>),
}

impl<'a> Source<'a> {
    pub(crate) fn key(self) -> Key<'a> {
        match self {
            Source::Table(t) => table_key(t),
            Source::Derived(d) => (None, d.name()),
        }
    }

    pub(crate) fn to_from_item(self) -> FromItem {
        match self {
            Source::Table(t) => FromItem::Table(t.clone()),
            Source::Derived(d) => FromItem::Derived(d.clone()),
        }
    }
}

/// Calls `f` on `e` and every expression inside it, parents first and children left to
/// right, without entering nested queries (they are scopes of their own). It keeps a work list
/// rather than recursing, so any depth is safe.
pub(crate) fn for_each_node<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    let mut todo: Vec<&'e Expr> = vec![e];
    // Children are pushed in reverse so that they come off the list left to right.
    let mut children: Vec<&'e Expr> = Vec::new();
    while let Some(e) = todo.pop() {
        f(e);
        match e {
            Expr::Binary { left, right, .. } => children.extend([&**left, &**right]),
            Expr::Unary { expr, .. }
            | Expr::IsNull { expr, .. }
            | Expr::Cast { expr, .. }
            | Expr::Label { expr, .. }
            | Expr::InSubquery { expr, .. } => children.push(expr),
            Expr::And(items) | Expr::Or(items) | Expr::Tuple(items) => children.extend(items),
            Expr::InList { expr, list, .. } => {
                children.push(expr);
                children.extend(list);
            }
            Expr::Between {
                expr, low, high, ..
            } => children.extend([&**expr, &**low, &**high]),
            Expr::Like { expr, pattern, .. } => children.extend([&**expr, &**pattern]),
            Expr::Function(call) => children.extend(&call.args),
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                children.extend(operand.as_deref());
                for (when, then) in whens {
                    children.extend([when, then]);
                }
                children.extend(else_.as_deref());
            }
            Expr::Over {
                func,
                partition_by,
                order_by,
                ..
            } => {
                children.push(func);
                children.extend(partition_by);
                children.extend(order_by.iter().map(|o| &o.expr));
            }
            _ => continue,
        }
        todo.extend(children.drain(..).rev());
    }
}

/// Adds to `out` the FROM items `e` refers to that are neither in `skip` nor in `out` yet.
pub(crate) fn collect_sources<'e>(e: &'e Expr, skip: &[Key<'_>], out: &mut Vec<Source<'e>>) {
    for_each_node(e, &mut |node| {
        let source = match node {
            Expr::Column(ColumnRef { table: Some(t), .. }) | Expr::Star(Some(t)) => {
                Source::Table(t)
            }
            Expr::DerivedColumn { source, .. } => Source::Derived(source),
            _ => return,
        };
        let key = source.key();
        if !skip.iter().any(|k| key_eq(*k, key)) && !out.iter().any(|s| key_eq(s.key(), key)) {
            out.push(source);
        }
    });
}

/// Adds the keys of every table, subquery and CTE in `item` (both sides of joins, left to
/// right).
pub(crate) fn from_item_keys<'a>(item: &'a FromItem, out: &mut Vec<Key<'a>>) {
    let mut todo = vec![item];
    while let Some(item) = todo.pop() {
        match item {
            FromItem::Table(t) => out.push(table_key(t)),
            FromItem::Subquery { alias, .. } => out.push((None, alias)),
            FromItem::Derived(d) => out.push((None, d.name())),
            FromItem::Join { left, right, .. } => todo.extend([&**right, &**left]),
        }
    }
}

/// Whether `item` holds the FROM item identified by `key`.
pub(crate) fn from_item_has(item: &FromItem, key: Key<'_>) -> bool {
    let mut keys = Vec::new();
    from_item_keys(item, &mut keys);
    keys.into_iter().any(|k| key_eq(k, key))
}

/// The CTEs a statement uses, in an order where each comes after those its query uses.
///
/// It stops descending past [`MAX_DEPTH`] nested queries: the compiler refuses such a
/// statement anyway, before the CTEs would matter.
#[derive(Default)]
pub(crate) struct CteCollector<'q> {
    pub(crate) found: Vec<&'q Cte>,
    defining: Vec<&'q str>,
    depth: usize,
}

impl<'q> CteCollector<'q> {
    pub(crate) fn query(&mut self, q: &'q Query) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        self.query_inner(q);
        self.depth -= 1;
    }

    fn query_inner(&mut self, q: &'q Query) {
        match q {
            Query::Select(core) => self.core(core),
            Query::Compound {
                left,
                right,
                order_by,
                ..
            } => {
                self.query(left);
                self.query(right);
                order_by.iter().for_each(|o| self.expr(&o.expr));
            }
        }
    }

    pub(crate) fn core(&mut self, core: &'q SelectCore) {
        core.ctes.iter().for_each(|c| self.cte(c));
        core.from.iter().for_each(|f| self.visit_from_item(f));
        core.columns.iter().for_each(|e| self.expr(e));
        core.where_.iter().for_each(|e| self.expr(e));
        core.group_by.iter().for_each(|e| self.expr(e));
        core.having.iter().for_each(|e| self.expr(e));
        core.order_by.iter().for_each(|o| self.expr(&o.expr));
    }

    pub(crate) fn visit_from_item(&mut self, item: &'q FromItem) {
        // Left side, right side, then the ON condition; a work list, so joins of any
        // length are safe.
        let mut todo: Vec<Result<&'q FromItem, &'q Expr>> = vec![Ok(item)];
        while let Some(step) = todo.pop() {
            match step {
                Err(on) => self.expr(on),
                Ok(FromItem::Table(_)) => {}
                Ok(FromItem::Subquery { query, .. }) => self.query(query),
                Ok(FromItem::Derived(d)) => self.derived(d),
                Ok(FromItem::Join {
                    left, right, on, ..
                }) => {
                    todo.extend(on.as_ref().map(Err));
                    todo.extend([Ok(&**right), Ok(&**left)]);
                }
            }
        }
    }

    fn derived(&mut self, d: &'q Derived) {
        match d {
            Derived::Subquery { query, .. } => self.query(query),
            Derived::Cte(cte) => self.cte(cte),
        }
    }

    fn cte(&mut self, cte: &'q Cte) {
        let name: &str = &cte.name;
        // A reference from inside its own definition is the recursive one; a second
        // reference elsewhere is the same CTE.
        if self.defining.contains(&name) || self.found.iter().any(|c| *c.name == *name) {
            return;
        }
        self.defining.push(name);
        self.query(&cte.query);
        self.defining.pop();
        self.found.push(cte);
    }

    pub(crate) fn expr(&mut self, e: &'q Expr) {
        for_each_node(e, &mut |node| match node {
            Expr::DerivedColumn { source, .. } => self.derived(source),
            Expr::Subquery(q)
            | Expr::Exists { query: q, .. }
            | Expr::InSubquery { query: q, .. } => self.query(q),
            _ => {}
        });
    }
}
