//! Building expressions: conversions into [`Expr`], the comparison and arithmetic methods,
//! boolean combinators, ordering, labels, casts, `CASE` and window clauses.
//!
//! ```
//! use retort_core::sql::{and_, table, Expr};
//!
//! let users = table("users");
//! let cond: Expr = and_([
//!     users.c("age").ge(18),
//!     users.c("name").like("A%") | users.c("name").is_null(),
//! ]);
//! # let _ = cond;
//! ```

use std::ops;
use std::sync::Arc;

use super::ast::{
    BinaryOp, ColumnRef, Direction, Expr, FrameBound, FrameUnits, FunctionCall, Nulls, OrderBy,
    Query, TextClause, UnaryOp, WindowFrame,
};
use crate::types::SqlType;
use crate::value::{ToValue, Value};

/// Anything usable as an expression: an [`Expr`], or any value (which becomes a bound
/// parameter).
pub trait IntoExpr {
    /// The expression.
    fn into_expr(self) -> Expr;
}

impl IntoExpr for Expr {
    fn into_expr(self) -> Expr {
        self
    }
}

impl IntoExpr for &Expr {
    fn into_expr(self) -> Expr {
        self.clone()
    }
}

/// Values are bound as parameters, never written into the SQL text.
impl<T: ToValue> IntoExpr for T {
    fn into_expr(self) -> Expr {
        Expr::Param(self.to_value())
    }
}

impl IntoExpr for TextClause {
    fn into_expr(self) -> Expr {
        Expr::Text(self)
    }
}

/// A list of expressions: a single expression or value, a tuple (up to 12), an array, a
/// `Vec<Expr>`, or `()` for none. Result columns, GROUP BY, function arguments take one.
pub trait IntoExprList {
    /// The expressions, in order.
    fn into_expr_list(self) -> Vec<Expr>;
}

impl<T: IntoExpr> IntoExprList for T {
    fn into_expr_list(self) -> Vec<Expr> {
        vec![self.into_expr()]
    }
}

impl IntoExprList for () {
    fn into_expr_list(self) -> Vec<Expr> {
        Vec::new()
    }
}

impl IntoExprList for Vec<Expr> {
    fn into_expr_list(self) -> Vec<Expr> {
        self
    }
}

impl IntoExprList for &[Expr] {
    fn into_expr_list(self) -> Vec<Expr> {
        self.to_vec()
    }
}

impl<T: IntoExpr, const N: usize> IntoExprList for [T; N] {
    fn into_expr_list(self) -> Vec<Expr> {
        self.into_iter().map(IntoExpr::into_expr).collect()
    }
}

macro_rules! tuple_expr_list {
    ($($name:ident),+) => {
        impl<$($name: IntoExpr),+> IntoExprList for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_expr_list(self) -> Vec<Expr> {
                let ($($name,)+) = self;
                vec![$($name.into_expr()),+]
            }
        }
    };
}

tuple_expr_list!(A);
tuple_expr_list!(A, B);
tuple_expr_list!(A, B, C);
tuple_expr_list!(A, B, C, D);
tuple_expr_list!(A, B, C, D, E);
tuple_expr_list!(A, B, C, D, E, F);
tuple_expr_list!(A, B, C, D, E, F, G);
tuple_expr_list!(A, B, C, D, E, F, G, H);
tuple_expr_list!(A, B, C, D, E, F, G, H, I);
tuple_expr_list!(A, B, C, D, E, F, G, H, I, J);
tuple_expr_list!(A, B, C, D, E, F, G, H, I, J, K);
tuple_expr_list!(A, B, C, D, E, F, G, H, I, J, K, L);

/// One ORDER BY term: an [`OrderBy`] (from [`Expr::asc`] / [`Expr::desc`]) or a bare
/// expression (the database's default order).
pub trait IntoOrderBy {
    /// The term.
    fn into_order_by(self) -> OrderBy;
}

impl IntoOrderBy for OrderBy {
    fn into_order_by(self) -> OrderBy {
        self
    }
}

impl IntoOrderBy for Expr {
    fn into_order_by(self) -> OrderBy {
        OrderBy {
            expr: self,
            direction: None,
            nulls: None,
        }
    }
}

impl IntoOrderBy for &Expr {
    fn into_order_by(self) -> OrderBy {
        self.clone().into_order_by()
    }
}

/// Several ORDER BY terms: one term, a tuple of terms (up to 8), an array or a `Vec`, or `()`.
pub trait IntoOrderByList {
    /// The terms, in order.
    fn into_order_by_list(self) -> Vec<OrderBy>;
}

impl<T: IntoOrderBy> IntoOrderByList for T {
    fn into_order_by_list(self) -> Vec<OrderBy> {
        vec![self.into_order_by()]
    }
}

impl IntoOrderByList for () {
    fn into_order_by_list(self) -> Vec<OrderBy> {
        Vec::new()
    }
}

impl<T: IntoOrderBy> IntoOrderByList for Vec<T> {
    fn into_order_by_list(self) -> Vec<OrderBy> {
        self.into_iter().map(IntoOrderBy::into_order_by).collect()
    }
}

impl<T: IntoOrderBy, const N: usize> IntoOrderByList for [T; N] {
    fn into_order_by_list(self) -> Vec<OrderBy> {
        self.into_iter().map(IntoOrderBy::into_order_by).collect()
    }
}

macro_rules! tuple_order_by_list {
    ($($name:ident),+) => {
        impl<$($name: IntoOrderBy),+> IntoOrderByList for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_order_by_list(self) -> Vec<OrderBy> {
                let ($($name,)+) = self;
                vec![$($name.into_order_by()),+]
            }
        }
    };
}

tuple_order_by_list!(A);
tuple_order_by_list!(A, B);
tuple_order_by_list!(A, B, C);
tuple_order_by_list!(A, B, C, D);
tuple_order_by_list!(A, B, C, D, E);
tuple_order_by_list!(A, B, C, D, E, F);
tuple_order_by_list!(A, B, C, D, E, F, G);
tuple_order_by_list!(A, B, C, D, E, F, G, H);

/// The escape character `contains`, `startswith` and `endswith` use for a literal argument.
/// `/` rather than `\`, which MySQL string literals would treat as an escape themselves.
const AUTOESCAPE: char = '/';

fn is_null_operand(e: &Expr) -> bool {
    matches!(e, Expr::Null | Expr::Param(Value::Null))
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

/// The text of a pattern with `%`, `_` and the escape character escaped.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if c == '%' || c == '_' || c == AUTOESCAPE {
            out.push(AUTOESCAPE);
        }
        out.push(c);
    }
    out
}

impl Expr {
    fn compare(self, op: BinaryOp, other: impl IntoExpr) -> Expr {
        binary(op, self, other.into_expr())
    }

    /// `self = other`; comparing with NULL (`Value::Null`, `None`, [`null()`]) gives
    /// `self IS NULL`.
    pub fn eq(self, other: impl IntoExpr) -> Expr {
        let other = other.into_expr();
        if is_null_operand(&other) {
            return self.is_null();
        }
        binary(BinaryOp::Eq, self, other)
    }

    /// `self != other`; comparing with NULL gives `self IS NOT NULL`.
    pub fn ne(self, other: impl IntoExpr) -> Expr {
        let other = other.into_expr();
        if is_null_operand(&other) {
            return self.is_not_null();
        }
        binary(BinaryOp::NotEq, self, other)
    }

    /// `self < other`.
    pub fn lt(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Lt, other)
    }

    /// `self <= other`.
    pub fn le(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::LtEq, other)
    }

    /// `self > other`.
    pub fn gt(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Gt, other)
    }

    /// `self >= other`.
    pub fn ge(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::GtEq, other)
    }

    /// `self IS NULL`.
    pub fn is_null(self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self),
            negated: false,
        }
    }

    /// `self IS NOT NULL`.
    pub fn is_not_null(self) -> Expr {
        Expr::IsNull {
            expr: Box::new(self),
            negated: true,
        }
    }

    /// `self IS DISTINCT FROM other`: like `!=`, but NULL is a value (`IS NOT` on SQLite,
    /// `NOT (a <=> b)` on MySQL).
    pub fn is_distinct_from(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::IsDistinctFrom, other)
    }

    /// `self IS NOT DISTINCT FROM other`: like `=`, but NULL equals NULL (`IS` on SQLite,
    /// `<=>` on MySQL).
    pub fn is_not_distinct_from(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::IsNotDistinctFrom, other)
    }

    fn in_list<T: IntoExpr>(self, items: impl IntoIterator<Item = T>, negated: bool) -> Expr {
        Expr::InList {
            expr: Box::new(self),
            list: items.into_iter().map(IntoExpr::into_expr).collect(),
            negated,
        }
    }

    /// `self IN (a, b, ...)`, each item bound as a parameter unless it is an expression. An
    /// empty list is a condition that is always false.
    pub fn in_<T: IntoExpr>(self, items: impl IntoIterator<Item = T>) -> Expr {
        self.in_list(items, false)
    }

    /// `self NOT IN (a, b, ...)`. An empty list is a condition that is always true.
    pub fn not_in<T: IntoExpr>(self, items: impl IntoIterator<Item = T>) -> Expr {
        self.in_list(items, true)
    }

    /// `self IN (subquery)`.
    pub fn in_subquery(self, query: impl Into<Query>) -> Expr {
        Expr::InSubquery {
            expr: Box::new(self),
            query: Box::new(query.into()),
            negated: false,
        }
    }

    /// `self NOT IN (subquery)`.
    pub fn not_in_subquery(self, query: impl Into<Query>) -> Expr {
        Expr::InSubquery {
            expr: Box::new(self),
            query: Box::new(query.into()),
            negated: true,
        }
    }

    fn between_(self, low: impl IntoExpr, high: impl IntoExpr, negated: bool) -> Expr {
        Expr::Between {
            expr: Box::new(self),
            low: Box::new(low.into_expr()),
            high: Box::new(high.into_expr()),
            negated,
        }
    }

    /// `self BETWEEN low AND high`.
    pub fn between(self, low: impl IntoExpr, high: impl IntoExpr) -> Expr {
        self.between_(low, high, false)
    }

    /// `self NOT BETWEEN low AND high`.
    pub fn not_between(self, low: impl IntoExpr, high: impl IntoExpr) -> Expr {
        self.between_(low, high, true)
    }

    fn like_(self, pattern: Expr, case_insensitive: bool, negated: bool) -> Expr {
        Expr::Like {
            expr: Box::new(self),
            pattern: Box::new(pattern),
            case_insensitive,
            negated,
            escape: None,
        }
    }

    /// `self LIKE pattern`.
    pub fn like(self, pattern: impl IntoExpr) -> Expr {
        self.like_(pattern.into_expr(), false, false)
    }

    /// `self NOT LIKE pattern`.
    pub fn not_like(self, pattern: impl IntoExpr) -> Expr {
        self.like_(pattern.into_expr(), false, true)
    }

    /// `self ILIKE pattern`: case-insensitive LIKE (`lower(self) LIKE lower(pattern)` where the
    /// database has no ILIKE).
    pub fn ilike(self, pattern: impl IntoExpr) -> Expr {
        self.like_(pattern.into_expr(), true, false)
    }

    /// `self NOT ILIKE pattern`.
    pub fn not_ilike(self, pattern: impl IntoExpr) -> Expr {
        self.like_(pattern.into_expr(), true, true)
    }

    /// Sets the escape character of a LIKE built by [`like`](Expr::like) and friends:
    /// `self LIKE pattern ESCAPE 'c'`. Other expressions are returned unchanged.
    pub fn escape(mut self, c: char) -> Expr {
        if let Expr::Like { escape, .. } = &mut self {
            *escape = Some(c);
        }
        self
    }

    /// LIKE with `prefix` and `suffix` around `other`. A literal text argument is escaped
    /// (`%`, `_` and `/` get a `/` before them) and the LIKE carries `ESCAPE '/'`, so the text
    /// matches literally; an expression argument is concatenated with the wildcards as is.
    fn like_around(self, other: Expr, prefix: bool, suffix: bool) -> Expr {
        if let Expr::Param(Value::Text(s)) = &other {
            let mut pattern = String::with_capacity(s.len() + 4);
            if prefix {
                pattern.push('%');
            }
            pattern.push_str(&escape_like(s));
            if suffix {
                pattern.push('%');
            }
            return self
                .like_(Expr::Param(Value::Text(pattern)), false, false)
                .escape(AUTOESCAPE);
        }
        let wildcard = || Expr::Text(TextClause::new("'%'"));
        let mut pattern = other;
        if prefix {
            pattern = binary(BinaryOp::Concat, wildcard(), pattern);
        }
        if suffix {
            pattern = binary(BinaryOp::Concat, pattern, wildcard());
        }
        self.like_(pattern, false, false)
    }

    /// `self LIKE '%' || other || '%'`: whether `self` contains `other`. A text value is
    /// matched literally: its `%` and `_` are escaped with `/` and `ESCAPE '/'` is rendered.
    ///
    /// ```
    /// use retort_core::dialect::postgres::PostgresDialect;
    /// use retort_core::sql::{select, table, Executable};
    ///
    /// let t = table("t");
    /// let q = select(t.c("id")).where_(t.c("name").contains("50%"));
    /// let c = q.compile(&PostgresDialect).unwrap();
    /// assert_eq!(c.sql, r#"SELECT "t"."id" FROM "t" WHERE "t"."name" LIKE $1 ESCAPE '/'"#);
    /// assert_eq!(c.params, vec!["%50/%%".into()]);
    /// ```
    pub fn contains(self, other: impl IntoExpr) -> Expr {
        self.like_around(other.into_expr(), true, true)
    }

    /// `self LIKE other || '%'`; a text value is escaped as for [`contains`](Expr::contains).
    pub fn startswith(self, other: impl IntoExpr) -> Expr {
        self.like_around(other.into_expr(), false, true)
    }

    /// `self LIKE '%' || other`; a text value is escaped as for [`contains`](Expr::contains).
    pub fn endswith(self, other: impl IntoExpr) -> Expr {
        self.like_around(other.into_expr(), true, false)
    }

    /// String concatenation: `self || other` (`CONCAT(self, other)` on MySQL).
    pub fn concat(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Concat, other)
    }

    /// `self + other`.
    #[allow(clippy::should_implement_trait)] // `ops::Add` is implemented too; this reads better in chains
    pub fn add(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Add, other)
    }

    /// `self - other`.
    #[allow(clippy::should_implement_trait)] // `ops::Sub` is implemented too; this reads better in chains
    pub fn sub(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Sub, other)
    }

    /// `self * other`.
    #[allow(clippy::should_implement_trait)] // `ops::Mul` is implemented too; this reads better in chains
    pub fn mul(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Mul, other)
    }

    /// `self / other` (integer division on PostgreSQL and SQLite when both are integers).
    #[allow(clippy::should_implement_trait)] // `ops::Div` is implemented too; this reads better in chains
    pub fn div(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Div, other)
    }

    /// `self % other`.
    #[allow(clippy::should_implement_trait)] // `ops::Rem` is implemented too; this reads better in chains
    pub fn rem(self, other: impl IntoExpr) -> Expr {
        self.compare(BinaryOp::Mod, other)
    }

    /// `self AND other` (flattened into an existing AND).
    pub fn and(mut self, other: impl IntoExpr) -> Expr {
        if let Expr::And(items) = &mut self {
            items.push(other.into_expr());
            return self;
        }
        Expr::And(vec![self, other.into_expr()])
    }

    /// `self OR other` (flattened into an existing OR).
    pub fn or(mut self, other: impl IntoExpr) -> Expr {
        if let Expr::Or(items) = &mut self {
            items.push(other.into_expr());
            return self;
        }
        Expr::Or(vec![self, other.into_expr()])
    }

    /// Ascending order.
    pub fn asc(self) -> OrderBy {
        OrderBy {
            expr: self,
            direction: Some(Direction::Asc),
            nulls: None,
        }
    }

    /// Descending order.
    pub fn desc(self) -> OrderBy {
        OrderBy {
            expr: self,
            direction: Some(Direction::Desc),
            nulls: None,
        }
    }

    /// `self AS name` where it is a result column; elsewhere the label is left out.
    pub fn label(mut self, name: impl Into<Arc<str>>) -> Expr {
        if let Expr::Label { label, .. } = &mut self {
            *label = name.into();
            return self;
        }
        Expr::Label {
            expr: Box::new(self),
            label: name.into(),
        }
    }

    /// `CAST(self AS ty)`, with the type named as the dialect's CAST accepts it.
    pub fn cast(self, ty: SqlType) -> Expr {
        Expr::Cast {
            expr: Box::new(self),
            sql_type: ty,
        }
    }

    /// `self OVER (window)`: makes a window function of an aggregate or ranking function.
    ///
    /// ```
    /// use retort_core::sql::{func, table, Over};
    ///
    /// let t = table("emp");
    /// let rank = func::rank().over(Over::new().partition_by(t.c("dept")).order_by(t.c("pay").desc()));
    /// # let _ = rank;
    /// ```
    pub fn over(self, window: Over) -> Expr {
        Expr::Over {
            func: Box::new(self),
            partition_by: window.partition_by,
            order_by: window.order_by,
            frame: window.frame,
        }
    }

    /// The SQL type of the expression's value, where it can be told: a column's declared type,
    /// a cast's target, a typed function's result, a comparison's boolean. `None` also for an
    /// expression nested deeper than [`MAX_DEPTH`](super::compiler::MAX_DEPTH), which could not
    /// be compiled anyway.
    pub fn sql_type(&self) -> Option<SqlType> {
        self.sql_type_within(super::compiler::MAX_DEPTH)
    }

    /// [`sql_type`](Expr::sql_type), looking at most `depth` levels down.
    fn sql_type_within(&self, depth: usize) -> Option<SqlType> {
        let depth = depth.checked_sub(1)?;
        let ty = |e: &Expr| e.sql_type_within(depth);
        match self {
            Expr::Column(c) => c.sql_type.clone(),
            Expr::Param(v) => value_type(v),
            Expr::Cast { sql_type, .. } => Some(sql_type.clone()),
            Expr::Function(f) => f.sql_type.clone(),
            Expr::Label { expr, .. } => ty(expr),
            Expr::Over { func, .. } => ty(func),
            Expr::Binary { op, left, right } => match op {
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                    ty(left).or_else(|| ty(right))
                }
                BinaryOp::Concat => Some(SqlType::String(None)),
                _ => Some(SqlType::Boolean),
            },
            Expr::Unary { op, expr } => match op {
                UnaryOp::Not => Some(SqlType::Boolean),
                UnaryOp::Neg => ty(expr),
            },
            Expr::And(_)
            | Expr::Or(_)
            | Expr::IsNull { .. }
            | Expr::InList { .. }
            | Expr::InSubquery { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::Exists { .. } => Some(SqlType::Boolean),
            Expr::Case { whens, else_, .. } => whens
                .iter()
                .find_map(|(_, then)| ty(then))
                .or_else(|| else_.as_ref().and_then(|e| ty(e))),
            Expr::Subquery(q) => first_select(q)
                .and_then(|core| core.columns.first())
                .and_then(ty),
            Expr::DerivedColumn { source, name } => first_select(source.query())
                .and_then(|core| core.columns.iter().find(|c| result_name(c) == Some(name)))
                .and_then(ty),
            _ => None,
        }
    }
}

/// The SQL type a bound value has by default.
fn value_type(v: &Value) -> Option<SqlType> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(_) => SqlType::Boolean,
        Value::Int(_) => SqlType::BigInteger,
        Value::Float(_) => SqlType::Double,
        Value::Text(_) => SqlType::String(None),
        Value::Bytes(_) => SqlType::LargeBinary,
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => SqlType::Numeric {
            precision: None,
            scale: None,
        },
        #[cfg(feature = "chrono")]
        Value::Date(_) => SqlType::Date,
        #[cfg(feature = "chrono")]
        Value::Time(_) => SqlType::Time,
        #[cfg(feature = "chrono")]
        Value::DateTime(_) => SqlType::DateTime { timezone: false },
        #[cfg(feature = "chrono")]
        Value::DateTimeUtc(_) => SqlType::DateTime { timezone: true },
        #[cfg(feature = "json")]
        Value::Json(_) => SqlType::Json,
        #[cfg(feature = "uuid")]
        Value::Uuid(_) => SqlType::Uuid,
    })
}

/// ANDs `cond` onto the condition in `slot` (WHERE and HAVING called repeatedly).
pub(crate) fn and_into(slot: &mut Option<Expr>, cond: Expr) {
    *slot = Some(match slot.take() {
        Some(existing) => existing.and(cond),
        None => cond,
    });
}

/// The leftmost SELECT of a query: the one whose columns name a compound's result.
pub(crate) fn first_select(mut q: &Query) -> Option<&super::ast::SelectCore> {
    loop {
        match q {
            Query::Select(core) => return Some(core),
            Query::Compound { left, .. } => q = left,
        }
    }
}

/// The name a result column is known by, where it has one.
pub(crate) fn result_name(e: &Expr) -> Option<&Arc<str>> {
    match e {
        Expr::Label { label, .. } => Some(label),
        Expr::Column(c) => Some(&c.name),
        Expr::DerivedColumn { name, .. } => Some(name),
        _ => None,
    }
}

impl OrderBy {
    /// NULLs sort before other values (emulated with `expr IS NULL DESC` where the database
    /// lacks `NULLS FIRST`).
    pub fn nulls_first(mut self) -> OrderBy {
        self.nulls = Some(Nulls::First);
        self
    }

    /// NULLs sort after other values (emulated with `expr IS NULL ASC` where the database
    /// lacks `NULLS LAST`).
    pub fn nulls_last(mut self) -> OrderBy {
        self.nulls = Some(Nulls::Last);
        self
    }
}

/// A window for [`Expr::over`]: `PARTITION BY ... ORDER BY ...`, and optionally a frame.
///
/// ```
/// use retort_core::dialect::postgres::PostgresDialect;
/// use retort_core::sql::{func, select, table, Executable, FrameBound, Over};
///
/// let t = table("sales");
/// let moving = func::sum(t.c("amount")).over(
///     Over::new()
///         .order_by(t.c("day"))
///         .rows(FrameBound::Preceding(2), FrameBound::CurrentRow),
/// );
/// assert_eq!(
///     select(moving).compile(&PostgresDialect).unwrap().sql,
///     r#"SELECT sum("sales"."amount") OVER (ORDER BY "sales"."day" ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM "sales""#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Over {
    partition_by: Vec<Expr>,
    order_by: Vec<OrderBy>,
    frame: Option<WindowFrame>,
}

impl Over {
    /// The whole result as one window, in no particular order: `OVER ()`.
    pub fn new() -> Over {
        Over::default()
    }

    /// Adds PARTITION BY expressions.
    pub fn partition_by(mut self, exprs: impl IntoExprList) -> Over {
        self.partition_by.extend(exprs.into_expr_list());
        self
    }

    /// Adds ORDER BY terms.
    pub fn order_by(mut self, terms: impl IntoOrderByList) -> Over {
        self.order_by.extend(terms.into_order_by_list());
        self
    }

    /// The frame `ROWS BETWEEN start AND end`: rows counted from the current one. A start
    /// after the end (`CURRENT ROW` to `1 PRECEDING`, say) is a compile error.
    pub fn rows(mut self, start: FrameBound, end: FrameBound) -> Over {
        self.frame = Some(WindowFrame {
            units: FrameUnits::Rows,
            start,
            end,
        });
        self
    }

    /// The frame `RANGE BETWEEN start AND end`: rows whose ORDER BY value is within the
    /// offsets of the current row's. With a numeric offset the window needs exactly one
    /// ORDER BY term.
    pub fn range(mut self, start: FrameBound, end: FrameBound) -> Over {
        self.frame = Some(WindowFrame {
            units: FrameUnits::Range,
            start,
            end,
        });
        self
    }
}

/// All of the conditions: `a AND b AND ...`. Empty, it is always true.
pub fn and_(conditions: impl IntoExprList) -> Expr {
    let mut items = conditions.into_expr_list();
    if items.len() == 1 {
        return items.swap_remove(0);
    }
    Expr::And(items)
}

/// Any of the conditions: `a OR b OR ...`. Empty, it is always false.
pub fn or_(conditions: impl IntoExprList) -> Expr {
    let mut items = conditions.into_expr_list();
    if items.len() == 1 {
        return items.swap_remove(0);
    }
    Expr::Or(items)
}

/// The negation of a condition. Comparisons, `IS NULL`, `IN`, `BETWEEN`, `LIKE` and `EXISTS`
/// are turned into their opposite operator (`a = b` becomes `a != b`, `x IN (..)` becomes
/// `x NOT IN (..)`), as SQLAlchemy does; anything else gets a `NOT (...)`.
pub fn not_(condition: impl IntoExpr) -> Expr {
    let mut c = condition.into_expr();
    match &mut c {
        Expr::Binary { op, .. } => {
            let opposite = match op {
                BinaryOp::Eq => Some(BinaryOp::NotEq),
                BinaryOp::NotEq => Some(BinaryOp::Eq),
                BinaryOp::Lt => Some(BinaryOp::GtEq),
                BinaryOp::GtEq => Some(BinaryOp::Lt),
                BinaryOp::Gt => Some(BinaryOp::LtEq),
                BinaryOp::LtEq => Some(BinaryOp::Gt),
                BinaryOp::IsDistinctFrom => Some(BinaryOp::IsNotDistinctFrom),
                BinaryOp::IsNotDistinctFrom => Some(BinaryOp::IsDistinctFrom),
                _ => None,
            };
            if let Some(opposite) = opposite {
                *op = opposite;
                return c;
            }
        }
        Expr::Unary {
            op: UnaryOp::Not,
            expr,
        } => return std::mem::replace(&mut **expr, Expr::Null),
        Expr::IsNull { negated, .. }
        | Expr::InList { negated, .. }
        | Expr::InSubquery { negated, .. }
        | Expr::Between { negated, .. }
        | Expr::Like { negated, .. }
        | Expr::Exists { negated, .. } => {
            *negated = !*negated;
            return c;
        }
        _ => {}
    }
    Expr::Unary {
        op: UnaryOp::Not,
        expr: Box::new(c),
    }
}

/// A named parameter, SQLAlchemy's `bindparam()`: a placeholder whose value is given each
/// time the statement runs, with
/// [`Connection::execute_with`](crate::Connection::execute_with) or
/// [`query_map_with`](crate::Connection::query_map_with). A statement built once with
/// bind parameters runs with other values without being built again, and
/// [`Connection::prepare`](crate::Connection::prepare) compiles it once as well.
///
/// Its SQL is that of any bound value, whatever value it is given: compared with `=` it stays
/// `= ?` even for a NULL, which matches no row (write `is_null()` for that), and PostgreSQL
/// infers its type from where it stands.
///
/// ```
/// use retort_core::dialect::postgres::PostgresDialect;
/// use retort_core::sql::{bindparam, select, table, Executable};
///
/// let users = table("users");
/// let q = select(users.c("name")).where_(users.c("id").eq(bindparam("id")));
/// let c = q.compile(&PostgresDialect)?;
/// assert_eq!(c.sql, r#"SELECT "users"."name" FROM "users" WHERE "users"."id" = $1"#);
/// assert_eq!(&*c.binds[0].name, "id");
/// # Ok::<(), retort_core::Error>(())
/// ```
pub fn bindparam(name: impl Into<Arc<str>>) -> Expr {
    Expr::Bind(name.into())
}

/// A value as a bound parameter, for where an expression is needed (`select(literal(1))`).
pub fn literal(value: impl ToValue) -> Expr {
    Expr::Param(value.to_value())
}

/// The SQL `NULL` keyword.
pub fn null() -> Expr {
    Expr::Null
}

/// `*`, as in `SELECT *` or `count(*)`.
pub fn star() -> Expr {
    Expr::Star(None)
}

/// An unqualified column: `"name"`.
pub fn column(name: impl Into<Arc<str>>) -> Expr {
    Expr::Column(ColumnRef {
        table: None,
        name: name.into(),
        sql_type: None,
    })
}

/// `CAST(expr AS ty)`.
pub fn cast(expr: impl IntoExpr, ty: SqlType) -> Expr {
    expr.into_expr().cast(ty)
}

/// `EXISTS (query)`.
pub fn exists(query: impl Into<Query>) -> Expr {
    Expr::Exists {
        query: Box::new(query.into()),
        negated: false,
    }
}

/// `NOT EXISTS (query)`.
pub fn not_exists(query: impl Into<Query>) -> Expr {
    Expr::Exists {
        query: Box::new(query.into()),
        negated: true,
    }
}

/// A row value `(a, b, ...)`, for comparing several columns at once.
pub fn tuple_(items: impl IntoExprList) -> Expr {
    Expr::Tuple(items.into_expr_list())
}

/// In an upsert's update values, the value the row would have inserted for `column`:
/// `excluded."column"` (PostgreSQL, SQLite) or `VALUES(column)` (MySQL, MariaDB).
pub fn excluded(column: impl Into<Arc<str>>) -> Expr {
    Expr::Excluded(column.into())
}

/// Starts a `CASE` expression; see [`Case`].
///
/// ```
/// use retort_core::sql::{case, table};
///
/// let t = table("t");
/// let searched = case().when(t.c("n").lt(0), "negative").else_("non-negative").end();
/// let simple = case().value(t.c("kind")).when(1, "one").when(2, "two").end();
/// # let _ = (searched, simple);
/// ```
pub fn case() -> Case {
    Case::default()
}

/// A `CASE` expression under construction: searched (`CASE WHEN cond THEN ...`) or, with
/// [`value`](Case::value), simple (`CASE x WHEN v THEN ...`). Finish with
/// [`end`](Case::end), or pass it anywhere an expression is taken.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Case {
    operand: Option<Box<Expr>>,
    whens: Vec<(Expr, Expr)>,
    else_: Option<Box<Expr>>,
}

impl Case {
    /// Makes it a simple CASE comparing `operand` against each WHEN value.
    pub fn value(mut self, operand: impl IntoExpr) -> Case {
        self.operand = Some(Box::new(operand.into_expr()));
        self
    }

    /// Adds `WHEN condition THEN result` (`WHEN value THEN result` in a simple CASE).
    pub fn when(mut self, condition: impl IntoExpr, result: impl IntoExpr) -> Case {
        self.whens.push((condition.into_expr(), result.into_expr()));
        self
    }

    /// Sets the ELSE result.
    pub fn else_(mut self, result: impl IntoExpr) -> Case {
        self.else_ = Some(Box::new(result.into_expr()));
        self
    }

    /// The finished expression.
    pub fn end(self) -> Expr {
        Expr::Case {
            operand: self.operand,
            whens: self.whens,
            else_: self.else_,
        }
    }
}

impl IntoExpr for Case {
    fn into_expr(self) -> Expr {
        self.end()
    }
}

impl TextClause {
    /// Literal SQL without parameters.
    pub fn new(sql: impl Into<Arc<str>>) -> TextClause {
        TextClause {
            sql: sql.into(),
            binds: Vec::new(),
        }
    }
}

impl FunctionCall {
    /// A call of `name` with `args`, of unknown result type.
    pub fn new(name: impl Into<Arc<str>>, args: Vec<Expr>) -> FunctionCall {
        FunctionCall {
            name: name.into(),
            args,
            distinct: false,
            sql_type: None,
        }
    }
}

impl<T: IntoExpr> ops::Add<T> for Expr {
    type Output = Expr;
    fn add(self, rhs: T) -> Expr {
        Expr::add(self, rhs)
    }
}

impl<T: IntoExpr> ops::Sub<T> for Expr {
    type Output = Expr;
    fn sub(self, rhs: T) -> Expr {
        Expr::sub(self, rhs)
    }
}

impl<T: IntoExpr> ops::Mul<T> for Expr {
    type Output = Expr;
    fn mul(self, rhs: T) -> Expr {
        Expr::mul(self, rhs)
    }
}

impl<T: IntoExpr> ops::Div<T> for Expr {
    type Output = Expr;
    fn div(self, rhs: T) -> Expr {
        Expr::div(self, rhs)
    }
}

impl<T: IntoExpr> ops::Rem<T> for Expr {
    type Output = Expr;
    fn rem(self, rhs: T) -> Expr {
        Expr::rem(self, rhs)
    }
}

/// `a & b` is `a AND b`, as in SQLAlchemy.
impl<T: IntoExpr> ops::BitAnd<T> for Expr {
    type Output = Expr;
    fn bitand(self, rhs: T) -> Expr {
        self.and(rhs)
    }
}

/// `a | b` is `a OR b`, as in SQLAlchemy.
impl<T: IntoExpr> ops::BitOr<T> for Expr {
    type Output = Expr;
    fn bitor(self, rhs: T) -> Expr {
        self.or(rhs)
    }
}

/// `-a`.
impl ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(self),
        }
    }
}

/// `!a` is [`not_(a)`](not_).
impl ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        not_(self)
    }
}
