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
/// right, without entering nested queries (they are scopes of their own). It recurses only a
/// few levels (so the usual small expression needs no allocation) and keeps a work list below
/// that, so any depth is safe.
pub(crate) fn for_each_node<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    visit(e, f, 0);
}

/// How deep [`for_each_node`] recurses before it keeps a work list.
const RECURSION_LEVELS: usize = 16;

fn visit<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr), depth: usize) {
    f(e);
    if depth < RECURSION_LEVELS {
        for_each_child(e, &mut |child| visit(child, f, depth + 1));
        return;
    }
    let mut todo: Vec<&'e Expr> = Vec::new();
    let mut children: Vec<&'e Expr> = Vec::new();
    for_each_child(e, &mut |child| children.push(child));
    // Children are pushed in reverse so that they come off the list left to right.
    todo.extend(children.drain(..).rev());
    while let Some(e) = todo.pop() {
        f(e);
        for_each_child(e, &mut |child| children.push(child));
        todo.extend(children.drain(..).rev());
    }
}

/// Calls `f` on each expression directly inside `e`, left to right.
fn for_each_child<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    match e {
        Expr::Binary { left, right, .. } => {
            f(left);
            f(right);
        }
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::Cast { expr, .. }
        | Expr::Label { expr, .. }
        | Expr::InSubquery { expr, .. } => f(expr),
        Expr::And(items) | Expr::Or(items) | Expr::Tuple(items) => items.iter().for_each(f),
        Expr::InList { expr, list, .. } => {
            f(expr);
            list.iter().for_each(f);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            f(expr);
            f(low);
            f(high);
        }
        Expr::Like { expr, pattern, .. } => {
            f(expr);
            f(pattern);
        }
        Expr::Function(call) => call.args.iter().for_each(f),
        Expr::Case {
            operand,
            whens,
            else_,
        } => {
            operand.as_deref().into_iter().for_each(&mut *f);
            for (when, then) in whens {
                f(when);
                f(then);
            }
            else_.as_deref().into_iter().for_each(f);
        }
        Expr::Over {
            func,
            partition_by,
            order_by,
            ..
        } => {
            f(func);
            partition_by.iter().for_each(&mut *f);
            order_by.iter().for_each(|o| f(&o.expr));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::func::call;
    use crate::sql::table;

    /// Every node, parents first and children left to right, recursing all the way down.
    fn preorder<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
        out.push(e);
        for_each_child(e, &mut |child| preorder(child, out));
    }

    #[test]
    fn deep_expressions_are_walked_in_the_same_order_past_the_recursion_levels() {
        // Nested on both sides and through lists, well past RECURSION_LEVELS.
        let mut e = table("t0").c("c");
        for i in 1..(3 * RECURSION_LEVELS) {
            let t = table(format!("t{i}"));
            e = match i % 3 {
                0 => t.c("a").add(e),
                1 => call("f", (e, t.c("b"), t.c("c"))),
                _ => e.eq(t.c("d")).and(t.c("e").is_null()),
            };
        }
        let mut expected = Vec::new();
        preorder(&e, &mut expected);
        let mut seen = Vec::new();
        for_each_node(&e, &mut |node| seen.push(node));
        assert_eq!(seen.len(), expected.len());
        assert!(seen
            .iter()
            .zip(&expected)
            .all(|(a, b)| std::ptr::eq(*a, *b)));
    }
}
