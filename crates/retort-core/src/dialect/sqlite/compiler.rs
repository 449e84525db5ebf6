//! sqlite's differences in statement SQL.

use super::SqliteDialect;
use crate::error::Result;
use crate::sql::ast::{Expr, FunctionCall, Query};
use crate::sql::compiler::{Precedence, SqlCompiler, SqlHooks};
use crate::types::SqlType;

impl SqlHooks for SqliteDialect {
    /// `IS NOT` / `IS` compare NULLs as values, and work on every SQLite version (`IS
    /// DISTINCT FROM` arrived only in 3.39).
    fn is_distinct_from(
        &self,
        c: &mut SqlCompiler<'_>,
        left: &Expr,
        right: &Expr,
        not_distinct: bool,
    ) -> Result<()> {
        c.expr_in(left, Precedence::Concat)?;
        c.push(if not_distinct { " IS " } else { " IS NOT " });
        c.expr_in(right, Precedence::Concat)
    }

    /// SQLite's LIKE reads a pattern (and the text it matches) only up to the first NUL.
    /// Refusing such terms keeps `contains`, `startswith` and `endswith` on LIKE, with its
    /// ASCII case folding that SQLite users expect, rather than switching them to `instr()`.
    fn like_reads_past_nul(&self) -> bool {
        false
    }

    /// SQLite has no `now()`; `CURRENT_TIMESTAMP` is the same instant (in UTC).
    fn function_call(&self, c: &mut SqlCompiler<'_>, call: &FunctionCall) -> Result<()> {
        if call.args.is_empty() && call.name.eq_ignore_ascii_case("now") {
            c.push("CURRENT_TIMESTAMP");
            return Ok(());
        }
        c.standard_function_call(call)
    }

    /// Names with the storage class the value should end up in: SQLite decides a CAST by
    /// the type name's affinity, and `DATETIME` would have NUMERIC affinity (turning
    /// `'2024-05-01 10:00'` into 2024), so dates, times, JSON and UUIDs cast to TEXT.
    fn cast_type(&self, c: &mut SqlCompiler<'_>, ty: &SqlType) -> Result<()> {
        match ty {
            SqlType::Integer | SqlType::SmallInteger | SqlType::BigInteger | SqlType::Boolean => {
                c.push("INTEGER")
            }
            SqlType::Float | SqlType::Double => c.push("REAL"),
            SqlType::Numeric { .. } => c.push("NUMERIC"),
            SqlType::LargeBinary => c.push("BLOB"),
            SqlType::Custom(s) => c.push(s),
            SqlType::String(_)
            | SqlType::Text
            | SqlType::Date
            | SqlType::Time
            | SqlType::DateTime { .. }
            | SqlType::Json
            | SqlType::Uuid
            | SqlType::Enum { .. } => c.push("TEXT"),
        }
        Ok(())
    }

    /// SQLite needs a LIMIT before an OFFSET; `-1` means no limit.
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
            None => c.push(" LIMIT -1"),
        }
        if let Some(n) = offset {
            c.push(" OFFSET ");
            c.limit_value(n);
        }
        Ok(())
    }

    /// SQLite does not allow parentheses around the members of a compound SELECT; a member
    /// that needs grouping becomes a subquery instead.
    fn grouped_compound_member(&self, c: &mut SqlCompiler<'_>, query: &Query) -> Result<()> {
        c.push("SELECT * FROM (");
        c.query(query)?;
        c.push(")");
        Ok(())
    }
}
