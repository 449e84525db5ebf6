//! postgresql's differences in statement SQL.

use std::fmt::Write as _;

use super::PostgresDialect;
use crate::error::Result;
use crate::sql::ast::Expr;
use crate::sql::compiler::{Precedence, SqlCompiler, SqlHooks};
use crate::sql::literal;
use crate::types::SqlType;
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

    /// An integer column compared with a list of two or more integers binds the list as one
    /// array, `expr = ANY($1)` (`<> ALL` for NOT IN): one statement, and one prepared
    /// statement on the server, serve every length, and the server reads one parameter rather
    /// than one per value. The array goes as text (`{1,2,3}`), which the server reads as an
    /// array of the column's type, as it would read each value of the list, with the same
    /// result: integers only, none NULL, compared with an integer column (`x <> ALL` is true
    /// for an empty match exactly where `x NOT IN` is). Any other list stays a list.
    fn in_list(
        &self,
        c: &mut SqlCompiler<'_>,
        expr: &Expr,
        list: &[Expr],
        negated: bool,
    ) -> Result<()> {
        let integer_operand = matches!(
            expr.sql_type(),
            Some(SqlType::Integer | SqlType::SmallInteger | SqlType::BigInteger)
        );
        let array = match list {
            [_, _, ..] if integer_operand => integer_array(list),
            _ => None,
        };
        let Some(array) = array else {
            return c.standard_in_list(expr, list, negated);
        };
        c.expr_in(expr, Precedence::Concat)?;
        c.push(if negated { " <> ALL(" } else { " = ANY(" });
        c.push_param(Value::Text(array));
        c.push(")");
        Ok(())
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

/// The list as PostgreSQL's array text, `{1,2,3}`, if every item binds an integer.
fn integer_array(list: &[Expr]) -> Option<String> {
    let mut text = String::with_capacity(2 + list.len() * 4);
    text.push('{');
    for (i, item) in list.iter().enumerate() {
        let Expr::Param(Value::Int(n)) = item else {
            return None;
        };
        if i > 0 {
            text.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(text, "{n}");
    }
    text.push('}');
    Some(text)
}
