//! mysql's differences in statement SQL.

use super::MySqlDialect;
use crate::error::Result;
use crate::sql::ast::{BinaryOp, Expr, Fetch, LockMode};
use crate::sql::compiler::{MultiTableDelete, MultiTableUpdate, Precedence, SqlCompiler, SqlHooks};
use crate::sql::literal;
use crate::types::SqlType;
use crate::value::Value;

/// A value as a MySQL literal. Backslashes in strings are doubled (MySQL reads them as
/// escapes unless `NO_BACKSLASH_ESCAPES`), and a float is written with an exponent: `0.1`
/// would be an exact DECIMAL, which reads back as a different double than the one written,
/// while `1e-1` is a DOUBLE.
pub(super) fn render_literal(value: &Value, out: &mut String) -> Result<()> {
    match value {
        Value::Float(x) if x.is_finite() => {
            use std::fmt::Write;
            let _ = write!(out, "{x:e}");
            Ok(())
        }
        other => literal::render_literal(other, true, false, out),
    }
}

/// Adds the operands of a chain of concatenations, left to right (with a work list: a chain
/// may be longer than the stack is deep; the compiler limits each operand's own depth).
fn concat_operands<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        match e {
            Expr::Binary {
                op: BinaryOp::Concat,
                left,
                right,
            } => todo.extend([&**right, &**left]),
            other => out.push(other),
        }
    }
}

impl SqlHooks for MySqlDialect {
    /// `||` is OR in MySQL (unless PIPES_AS_CONCAT); a chain of concatenations becomes one
    /// `CONCAT(a, b, ...)`.
    fn concat(&self, c: &mut SqlCompiler<'_>, left: &Expr, right: &Expr) -> Result<()> {
        let mut operands = Vec::new();
        concat_operands(left, &mut operands);
        concat_operands(right, &mut operands);
        c.push("CONCAT(");
        for (i, e) in operands.into_iter().enumerate() {
            if i > 0 {
                c.push(", ");
            }
            c.expr(e)?;
        }
        c.push(")");
        Ok(())
    }

    /// The NULL-safe equality `<=>`.
    fn is_distinct_from(
        &self,
        c: &mut SqlCompiler<'_>,
        left: &Expr,
        right: &Expr,
        not_distinct: bool,
    ) -> Result<()> {
        if !not_distinct {
            c.push("NOT (");
        }
        c.expr_in(left, Precedence::Concat)?;
        c.push(" <=> ");
        c.expr_in(right, Precedence::Concat)?;
        if !not_distinct {
            c.push(")");
        }
        Ok(())
    }

    /// MySQL's CAST takes only a few type names: SIGNED, CHAR, DECIMAL, DOUBLE, DATE, TIME,
    /// DATETIME, BINARY and JSON (not on MariaDB, whose JSON is text).
    fn cast_type(&self, c: &mut SqlCompiler<'_>, ty: &SqlType) -> Result<()> {
        match ty {
            SqlType::Integer | SqlType::SmallInteger | SqlType::BigInteger | SqlType::Boolean => {
                c.push("SIGNED")
            }
            SqlType::Float | SqlType::Double => c.push("DOUBLE"),
            // A bare DECIMAL is DECIMAL(10, 0) and would drop every fraction: without a
            // precision, the one the DDL gives a bare NUMERIC column.
            SqlType::Numeric {
                precision: None, ..
            } => c.push("DECIMAL(38, 10)"),
            SqlType::Numeric { precision, scale } => {
                c.push("DECIMAL");
                c.precision_scale(*precision, *scale);
            }
            SqlType::String(Some(n)) => c.push(&format!("CHAR({n})")),
            SqlType::Json if !self.mariadb => c.push("JSON"),
            SqlType::String(None)
            | SqlType::Text
            | SqlType::Json
            | SqlType::Uuid
            | SqlType::Enum { .. } => c.push("CHAR"),
            SqlType::Date => c.push("DATE"),
            // Without a precision the cast drops the fraction of a second.
            SqlType::Time => c.push("TIME(6)"),
            SqlType::DateTime { .. } => c.push("DATETIME(6)"),
            SqlType::LargeBinary => c.push("BINARY"),
            SqlType::Custom(s) => c.push(s),
        }
        Ok(())
    }

    /// Tables and columns stop at 64 characters, but aliases go further: MariaDB keeps 255
    /// bytes of a label and silently drops the rest (MySQL allows 256 characters).
    fn max_alias_bytes(&self) -> Option<usize> {
        Some(255)
    }

    /// `UPDATE t, other SET t.col = ...`.
    fn multi_table_update(&self) -> MultiTableUpdate {
        MultiTableUpdate::TableList
    }

    /// `DELETE t FROM t, other WHERE ...`.
    fn multi_table_delete(&self) -> MultiTableDelete {
        MultiTableDelete::TargetFrom
    }

    /// LIMIT and OFFSET take the whole unsigned 64-bit range.
    fn max_row_count(&self) -> u64 {
        u64::MAX
    }

    /// MySQL needs a LIMIT before an OFFSET; the largest unsigned 64-bit number means no
    /// limit (as its manual suggests).
    fn limit_offset(
        &self,
        c: &mut SqlCompiler<'_>,
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> Result<()> {
        match limit {
            Some(n) => {
                c.push(" LIMIT ");
                c.limit_value(n);
            }
            None => c.push(" LIMIT 18446744073709551615"),
        }
        if let Some(n) = offset {
            c.push(" OFFSET ");
            c.limit_value(n);
        }
        Ok(())
    }

    /// No FETCH FIRST: a LIMIT, and `WITH TIES` refused.
    fn fetch(&self, c: &mut SqlCompiler<'_>, fetch: Fetch, offset: Option<u64>) -> Result<()> {
        if fetch.with_ties {
            return Err(c.unsupported("FETCH FIRST ... WITH TIES"));
        }
        self.limit_offset(c, Some(fetch.count), offset)
    }

    /// MariaDB has no `FOR SHARE`; both it and MySQL take `LOCK IN SHARE MODE`.
    fn lock(&self, c: &mut SqlCompiler<'_>, mode: LockMode) -> Result<()> {
        c.push(match mode {
            LockMode::Update => " FOR UPDATE",
            LockMode::UpdateNoWait => " FOR UPDATE NOWAIT",
            LockMode::UpdateSkipLocked => " FOR UPDATE SKIP LOCKED",
            LockMode::Share => " LOCK IN SHARE MODE",
        });
        Ok(())
    }

    /// MySQL has no `DEFAULT VALUES`; an empty column list and row mean the same.
    fn default_values(&self, c: &mut SqlCompiler<'_>) -> Result<()> {
        c.push(" () VALUES ()");
        Ok(())
    }
}
