//! The expression tree: what every statement is built from and what the compiler visits.
//!
//! The tree is plain data. Builders (in the sibling modules) make it pleasant to write; the
//! [`compiler`](super::compiler) turns it into SQL text and bind parameters for one dialect.
//! Nothing here knows which database it will run on.

use std::sync::Arc;

use crate::types::SqlType;
use crate::value::Value;

/// A table (or an alias of one, or a named subquery or CTE) as a FROM item names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableRef {
    /// The table's name (or the CTE's name).
    pub name: Arc<str>,
    /// The schema the table lives in, if not the default one.
    pub schema: Option<Arc<str>>,
    /// The alias it is referred to by, if any.
    pub alias: Option<Arc<str>>,
}

impl TableRef {
    /// A reference to the table `name` in the default schema.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        TableRef {
            name: name.into(),
            schema: None,
            alias: None,
        }
    }

    /// The name columns are qualified with: the alias if there is one, else the table name.
    pub fn qualifier(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// A column, qualified by the FROM item it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRef {
    /// The table, alias, subquery or CTE the column comes from; `None` for an unqualified name.
    pub table: Option<TableRef>,
    /// The column's name.
    pub name: Arc<str>,
    /// The column's type, where known (used to type results and casts).
    pub sql_type: Option<SqlType>,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `=`
    Eq,
    /// `<>` (or `!=`)
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// String concatenation (`||` or `CONCAT()`, by dialect).
    Concat,
    /// `IS DISTINCT FROM` / `IS NOT` / `NOT <=>`, by dialect.
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM` / `IS` / `<=>`, by dialect.
    IsNotDistinctFrom,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `NOT`
    Not,
    /// arithmetic negation
    Neg,
}

/// A scalar or boolean expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// A column.
    Column(ColumnRef),
    /// A bound parameter: always sent through the driver, never inlined.
    Param(Value),
    /// A named parameter whose value is given each time the statement runs
    /// ([`bindparam`](super::expr::bindparam)), SQLAlchemy's `bindparam()`.
    Bind(Arc<str>),
    /// A literal SQL NULL.
    Null,
    /// `*` or `table.*`.
    Star(Option<TableRef>),
    /// `left op right`. A NULL operand of `=` / `<>` compiles to `IS [NOT] NULL`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `NOT expr` or `-expr`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// All of the conditions (`TRUE` when empty).
    And(Vec<Expr>),
    /// Any of the conditions (`FALSE` when empty).
    Or(Vec<Expr>),
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `IS NOT NULL` when true.
        negated: bool,
    },
    /// `expr [NOT] IN (list)`; an empty list is always false (always true when negated).
    InList {
        /// The operand.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN` when true.
        negated: bool,
    },
    /// `expr [NOT] IN (subquery)`.
    InSubquery {
        /// The operand.
        expr: Box<Expr>,
        /// The subquery.
        query: Box<Query>,
        /// `NOT IN` when true.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// The operand.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN` when true.
        negated: bool,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE c]`; `case_insensitive` is ILIKE (emulated with
    /// `lower()` where the database lacks it).
    Like {
        /// The operand.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// ILIKE when true.
        case_insensitive: bool,
        /// `NOT LIKE` when true.
        negated: bool,
        /// The escape character, if any.
        escape: Option<char>,
    },
    /// A function call: `name(args)`, `name(DISTINCT args)`.
    Function(FunctionCall),
    /// `CAST(expr AS type)`.
    Cast {
        /// The operand.
        expr: Box<Expr>,
        /// The target type.
        sql_type: SqlType,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case {
        /// The value compared against each WHEN, for the simple form.
        operand: Option<Box<Expr>>,
        /// The WHEN / THEN pairs.
        whens: Vec<(Expr, Expr)>,
        /// The ELSE branch.
        else_: Option<Box<Expr>>,
    },
    /// A subquery used as a scalar value.
    Subquery(Box<Query>),
    /// `[NOT] EXISTS (subquery)`.
    Exists {
        /// The subquery.
        query: Box<Query>,
        /// `NOT EXISTS` when true.
        negated: bool,
    },
    /// A window function: `func OVER (PARTITION BY .. ORDER BY .. [frame])`.
    Over {
        /// The function.
        func: Box<Expr>,
        /// PARTITION BY expressions.
        partition_by: Vec<Expr>,
        /// ORDER BY terms.
        order_by: Vec<OrderBy>,
        /// The frame (`ROWS` / `RANGE BETWEEN .. AND ..`); the database's default without.
        frame: Option<WindowFrame>,
    },
    /// `expr AS label`; the label applies where the expression is a result column.
    Label {
        /// The expression.
        expr: Box<Expr>,
        /// The label.
        label: Arc<str>,
    },
    /// A parenthesised list `(a, b, c)`, as in a tuple comparison.
    Tuple(Vec<Expr>),
    /// Literal SQL with named `:name` parameters, as `text()` gives.
    Text(TextClause),
    /// In an upsert's update values: the value the conflicting row would have inserted
    /// (`excluded.col` / `VALUES(col)`).
    Excluded(Arc<str>),
    /// An expression that could not be built (an unknown column name, say). Compiling it
    /// reports the message as an error, so builders never panic.
    Invalid(Arc<str>),
    /// A column of a named subquery or CTE. It carries its source, so a SELECT naming it gets
    /// the subquery in its FROM (and the CTE in its WITH) without being told.
    DerivedColumn {
        /// The subquery or CTE.
        source: Arc<Derived>,
        /// The column's name in it.
        name: Arc<str>,
    },
}

/// What a window frame counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameUnits {
    /// `ROWS`: physical rows before and after the current one.
    Rows,
    /// `RANGE`: rows whose ORDER BY value lies within an offset of the current row's (peers
    /// of the current row count as one).
    Range,
}

/// One end of a window frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`: the partition's first row.
    UnboundedPreceding,
    /// `n PRECEDING`.
    Preceding(u64),
    /// `CURRENT ROW`.
    CurrentRow,
    /// `n FOLLOWING`.
    Following(u64),
    /// `UNBOUNDED FOLLOWING`: the partition's last row.
    UnboundedFollowing,
}

/// A window frame: `ROWS BETWEEN start AND end` or `RANGE BETWEEN start AND end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowFrame {
    /// What the bounds count.
    pub units: FrameUnits,
    /// Where the frame starts.
    pub start: FrameBound,
    /// Where the frame ends.
    pub end: FrameBound,
}

/// `FETCH FIRST n ROWS ONLY` / `WITH TIES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fetch {
    /// How many rows.
    pub count: u64,
    /// Whether rows tied with the last one (by the ORDER BY) come too.
    pub with_ties: bool,
}

/// A named subquery or CTE, as columns selected from it refer to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Derived {
    /// `(query) AS alias` in a FROM clause.
    Subquery {
        /// The query.
        query: Box<Query>,
        /// Its alias.
        alias: Arc<str>,
    },
    /// A common table expression: named in FROM, defined in the statement's WITH clause.
    Cte(Cte),
}

impl Derived {
    /// The name columns are qualified with: the alias or the CTE's name.
    pub fn name(&self) -> &Arc<str> {
        match self {
            Derived::Subquery { alias, .. } => alias,
            Derived::Cte(cte) => &cte.name,
        }
    }

    /// The query behind it.
    pub fn query(&self) -> &Query {
        match self {
            Derived::Subquery { query, .. } => query,
            Derived::Cte(cte) => &cte.query,
        }
    }
}

/// A function call.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCall {
    /// The function's name, as written.
    pub name: Arc<str>,
    /// The arguments.
    pub args: Vec<Expr>,
    /// `name(DISTINCT ...)` when true.
    pub distinct: bool,
    /// The type of the result, where known.
    pub sql_type: Option<SqlType>,
}

/// Literal SQL with named bind parameters: `text("SELECT * FROM t WHERE id = :id")`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextClause {
    /// The SQL, with `:name` placeholders. `\:` writes a literal colon.
    pub sql: Arc<str>,
    /// The values bound to the named placeholders.
    pub binds: Vec<(Arc<str>, Value)>,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// Where NULLs sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nulls {
    /// NULLs before other values.
    First,
    /// NULLs after other values.
    Last,
}

/// One ORDER BY term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// What to sort by.
    pub expr: Expr,
    /// The direction; `None` leaves the database's default (ascending).
    pub direction: Option<Direction>,
    /// Where NULLs go; `None` leaves the database's default.
    pub nulls: Option<Nulls>,
}

/// Kinds of join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKind {
    /// `INNER JOIN`
    Inner,
    /// `LEFT OUTER JOIN`
    Left,
    /// `RIGHT OUTER JOIN`
    Right,
    /// `FULL OUTER JOIN`
    Full,
    /// `CROSS JOIN`
    Cross,
}

/// An item of a FROM clause.
#[derive(Debug, Clone, PartialEq)]
pub enum FromItem {
    /// A table or CTE, possibly aliased.
    Table(TableRef),
    /// A subquery with its alias.
    Subquery {
        /// The subquery.
        query: Box<Query>,
        /// Its alias.
        alias: Arc<str>,
    },
    /// A join of two FROM items.
    Join {
        /// Left side.
        left: Box<FromItem>,
        /// Right side.
        right: Box<FromItem>,
        /// The kind of join.
        kind: JoinKind,
        /// The ON condition (none for a cross join).
        on: Option<Expr>,
    },
    /// A named subquery or CTE whose columns may also be selected as
    /// [`Expr::DerivedColumn`].
    Derived(Arc<Derived>),
}

/// Row locking for SELECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockMode {
    /// `FOR UPDATE`
    Update,
    /// `FOR UPDATE NOWAIT`
    UpdateNoWait,
    /// `FOR UPDATE SKIP LOCKED`
    UpdateSkipLocked,
    /// `FOR SHARE` (`LOCK IN SHARE MODE` on MySQL)
    Share,
}

/// A common table expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    /// The name the query refers to it by.
    pub name: Arc<str>,
    /// Optional column names: `name(a, b)`.
    pub columns: Vec<Arc<str>>,
    /// The query.
    pub query: Box<Query>,
    /// Whether the CTE refers to itself (`WITH RECURSIVE`).
    pub recursive: bool,
}

/// A SELECT.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectCore {
    /// The CTEs of the WITH clause.
    pub ctes: Vec<Cte>,
    /// `SELECT DISTINCT` when true.
    pub distinct: bool,
    /// The result columns.
    pub columns: Vec<Expr>,
    /// The FROM clause. Tables named by columns but missing here are added when compiled.
    pub from: Vec<FromItem>,
    /// The WHERE condition.
    pub where_: Option<Expr>,
    /// GROUP BY expressions.
    pub group_by: Vec<Expr>,
    /// The HAVING condition.
    pub having: Option<Expr>,
    /// ORDER BY terms.
    pub order_by: Vec<OrderBy>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// OFFSET.
    pub offset: Option<u64>,
    /// `FETCH FIRST n ROWS` (instead of LIMIT).
    pub fetch: Option<Fetch>,
    /// Row locking.
    pub lock: Option<LockMode>,
    /// Which tables of enclosing queries this SELECT correlates to, when nested.
    pub correlation: Correlation,
}

impl SelectCore {
    /// The expressions of its own clauses (columns, WHERE, GROUP BY, HAVING, ORDER BY), not
    /// those inside its FROM items.
    pub(crate) fn clause_exprs(&self) -> impl Iterator<Item = &Expr> {
        self.columns
            .iter()
            .chain(&self.where_)
            .chain(&self.group_by)
            .chain(&self.having)
            .chain(self.order_by.iter().map(|o| &o.expr))
    }
}

/// How a nested SELECT treats tables that an enclosing query already has in its FROM.
///
/// Only tables *inferred* from the SELECT's expressions are subject to correlation; FROM items
/// given explicitly are always rendered.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Correlation {
    /// Omit every inferred table an enclosing query provides, unless that would leave the
    /// SELECT with no FROM at all (SQLAlchemy's auto-correlation).
    #[default]
    Auto,
    /// Never omit a table.
    Never,
    /// Omit only these tables, when an enclosing query provides them.
    Only(Vec<TableRef>),
    /// Omit every table an enclosing query provides except these.
    Except(Vec<TableRef>),
}

/// Set operations combining two queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `UNION`
    Union,
    /// `UNION ALL`
    UnionAll,
    /// `INTERSECT`
    Intersect,
    /// `INTERSECT ALL`
    IntersectAll,
    /// `EXCEPT`
    Except,
    /// `EXCEPT ALL`
    ExceptAll,
}

/// A query: a SELECT or a compound of queries.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A single SELECT.
    Select(Box<SelectCore>),
    /// `left op right`, with the compound's own ordering and limits.
    Compound {
        /// The set operation.
        op: SetOp,
        /// Left query.
        left: Box<Query>,
        /// Right query.
        right: Box<Query>,
        /// ORDER BY of the whole compound.
        order_by: Vec<OrderBy>,
        /// LIMIT of the whole compound.
        limit: Option<u64>,
        /// OFFSET of the whole compound.
        offset: Option<u64>,
    },
}

/// Where an INSERT's rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertSource {
    /// One or more rows of values (one multi-row VALUES clause).
    Values(Vec<Vec<Expr>>),
    /// The rows of a query.
    Query(Box<Query>),
    /// `DEFAULT VALUES`: every column takes its default.
    DefaultValues,
}

/// What an upsert does on a conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum OnConflict {
    /// `ON CONFLICT (target) DO NOTHING` / `INSERT IGNORE`-like behaviour.
    DoNothing {
        /// The conflict target columns (needed by PostgreSQL and SQLite for DO UPDATE; optional
        /// for DO NOTHING).
        target: Vec<Arc<str>>,
    },
    /// `ON CONFLICT (target) DO UPDATE SET ...` / `ON DUPLICATE KEY UPDATE ...`.
    DoUpdate {
        /// The conflict target columns (ignored on MySQL, which uses every unique key).
        target: Vec<Arc<str>>,
        /// The assignments; use [`Expr::Excluded`] for the proposed value.
        set: Vec<(Arc<str>, Expr)>,
        /// An optional WHERE on the update (PostgreSQL and SQLite only).
        where_: Option<Expr>,
    },
}

/// An INSERT.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertStatement {
    /// The target table.
    pub table: TableRef,
    /// The columns given values.
    pub columns: Vec<Arc<str>>,
    /// The rows.
    pub source: InsertSource,
    /// Upsert behaviour.
    pub on_conflict: Option<OnConflict>,
    /// RETURNING expressions.
    pub returning: Vec<Expr>,
}

/// An UPDATE.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStatement {
    /// The target table.
    pub table: TableRef,
    /// The assignments.
    pub set: Vec<(Arc<str>, Expr)>,
    /// The WHERE condition.
    pub where_: Option<Expr>,
    /// RETURNING expressions.
    pub returning: Vec<Expr>,
}

/// A DELETE.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteStatement {
    /// The target table.
    pub table: TableRef,
    /// The WHERE condition.
    pub where_: Option<Expr>,
    /// RETURNING expressions.
    pub returning: Vec<Expr>,
}

/// Any statement the compiler can render.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Statement {
    /// A query.
    Query(Query),
    /// An INSERT.
    Insert(InsertStatement),
    /// An UPDATE.
    Update(UpdateStatement),
    /// A DELETE.
    Delete(DeleteStatement),
    /// Literal SQL.
    Text(TextClause),
}

/// Anything that can stand in a FROM clause or be joined: tables, aliases, subqueries, CTEs.
pub trait IntoFromItem {
    /// The FROM item.
    fn into_from_item(self) -> FromItem;
}

impl IntoFromItem for FromItem {
    fn into_from_item(self) -> FromItem {
        self
    }
}

impl IntoFromItem for TableRef {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self)
    }
}

impl IntoFromItem for &TableRef {
    fn into_from_item(self) -> FromItem {
        FromItem::Table(self.clone())
    }
}

// ---------------------------------------------------------------- taking trees apart

/// A piece of a tree waiting to be taken apart by [`dismantle`].
enum Part {
    Expr(Expr),
    Query(Query),
    From(FromItem),
}

/// An empty query, left behind where a subquery was moved out of its box.
fn placeholder_query() -> Query {
    Query::Select(Box::default())
}

impl Expr {
    /// Whether the expression holds no other expression or query (directly; a derived
    /// column's shared source takes itself apart when its last user goes).
    fn is_leaf(&self) -> bool {
        matches!(
            self,
            Expr::Column(_)
                | Expr::Param(_)
                | Expr::Bind(_)
                | Expr::Null
                | Expr::Star(_)
                | Expr::Text(_)
                | Expr::Excluded(_)
                | Expr::Invalid(_)
        )
    }

    /// Moves the expression's non-leaf children (and subqueries) into `parts`, leaving it
    /// shallow.
    fn take_children(&mut self, parts: &mut Vec<Part>) {
        fn boxed(e: &mut Expr, parts: &mut Vec<Part>) {
            if !e.is_leaf() {
                parts.push(Part::Expr(std::mem::replace(e, Expr::Null)));
            }
        }
        fn list(items: &mut Vec<Expr>, parts: &mut Vec<Part>) {
            parts.extend(
                std::mem::take(items)
                    .into_iter()
                    .filter(|e| !e.is_leaf())
                    .map(Part::Expr),
            );
        }
        fn query(q: &mut Query, parts: &mut Vec<Part>) {
            parts.push(Part::Query(std::mem::replace(q, placeholder_query())));
        }
        match self {
            Expr::Binary { left, right, .. } => {
                boxed(left, parts);
                boxed(right, parts);
            }
            Expr::Unary { expr, .. }
            | Expr::IsNull { expr, .. }
            | Expr::Cast { expr, .. }
            | Expr::Label { expr, .. } => boxed(expr, parts),
            Expr::And(items) | Expr::Or(items) | Expr::Tuple(items) => list(items, parts),
            Expr::InList { expr, list: l, .. } => {
                boxed(expr, parts);
                list(l, parts);
            }
            Expr::InSubquery { expr, query: q, .. } => {
                boxed(expr, parts);
                query(q, parts);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                boxed(expr, parts);
                boxed(low, parts);
                boxed(high, parts);
            }
            Expr::Like { expr, pattern, .. } => {
                boxed(expr, parts);
                boxed(pattern, parts);
            }
            Expr::Function(call) => list(&mut call.args, parts),
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                for e in operand.iter_mut().chain(else_.iter_mut()) {
                    boxed(e, parts);
                }
                for (when, then) in std::mem::take(whens) {
                    parts.push(Part::Expr(when));
                    parts.push(Part::Expr(then));
                }
            }
            Expr::Subquery(q) | Expr::Exists { query: q, .. } => query(q, parts),
            Expr::Over {
                func,
                partition_by,
                order_by,
                ..
            } => {
                boxed(func, parts);
                list(partition_by, parts);
                parts.extend(
                    std::mem::take(order_by)
                        .into_iter()
                        .map(|o| Part::Expr(o.expr)),
                );
            }
            Expr::DerivedColumn { source, .. } => {
                if let Some(d) = Arc::get_mut(source) {
                    d.take_query(parts);
                }
            }
            Expr::Column(_)
            | Expr::Param(_)
            | Expr::Bind(_)
            | Expr::Null
            | Expr::Star(_)
            | Expr::Text(_)
            | Expr::Excluded(_)
            | Expr::Invalid(_) => {}
        }
    }
}

impl Derived {
    fn take_query(&mut self, parts: &mut Vec<Part>) {
        let q = match self {
            Derived::Subquery { query, .. } => query,
            Derived::Cte(cte) => &mut cte.query,
        };
        parts.push(Part::Query(std::mem::replace(q, placeholder_query())));
    }
}

impl Query {
    /// Moves the query's expressions, FROM items and member queries into `parts`.
    fn take_children(&mut self, parts: &mut Vec<Part>) {
        match self {
            Query::Select(core) => {
                let core = &mut **core;
                for cte in std::mem::take(&mut core.ctes) {
                    parts.push(Part::Query(*cte.query));
                }
                parts.extend(std::mem::take(&mut core.from).into_iter().map(Part::From));
                let exprs = std::mem::take(&mut core.columns)
                    .into_iter()
                    .chain(core.where_.take())
                    .chain(std::mem::take(&mut core.group_by))
                    .chain(core.having.take())
                    .chain(
                        std::mem::take(&mut core.order_by)
                            .into_iter()
                            .map(|o| o.expr),
                    );
                parts.extend(exprs.filter(|e| !e.is_leaf()).map(Part::Expr));
            }
            Query::Compound {
                left,
                right,
                order_by,
                ..
            } => {
                for q in [left, right] {
                    if !q.is_shallow() {
                        parts.push(Part::Query(std::mem::replace(q, placeholder_query())));
                    }
                }
                parts.extend(
                    std::mem::take(order_by)
                        .into_iter()
                        .map(|o| Part::Expr(o.expr)),
                );
            }
        }
    }

    /// A SELECT of leaf expressions from plain tables: dropping it cannot recurse deeply.
    fn is_shallow(&self) -> bool {
        match self {
            Query::Select(core) => {
                core.ctes.is_empty()
                    && core.from.iter().all(|f| matches!(f, FromItem::Table(_)))
                    && core.clause_exprs().all(Expr::is_leaf)
            }
            Query::Compound { .. } => false,
        }
    }
}

/// Takes `parts` apart with a work list instead of recursion, so that dropping a tree
/// thousands of levels deep cannot overflow the stack.
fn dismantle(mut parts: Vec<Part>) {
    while let Some(part) = parts.pop() {
        match part {
            Part::Expr(mut e) => e.take_children(&mut parts),
            Part::Query(mut q) => q.take_children(&mut parts),
            Part::From(item) => match item {
                FromItem::Table(_) => {}
                FromItem::Subquery { query, .. } => parts.push(Part::Query(*query)),
                FromItem::Join {
                    left, right, on, ..
                } => {
                    parts.push(Part::From(*left));
                    parts.push(Part::From(*right));
                    parts.extend(on.map(Part::Expr));
                }
                FromItem::Derived(mut d) => {
                    if let Some(d) = Arc::get_mut(&mut d) {
                        d.take_query(&mut parts);
                    }
                }
            },
        }
    }
}

/// Expressions are taken apart iteratively: a chain like `x + 1 + 1 + ...` a hundred
/// thousand levels deep would otherwise overflow the stack when dropped.
impl Drop for Expr {
    fn drop(&mut self) {
        if self.is_leaf() {
            return;
        }
        let mut parts = Vec::new();
        self.take_children(&mut parts);
        dismantle(parts);
    }
}

/// Queries are taken apart iteratively, as expressions are: a long chain of UNIONs or of
/// nested subqueries would otherwise overflow the stack when dropped.
impl Drop for Query {
    fn drop(&mut self) {
        if self.is_shallow() {
            return;
        }
        let mut parts = Vec::new();
        self.take_children(&mut parts);
        dismantle(parts);
    }
}
