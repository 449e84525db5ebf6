//! postgresql's differences in statement SQL.

use super::PostgresDialect;
use crate::error::Result;
use crate::sql::ast::Expr;
use crate::sql::compiler::{Precedence, SqlCompiler, SqlHooks};
use crate::sql::literal;
use crate::value::Value;

/// A value as a PostgreSQL literal: the generic form, except bytes, which are `'\x00ff'`
/// (PostgreSQL reads `X'00FF'` as a bit string, which does not cast to `bytea`).
pub(super) fn render_literal(value: &Value, out: &mut String) -> Result<()> {
    match value {
        Value::Bytes(bytes) => {
            use std::fmt::Write;
            out.push_str("'\\x");
            for b in bytes {
                let _ = write!(out, "{b:02x}");
            }
            out.push('\'');
            Ok(())
        }
        other => literal::render_literal(other, false, true, out),
    }
}

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

    /// The server types a placeholder by its context: alone in the select list it would be
    /// `text`, inside `CAST(? AS t)` it would be `t` (so `CAST(2.7 AS INTEGER)` could not
    /// bind). A value of another type than text is cast to its own type first: `SELECT 1
    /// UNION ...`, a recursive CTE's anchor and `INSERT ... SELECT` then see a number, and a
    /// CAST converts from it.
    fn typed_param(&self, c: &mut SqlCompiler<'_>, value: &Value) -> Result<()> {
        let ty = match value {
            Value::Bool(_) => "BOOLEAN",
            // As the server types an integer literal: int4 casts to boolean, int8 does not.
            Value::Int(i) if i32::try_from(*i).is_ok() => "INTEGER",
            Value::Int(_) => "BIGINT",
            Value::Float(_) => "DOUBLE PRECISION",
            Value::Bytes(_) => "BYTEA",
            #[cfg(feature = "decimal")]
            Value::Decimal(_) => "NUMERIC",
            #[cfg(feature = "chrono")]
            Value::Date(_) => "DATE",
            #[cfg(feature = "chrono")]
            Value::Time(_) => "TIME",
            #[cfg(feature = "chrono")]
            Value::DateTime(_) => "TIMESTAMP",
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(_) => "TIMESTAMPTZ",
            #[cfg(feature = "json")]
            Value::Json(_) => "JSONB",
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => "UUID",
            Value::Null | Value::Text(_) => "",
        };
        c.push_param(value.clone());
        if !ty.is_empty() {
            c.push("::");
            c.push(ty);
        }
        Ok(())
    }
}
