//! SELECT statements and compounds of them (UNION, INTERSECT, EXCEPT).
//!
//! ```
//! use retort_core::dialect::postgres::PostgresDialect;
//! use retort_core::sql::{func, select, table, Executable};
//!
//! let users = table("users");
//! let addresses = table("addresses");
//! let q = select((users.c("name"), func::count(addresses.c("id")).label("n")))
//!     .outerjoin(&addresses, users.c("id").eq(addresses.c("user_id")))
//!     .where_(users.c("name").like("a%"))
//!     .group_by(users.c("name"))
//!     .order_by(users.c("name").asc())
//!     .limit(10);
//! let c = q.compile(&PostgresDialect).unwrap();
//! assert_eq!(
//!     c.sql,
//!     r#"SELECT "users"."name", count("addresses"."id") AS "n" FROM "users" LEFT OUTER JOIN "addresses" ON "users"."id" = "addresses"."user_id" WHERE "users"."name" LIKE $1 GROUP BY "users"."name" ORDER BY "users"."name" ASC LIMIT $2"#
//! );
//! ```
//!
//! **FROM inference.** Tables (and subqueries and CTEs) whose columns appear in the result
//! columns, WHERE, GROUP BY, HAVING or ORDER BY but in no FROM item or join are added to the
//! FROM clause, in order of first appearance, after the explicit ones.
//!
//! **Correlation.** A SELECT nested in an expression of another (a scalar subquery, `EXISTS`,
//! `IN`) leaves out of its inferred FROM the tables an enclosing query already has, so it
//! refers to the enclosing row — unless that would leave it with no FROM at all. Control it
//! with [`Select::correlate`], [`Select::correlate_except`] and [`Select::correlate_none`].

use std::sync::Arc;

use super::ast::{
    Correlation, Cte, Expr, Fetch, FromItem, IntoFromItem, JoinKind, LockMode, Query, SelectCore,
    SetOp, Statement,
};
use super::compiler::{Compiled, Executable, SqlCompiler};
use super::expr::{and_into, IntoExpr, IntoExprList, IntoOrderByList};
use super::selectable::{CteRef, IntoTableRef, Subquery};
use super::walk;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::schema::join::{join_condition_from, JoinTable};

/// A SELECT under construction; every method takes and returns it by value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    core: SelectCore,
}

/// `SELECT columns`: one expression, a tuple, an array or a `Vec<Expr>`.
pub fn select(columns: impl IntoExprList) -> Select {
    Select {
        core: SelectCore {
            columns: columns.into_expr_list(),
            ..SelectCore::default()
        },
    }
}

impl Select {
    /// The SELECT as the AST holds it.
    pub fn core(&self) -> &SelectCore {
        &self.core
    }

    /// The SELECT as a query.
    pub fn into_query(self) -> Query {
        Query::Select(Box::new(self.core))
    }

    /// Adds result columns.
    pub fn add_columns(mut self, columns: impl IntoExprList) -> Select {
        self.core.columns.extend(columns.into_expr_list());
        self
    }

    /// Replaces the result columns.
    pub fn with_only_columns(mut self, columns: impl IntoExprList) -> Select {
        self.core.columns = columns.into_expr_list();
        self
    }

    /// Adds a FROM item (a table, alias, subquery, CTE or join). Tables the statement's
    /// columns refer to are added without being named here; name them to fix the order or to
    /// select from a table none of the columns names.
    pub fn from(mut self, item: impl IntoFromItem) -> Select {
        self.core.from.push(item.into_from_item());
        self
    }

    /// Same as [`from`](Select::from), under SQLAlchemy's name.
    pub fn select_from(self, item: impl IntoFromItem) -> Select {
        self.from(item)
    }

    /// Adds a WHERE condition; several are joined with AND.
    pub fn where_(mut self, condition: impl IntoExpr) -> Select {
        and_into(&mut self.core.where_, condition.into_expr());
        self
    }

    /// Same as [`where_`](Select::where_).
    pub fn filter(self, condition: impl IntoExpr) -> Select {
        self.where_(condition)
    }

    /// The left side of a join to `right`: the last FROM item, taken off the list, or (with
    /// none yet) the first table other than `right` that the columns name, else the ON
    /// condition, else the WHERE. `None` when there is nothing to join from.
    fn join_left(&mut self, right: &FromItem, on: Option<&Expr>) -> Option<FromItem> {
        if let Some(last) = self.core.from.pop() {
            return Some(last);
        }
        let mut target_keys = Vec::new();
        walk::from_item_keys(right, &mut target_keys);
        let mut sources = Vec::new();
        for e in self.core.columns.iter().chain(on).chain(&self.core.where_) {
            walk::collect_sources(e, &target_keys, &mut sources);
        }
        sources.first().map(|source| source.to_from_item())
    }

    /// Nothing to join from: the target becomes the FROM, and the join condition a WHERE
    /// condition would be wrong, so the statement reports it when compiled.
    fn no_join_left(mut self, right: FromItem) -> Select {
        self.core.from.push(right);
        let msg = "join(): no table to join from; call .from() first";
        self.where_(Expr::Invalid(msg.into()))
    }

    fn add_join(mut self, target: FromItem, on: Option<Expr>, kind: JoinKind) -> Select {
        let Some(left) = self.join_left(&target, on.as_ref()) else {
            return self.no_join_left(target);
        };
        self.core.from.push(FromItem::Join {
            left: Box::new(left),
            right: Box::new(target),
            kind,
            on,
        });
        self
    }

    fn add_inferred_join(mut self, target: &impl JoinTable, kind: JoinKind) -> Select {
        let right = FromItem::Table(target.join_ref());
        let Some(left) = self.join_left(&right, None) else {
            return self.no_join_left(right);
        };
        let on = join_condition_from(&left, target).unwrap_or_else(|e| {
            let message = match e {
                Error::Argument(message) => message,
                other => other.to_string(),
            };
            Expr::Invalid(message.into())
        });
        self.core.from.push(FromItem::Join {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            on: Some(on),
        });
        self
    }

    /// `JOIN target ON <inferred>`: the ON clause is the one foreign key between `target` (a
    /// [`Table`](crate::schema::Table) or an alias of one) and the left side, found as for
    /// [`join`](Select::join). A left side that is a join is searched right-most table first,
    /// then as a whole; its tables are looked up by name in the MetaData `target` was built
    /// in.
    ///
    /// No foreign key between the two, or more than one, leaves an ON clause that fails to
    /// compile with a message naming both tables (so building never panics).
    ///
    /// ```
    /// use retort_core::dialect::postgres::PostgresDialect;
    /// use retort_core::schema::{Column, MetaData, Table};
    /// use retort_core::sql::{select, Executable};
    /// use retort_core::types::SqlType;
    ///
    /// let metadata = MetaData::new();
    /// let users = Table::new("users", &metadata)
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .column(Column::new("name", SqlType::String(None)))
    ///     .build()?;
    /// let orders = Table::new("orders", &metadata)
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .column(Column::new("user_id", SqlType::Integer).foreign_key("users.id"))
    ///     .build()?;
    /// let q = select((users.c("name"), orders.c("id"))).join_table(&orders);
    /// assert_eq!(
    ///     q.compile(&PostgresDialect)?.sql,
    ///     r#"SELECT "users"."name", "orders"."id" FROM "users" JOIN "orders" ON "users"."id" = "orders"."user_id""#
    /// );
    ///
    /// // users and orders are not related to themselves: an error naming both.
    /// let err = select(users.c("name")).join_table(&users.alias("u2")).compile(&PostgresDialect);
    /// assert!(err.unwrap_err().to_string().contains("between 'users' and 'u2'"));
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn join_table(self, target: &impl JoinTable) -> Select {
        self.add_inferred_join(target, JoinKind::Inner)
    }

    /// `LEFT OUTER JOIN target ON <inferred>`, the ON clause found as for
    /// [`join_table`](Select::join_table).
    pub fn outerjoin_table(self, target: &impl JoinTable) -> Select {
        self.add_inferred_join(target, JoinKind::Left)
    }

    /// `JOIN target ON on`, joined to the last FROM item, or (with none yet) to the first
    /// table other than `target` that the result columns name (else the ON condition, else
    /// the WHERE).
    pub fn join(self, target: impl IntoFromItem, on: impl IntoExpr) -> Select {
        self.add_join(
            target.into_from_item(),
            Some(on.into_expr()),
            JoinKind::Inner,
        )
    }

    /// `LEFT OUTER JOIN target ON on`, found as for [`join`](Select::join).
    pub fn outerjoin(self, target: impl IntoFromItem, on: impl IntoExpr) -> Select {
        self.add_join(
            target.into_from_item(),
            Some(on.into_expr()),
            JoinKind::Left,
        )
    }

    /// Same as [`outerjoin`](Select::outerjoin).
    pub fn left_join(self, target: impl IntoFromItem, on: impl IntoExpr) -> Select {
        self.outerjoin(target, on)
    }

    /// `RIGHT OUTER JOIN target ON on`.
    pub fn right_join(self, target: impl IntoFromItem, on: impl IntoExpr) -> Select {
        self.add_join(
            target.into_from_item(),
            Some(on.into_expr()),
            JoinKind::Right,
        )
    }

    /// `FULL OUTER JOIN target ON on` (a compile error on MySQL, which lacks it).
    pub fn full_join(self, target: impl IntoFromItem, on: impl IntoExpr) -> Select {
        self.add_join(
            target.into_from_item(),
            Some(on.into_expr()),
            JoinKind::Full,
        )
    }

    /// `CROSS JOIN target`.
    pub fn cross_join(self, target: impl IntoFromItem) -> Select {
        self.add_join(target.into_from_item(), None, JoinKind::Cross)
    }

    /// `left JOIN right ON on`: joins to the FROM item holding `left` (adding `left` if no
    /// item holds it).
    pub fn join_from(
        mut self,
        left: impl IntoFromItem,
        right: impl IntoFromItem,
        on: impl IntoExpr,
    ) -> Select {
        let left = left.into_from_item();
        let mut keys = Vec::new();
        walk::from_item_keys(&left, &mut keys);
        let position = keys.first().and_then(|key| {
            self.core
                .from
                .iter()
                .position(|item| walk::from_item_has(item, *key))
        });
        let join_left = match position {
            Some(i) => self.core.from.remove(i),
            None => left.clone(),
        };
        let join = FromItem::Join {
            left: Box::new(join_left),
            right: Box::new(right.into_from_item()),
            kind: JoinKind::Inner,
            on: Some(on.into_expr()),
        };
        match position {
            Some(i) => self.core.from.insert(i, join),
            None => self.core.from.push(join),
        }
        self
    }

    /// Adds GROUP BY expressions.
    pub fn group_by(mut self, exprs: impl IntoExprList) -> Select {
        self.core.group_by.extend(exprs.into_expr_list());
        self
    }

    /// Adds a HAVING condition; several are joined with AND.
    pub fn having(mut self, condition: impl IntoExpr) -> Select {
        and_into(&mut self.core.having, condition.into_expr());
        self
    }

    /// Adds ORDER BY terms: expressions, or [`Expr::asc`] / [`Expr::desc`] terms.
    pub fn order_by(mut self, terms: impl IntoOrderByList) -> Select {
        self.core.order_by.extend(terms.into_order_by_list());
        self
    }

    /// `LIMIT n`; replaces a [`fetch`](Select::fetch).
    pub fn limit(mut self, n: u64) -> Select {
        self.core.limit = Some(n);
        self.core.fetch = None;
        self
    }

    /// `FETCH FIRST n ROWS ONLY`, the SQL standard's LIMIT; replaces a
    /// [`limit`](Select::limit). Written as `LIMIT n` where the database lacks it.
    pub fn fetch(mut self, n: u64) -> Select {
        self.core.fetch = Some(Fetch {
            count: n,
            with_ties: false,
        });
        self.core.limit = None;
        self
    }

    /// `FETCH FIRST n ROWS WITH TIES`: the first `n` rows and every row tied with the last
    /// of them by the ORDER BY (which it needs). PostgreSQL has it; elsewhere it is a compile
    /// error.
    pub fn fetch_with_ties(mut self, n: u64) -> Select {
        self.core.fetch = Some(Fetch {
            count: n,
            with_ties: true,
        });
        self.core.limit = None;
        self
    }

    /// `OFFSET n`.
    pub fn offset(mut self, n: u64) -> Select {
        self.core.offset = Some(n);
        self
    }

    /// `SELECT DISTINCT`.
    pub fn distinct(mut self) -> Select {
        self.core.distinct = true;
        self
    }

    /// `FOR UPDATE`. Left out on SQLite, which has no row locks (a write transaction locks
    /// the whole database), as SQLAlchemy does.
    pub fn for_update(mut self) -> Select {
        self.core.lock = Some(LockMode::Update);
        self
    }

    /// `FOR UPDATE NOWAIT` (left out on SQLite).
    pub fn for_update_nowait(mut self) -> Select {
        self.core.lock = Some(LockMode::UpdateNoWait);
        self
    }

    /// `FOR UPDATE SKIP LOCKED` (left out on SQLite).
    pub fn for_update_skip_locked(mut self) -> Select {
        self.core.lock = Some(LockMode::UpdateSkipLocked);
        self
    }

    /// `FOR SHARE` (`LOCK IN SHARE MODE` on MySQL; left out on SQLite).
    pub fn for_share(mut self) -> Select {
        self.core.lock = Some(LockMode::Share);
        self
    }

    /// Puts a CTE in the WITH clause even if nothing selects from it by its columns (it is
    /// added anyway when its columns are used).
    pub fn add_cte(mut self, cte: &CteRef) -> Select {
        if let Some(def) = cte.definition() {
            self.core.ctes.push(Cte::clone(def));
        }
        self
    }

    /// Same as [`add_cte`](Select::add_cte).
    pub fn with_cte(self, cte: &CteRef) -> Select {
        self.add_cte(cte)
    }

    fn set_correlation(mut self, correlation: Correlation) -> Select {
        self.core.correlation = correlation;
        self
    }

    /// When nested, leaves out only these tables of the enclosing queries' FROM.
    pub fn correlate<T: IntoTableRef>(self, tables: impl IntoIterator<Item = T>) -> Select {
        let tables = tables
            .into_iter()
            .map(IntoTableRef::into_table_ref)
            .collect();
        self.set_correlation(Correlation::Only(tables))
    }

    /// When nested, leaves out every table of the enclosing queries' FROM but these.
    pub fn correlate_except<T: IntoTableRef>(self, tables: impl IntoIterator<Item = T>) -> Select {
        let tables = tables
            .into_iter()
            .map(IntoTableRef::into_table_ref)
            .collect();
        self.set_correlation(Correlation::Except(tables))
    }

    /// When nested, keeps every table it names in its own FROM (SQLAlchemy's
    /// `correlate(None)`).
    pub fn correlate_none(self) -> Select {
        self.set_correlation(Correlation::Never)
    }

    fn compound(self, op: SetOp, other: impl Into<Query>) -> CompoundSelect {
        CompoundSelect::new(op, self.into_query(), other.into())
    }

    /// `self UNION other`.
    pub fn union(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::Union, other)
    }

    /// `self UNION ALL other`.
    pub fn union_all(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::UnionAll, other)
    }

    /// `self INTERSECT other`.
    pub fn intersect(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::Intersect, other)
    }

    /// `self INTERSECT ALL other` (a compile error on SQLite and MySQL).
    pub fn intersect_all(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::IntersectAll, other)
    }

    /// `self EXCEPT other`.
    pub fn except_(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::Except, other)
    }

    /// `self EXCEPT ALL other` (a compile error on SQLite and MySQL).
    pub fn except_all(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::ExceptAll, other)
    }

    /// The SELECT as a FROM item: `(SELECT ...) AS alias`.
    pub fn subquery(self, alias: impl Into<Arc<str>>) -> Subquery {
        Subquery::new(self.into_query(), alias.into())
    }

    /// The SELECT as a CTE named `name`.
    pub fn cte(self, name: impl Into<Arc<str>>) -> CteRef {
        CteRef::new(self.into_query(), name.into(), false)
    }

    /// The SELECT as the anchor of a recursive CTE; add the recursive member with
    /// [`CteRef::union_all`].
    pub fn cte_recursive(self, name: impl Into<Arc<str>>) -> CteRef {
        CteRef::new(self.into_query(), name.into(), true)
    }

    /// The SELECT as a value: `(SELECT ...)`. It should return one column and at most one row.
    pub fn scalar_subquery(self) -> Expr {
        Expr::Subquery(Box::new(self.into_query()))
    }

    /// `EXISTS (SELECT ...)`.
    pub fn exists(self) -> Expr {
        Expr::Exists {
            query: Box::new(self.into_query()),
            negated: false,
        }
    }

    /// The SELECT as a labelled value: `(SELECT ...) AS name`.
    pub fn label(self, name: impl Into<Arc<str>>) -> Expr {
        self.scalar_subquery().label(name)
    }
}

impl From<SelectCore> for Select {
    fn from(core: SelectCore) -> Select {
        Select { core }
    }
}

impl From<Select> for Query {
    fn from(s: Select) -> Query {
        s.into_query()
    }
}

impl From<&Select> for Query {
    fn from(s: &Select) -> Query {
        s.clone().into_query()
    }
}

impl From<Select> for Statement {
    fn from(s: Select) -> Statement {
        Statement::Query(s.into_query())
    }
}

impl Executable for Select {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        SqlCompiler::new(dialect).run(|c| c.select(&self.core))
    }

    fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        Some(c.select(&self.core))
    }
}

/// A UNION, INTERSECT or EXCEPT of queries, with its own ORDER BY, LIMIT and OFFSET.
///
/// Where a member needs grouping (it has its own ORDER BY or LIMIT, or mixes operators) it is
/// parenthesised, except on SQLite, which forbids that and gets `SELECT * FROM (member)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompoundSelect {
    query: Query,
}

impl CompoundSelect {
    fn new(op: SetOp, left: Query, right: Query) -> CompoundSelect {
        CompoundSelect {
            query: Query::Compound {
                op,
                left: Box::new(left),
                right: Box::new(right),
                order_by: Vec::new(),
                limit: None,
                offset: None,
            },
        }
    }

    /// The compound as a query.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The compound as a query.
    pub fn into_query(self) -> Query {
        self.query
    }

    fn compound(self, op: SetOp, other: impl Into<Query>) -> CompoundSelect {
        CompoundSelect::new(op, self.query, other.into())
    }

    /// `self UNION other`.
    pub fn union(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::Union, other)
    }

    /// `self UNION ALL other`.
    pub fn union_all(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::UnionAll, other)
    }

    /// `self INTERSECT other`.
    pub fn intersect(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::Intersect, other)
    }

    /// `self INTERSECT ALL other`.
    pub fn intersect_all(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::IntersectAll, other)
    }

    /// `self EXCEPT other`.
    pub fn except_(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::Except, other)
    }

    /// `self EXCEPT ALL other`.
    pub fn except_all(self, other: impl Into<Query>) -> CompoundSelect {
        self.compound(SetOp::ExceptAll, other)
    }

    fn edit(
        mut self,
        f: impl FnOnce(&mut Vec<super::ast::OrderBy>, &mut Option<u64>, &mut Option<u64>),
    ) -> CompoundSelect {
        if let Query::Compound {
            order_by,
            limit,
            offset,
            ..
        } = &mut self.query
        {
            f(order_by, limit, offset);
        }
        self
    }

    /// Adds ORDER BY terms for the whole compound. Columns are written without their table:
    /// a compound's result is ordered by its column names.
    pub fn order_by(self, terms: impl IntoOrderByList) -> CompoundSelect {
        self.edit(|order_by, _, _| order_by.extend(terms.into_order_by_list()))
    }

    /// `LIMIT n` for the whole compound.
    pub fn limit(self, n: u64) -> CompoundSelect {
        self.edit(|_, limit, _| *limit = Some(n))
    }

    /// `OFFSET n` for the whole compound.
    pub fn offset(self, n: u64) -> CompoundSelect {
        self.edit(|_, _, offset| *offset = Some(n))
    }

    /// The compound as a FROM item: `(... UNION ...) AS alias`.
    pub fn subquery(self, alias: impl Into<Arc<str>>) -> Subquery {
        Subquery::new(self.query, alias.into())
    }

    /// The compound as a CTE named `name`.
    pub fn cte(self, name: impl Into<Arc<str>>) -> CteRef {
        CteRef::new(self.query, name.into(), false)
    }

    /// The compound as a value: `(SELECT ... UNION ...)`.
    pub fn scalar_subquery(self) -> Expr {
        Expr::Subquery(Box::new(self.query))
    }

    /// `EXISTS (SELECT ... UNION ...)`.
    pub fn exists(self) -> Expr {
        Expr::Exists {
            query: Box::new(self.query),
            negated: false,
        }
    }
}

impl From<CompoundSelect> for Query {
    fn from(s: CompoundSelect) -> Query {
        s.query
    }
}

impl From<&CompoundSelect> for Query {
    fn from(s: &CompoundSelect) -> Query {
        s.query.clone()
    }
}

impl From<CompoundSelect> for Statement {
    fn from(s: CompoundSelect) -> Statement {
        Statement::Query(s.query)
    }
}

impl From<Query> for Statement {
    fn from(q: Query) -> Statement {
        Statement::Query(q)
    }
}

impl Executable for CompoundSelect {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        self.query.compile(dialect)
    }

    fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        self.query.compile_into(c)
    }
}
