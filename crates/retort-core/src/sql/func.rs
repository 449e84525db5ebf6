//! SQL functions, as SQLAlchemy's `func`: the common ones typed, and [`call`] for any other.
//!
//! ```
//! use retort_core::dialect::sqlite::SqliteDialect;
//! use retort_core::sql::{func, select, table, Executable};
//! use retort_core::types::SqlType;
//!
//! let users = table("users");
//! let n = func::count(users.c("id"));
//! assert_eq!(n.sql_type(), Some(SqlType::BigInteger));
//! let q = select((n, func::call("group_concat", users.c("name"))));
//! assert_eq!(
//!     q.compile(&SqliteDialect).unwrap().sql,
//!     r#"SELECT count("users"."id"), group_concat("users"."name") FROM "users""#
//! );
//! ```

use std::sync::Arc;

use super::ast::{Expr, FunctionCall};
use super::expr::{star, IntoExpr, IntoExprList};
use crate::types::SqlType;

fn typed(name: &str, args: Vec<Expr>, sql_type: Option<SqlType>) -> Expr {
    Expr::Function(FunctionCall {
        name: name.into(),
        args,
        distinct: false,
        sql_type,
    })
}

/// `name(args...)` for any function; the result type is unknown. A name that is not a plain
/// (optionally schema-dotted) identifier is quoted, so it cannot inject SQL.
pub fn call(name: impl Into<Arc<str>>, args: impl IntoExprList) -> Expr {
    Expr::Function(FunctionCall::new(name, args.into_expr_list()))
}

/// `name(args...)` with a known result type.
pub fn call_typed(name: impl Into<Arc<str>>, args: impl IntoExprList, sql_type: SqlType) -> Expr {
    let mut f = FunctionCall::new(name, args.into_expr_list());
    f.sql_type = Some(sql_type);
    Expr::Function(f)
}

/// `count(expr)`: the number of non-NULL values.
pub fn count(expr: impl IntoExpr) -> Expr {
    typed("count", vec![expr.into_expr()], Some(SqlType::BigInteger))
}

/// `count(*)`: the number of rows.
pub fn count_star() -> Expr {
    count(star())
}

/// `count(DISTINCT expr)`.
pub fn count_distinct(expr: impl IntoExpr) -> Expr {
    Expr::Function(FunctionCall {
        name: "count".into(),
        args: vec![expr.into_expr()],
        distinct: true,
        sql_type: Some(SqlType::BigInteger),
    })
}

fn same_type(name: &str, expr: impl IntoExpr) -> Expr {
    let expr = expr.into_expr();
    let ty = expr.sql_type();
    typed(name, vec![expr], ty)
}

/// `sum(expr)`, typed as its argument.
pub fn sum(expr: impl IntoExpr) -> Expr {
    same_type("sum", expr)
}

/// `avg(expr)`, typed as an exact numeric.
pub fn avg(expr: impl IntoExpr) -> Expr {
    typed(
        "avg",
        vec![expr.into_expr()],
        Some(SqlType::Numeric {
            precision: None,
            scale: None,
        }),
    )
}

/// `min(expr)`, typed as its argument.
pub fn min(expr: impl IntoExpr) -> Expr {
    same_type("min", expr)
}

/// `max(expr)`, typed as its argument.
pub fn max(expr: impl IntoExpr) -> Expr {
    same_type("max", expr)
}

/// `abs(expr)`, typed as its argument.
pub fn abs(expr: impl IntoExpr) -> Expr {
    same_type("abs", expr)
}

/// `coalesce(a, b, ...)`: the first non-NULL argument, typed as the first typed one.
pub fn coalesce(exprs: impl IntoExprList) -> Expr {
    let args = exprs.into_expr_list();
    let ty = args.iter().find_map(Expr::sql_type);
    typed("coalesce", args, ty)
}

fn string_fn(name: &str, expr: impl IntoExpr) -> Expr {
    let expr = expr.into_expr();
    let ty = expr.sql_type().unwrap_or(SqlType::String(None));
    typed(name, vec![expr], Some(ty))
}

/// `lower(expr)`.
pub fn lower(expr: impl IntoExpr) -> Expr {
    string_fn("lower", expr)
}

/// `upper(expr)`.
pub fn upper(expr: impl IntoExpr) -> Expr {
    string_fn("upper", expr)
}

/// `length(expr)`: the length of a string, as an integer.
pub fn length(expr: impl IntoExpr) -> Expr {
    typed("length", vec![expr.into_expr()], Some(SqlType::Integer))
}

/// `now()`: the current date and time (`CURRENT_TIMESTAMP` on SQLite, which has no `now()`).
pub fn now() -> Expr {
    typed(
        "now",
        Vec::new(),
        Some(SqlType::DateTime { timezone: false }),
    )
}

/// `CURRENT_TIMESTAMP`.
pub fn current_timestamp() -> Expr {
    typed(
        "CURRENT_TIMESTAMP",
        Vec::new(),
        Some(SqlType::DateTime { timezone: false }),
    )
}

/// `row_number()`, for use with [`Expr::over`].
pub fn row_number() -> Expr {
    typed("row_number", Vec::new(), Some(SqlType::BigInteger))
}

/// `rank()`, for use with [`Expr::over`].
pub fn rank() -> Expr {
    typed("rank", Vec::new(), Some(SqlType::BigInteger))
}

/// `dense_rank()`, for use with [`Expr::over`].
pub fn dense_rank() -> Expr {
    typed("dense_rank", Vec::new(), Some(SqlType::BigInteger))
}
