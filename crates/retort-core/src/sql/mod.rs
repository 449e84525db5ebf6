//! The SQL expression language: statements and expressions, and their compiler.
//!
//! Build statements with [`select()`], [`insert`], [`update`], [`delete`] and [`text()`], and
//! expressions with the methods of [`Expr`], the free functions here and [`func`]; compile
//! them for a dialect with [`Executable::compile`], or show them with
//! [`Executable::to_sql_string`].
//!
//! ```
//! use retort_core::dialect::{mysql::MySqlDialect, postgres::PostgresDialect, sqlite::SqliteDialect};
//! use retort_core::sql::{select, table, Executable};
//!
//! let users = table("users");
//! let q = select((users.c("id"), users.c("name")))
//!     .where_(users.c("name").ilike("a%"))
//!     .order_by(users.c("id").desc())
//!     .limit(5);
//! assert_eq!(
//!     q.compile(&PostgresDialect).unwrap().sql,
//!     r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."name" ILIKE $1 ORDER BY "users"."id" DESC LIMIT $2"#
//! );
//! assert_eq!(
//!     q.compile(&SqliteDialect).unwrap().sql,
//!     r#"SELECT "users"."id", "users"."name" FROM "users" WHERE lower("users"."name") LIKE lower(?) ORDER BY "users"."id" DESC LIMIT 5"#
//! );
//! assert_eq!(
//!     q.compile(&MySqlDialect::default()).unwrap().sql,
//!     "SELECT `users`.`id`, `users`.`name` FROM `users` WHERE lower(`users`.`name`) LIKE lower(?) ORDER BY `users`.`id` DESC LIMIT ?"
//! );
//! ```

pub mod ast;
pub mod compiler;
pub mod dml;
pub mod expr;
pub mod func;
pub mod literal;
pub mod select;
pub mod selectable;
pub mod text;
mod walk;

pub use ast::{
    Expr, Fetch, FrameBound, FrameUnits, IntoFromItem, OrderBy, Query, Statement, TextClause,
    WindowFrame,
};
pub use compiler::{
    BindSlot, Compiled, Dml, Executable, MultiTableDelete, MultiTableUpdate, SqlCompiler, SqlHooks,
    MAX_DEPTH,
};
pub use dml::{delete, insert, update, Delete, Insert, Update};
pub use expr::{
    and_, bindparam, case, cast, column, excluded, exists, literal, not_, not_exists, null, or_,
    star, tuple_, Case, IntoExpr, IntoExprList, IntoOrderBy, IntoOrderByList, Over,
};
pub use select::{select, CompoundSelect, Select};
pub use selectable::{table, CteRef, IntoTableRef, Subquery, TableClause};
pub use text::text;

/// Everything needed to build and compile statements, for a glob import.
pub mod prelude {
    pub use super::func;
    pub use super::{
        and_, bindparam, case, cast, column, delete, excluded, exists, insert, literal, not_,
        not_exists, null, or_, select, star, table, text, tuple_, update, Case, CompoundSelect,
        CteRef, Delete, Executable, Expr, FrameBound, Insert, IntoExpr, IntoExprList, IntoFromItem,
        IntoOrderBy, IntoOrderByList, IntoTableRef, OrderBy, Over, Query, Select, Statement,
        Subquery, TableClause, TextClause, Update,
    };
}
