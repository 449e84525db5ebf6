//! What a query selects from: lightweight tables, subqueries and CTEs.
//!
//! ```
//! use retort_core::dialect::sqlite::SqliteDialect;
//! use retort_core::sql::{func, select, table, Executable};
//!
//! let orders = table("orders");
//! let totals = select((orders.c("customer_id"), func::sum(orders.c("amount")).label("total")))
//!     .group_by(orders.c("customer_id"))
//!     .subquery("totals");
//! // The subquery's columns bring it into FROM.
//! let q = select(totals.c("customer_id")).where_(totals.c("total").gt(100));
//! assert_eq!(
//!     q.compile(&SqliteDialect).unwrap().sql,
//!     r#"SELECT "totals"."customer_id" FROM (SELECT "orders"."customer_id", sum("orders"."amount") AS "total" FROM "orders" GROUP BY "orders"."customer_id") AS "totals" WHERE "totals"."total" > ?"#
//! );
//! ```

use std::sync::Arc;

use super::ast::{ColumnRef, Cte, Derived, Expr, FromItem, IntoFromItem, Query, SetOp, TableRef};
use super::expr::{first_select, result_name};

/// A table named by statements, without a schema definition: SQLAlchemy's `table()`. Columns
/// are taken on trust by name; for checked columns and DDL use the schema module's `Table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableClause {
    table: TableRef,
}

/// A lightweight table named `name`; see [`TableClause`].
pub fn table(name: impl Into<Arc<str>>) -> TableClause {
    TableClause {
        table: TableRef::new(name),
    }
}

impl TableClause {
    /// The table in schema `schema` (a database on MySQL).
    pub fn schema(mut self, schema: impl Into<Arc<str>>) -> TableClause {
        self.table.schema = Some(schema.into());
        self
    }

    /// The table under an alias, for self-joins: `FROM users AS u`. Its columns are qualified
    /// by the alias.
    pub fn alias(&self, alias: impl Into<Arc<str>>) -> TableClause {
        let mut table = self.table.clone();
        table.alias = Some(alias.into());
        TableClause { table }
    }

    /// The column `name` of this table (or alias).
    pub fn c(&self, name: impl Into<Arc<str>>) -> Expr {
        Expr::Column(ColumnRef {
            table: Some(self.table.clone()),
            name: name.into(),
            sql_type: None,
        })
    }

    /// All of its columns: `"users".*`.
    pub fn star(&self) -> Expr {
        Expr::Star(Some(self.table.clone()))
    }

    /// The table as FROM items and columns refer to it.
    pub fn table_ref(&self) -> &TableRef {
        &self.table
    }
}

impl IntoFromItem for TableClause {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self.table)
    }
}

impl IntoFromItem for &TableClause {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self.table.clone())
    }
}

/// The target table of an INSERT, UPDATE or DELETE.
pub trait IntoTableRef {
    /// The table.
    fn into_table_ref(self) -> TableRef;
}

impl IntoTableRef for TableRef {
    fn into_table_ref(self) -> TableRef {
        self
    }
}

impl IntoTableRef for &TableRef {
    fn into_table_ref(self) -> TableRef {
        self.clone()
    }
}

impl IntoTableRef for TableClause {
    fn into_table_ref(self) -> TableRef {
        self.table
    }
}

impl IntoTableRef for &TableClause {
    fn into_table_ref(self) -> TableRef {
        self.table.clone()
    }
}

/// The column `name` of a subquery or CTE, or an invalid expression when the source's result
/// columns are all known and none is called `name`.
fn derived_column(source: &Arc<Derived>, name: Arc<str>) -> Expr {
    let known = match &**source {
        Derived::Cte(cte) if !cte.columns.is_empty() => cte.columns.contains(&name),
        other => first_select(other.query()).map_or(true, |core| {
            // Unnamed columns (`*`, literal SQL, unlabelled expressions) get names only the
            // database knows, so any name is taken on trust then.
            let opaque = core.columns.iter().any(|c| result_name(c).is_none());
            opaque || core.columns.iter().any(|c| result_name(c) == Some(&name))
        }),
    };
    if known {
        Expr::DerivedColumn {
            source: source.clone(),
            name,
        }
    } else {
        Expr::Invalid(format!("\"{}\" has no column named \"{name}\"", source.name()).into())
    }
}

/// A SELECT used as a named FROM item: `(SELECT ...) AS alias`. Made by
/// [`Select::subquery`](super::select::Select::subquery).
#[derive(Debug, Clone, PartialEq)]
pub struct Subquery {
    source: Arc<Derived>,
}

impl Subquery {
    pub(crate) fn new(query: Query, alias: Arc<str>) -> Subquery {
        Subquery {
            source: Arc::new(Derived::Subquery {
                query: Box::new(query),
                alias,
            }),
        }
    }

    /// The column `name` of the subquery, qualified by its alias. Selecting it brings the
    /// subquery into the FROM clause. A name the subquery does not return gives an
    /// [`Expr::Invalid`] (unless its columns include `*` or literal SQL).
    pub fn c(&self, name: impl Into<Arc<str>>) -> Expr {
        derived_column(&self.source, name.into())
    }

    /// The alias.
    pub fn name(&self) -> &str {
        self.source.name()
    }

    /// The subquery as the AST refers to it.
    pub fn derived(&self) -> &Arc<Derived> {
        &self.source
    }
}

impl IntoFromItem for Subquery {
    fn into_from_item(self) -> FromItem {
        FromItem::Derived(self.source)
    }
}

impl IntoFromItem for &Subquery {
    fn into_from_item(self) -> FromItem {
        FromItem::Derived(self.source.clone())
    }
}

/// A common table expression: `WITH name AS (query)`. Made by
/// [`Select::cte`](super::select::Select::cte). Selecting its columns (or using it as a FROM
/// item) puts it in the WITH clause of the statement.
///
/// A recursive CTE is built in two steps, as in SQLAlchemy:
///
/// ```
/// use retort_core::dialect::postgres::PostgresDialect;
/// use retort_core::sql::{literal, select, Executable};
///
/// let base = select(literal(1).label("n")).cte_recursive("t");
/// let t = base.union_all(select(base.c("n") + 1).where_(base.c("n").lt(5)));
/// let q = select(t.c("n"));
/// assert_eq!(
///     q.compile(&PostgresDialect).unwrap().sql,
///     r#"WITH RECURSIVE "t" AS (SELECT $1::INTEGER AS "n" UNION ALL SELECT "t"."n" + $2 FROM "t" WHERE "t"."n" < $3) SELECT "t"."n" FROM "t""#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CteRef {
    source: Arc<Derived>,
}

impl CteRef {
    pub(crate) fn new(query: Query, name: Arc<str>, recursive: bool) -> CteRef {
        CteRef {
            source: Arc::new(Derived::Cte(Cte {
                name,
                columns: Vec::new(),
                query: Box::new(query),
                recursive,
            })),
        }
    }

    fn rebuild(&self, f: impl FnOnce(&mut Cte)) -> CteRef {
        let mut source = (*self.source).clone();
        if let Derived::Cte(cte) = &mut source {
            f(cte);
        }
        CteRef {
            source: Arc::new(source),
        }
    }

    /// The column `name` of the CTE, qualified by its name. A name the CTE does not return
    /// gives an [`Expr::Invalid`] (unless its columns include `*` or literal SQL).
    pub fn c(&self, name: impl Into<Arc<str>>) -> Expr {
        derived_column(&self.source, name.into())
    }

    /// The CTE's name.
    pub fn name(&self) -> &str {
        self.source.name()
    }

    /// The same CTE marked recursive: the statement gets `WITH RECURSIVE`.
    pub fn recursive(&self) -> CteRef {
        self.rebuild(|cte| cte.recursive = true)
    }

    /// The same CTE with a column list: `WITH name(a, b) AS (...)`.
    pub fn with_columns<S: Into<Arc<str>>>(&self, names: impl IntoIterator<Item = S>) -> CteRef {
        self.rebuild(|cte| cte.columns = names.into_iter().map(Into::into).collect())
    }

    fn combine(&self, op: SetOp, other: Query) -> CteRef {
        self.rebuild(|cte| {
            let anchor = std::mem::replace(&mut *cte.query, Query::Select(Box::default()));
            *cte.query = Query::Compound {
                op,
                left: Box::new(anchor),
                right: Box::new(other),
                order_by: Vec::new(),
                limit: None,
                offset: None,
            };
        })
    }

    /// The CTE's query `UNION ALL other`, keeping its name: how the recursive member of a
    /// recursive CTE is added. `other` may select from this CTE.
    pub fn union_all(&self, other: impl Into<Query>) -> CteRef {
        self.combine(SetOp::UnionAll, other.into())
    }

    /// The CTE's query `UNION other`, keeping its name.
    pub fn union(&self, other: impl Into<Query>) -> CteRef {
        self.combine(SetOp::Union, other.into())
    }

    /// The CTE definition.
    pub fn definition(&self) -> Option<&Cte> {
        match &*self.source {
            Derived::Cte(cte) => Some(cte),
            Derived::Subquery { .. } => None,
        }
    }

    /// The CTE as the AST refers to it.
    pub fn derived(&self) -> &Arc<Derived> {
        &self.source
    }
}

impl IntoFromItem for CteRef {
    fn into_from_item(self) -> FromItem {
        FromItem::Derived(self.source)
    }
}

impl IntoFromItem for &CteRef {
    fn into_from_item(self) -> FromItem {
        FromItem::Derived(self.source.clone())
    }
}
