//! sqlite's differences in statement SQL.

use super::SqliteDialect;
use crate::error::Result;
use crate::sql::ast::{Expr, Fetch, FunctionCall, Query};
use crate::sql::compiler::{MultiTableDelete, Precedence, SqlCompiler, SqlHooks};
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

    /// SQLite has `UPDATE ... FROM` (3.33 and later; the bundled library is newer) but no
    /// multi-table DELETE: the other tables go into a correlated `EXISTS`, which needs
    /// neither a primary key nor a rowid.
    fn multi_table_delete(&self) -> MultiTableDelete {
        MultiTableDelete::Exists
    }

    /// SQLite has no `now()`; `CURRENT_TIMESTAMP` is the same instant (in UTC).
    fn function_call(&self, c: &mut SqlCompiler<'_>, call: &FunctionCall) -> Result<()> {
        if call.args.is_empty() && call.name.eq_ignore_ascii_case("now") {
            c.push("CURRENT_TIMESTAMP");
            return Ok(());
        }
        c.standard_function_call(call)
    }

    /// SQLite has no fixed-point type: `NUMERIC(p, s)` is only a name, and the cast would keep
    /// every digit. A cast to a numeric type with a precision rounds to its scale (0 when
    /// none is given) instead, as PostgreSQL and MySQL do; the result is a REAL, and the
    /// precision itself is not enforced.
    fn cast(&self, c: &mut SqlCompiler<'_>, expr: &Expr, ty: &SqlType) -> Result<()> {
        match ty {
            SqlType::Numeric {
                precision: Some(_),
                scale,
            } => {
                c.push("round(");
                c.standard_cast(expr, ty)?;
                c.push(&format!(", {})", scale.unwrap_or(0)));
                Ok(())
            }
            _ => c.standard_cast(expr, ty),
        }
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

    /// No FETCH FIRST: a LIMIT, and `WITH TIES` refused.
    fn fetch(&self, c: &mut SqlCompiler<'_>, fetch: Fetch, offset: Option<u64>) -> Result<()> {
        if fetch.with_ties {
            return Err(c.unsupported("FETCH FIRST ... WITH TIES"));
        }
        self.limit_offset(c, Some(fetch.count), offset)
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
