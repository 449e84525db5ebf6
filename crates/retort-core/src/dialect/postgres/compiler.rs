//! postgresql's differences in statement SQL.

use super::PostgresDialect;
use crate::error::Result;
use crate::sql::ast::Expr;
use crate::sql::compiler::{Precedence, SqlCompiler, SqlHooks};

impl SqlHooks for PostgresDialect {
    /// PostgreSQL has ILIKE.
    fn ilike(
        &self,
        c: &mut SqlCompiler<'_>,
        expr: &Expr,
        pattern: &Expr,
        negated: bool,
        escape: Option<char>,
    ) -> Result<()> {
        c.expr_in(expr, Precedence::Concat)?;
        c.push(if negated { " NOT ILIKE " } else { " ILIKE " });
        c.expr_in(pattern, Precedence::Concat)?;
        c.escape_clause(escape)
    }
}
