//! Walking expression trees: the tables an expression refers to (for FROM inference and
//! correlation) and the CTEs a statement uses (for its WITH clause).

use std::sync::Arc;

use super::ast::{ColumnRef, Cte, Derived, Expr, FromItem, Query, SelectCore, TableRef};

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

/// Calls `f` on `e` and every expression inside it, parents first, without entering nested
/// queries (they are scopes of their own).
pub(crate) fn for_each_node<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    f(e);
    match e {
        Expr::Binary { left, right, .. } => {
            for_each_node(left, f);
            for_each_node(right, f);
        }
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::Cast { expr, .. }
        | Expr::Label { expr, .. }
        | Expr::InSubquery { expr, .. } => for_each_node(expr, f),
        Expr::And(items) | Expr::Or(items) | Expr::Tuple(items) => {
            items.iter().for_each(|i| for_each_node(i, f))
        }
        Expr::InList { expr, list, .. } => {
            for_each_node(expr, f);
            list.iter().for_each(|i| for_each_node(i, f));
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            for_each_node(expr, f);
            for_each_node(low, f);
            for_each_node(high, f);
        }
        Expr::Like { expr, pattern, .. } => {
            for_each_node(expr, f);
            for_each_node(pattern, f);
        }
        Expr::Function(call) => call.args.iter().for_each(|a| for_each_node(a, f)),
        Expr::Case {
            operand,
            whens,
            else_,
        } => {
            if let Some(op) = operand {
                for_each_node(op, f);
            }
            for (when, then) in whens {
                for_each_node(when, f);
                for_each_node(then, f);
            }
            if let Some(e) = else_ {
                for_each_node(e, f);
            }
        }
        Expr::Over {
            func,
            partition_by,
            order_by,
        } => {
            for_each_node(func, f);
            partition_by.iter().for_each(|p| for_each_node(p, f));
            order_by.iter().for_each(|o| for_each_node(&o.expr, f));
        }
        _ => {}
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

/// Adds the keys of every table, subquery and CTE in `item` (both sides of joins).
pub(crate) fn from_item_keys<'a>(item: &'a FromItem, out: &mut Vec<Key<'a>>) {
    match item {
        FromItem::Table(t) => out.push(table_key(t)),
        FromItem::Subquery { alias, .. } => out.push((None, alias)),
        FromItem::Derived(d) => out.push((None, d.name())),
        FromItem::Join { left, right, .. } => {
            from_item_keys(left, out);
            from_item_keys(right, out);
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
#[derive(Default)]
pub(crate) struct CteCollector<'q> {
    pub(crate) found: Vec<&'q Cte>,
    defining: Vec<&'q str>,
}

impl<'q> CteCollector<'q> {
    pub(crate) fn query(&mut self, q: &'q Query) {
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
        match item {
            FromItem::Table(_) => {}
            FromItem::Subquery { query, .. } => self.query(query),
            FromItem::Derived(d) => self.derived(d),
            FromItem::Join {
                left, right, on, ..
            } => {
                self.visit_from_item(left);
                self.visit_from_item(right);
                on.iter().for_each(|e| self.expr(e));
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
