//! The generic statement compiler and the hooks a dialect overrides.
//!
//! [`SqlCompiler`] walks a statement once, appending SQL text to one buffer and values to the
//! parameter list. Every identifier goes through [`Dialect::quote_identifier`], every value
//! through [`Dialect::placeholder`]. Where databases differ, it either asks the dialect's
//! [`Capabilities`] or calls a [`SqlHooks`] method, whose default is the generic rendering and
//! which each dialect overrides in `dialect/<db>/compiler.rs` only where it differs.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use super::ast::{
    BinaryOp, Cte, DeleteStatement, Derived, Direction, Expr, Fetch, FrameBound, FrameUnits,
    FromItem, FunctionCall, InsertSource, InsertStatement, JoinKind, LockMode, Nulls, OnConflict,
    OrderBy, Query, SelectCore, SetOp, Statement, TableRef, UnaryOp, UpdateStatement, WindowFrame,
};
use super::text;
use super::walk::{self, CteCollector, Key, Source};
use crate::dialect::{Capabilities, Dialect, UpsertStyle};
use crate::engine::cache::PreparedStatement;
use crate::error::{Error, Result};
use crate::types::SqlType;
use crate::value::Value;

/// Pieces of statement rendering a dialect may override; every method has the generic
/// rendering as its default. Each appends to the compiler `c` it is given, through its
/// `push*` and `expr*` methods.
pub trait SqlHooks {
    /// String concatenation of `left` and `right`: `left || right`.
    fn concat(&self, c: &mut SqlCompiler<'_>, left: &Expr, right: &Expr) -> Result<()> {
        c.concat_operand(left)?;
        c.push(" || ");
        c.concat_operand(right)
    }

    /// `expr [NOT] IN (list)`: [`SqlCompiler::standard_in_list`].
    fn in_list(
        &self,
        c: &mut SqlCompiler<'_>,
        expr: &Expr,
        list: &[Expr],
        negated: bool,
    ) -> Result<()> {
        c.standard_in_list(expr, list, negated)
    }

    /// Case-insensitive LIKE: `lower(expr) [NOT] LIKE lower(pattern) [ESCAPE 'c']`.
    fn ilike(
        &self,
        c: &mut SqlCompiler<'_>,
        expr: &Expr,
        pattern: &Expr,
        negated: bool,
        escape: Option<char>,
    ) -> Result<()> {
        c.push("lower(");
        c.expr(expr)?;
        c.push(if negated {
            ") NOT LIKE lower("
        } else {
            ") LIKE lower("
        });
        c.expr(pattern)?;
        c.push(")");
        c.escape_clause(escape)
    }

    /// `left IS DISTINCT FROM right`, or `left IS NOT DISTINCT FROM right` when
    /// `not_distinct`.
    fn is_distinct_from(
        &self,
        c: &mut SqlCompiler<'_>,
        left: &Expr,
        right: &Expr,
        not_distinct: bool,
    ) -> Result<()> {
        c.expr_in(left, Precedence::Concat)?;
        c.push(if not_distinct {
            " IS NOT DISTINCT FROM "
        } else {
            " IS DISTINCT FROM "
        });
        c.expr_in(right, Precedence::Concat)
    }

    /// A function call; see [`SqlCompiler::standard_function_call`].
    fn function_call(&self, c: &mut SqlCompiler<'_>, call: &FunctionCall) -> Result<()> {
        c.standard_function_call(call)
    }

    /// `CAST(expr AS ty)`; see [`SqlCompiler::standard_cast`].
    fn cast(&self, c: &mut SqlCompiler<'_>, expr: &Expr, ty: &SqlType) -> Result<()> {
        c.standard_cast(expr, ty)
    }

    /// The type named in `CAST(x AS type)`; see [`SqlCompiler::standard_cast_type`].
    fn cast_type(&self, c: &mut SqlCompiler<'_>, ty: &SqlType) -> Result<()> {
        c.standard_cast_type(ty)
    }

    /// ` LIMIT n OFFSET m`, either part optional (at least one is given). The numbers go
    /// through [`SqlCompiler::limit_value`].
    fn limit_offset(
        &self,
        c: &mut SqlCompiler<'_>,
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> Result<()> {
        if let Some(n) = limit {
            c.push(" LIMIT ");
            c.limit_value(n);
        }
        if let Some(n) = offset {
            c.push(" OFFSET ");
            c.limit_value(n);
        }
        Ok(())
    }

    /// The longest alias (a label, a table's or subquery's alias) the database keeps whole,
    /// in bytes; `None` (the default) checks aliases as other identifiers are.
    fn max_alias_bytes(&self) -> Option<usize> {
        None
    }

    /// Whether LIKE compares text past a NUL character. Where it does not (SQLite stops at
    /// the first NUL), a LIKE whose pattern or operand binds text holding NUL is refused with
    /// [`Error::Argument`] before anything is sent: `'%' || 'a' || NUL || '%'` would match
    /// every row ending in `a`, and `contains("\0")` every row. True by default.
    fn like_reads_past_nul(&self) -> bool {
        true
    }

    /// How an UPDATE names its other tables; `UPDATE ... FROM` by default.
    fn multi_table_update(&self) -> MultiTableUpdate {
        MultiTableUpdate::From
    }

    /// How a DELETE names its other tables; `DELETE ... USING` by default.
    fn multi_table_delete(&self) -> MultiTableDelete {
        MultiTableDelete::Using
    }

    /// The largest LIMIT or OFFSET the database takes; larger ones are lowered to it (see
    /// [`SqlCompiler::limit_value`]). `i64::MAX` by default.
    fn max_row_count(&self) -> u64 {
        i64::MAX.unsigned_abs()
    }

    /// ` [OFFSET m ROWS] FETCH FIRST n ROWS ONLY` (or `WITH TIES`), the SQL standard's
    /// LIMIT. Dialects without it write a LIMIT, and refuse `WITH TIES`.
    fn fetch(&self, c: &mut SqlCompiler<'_>, fetch: Fetch, offset: Option<u64>) -> Result<()> {
        if let Some(n) = offset {
            c.push(" OFFSET ");
            c.limit_value(n);
            c.push(" ROWS");
        }
        c.push(" FETCH FIRST ");
        c.limit_value(fetch.count);
        c.push(if fetch.with_ties {
            " ROWS WITH TIES"
        } else {
            " ROWS ONLY"
        });
        Ok(())
    }

    /// The row-locking clause, ` FOR UPDATE` and its variants. Only called when the dialect
    /// has [`Capabilities::row_locking`].
    fn lock(&self, c: &mut SqlCompiler<'_>, mode: LockMode) -> Result<()> {
        c.push(match mode {
            LockMode::Update => " FOR UPDATE",
            LockMode::UpdateNoWait => " FOR UPDATE NOWAIT",
            LockMode::UpdateSkipLocked => " FOR UPDATE SKIP LOCKED",
            LockMode::Share => " FOR SHARE",
        });
        Ok(())
    }

    /// What follows `INSERT INTO table` when every column takes its default:
    /// ` DEFAULT VALUES`.
    fn default_values(&self, c: &mut SqlCompiler<'_>) -> Result<()> {
        c.push(" DEFAULT VALUES");
        Ok(())
    }

    /// A bound value where nothing around it tells the database its own type: alone as a
    /// result column (`SELECT ?`), or the operand of a CAST (whose target type the database
    /// might give the parameter, skipping the conversion). The placeholder, by default.
    fn typed_param(&self, c: &mut SqlCompiler<'_>, value: &Value) -> Result<()> {
        c.push_param(value.clone());
        Ok(())
    }

    /// A member of a UNION / INTERSECT / EXCEPT that must be grouped (it has its own ORDER BY
    /// or LIMIT, or is a compound of another kind): `(query)`.
    fn grouped_compound_member(&self, c: &mut SqlCompiler<'_>, query: &Query) -> Result<()> {
        c.push("(");
        c.query(query)?;
        c.push(")");
        Ok(())
    }
}

/// How an UPDATE names the tables, other than its target, that its WHERE or new values refer
/// to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiTableUpdate {
    /// `UPDATE t SET ... FROM a, b WHERE ...` (PostgreSQL, SQLite 3.33 and later).
    From,
    /// `UPDATE t, a, b SET t.col = ... WHERE ...` (MySQL, MariaDB).
    TableList,
}

/// How a DELETE names the tables, other than its target, that its WHERE refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiTableDelete {
    /// `DELETE FROM t USING a, b WHERE ...` (PostgreSQL).
    Using,
    /// `DELETE t FROM t, a, b WHERE ...` (MySQL, MariaDB).
    TargetFrom,
    /// `DELETE FROM t WHERE EXISTS (SELECT 1 FROM a, b WHERE ...)`, for databases without a
    /// multi-table DELETE (SQLite): the condition stays correlated to the target's row.
    Exists,
}

/// A statement compiled for one dialect: SQL text with placeholders, and the values to bind.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The SQL text.
    pub sql: String,
    /// The parameters, in placeholder order. A [`bindparam`](super::expr::bindparam)'s place
    /// holds NULL until a value is given for it.
    pub params: Vec<Value>,
    /// The places in `params` of the statement's named parameters, whose values are given
    /// when it runs ([`Connection::execute_with`](crate::Connection::execute_with)).
    pub binds: Vec<BindSlot>,
}

/// Where a named parameter ([`bindparam`](super::expr::bindparam)) goes in a compiled
/// statement's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindSlot {
    /// Its index in [`Compiled::params`].
    pub index: usize,
    /// Its name.
    pub name: Arc<str>,
    /// Whether its value must not be text holding a NUL character: it is an operand of a
    /// LIKE on a database whose LIKE stops at NUL (SQLite), which a value given at run time
    /// is checked for as a value in the statement is when it compiles.
    pub refuse_nul: bool,
}

impl BindSlot {
    /// `value` for this slot, or the error for a value it cannot take.
    pub fn check(&self, value: &Value) -> Result<()> {
        match value {
            Value::Text(s) if self.refuse_nul && s.contains('\0') => Err(Error::Argument(format!(
                "the value of bind parameter `{}` holds a NUL character, which a LIKE cannot \
                 match on this database: its LIKE stops at the NUL and would match other rows",
                self.name
            ))),
            _ => Ok(()),
        }
    }
}

/// Puts the values of `given` (name, value) into the places `binds` names in `params`.
/// Every bind needs a value and every value a bind; either mistake is an
/// [`Error::Argument`] naming the parameter.
pub fn fill_binds(params: &mut [Value], binds: &[BindSlot], given: &[(&str, Value)]) -> Result<()> {
    for slot in binds {
        let Some((_, value)) = given.iter().find(|(name, _)| *name == &*slot.name) else {
            return Err(Error::Argument(format!(
                "no value was given for bind parameter `{}`",
                slot.name
            )));
        };
        slot.check(value)?;
        if let Some(place) = params.get_mut(slot.index) {
            place.clone_from(value);
        }
    }
    if let Some((name, _)) = given
        .iter()
        .find(|(name, _)| !binds.iter().any(|slot| *name == &*slot.name))
    {
        return Err(Error::Argument(format!(
            "the statement has no bind parameter `{name}`"
        )));
    }
    Ok(())
}

/// Shows the SQL text, with its placeholders.
impl fmt::Display for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)
    }
}

impl Compiled {
    /// SQL text and its parameters in placeholder order, with no bind parameters: what a
    /// statement type of another crate returns from [`Executable::compile`].
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Compiled {
        Compiled {
            sql: sql.into(),
            params,
            binds: Vec::new(),
        }
    }

    /// The SQL with each placeholder replaced by its parameter written as a literal, **for
    /// people to read** (logs, debugging, documentation) — SQLAlchemy's `literal_binds`.
    /// Never execute the result: statements bind their values, and that is what keeps them
    /// safe.
    ///
    /// Placeholders inside quoted strings, quoted identifiers and comments are left alone. A
    /// value that has no literal form (NaN, text holding NUL) is an [`Error::Argument`]. A
    /// [`bindparam`](super::expr::bindparam) shows as `:name`.
    pub fn with_literals(&self, dialect: &dyn Dialect) -> Result<String> {
        let sql = &self.sql;
        let bytes = sql.as_bytes();
        let mut out = String::with_capacity(sql.len() + 8 * self.params.len());
        let mut placeholder = String::new();
        let mut next = 0;
        let mut copied = 0;
        let mut i = 0;
        let expect = |next: usize, placeholder: &mut String| {
            placeholder.clear();
            dialect.placeholder(next + 1, placeholder);
        };
        expect(next, &mut placeholder);
        while i < bytes.len() {
            match bytes[i] {
                q @ (b'\'' | b'"' | b'`') => i = text::skip_quoted(sql, i, q),
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + n + 4);
                }
                _ if next < self.params.len()
                    && sql[i..].starts_with(placeholder.as_str())
                    && !(placeholder.ends_with(|c: char| c.is_ascii_digit())
                        && bytes
                            .get(i + placeholder.len())
                            .is_some_and(u8::is_ascii_digit)) =>
                {
                    out.push_str(&sql[copied..i]);
                    let start = out.len();
                    // A bind parameter has no value yet: it shows as its name.
                    match self.binds.iter().find(|b| b.index == next) {
                        Some(bind) => {
                            out.push(':');
                            out.push_str(&bind.name);
                        }
                        None => dialect.render_literal(&self.params[next], &mut out)?,
                    }
                    // A negative number goes in parentheses: `-5::BIGINT` would negate after
                    // the cast, and after a unary minus `--5` would start a comment.
                    if out[start..].starts_with('-') {
                        out.insert(start, '(');
                        out.push(')');
                    }
                    i += placeholder.len();
                    copied = i;
                    next += 1;
                    expect(next, &mut placeholder);
                }
                _ => i += 1,
            }
        }
        out.push_str(&sql[copied..]);
        Ok(out)
    }
}

/// Anything that compiles to a statement: statement builders, `text()`, ORM queries.
pub trait Executable {
    /// Compiles for `dialect`.
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled>;

    /// The statement as `dialect` would run it, with the parameters written in as literals —
    /// **for display only** (SQLAlchemy's `str(stmt)` with `literal_binds`); see
    /// [`Compiled::with_literals`].
    ///
    /// ```
    /// use retort_core::dialect::mysql::MySqlDialect;
    /// use retort_core::sql::{select, table, Executable};
    ///
    /// let t = table("t");
    /// let q = select(t.c("a")).where_(t.c("b").eq("it's"));
    /// assert_eq!(
    ///     q.to_sql_string(&MySqlDialect::default()).unwrap(),
    ///     "SELECT `t`.`a` FROM `t` WHERE `t`.`b` = 'it''s'"
    /// );
    /// ```
    fn to_sql_string(&self, dialect: &dyn Dialect) -> Result<String> {
        self.compile(dialect)?.with_literals(dialect)
    }

    /// The UPDATE or DELETE this is, if it is one: what an ORM session needs to keep the
    /// objects it has loaded in step with the rows the statement changes. `None` for anything
    /// else, and for textual SQL, whose effect cannot be known.
    fn dml(&self) -> Option<Dml<'_>> {
        None
    }

    /// The statement already compiled by [`Connection::prepare`](crate::Connection::prepare),
    /// if this is one: a connection then runs its SQL as it is, without compiling or keying
    /// it again. `None` for everything else.
    fn prepared(&self) -> Option<&PreparedStatement> {
        None
    }

    /// Compiles into `c` what [`compile`](Self::compile) compiles, for a statement whose SQL
    /// text follows from its structure (every statement builder does), so that an engine's
    /// compiled-statement cache can key it (see [`SqlCompiler::run_shape`]). `None`, the
    /// default, keeps the statement out of the cache: it is then compiled on every execution,
    /// as textual SQL is.
    fn compile_into(&self, _c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        None
    }
}

/// An UPDATE or DELETE statement, borrowed; see [`Executable::dml`].
#[derive(Debug, Clone, Copy)]
pub enum Dml<'a> {
    /// An UPDATE.
    Update(&'a UpdateStatement),
    /// A DELETE.
    Delete(&'a DeleteStatement),
}

impl Executable for Statement {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        SqlCompiler::new(dialect).run(|c| c.statement(self))
    }

    fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        match self {
            Statement::Text(_) => None,
            _ => Some(c.statement(self)),
        }
    }

    fn dml(&self) -> Option<Dml<'_>> {
        match self {
            Statement::Update(u) => Some(Dml::Update(u)),
            Statement::Delete(d) => Some(Dml::Delete(d)),
            _ => None,
        }
    }
}

impl Executable for Query {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        SqlCompiler::new(dialect).run(|c| c.query(self))
    }

    fn compile_into(&self, c: &mut SqlCompiler<'_>) -> Option<Result<()>> {
        Some(c.query(self))
    }
}

/// The deepest nesting a statement may have: each expression inside another is a level, and
/// each query inside another counts as three (it takes about that much more stack to compile).
/// Deeper statements are an [`Error::Compile`]: the compiler recurses once per level, and a
/// stack overflow would abort the process. At this depth a debug build uses well under a
/// quarter of a 2 MiB thread stack; hand-written and generated SQL rarely nest past a few
/// dozen levels.
pub const MAX_DEPTH: usize = 256;

/// The levels a nested query counts for: compiling one takes about three times the stack an
/// expression does.
const QUERY_LEVELS: usize = 3;

fn too_deep() -> Error {
    Error::Compile(format!(
        "the statement is nested too deep: more than {MAX_DEPTH} levels of expressions and \
         subqueries"
    ))
}

/// How tightly an expression binds, for deciding where parentheses are needed. Operands
/// whose precedence is below what their position requires are parenthesised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precedence {
    /// Anything (literal SQL, whose structure is unknown, ranks here).
    Lowest,
    /// `OR`
    Or,
    /// `AND`
    And,
    /// `NOT`
    Not,
    /// Comparisons, `IS`, `IN`, `BETWEEN`, `LIKE`.
    Comparison,
    /// `||` (ranked differently by the databases, so kept apart from arithmetic).
    Concat,
    /// `+`, `-`
    Additive,
    /// `*`, `/`, `%`
    Multiplicative,
    /// Unary minus.
    Unary,
    /// Columns, values, function calls, parenthesised forms.
    Atom,
}

fn is_quoted_literal(sql: &str) -> bool {
    sql.len() >= 2 && sql.starts_with('\'') && text::skip_quoted(sql, 0, b'\'') == sql.len()
}

/// The precedence of `e` as the compiler renders it.
pub fn precedence(mut e: &Expr) -> Precedence {
    // Labels and one-item AND / OR render as what they hold.
    loop {
        match e {
            Expr::Label { expr, .. } => e = expr,
            Expr::And(items) | Expr::Or(items) if items.len() == 1 => e = &items[0],
            _ => break,
        }
    }
    match e {
        Expr::Binary { op, .. } => match op {
            BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq
            | BinaryOp::IsDistinctFrom
            | BinaryOp::IsNotDistinctFrom => Precedence::Comparison,
            BinaryOp::Concat => Precedence::Concat,
            BinaryOp::Add | BinaryOp::Sub => Precedence::Additive,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => Precedence::Multiplicative,
        },
        Expr::Unary { op, .. } => match op {
            UnaryOp::Not => Precedence::Not,
            UnaryOp::Neg => Precedence::Unary,
        },
        Expr::And(items) | Expr::Or(items) => match items.as_slice() {
            [] => Precedence::Comparison,
            _ if matches!(e, Expr::And(_)) => Precedence::And,
            _ => Precedence::Or,
        },
        Expr::IsNull { .. }
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. } => Precedence::Comparison,
        Expr::Text(t) if is_quoted_literal(&t.sql) => Precedence::Atom,
        Expr::Text(_) => Precedence::Lowest,
        _ => Precedence::Atom,
    }
}

/// Whether `e` binds a text value holding NUL anywhere inside it.
fn holds_nul_text(e: &Expr) -> bool {
    let mut found = false;
    walk::for_each_node(e, &mut |node| {
        found |= matches!(node, Expr::Param(Value::Text(s)) if s.contains('\0'));
    });
    found
}

/// A frame bound as SQL, offsets shown as `n`.
fn bound_sql(b: FrameBound) -> &'static str {
    match b {
        FrameBound::UnboundedPreceding => "UNBOUNDED PRECEDING",
        FrameBound::Preceding(_) => "n PRECEDING",
        FrameBound::CurrentRow => "CURRENT ROW",
        FrameBound::Following(_) => "n FOLLOWING",
        FrameBound::UnboundedFollowing => "UNBOUNDED FOLLOWING",
    }
}

fn is_null_operand(e: &Expr) -> bool {
    matches!(e, Expr::Null | Expr::Param(Value::Null))
}

/// Whether a function name can be written without quotes.
fn is_plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// SQL-standard functions written without parentheses when called without arguments.
const NILADIC: [&str; 6] = [
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "CURRENT_USER",
];

/// A FROM item of an enclosing query, for correlation.
type ScopeKey = (Option<Arc<str>>, Arc<str>);

/// The statement compiler: one pass over the tree, one output buffer.
///
/// Dialect hooks receive it and append through its `push*` and `expr*` methods.
pub struct SqlCompiler<'d> {
    dialect: &'d dyn Dialect,
    caps: Capabilities,
    sql: String,
    params: Vec<Value>,
    /// FROM items of the enclosing queries, which nested SELECTs correlate to.
    scope: Vec<ScopeKey>,
    /// Whether the statement's WITH clause has been rendered: nested queries then render
    /// none of their own.
    ctes_placed: bool,
    /// Columns are written without their table (RETURNING, a compound's ORDER BY).
    bare_columns: bool,
    /// How many expressions and queries enclose the one being compiled.
    depth: usize,
    /// The first name the database would refuse or truncate.
    name_error: Option<Error>,
    /// Writing a shape key instead of SQL text (see [`run_shape`](Self::run_shape)).
    keying: bool,
    /// The shape key, when `keying`.
    key: Vec<u8>,
    /// The named parameters met so far.
    binds: Vec<BindSlot>,
    /// Inside an operand of a LIKE that stops at NUL: a named parameter here refuses text
    /// holding NUL when its value is given.
    nul_sensitive: bool,
}

/// What a shape-mode run ([`SqlCompiler::run_shape`]) collects.
#[derive(Debug)]
pub struct Shape {
    /// The shape key: equal keys on one dialect mean equal SQL text.
    pub key: Vec<u8>,
    /// The parameters, in placeholder order, as a full compile collects them.
    pub params: Vec<Value>,
    /// The named parameters' places, as a full compile records them.
    pub binds: Vec<BindSlot>,
}

/// Starts a token in a shape key; never a byte of UTF-8 text, so text needs no escaping.
const KEY_MARK: u8 = 0xFF;
/// Key token: an identifier, then its length (a `usize`'s bytes) and bytes.
const KEY_IDENT: u8 = b'I';
/// Key token: an alias, then its length (a `usize`'s bytes) and bytes.
const KEY_ALIAS: u8 = b'A';
/// Key token: a placeholder.
const KEY_PARAM: u8 = b'P';

impl<'d> SqlCompiler<'d> {
    /// A compiler for `dialect` with an empty buffer.
    pub fn new(dialect: &'d dyn Dialect) -> Self {
        SqlCompiler {
            dialect,
            caps: dialect.capabilities(),
            // Reserved by `run`: a shape-mode pass writes no SQL.
            sql: String::new(),
            params: Vec::new(),
            scope: Vec::new(),
            ctes_placed: false,
            bare_columns: false,
            depth: 0,
            name_error: None,
            keying: false,
            key: Vec::new(),
            binds: Vec::new(),
            nul_sensitive: false,
        }
    }

    /// Runs `f` in shape mode: instead of SQL text, the compiler writes a *shape key*, and
    /// collects the parameters exactly as [`run`](Self::run) would. The statement cache
    /// ([`crate::engine::cache`]) keys compiled SQL by it.
    ///
    /// Every piece of output goes through the same few methods in both modes: text through
    /// [`push`](Self::push) (and numbers written alike), names through
    /// [`push_identifier`](Self::push_identifier) and [`push_alias`](Self::push_alias),
    /// values through [`push_param`](Self::push_param). The key records each of these
    /// (text as is, names with their length, a marker per placeholder), so two runs with the
    /// same key on the same dialect write the same SQL text, and anything in a value that
    /// changes the SQL (a NULL compared with `=` becoming `IS NULL`, a LIMIT written out, a
    /// PostgreSQL cast chosen by the value's type) changes the key too. Names are not
    /// checked for length here; the full compile that fills a cache entry does that.
    pub fn run_shape(mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<Shape> {
        self.keying = true;
        self.key.reserve(256);
        f(&mut self)?;
        self.check_param_count()?;
        Ok(Shape {
            key: self.key,
            params: self.params,
            binds: self.binds,
        })
    }

    fn check_param_count(&self) -> Result<()> {
        if self.params.len() > self.caps.max_params {
            return Err(Error::Compile(format!(
                "the statement has {} parameters; the {} dialect allows at most {}",
                self.params.len(),
                self.dialect.name(),
                self.caps.max_params
            )));
        }
        Ok(())
    }

    /// Appends a length-prefixed token to the shape key.
    fn key_token(&mut self, tag: u8, bytes: &[u8]) {
        self.key.extend_from_slice(&[KEY_MARK, tag]);
        self.key.extend_from_slice(&bytes.len().to_le_bytes());
        self.key.extend_from_slice(bytes);
    }

    /// Appends something displayed (a number), to the SQL text or the shape key.
    fn push_display(&mut self, x: impl fmt::Display) {
        if self.keying {
            let _ = std::io::Write::write_fmt(&mut self.key, format_args!("{x}"));
        } else {
            let _ = write!(self.sql, "{x}");
        }
    }

    /// Runs `f` on the compiler and returns what it compiled. A statement with more
    /// parameters than the dialect's [`Capabilities::max_params`] is a compile error.
    pub fn run(mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<Compiled> {
        self.sql.reserve(256);
        f(&mut self)?;
        if let Some(e) = self.name_error {
            return Err(e);
        }
        self.check_param_count()?;
        Ok(Compiled {
            sql: self.sql,
            params: self.params,
            binds: self.binds,
        })
    }

    /// The dialect being compiled for.
    pub fn dialect(&self) -> &'d dyn Dialect {
        self.dialect
    }

    /// The dialect's capabilities.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The compile error for a construct the dialect lacks, naming both.
    pub fn unsupported(&self, construct: &str) -> Error {
        Error::Compile(format!(
            "{construct} is not supported by the {} dialect",
            self.dialect.name()
        ))
    }

    /// Goes `levels` nesting levels deeper, or fails past [`MAX_DEPTH`]. Each successful
    /// call is paired with a [`leave`](Self::leave) of the same levels.
    fn enter(&mut self, levels: usize) -> Result<()> {
        if self.depth + levels > MAX_DEPTH {
            return Err(too_deep());
        }
        self.depth += levels;
        Ok(())
    }

    fn leave(&mut self, levels: usize) {
        self.depth -= levels;
    }

    /// Appends SQL text as is.
    pub fn push(&mut self, sql: &str) {
        if self.keying {
            self.key.extend_from_slice(sql.as_bytes());
        } else {
            self.sql.push_str(sql);
        }
    }

    /// Appends an identifier (a table, column, schema or CTE name), quoted by the dialect.
    /// A name the database would refuse or cut short (longer than
    /// [`DdlHooks::max_identifier_length`](crate::schema::ddl::DdlHooks::max_identifier_length))
    /// makes the statement a compile error.
    pub fn push_identifier(&mut self, ident: &str) {
        if self.keying {
            return self.key_token(KEY_IDENT, ident.as_bytes());
        }
        self.check_name(ident, false);
        self.dialect.quote_identifier(ident, &mut self.sql);
    }

    /// Appends an alias (a result column's label, a table's or subquery's alias), quoted by
    /// the dialect and checked against [`SqlHooks::max_alias_bytes`] where the dialect sets
    /// it, else as identifiers are.
    pub fn push_alias(&mut self, alias: &str) {
        if self.keying {
            return self.key_token(KEY_ALIAS, alias.as_bytes());
        }
        self.check_name(alias, true);
        self.dialect.quote_identifier(alias, &mut self.sql);
    }

    /// The name a subquery's or CTE's columns are qualified with.
    fn push_derived_name(&mut self, d: &Derived) {
        match d {
            Derived::Subquery { alias, .. } => self.push_alias(alias),
            Derived::Cte(cte) => self.push_identifier(&cte.name),
        }
    }

    /// Records the first name the database would refuse or truncate; [`run`](Self::run)
    /// reports it. PostgreSQL, for one, silently cuts names past 63 bytes, so a label read
    /// back by its full name would not be found.
    fn check_name(&mut self, name: &str, alias: bool) {
        if self.name_error.is_some() {
            return;
        }
        if name.contains('\0') {
            self.name_error = Some(Error::Compile(format!(
                "the name {name:?} holds a NUL character, which no database takes in a name"
            )));
            return;
        }
        let d = self.dialect;
        let what = if alias { "alias" } else { "name" };
        let problem = match (alias, d.max_alias_bytes()) {
            (true, Some(max)) => (name.len() > max)
                .then(|| format!("is {} bytes long; {} keeps {max}", name.len(), d.name())),
            _ => d.identifier_problem(name).or_else(|| {
                let max = d.max_identifier_length()?;
                let len = d.identifier_length(name);
                (len > max).then(|| format!("is {len} long; {} allows {max}", d.name()))
            }),
        };
        if let Some(problem) = problem {
            self.name_error = Some(Error::Compile(format!("the {what} '{name}' {problem}")));
        }
    }

    /// Appends a placeholder and records `value` as its parameter.
    pub fn push_param(&mut self, value: Value) {
        self.params.push(value);
        if self.keying {
            self.key.extend_from_slice(&[KEY_MARK, KEY_PARAM]);
        } else {
            self.dialect.placeholder(self.params.len(), &mut self.sql);
        }
    }

    /// Appends a placeholder for the named parameter `name`, whose value is given when the
    /// statement runs; its place holds NULL until then. The SQL is that of any parameter, so
    /// the shape key is too.
    pub fn push_bind(&mut self, name: &Arc<str>) {
        self.binds.push(BindSlot {
            index: self.params.len(),
            name: Arc::clone(name),
            refuse_nul: self.nul_sensitive,
        });
        self.push_param(Value::Null);
    }

    /// Appends `value` as a SQL literal. Only for fixed pieces of syntax (an ESCAPE
    /// character); values given by users are bound with [`push_param`](Self::push_param).
    pub fn push_literal(&mut self, value: &Value) -> Result<()> {
        if self.keying {
            let mut literal = String::new();
            self.dialect.render_literal(value, &mut literal)?;
            self.push(&literal);
            return Ok(());
        }
        self.dialect.render_literal(value, &mut self.sql)
    }

    /// Appends a LIMIT or OFFSET number: written out where the dialect has
    /// [`Capabilities::literal_limit`] (or where it is too large to bind as a 64-bit signed
    /// integer), bound as a parameter elsewhere.
    ///
    /// A number above the dialect's [`SqlHooks::max_row_count`] is lowered to it. No table
    /// holds that many rows, so a LIMIT or OFFSET that large returns the same rows either way,
    /// and the database would otherwise refuse it (SQLite and PostgreSQL stop at `i64::MAX`).
    pub fn limit_value(&mut self, n: u64) {
        let n = n.min(self.dialect.max_row_count());
        match i64::try_from(n) {
            Ok(i) if !self.caps.literal_limit => self.push_param(Value::Int(i)),
            _ => self.push_display(n),
        }
    }

    /// Appends ` ESCAPE 'c'` when there is an escape character.
    pub fn escape_clause(&mut self, escape: Option<char>) -> Result<()> {
        if let Some(ch) = escape {
            self.push(" ESCAPE ");
            self.push_literal(&Value::Text(ch.to_string()))?;
        }
        Ok(())
    }

    /// Appends an expression.
    pub fn expr(&mut self, e: &Expr) -> Result<()> {
        self.expr_node(e)
    }

    /// Appends an expression in a position that needs at least precedence `min`,
    /// parenthesising it if it binds less tightly.
    pub fn expr_in(&mut self, e: &Expr, min: Precedence) -> Result<()> {
        if precedence(e) < min {
            self.push("(");
            self.expr_node(e)?;
            self.push(")");
            Ok(())
        } else {
            self.expr_node(e)
        }
    }

    /// Appends an operand of `||`: chains of concatenation need no parentheses, anything
    /// looser than a unary minus gets them (the databases rank `||` differently against
    /// arithmetic).
    pub fn concat_operand(&mut self, e: &Expr) -> Result<()> {
        match e {
            Expr::Binary {
                op: BinaryOp::Concat,
                ..
            } => self.expr_node(e),
            _ => self.expr_in(e, Precedence::Unary),
        }
    }

    /// Appends a query. The outermost query of a statement gets the WITH clause of every CTE
    /// used anywhere inside it.
    pub fn query(&mut self, q: &Query) -> Result<()> {
        if self.ctes_placed {
            return self.query_body(q);
        }
        let mut ctes = CteCollector::default();
        ctes.query(q);
        self.rooted(&ctes.found, |c| c.query_body(q))
    }

    /// Appends a SELECT, as [`query`](Self::query) does.
    pub fn select(&mut self, core: &SelectCore) -> Result<()> {
        if self.ctes_placed {
            return self.select_core(core);
        }
        let mut ctes = CteCollector::default();
        ctes.core(core);
        self.rooted(&ctes.found, |c| c.select_core(core))
    }

    /// Appends any statement.
    pub fn statement(&mut self, s: &Statement) -> Result<()> {
        match s {
            Statement::Query(q) => self.query(q),
            Statement::Insert(i) => self.insert(i),
            Statement::Update(u) => self.update(u),
            Statement::Delete(d) => self.delete(d),
            Statement::Text(t) => text::render(self, t),
        }
    }

    /// Appends an INSERT.
    pub fn insert(&mut self, s: &InsertStatement) -> Result<()> {
        if !s.returning.is_empty() && !self.caps.insert_returning {
            return Err(self.unsupported("INSERT ... RETURNING"));
        }
        self.push("INSERT INTO ");
        self.table_name(&s.table);
        let d = self.dialect;
        match &s.source {
            InsertSource::Values(rows)
                if s.columns.is_empty() && rows.iter().all(Vec::is_empty) =>
            {
                d.default_values(self)?
            }
            InsertSource::DefaultValues => d.default_values(self)?,
            InsertSource::Values(rows) => {
                if s.columns.is_empty() {
                    return Err(Error::Compile(
                        "INSERT values were given without column names".into(),
                    ));
                }
                self.column_list(&s.columns);
                self.push(" VALUES ");
                for (i, row) in rows.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.push("(");
                    self.expr_list(row)?;
                    self.push(")");
                    if row.len() != s.columns.len() {
                        return Err(Error::Compile(format!(
                            "INSERT row {} has {} values for {} columns",
                            i + 1,
                            row.len(),
                            s.columns.len()
                        )));
                    }
                }
            }
            InsertSource::Query(q) => {
                if !s.columns.is_empty() {
                    self.column_list(&s.columns);
                }
                self.push(" ");
                match (&**q, &s.on_conflict, self.caps.upsert) {
                    // SQLite reads `ON CONFLICT` after a SELECT's FROM as a join's ON unless a
                    // WHERE comes between; an always-true one changes nothing.
                    (Query::Select(core), Some(_), UpsertStyle::OnConflict)
                        if core.where_.is_none() =>
                    {
                        let mut core = core.clone();
                        core.where_ = Some(Expr::And(Vec::new()));
                        self.select(&core)?;
                    }
                    _ => self.query(q)?,
                }
            }
        }
        if let Some(on_conflict) = &s.on_conflict {
            self.on_conflict(on_conflict, &s.table, &s.columns)?;
        }
        self.returning(&s.returning)
    }

    /// Appends an UPDATE. Tables other than the target that the WHERE condition or the new
    /// values name (SQLAlchemy's "extra froms") are added in the dialect's
    /// [`MultiTableUpdate`] form.
    pub fn update(&mut self, s: &UpdateStatement) -> Result<()> {
        if s.set.is_empty() {
            return Err(Error::Compile(
                "an UPDATE needs at least one column to set".into(),
            ));
        }
        if !s.returning.is_empty() && !self.caps.update_returning {
            return Err(self.unsupported("UPDATE ... RETURNING"));
        }
        let values = s.set.iter().map(|(_, e)| e);
        let others = self.other_tables(&s.table, values.chain(&s.where_), &s.returning)?;
        let style = self.dialect.multi_table_update();
        self.push("UPDATE ");
        self.table(&s.table);
        if !others.is_empty() && style == MultiTableUpdate::TableList {
            self.push(", ");
            self.source_list(&others)?;
        }
        let depth = self.enter_scope(&s.table);
        self.enter_sources(&others);
        self.push(" SET ");
        let result = (|| {
            if others.is_empty() || style == MultiTableUpdate::From {
                self.assignments(&s.set)?;
            } else {
                // Several tables are updatable here: name the target's columns fully.
                for (i, (column, value)) in s.set.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.qualified_column(&s.table, column);
                    self.push(" = ");
                    self.expr(value)?;
                }
            }
            if !others.is_empty() && style == MultiTableUpdate::From {
                self.push(" FROM ");
                self.source_list(&others)?;
            }
            self.where_clause(s.where_.as_ref())?;
            self.returning(&s.returning)
        })();
        self.scope.truncate(depth);
        result
    }

    /// Appends a DELETE. Tables other than the target that the WHERE condition names are
    /// added in the dialect's [`MultiTableDelete`] form.
    pub fn delete(&mut self, s: &DeleteStatement) -> Result<()> {
        if !s.returning.is_empty() && !self.caps.delete_returning {
            return Err(self.unsupported("DELETE ... RETURNING"));
        }
        let others = self.other_tables(&s.table, s.where_.iter(), &s.returning)?;
        let style = self.dialect.multi_table_delete();
        if !others.is_empty() && style == MultiTableDelete::TargetFrom && !s.returning.is_empty() {
            return Err(self.unsupported("RETURNING on a DELETE from several tables"));
        }
        self.push("DELETE ");
        if !others.is_empty() && style == MultiTableDelete::TargetFrom {
            self.qualifier(&s.table);
            self.push(" ");
        }
        self.push("FROM ");
        self.table(&s.table);
        let depth = self.enter_scope(&s.table);
        self.enter_sources(&others);
        let result = (|| {
            if others.is_empty() {
                self.where_clause(s.where_.as_ref())?;
            } else {
                match style {
                    MultiTableDelete::Using => {
                        self.push(" USING ");
                        self.source_list(&others)?;
                    }
                    MultiTableDelete::TargetFrom => {
                        self.push(", ");
                        self.source_list(&others)?;
                    }
                    // A row goes when some combination of the other tables' rows meets the
                    // condition: what USING means, with no key or rowid needed.
                    MultiTableDelete::Exists => {
                        self.push(" WHERE EXISTS (SELECT 1 FROM ");
                        self.source_list(&others)?;
                    }
                }
                self.where_clause(s.where_.as_ref())?;
                if style == MultiTableDelete::Exists {
                    self.push(")");
                }
            }
            self.returning(&s.returning)
        })();
        self.scope.truncate(depth);
        result
    }

    /// The FROM items other than `target` that `exprs` name, in order of first appearance.
    /// RETURNING may name only the target: SQLite and the EXISTS form of a DELETE cannot
    /// return another table's columns.
    fn other_tables<'e>(
        &self,
        target: &TableRef,
        exprs: impl Iterator<Item = &'e Expr>,
        returning: &[Expr],
    ) -> Result<Vec<Source<'e>>> {
        let skip = [walk::table_key(target)];
        let mut others = Vec::new();
        for e in exprs {
            walk::collect_sources(e, &skip, &mut others);
        }
        let mut returned = Vec::new();
        for e in returning {
            walk::collect_sources(e, &skip, &mut returned);
        }
        if let Some(other) = returned.first() {
            return Err(Error::Compile(format!(
                "RETURNING may name only the columns of \"{}\", not of \"{}\"",
                target.qualifier(),
                other.key().1
            )));
        }
        Ok(others)
    }

    /// Makes nested queries see `sources` as enclosing FROM items.
    fn enter_sources(&mut self, sources: &[Source<'_>]) {
        for source in sources {
            let (schema, name) = source.key();
            self.scope.push((schema.cloned(), name.clone()));
        }
    }

    /// `a, b, c` for the other tables of an UPDATE or DELETE.
    fn source_list(&mut self, sources: &[Source<'_>]) -> Result<()> {
        for (i, source) in sources.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            match source {
                Source::Table(t) => self.table(t),
                Source::Derived(d) => match &***d {
                    Derived::Subquery { query, alias } => self.derived_subquery(query, alias)?,
                    Derived::Cte(cte) => {
                        return Err(Error::Compile(format!(
                            "the CTE \"{}\" cannot be another table of an UPDATE or DELETE; \
                             use a subquery",
                            cte.name
                        )))
                    }
                },
            }
        }
        Ok(())
    }

    /// The generic rendering of a function call: `name(args)`, `name(DISTINCT args)`, or a
    /// bare `CURRENT_TIMESTAMP` (and the other SQL-standard niladic functions). A name that
    /// is not a plain identifier (optionally dotted) is quoted.
    pub fn standard_function_call(&mut self, call: &FunctionCall) -> Result<()> {
        for (i, part) in call.name.split('.').enumerate() {
            if i > 0 {
                self.push(".");
            }
            if is_plain_name(part) {
                self.push(part);
            } else {
                self.push_identifier(part);
            }
        }
        if call.args.is_empty()
            && !call.distinct
            && NILADIC.iter().any(|n| n.eq_ignore_ascii_case(&call.name))
        {
            return Ok(());
        }
        self.push(if call.distinct { "(DISTINCT " } else { "(" });
        self.expr_list(&call.args)?;
        self.push(")");
        Ok(())
    }

    /// The generic CAST type names: the SQL standard's, in PostgreSQL's spelling where the
    /// standard has none (`BYTEA`, `JSON`, `UUID`, a named enum type).
    pub fn standard_cast_type(&mut self, ty: &SqlType) -> Result<()> {
        match ty {
            SqlType::Integer => self.push("INTEGER"),
            SqlType::SmallInteger => self.push("SMALLINT"),
            SqlType::BigInteger => self.push("BIGINT"),
            SqlType::Float => self.push("REAL"),
            SqlType::Double => self.push("DOUBLE PRECISION"),
            SqlType::Numeric { precision, scale } => {
                self.push("NUMERIC");
                self.precision_scale(*precision, *scale);
            }
            SqlType::String(Some(n)) => {
                self.push("VARCHAR(");
                self.push_display(n);
                self.push(")");
            }
            SqlType::String(None) => self.push("VARCHAR"),
            SqlType::Text => self.push("TEXT"),
            SqlType::Boolean => self.push("BOOLEAN"),
            SqlType::Date => self.push("DATE"),
            SqlType::Time => self.push("TIME"),
            SqlType::DateTime { timezone: false } => self.push("TIMESTAMP"),
            SqlType::DateTime { timezone: true } => self.push("TIMESTAMP WITH TIME ZONE"),
            SqlType::LargeBinary => self.push("BYTEA"),
            SqlType::Json => self.push("JSON"),
            SqlType::Uuid => self.push("UUID"),
            SqlType::Enum { name, .. } => self.push_identifier(name),
            SqlType::Custom(s) => self.push(s),
        }
        Ok(())
    }

    /// Appends `(p)` or `(p, s)` when a precision is given.
    pub fn precision_scale(&mut self, precision: Option<u32>, scale: Option<u32>) {
        let Some(p) = precision else { return };
        self.push("(");
        self.push_display(p);
        if let Some(s) = scale {
            self.push(", ");
            self.push_display(s);
        }
        self.push(")");
    }

    /// Renders `body` after the WITH clause of `ctes`, with nested queries told the WITH
    /// clause is placed.
    fn rooted(&mut self, ctes: &[&Cte], body: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        self.ctes_placed = true;
        let result = self.with_clause(ctes).and_then(|()| body(self));
        self.ctes_placed = false;
        result
    }

    fn with_clause(&mut self, ctes: &[&Cte]) -> Result<()> {
        if ctes.is_empty() {
            return Ok(());
        }
        self.push(if ctes.iter().any(|c| c.recursive) {
            "WITH RECURSIVE "
        } else {
            "WITH "
        });
        for (i, cte) in ctes.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_identifier(&cte.name);
            if !cte.columns.is_empty() {
                self.column_list(&cte.columns);
            }
            self.push(" AS (");
            self.isolated(|c| c.query_body(&cte.query))?;
            self.push(")");
        }
        self.push(" ");
        Ok(())
    }

    /// Runs `f` for a query that cannot see the enclosing ones (a CTE body, a FROM subquery).
    fn isolated(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let scope = std::mem::take(&mut self.scope);
        let bare = std::mem::replace(&mut self.bare_columns, false);
        let result = f(self);
        self.scope = scope;
        self.bare_columns = bare;
        result
    }

    /// `(query)` for a query nested in an expression; it correlates to the enclosing ones.
    fn subquery(&mut self, q: &Query) -> Result<()> {
        self.push("(");
        let bare = std::mem::replace(&mut self.bare_columns, false);
        let result = self.query(q);
        self.bare_columns = bare;
        result?;
        self.push(")");
        Ok(())
    }

    fn query_body(&mut self, q: &Query) -> Result<()> {
        match q {
            Query::Select(core) => self.select_core(core),
            Query::Compound {
                op,
                left,
                right,
                order_by,
                limit,
                offset,
            } => {
                // At least one level, so that a long chain of compounds is counted.
                let levels = self.query_levels().max(1);
                self.enter(levels)?;
                let result = self.compound(*op, left, right, order_by, *limit, *offset);
                self.leave(levels);
                result
            }
        }
    }

    fn compound(
        &mut self,
        op: SetOp,
        left: &Query,
        right: &Query,
        order_by: &[OrderBy],
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> Result<()> {
        let all = matches!(op, SetOp::IntersectAll | SetOp::ExceptAll);
        if !matches!(op, SetOp::Union | SetOp::UnionAll) && !self.caps.intersect_except {
            return Err(self.unsupported("INTERSECT / EXCEPT"));
        }
        if all && !self.caps.intersect_except_all {
            return Err(self.unsupported(if op == SetOp::IntersectAll {
                "INTERSECT ALL"
            } else {
                "EXCEPT ALL"
            }));
        }
        self.compound_member(left, op, true)?;
        self.push(match op {
            SetOp::Union => " UNION ",
            SetOp::UnionAll => " UNION ALL ",
            SetOp::Intersect => " INTERSECT ",
            SetOp::IntersectAll => " INTERSECT ALL ",
            SetOp::Except => " EXCEPT ",
            SetOp::ExceptAll => " EXCEPT ALL ",
        });
        self.compound_member(right, op, false)?;
        if !order_by.is_empty() {
            // A compound is ordered by its result columns, named without a table.
            let bare = std::mem::replace(&mut self.bare_columns, true);
            let columns = super::expr::first_select(left)
                .map(|c| c.columns.as_slice())
                .unwrap_or_default();
            let result = self.order_by_clause(order_by, columns);
            self.bare_columns = bare;
            result?;
        }
        if limit.is_some() || offset.is_some() {
            let d = self.dialect;
            d.limit_offset(self, limit, offset)?;
        }
        Ok(())
    }

    fn compound_member(&mut self, q: &Query, parent: SetOp, is_left: bool) -> Result<()> {
        let grouped = match q {
            Query::Select(core) => {
                !core.order_by.is_empty()
                    || core.limit.is_some()
                    || core.offset.is_some()
                    || core.fetch.is_some()
                    || core.lock.is_some()
            }
            Query::Compound {
                op,
                order_by,
                limit,
                offset,
                ..
            } => {
                !order_by.is_empty()
                    || limit.is_some()
                    || offset.is_some()
                    || !(is_left && *op == parent)
            }
        };
        if grouped {
            let d = self.dialect;
            d.grouped_compound_member(self, q)
        } else {
            self.query_body(q)
        }
    }

    fn select_core(&mut self, core: &SelectCore) -> Result<()> {
        let levels = self.query_levels();
        self.enter(levels)?;
        let result = self.select_core_inner(core);
        self.leave(levels);
        result
    }

    /// The levels a query counts for: none for the statement itself.
    fn query_levels(&self) -> usize {
        if self.depth == 0 {
            0
        } else {
            QUERY_LEVELS
        }
    }

    fn select_core_inner(&mut self, core: &SelectCore) -> Result<()> {
        if core.columns.is_empty() {
            return Err(Error::Compile("a SELECT needs at least one column".into()));
        }
        let mut explicit: Vec<Key<'_>> = Vec::new();
        for item in &core.from {
            walk::from_item_keys(item, &mut explicit);
        }
        let mut inferred: Vec<Source<'_>> = Vec::new();
        for e in core.clause_exprs() {
            walk::collect_sources(e, &explicit, &mut inferred);
        }
        self.correlate(core, &mut inferred);

        let depth = self.scope.len();
        for key in explicit
            .iter()
            .copied()
            .chain(inferred.iter().map(|s| s.key()))
        {
            self.scope.push((key.0.cloned(), key.1.clone()));
        }
        let result = self.select_clauses(core, &inferred);
        self.scope.truncate(depth);
        result
    }

    fn in_scope(&self, key: Key<'_>) -> bool {
        self.scope
            .iter()
            .any(|(s, n)| walk::key_eq((s.as_ref(), n), key))
    }

    /// Drops from `inferred` the tables an enclosing query provides, as `core.correlation`
    /// says.
    fn correlate(&self, core: &SelectCore, inferred: &mut Vec<Source<'_>>) {
        use super::ast::Correlation;
        if self.scope.is_empty() {
            return;
        }
        let listed = |list: &[TableRef], key: Key<'_>| {
            list.iter().any(|t| walk::key_eq(walk::table_key(t), key))
        };
        match &core.correlation {
            Correlation::Auto => {
                let kept = inferred.iter().filter(|s| !self.in_scope(s.key())).count();
                if kept > 0 || !core.from.is_empty() {
                    inferred.retain(|s| !self.in_scope(s.key()));
                }
            }
            Correlation::Never => {}
            Correlation::Only(list) => {
                inferred.retain(|s| !(self.in_scope(s.key()) && listed(list, s.key())))
            }
            Correlation::Except(list) => {
                inferred.retain(|s| !self.in_scope(s.key()) || listed(list, s.key()))
            }
        }
    }

    fn select_clauses(&mut self, core: &SelectCore, inferred: &[Source<'_>]) -> Result<()> {
        self.push(if core.distinct {
            "SELECT DISTINCT "
        } else {
            "SELECT "
        });
        self.result_columns(&core.columns)?;
        if !core.from.is_empty() || !inferred.is_empty() {
            self.push(" FROM ");
            for (i, item) in core.from.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.join_item(item)?;
            }
            for (i, source) in inferred.iter().enumerate() {
                if i > 0 || !core.from.is_empty() {
                    self.push(", ");
                }
                match source {
                    Source::Table(t) => self.table(t),
                    Source::Derived(d) => self.derived(d)?,
                }
            }
        }
        self.where_clause(core.where_.as_ref())?;
        if !core.group_by.is_empty() {
            self.push(" GROUP BY ");
            for (i, e) in core.group_by.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.sort_key(e, &core.columns, Precedence::Lowest)?;
            }
        }
        if let Some(having) = &core.having {
            self.push(" HAVING ");
            self.expr(having)?;
        }
        self.order_by_clause(&core.order_by, &core.columns)?;
        let d = self.dialect;
        match core.fetch {
            Some(fetch) => {
                if core.limit.is_some() {
                    return Err(Error::Compile(
                        "a SELECT cannot have both LIMIT and FETCH FIRST".into(),
                    ));
                }
                if fetch.with_ties && core.order_by.is_empty() {
                    return Err(Error::Compile(
                        "FETCH FIRST ... WITH TIES needs an ORDER BY".into(),
                    ));
                }
                d.fetch(self, fetch, core.offset)?;
            }
            None if core.limit.is_some() || core.offset.is_some() => {
                d.limit_offset(self, core.limit, core.offset)?;
            }
            None => {}
        }
        if let Some(mode) = core.lock {
            // SQLite has no row locks (a write transaction locks the database); like
            // SQLAlchemy, the clause is left out there rather than refused.
            if self.caps.row_locking {
                let d = self.dialect;
                d.lock(self, mode)?;
            }
        }
        Ok(())
    }

    fn result_columns(&mut self, columns: &[Expr]) -> Result<()> {
        for (i, e) in columns.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            match e {
                Expr::Label { expr, label } => {
                    self.result_column(expr)?;
                    self.push(" AS ");
                    self.push_alias(label);
                }
                e => self.result_column(e)?,
            }
        }
        Ok(())
    }

    fn result_column(&mut self, e: &Expr) -> Result<()> {
        match e {
            Expr::Param(v) => {
                let d = self.dialect;
                d.typed_param(self, v)
            }
            e => self.expr(e),
        }
    }

    fn where_clause(&mut self, cond: Option<&Expr>) -> Result<()> {
        if let Some(cond) = cond {
            self.push(" WHERE ");
            self.expr(cond)?;
        }
        Ok(())
    }

    /// A GROUP BY or ORDER BY key: a label that names a result column is written as that
    /// name, anything else as the expression.
    fn sort_key(&mut self, e: &Expr, columns: &[Expr], min: Precedence) -> Result<()> {
        if let Expr::Label { label, .. } = e {
            let is_result = columns
                .iter()
                .any(|c| matches!(c, Expr::Label { label: l, .. } if l == label));
            if is_result {
                self.push_alias(label);
                return Ok(());
            }
        }
        self.expr_in(e, min)
    }

    fn order_by_clause(&mut self, terms: &[OrderBy], columns: &[Expr]) -> Result<()> {
        if terms.is_empty() {
            return Ok(());
        }
        self.push(" ORDER BY ");
        self.order_terms(terms, columns)
    }

    fn order_terms(&mut self, terms: &[OrderBy], columns: &[Expr]) -> Result<()> {
        for (i, term) in terms.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            if let (Some(nulls), false) = (term.nulls, self.caps.nulls_ordering) {
                // `x IS NULL` sorts 0 before 1: descending puts NULLs first.
                self.sort_key(&term.expr, columns, Precedence::Concat)?;
                self.push(match nulls {
                    Nulls::First => " IS NULL DESC, ",
                    Nulls::Last => " IS NULL ASC, ",
                });
            }
            self.sort_key(&term.expr, columns, Precedence::Lowest)?;
            match term.direction {
                Some(Direction::Asc) => self.push(" ASC"),
                Some(Direction::Desc) => self.push(" DESC"),
                None => {}
            }
            if self.caps.nulls_ordering {
                match term.nulls {
                    Some(Nulls::First) => self.push(" NULLS FIRST"),
                    Some(Nulls::Last) => self.push(" NULLS LAST"),
                    None => {}
                }
            }
        }
        Ok(())
    }

    fn join_item(&mut self, item: &FromItem) -> Result<()> {
        self.enter(1)?;
        let result = self.join_item_inner(item);
        self.leave(1);
        result
    }

    fn join_item_inner(&mut self, item: &FromItem) -> Result<()> {
        match item {
            FromItem::Table(t) => self.table(t),
            FromItem::Subquery { query, alias } => self.derived_subquery(query, alias)?,
            FromItem::Derived(d) => self.derived(d)?,
            FromItem::Join {
                left,
                right,
                kind,
                on,
            } => {
                match kind {
                    JoinKind::Full if !self.caps.full_outer_join => {
                        return Err(self.unsupported("FULL OUTER JOIN"))
                    }
                    JoinKind::Right if !self.caps.right_join => {
                        return Err(self.unsupported("RIGHT OUTER JOIN"))
                    }
                    _ => {}
                }
                self.join_item(left)?;
                self.push(match kind {
                    JoinKind::Inner => " JOIN ",
                    JoinKind::Left => " LEFT OUTER JOIN ",
                    JoinKind::Right => " RIGHT OUTER JOIN ",
                    JoinKind::Full => " FULL OUTER JOIN ",
                    JoinKind::Cross => " CROSS JOIN ",
                });
                if matches!(**right, FromItem::Join { .. }) {
                    self.push("(");
                    self.join_item(right)?;
                    self.push(")");
                } else {
                    self.join_item(right)?;
                }
                match (on, kind) {
                    (Some(on), _) => {
                        self.push(" ON ");
                        self.expr(on)?;
                    }
                    (None, JoinKind::Cross) => {}
                    (None, _) => return Err(Error::Compile("a JOIN needs an ON condition".into())),
                }
            }
        }
        Ok(())
    }

    fn derived(&mut self, d: &Derived) -> Result<()> {
        match d {
            Derived::Subquery { query, alias } => self.derived_subquery(query, alias),
            Derived::Cte(cte) => {
                self.push_identifier(&cte.name);
                Ok(())
            }
        }
    }

    fn derived_subquery(&mut self, query: &Query, alias: &str) -> Result<()> {
        self.push("(");
        self.isolated(|c| c.query(query))?;
        self.push(") AS ");
        self.push_alias(alias);
        Ok(())
    }

    /// `"schema"."name"`.
    fn table_name(&mut self, t: &TableRef) {
        if let Some(schema) = &t.schema {
            self.push_identifier(schema);
            self.push(".");
        }
        self.push_identifier(&t.name);
    }

    /// `"schema"."name" AS "alias"`.
    fn table(&mut self, t: &TableRef) {
        self.table_name(t);
        if let Some(alias) = &t.alias {
            self.push(" AS ");
            self.push_alias(alias);
        }
    }

    /// What columns of `t` are qualified with: its alias, or its (schema-qualified) name.
    fn qualifier(&mut self, t: &TableRef) {
        match &t.alias {
            Some(alias) => self.push_alias(alias),
            None => self.table_name(t),
        }
    }

    fn qualified_column(&mut self, t: &TableRef, column: &str) {
        self.qualifier(t);
        self.push(".");
        self.push_identifier(column);
    }

    fn enter_scope(&mut self, t: &TableRef) -> usize {
        let depth = self.scope.len();
        let (schema, name) = walk::table_key(t);
        self.scope.push((schema.cloned(), name.clone()));
        depth
    }

    fn column_list(&mut self, columns: &[Arc<str>]) {
        self.push(" (");
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_identifier(c);
        }
        self.push(")");
    }

    fn expr_list(&mut self, items: &[Expr]) -> Result<()> {
        for (i, e) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.expr(e)?;
        }
        Ok(())
    }

    fn assignments(&mut self, set: &[(Arc<str>, Expr)]) -> Result<()> {
        for (i, (column, value)) in set.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_identifier(column);
            self.push(" = ");
            self.expr(value)?;
        }
        Ok(())
    }

    fn returning(&mut self, items: &[Expr]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        self.push(" RETURNING ");
        let bare = std::mem::replace(&mut self.bare_columns, true);
        let result = self.result_columns(items);
        self.bare_columns = bare;
        result
    }

    fn on_conflict(
        &mut self,
        on_conflict: &OnConflict,
        table: &TableRef,
        columns: &[Arc<str>],
    ) -> Result<()> {
        match (self.caps.upsert, on_conflict) {
            (UpsertStyle::OnConflict, OnConflict::DoNothing { target }) => {
                self.push(" ON CONFLICT");
                if !target.is_empty() {
                    self.column_list(target);
                }
                self.push(" DO NOTHING");
            }
            (
                UpsertStyle::OnConflict,
                OnConflict::DoUpdate {
                    target,
                    set,
                    where_,
                },
            ) => {
                if target.is_empty() {
                    return Err(Error::Compile(
                        "ON CONFLICT DO UPDATE needs the conflict target columns".into(),
                    ));
                }
                if set.is_empty() {
                    return Err(Error::Compile(
                        "ON CONFLICT DO UPDATE needs at least one column to set".into(),
                    ));
                }
                self.push(" ON CONFLICT");
                self.column_list(target);
                self.push(" DO UPDATE SET ");
                self.assignments(set)?;
                self.where_clause(where_.as_ref())?;
            }
            (UpsertStyle::OnDuplicateKey, OnConflict::DoNothing { target }) => {
                // `INSERT IGNORE` would also turn NOT NULL, foreign key and truncation errors
                // into warnings; assigning a column to itself skips only duplicate-key rows.
                let Some(column) = target.first().or(columns.first()) else {
                    return Err(Error::Compile(
                        "ON CONFLICT DO NOTHING on MySQL needs a target or inserted column".into(),
                    ));
                };
                // Qualified: after INSERT ... SELECT a bare name may also be a column of the
                // SELECT's tables.
                self.push(" ON DUPLICATE KEY UPDATE ");
                self.qualified_column(table, column);
                self.push(" = ");
                self.qualified_column(table, column);
            }
            (UpsertStyle::OnDuplicateKey, OnConflict::DoUpdate { set, where_, .. }) => {
                if where_.is_some() {
                    return Err(self.unsupported("a WHERE condition on an upsert's update"));
                }
                if set.is_empty() {
                    return Err(Error::Compile(
                        "ON DUPLICATE KEY UPDATE needs at least one column to set".into(),
                    ));
                }
                self.push(" ON DUPLICATE KEY UPDATE ");
                for (i, (column, value)) in set.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.qualified_column(table, column);
                    self.push(" = ");
                    self.expr(value)?;
                }
            }
        }
        Ok(())
    }

    fn expr_node(&mut self, e: &Expr) -> Result<()> {
        self.enter(1)?;
        let result = self.expr_node_inner(e);
        self.leave(1);
        result
    }

    /// One expression node. Each kind renders in a function of its own, to keep this frame
    /// (repeated once per nesting level) small.
    fn expr_node_inner(&mut self, e: &Expr) -> Result<()> {
        let d = self.dialect;
        match e {
            Expr::Binary { op, left, right } => self.binary(*op, left, right),
            Expr::Unary { op, expr } => self.unary(*op, expr),
            Expr::And(items) => self.junction(items, true),
            Expr::Or(items) => self.junction(items, false),
            Expr::IsNull { expr, negated } => {
                self.expr_in(expr, Precedence::Concat)?;
                self.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
                Ok(())
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let d = self.dialect;
                d.in_list(self, expr, list, *negated)
            }
            Expr::InSubquery {
                expr,
                query,
                negated,
            } => self.in_subquery(expr, query, *negated),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => self.between(expr, low, high, *negated),
            Expr::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
                escape,
            } => self.like(expr, pattern, *case_insensitive, *negated, *escape),
            Expr::Function(call) => d.function_call(self, call),
            Expr::Cast { expr, sql_type } => {
                if let SqlType::Numeric {
                    precision: None,
                    scale: Some(scale),
                } = sql_type
                {
                    return Err(Error::Compile(format!(
                        "a cast to a numeric type with scale {scale} needs a precision too"
                    )));
                }
                d.cast(self, expr, sql_type)
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => self.case(operand.as_deref(), whens, else_.as_deref()),
            Expr::Subquery(q) => self.subquery(q),
            Expr::Exists { query, negated } => {
                self.push(if *negated { "NOT EXISTS " } else { "EXISTS " });
                self.subquery(query)
            }
            Expr::Over {
                func,
                partition_by,
                order_by,
                frame,
            } => self.over(func, partition_by, order_by, frame.as_ref()),
            Expr::Label { expr, .. } => self.expr_node(expr),
            Expr::Tuple(items) => {
                self.push("(");
                self.expr_list(items)?;
                self.push(")");
                Ok(())
            }
            Expr::Text(t) => text::render(self, t),
            _ => self.leaf(e),
        }
    }

    /// An expression that holds no other.
    fn leaf(&mut self, e: &Expr) -> Result<()> {
        match e {
            Expr::Column(col) => {
                if let (Some(t), false) = (&col.table, self.bare_columns) {
                    self.qualifier(t);
                    self.push(".");
                }
                self.push_identifier(&col.name);
            }
            Expr::DerivedColumn { source, name } => {
                if !self.bare_columns {
                    self.push_derived_name(source);
                    self.push(".");
                }
                self.push_identifier(name);
            }
            Expr::Param(v) => self.push_param(v.clone()),
            Expr::Bind(name) => self.push_bind(name),
            Expr::Null => self.push("NULL"),
            Expr::Star(table) => {
                if let (Some(t), false) = (table, self.bare_columns) {
                    self.qualifier(t);
                    self.push(".");
                }
                self.push("*");
            }
            Expr::Excluded(column) => self.excluded(column),
            Expr::Invalid(msg) => return Err(Error::Compile(msg.to_string())),
            _ => {
                return Err(Error::Compile(
                    "internal: a compound expression reached the leaf renderer".into(),
                ))
            }
        }
        Ok(())
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<()> {
        let d = self.dialect;
        let (left_min, sql, right_min) = match op {
            BinaryOp::Eq | BinaryOp::NotEq if is_null_operand(left) || is_null_operand(right) => {
                let operand = if is_null_operand(right) { left } else { right };
                self.expr_in(operand, Precedence::Concat)?;
                self.push(if op == BinaryOp::Eq {
                    " IS NULL"
                } else {
                    " IS NOT NULL"
                });
                return Ok(());
            }
            BinaryOp::Concat => return d.concat(self, left, right),
            BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom => {
                return d.is_distinct_from(self, left, right, op == BinaryOp::IsNotDistinctFrom)
            }
            BinaryOp::Eq => (Precedence::Concat, " = ", Precedence::Concat),
            BinaryOp::NotEq => (Precedence::Concat, " != ", Precedence::Concat),
            BinaryOp::Lt => (Precedence::Concat, " < ", Precedence::Concat),
            BinaryOp::LtEq => (Precedence::Concat, " <= ", Precedence::Concat),
            BinaryOp::Gt => (Precedence::Concat, " > ", Precedence::Concat),
            BinaryOp::GtEq => (Precedence::Concat, " >= ", Precedence::Concat),
            BinaryOp::Add => (Precedence::Additive, " + ", Precedence::Multiplicative),
            BinaryOp::Sub => (Precedence::Additive, " - ", Precedence::Multiplicative),
            BinaryOp::Mul => (Precedence::Multiplicative, " * ", Precedence::Unary),
            BinaryOp::Div => (Precedence::Multiplicative, " / ", Precedence::Unary),
            BinaryOp::Mod => (Precedence::Multiplicative, " % ", Precedence::Unary),
        };
        self.expr_in(left, left_min)?;
        self.push(sql);
        self.expr_in(right, right_min)
    }

    fn unary(&mut self, op: UnaryOp, expr: &Expr) -> Result<()> {
        match op {
            UnaryOp::Not => {
                self.push("NOT ");
                self.expr_in(expr, Precedence::Concat)
            }
            UnaryOp::Neg => {
                self.push("-");
                self.expr_in(expr, Precedence::Atom)
            }
        }
    }

    /// `a AND b AND ...` (`and`) or `a OR b OR ...`.
    fn junction(&mut self, items: &[Expr], and: bool) -> Result<()> {
        match items {
            [] => {
                self.push(if and { "1 = 1" } else { "1 != 1" });
                Ok(())
            }
            [only] => self.expr_node(only),
            _ => {
                let (sep, min) = if and {
                    (" AND ", Precedence::And)
                } else {
                    (" OR ", Precedence::Or)
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(sep);
                    }
                    self.expr_in(item, min)?;
                }
                Ok(())
            }
        }
    }

    /// The generic rendering of `expr [NOT] IN (list)`; an empty list is a constant
    /// condition, as nothing is in it.
    pub fn standard_in_list(&mut self, expr: &Expr, list: &[Expr], negated: bool) -> Result<()> {
        if list.is_empty() {
            // Nothing is in an empty list; the operand is not evaluated.
            self.push(if negated { "1 = 1" } else { "1 != 1" });
            return Ok(());
        }
        self.expr_in(expr, Precedence::Concat)?;
        self.push(if negated { " NOT IN (" } else { " IN (" });
        self.expr_list(list)?;
        self.push(")");
        Ok(())
    }

    fn in_subquery(&mut self, expr: &Expr, query: &Query, negated: bool) -> Result<()> {
        self.expr_in(expr, Precedence::Concat)?;
        self.push(if negated { " NOT IN " } else { " IN " });
        self.subquery(query)
    }

    fn between(&mut self, expr: &Expr, low: &Expr, high: &Expr, negated: bool) -> Result<()> {
        self.expr_in(expr, Precedence::Concat)?;
        self.push(if negated {
            " NOT BETWEEN "
        } else {
            " BETWEEN "
        });
        self.expr_in(low, Precedence::Concat)?;
        self.push(" AND ");
        self.expr_in(high, Precedence::Concat)
    }

    fn like(
        &mut self,
        expr: &Expr,
        pattern: &Expr,
        case_insensitive: bool,
        negated: bool,
        escape: Option<char>,
    ) -> Result<()> {
        let d = self.dialect;
        let stops_at_nul = !d.like_reads_past_nul();
        if stops_at_nul && [expr, pattern].into_iter().any(holds_nul_text) {
            return Err(Error::Argument(format!(
                "a LIKE pattern or operand holding a NUL character cannot be matched on {}: \
                 its LIKE stops at the NUL and would match other rows",
                d.name()
            )));
        }
        // Bind parameters in the operands are checked for NUL when their values are given.
        let outer = self.nul_sensitive;
        self.nul_sensitive |= stops_at_nul;
        let result = if case_insensitive {
            d.ilike(self, expr, pattern, negated, escape)
        } else {
            self.expr_in(expr, Precedence::Concat)
                .and_then(|()| {
                    self.push(if negated { " NOT LIKE " } else { " LIKE " });
                    self.expr_in(pattern, Precedence::Concat)
                })
                .and_then(|()| self.escape_clause(escape))
        };
        self.nul_sensitive = outer;
        result
    }

    /// The generic rendering of a cast: `CAST(expr AS type)`, the type named by
    /// [`SqlHooks::cast_type`], a bound operand typed by [`SqlHooks::typed_param`].
    pub fn standard_cast(&mut self, expr: &Expr, ty: &SqlType) -> Result<()> {
        let d = self.dialect;
        self.push("CAST(");
        match expr {
            Expr::Param(v) => d.typed_param(self, v)?,
            e => self.expr(e)?,
        }
        self.push(" AS ");
        d.cast_type(self, ty)?;
        self.push(")");
        Ok(())
    }

    fn case(
        &mut self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        else_: Option<&Expr>,
    ) -> Result<()> {
        if whens.is_empty() {
            return Err(Error::Compile("CASE needs at least one WHEN".into()));
        }
        self.push("CASE");
        if let Some(operand) = operand {
            self.push(" ");
            self.expr(operand)?;
        }
        for (when, then) in whens {
            self.push(" WHEN ");
            self.expr(when)?;
            self.push(" THEN ");
            self.expr(then)?;
        }
        if let Some(else_) = else_ {
            self.push(" ELSE ");
            self.expr(else_)?;
        }
        self.push(" END");
        Ok(())
    }

    fn over(
        &mut self,
        func: &Expr,
        partition_by: &[Expr],
        order_by: &[OrderBy],
        frame: Option<&WindowFrame>,
    ) -> Result<()> {
        self.expr_in(func, Precedence::Atom)?;
        self.push(" OVER (");
        if !partition_by.is_empty() {
            self.push("PARTITION BY ");
            self.expr_list(partition_by)?;
        }
        if !order_by.is_empty() {
            if !partition_by.is_empty() {
                self.push(" ");
            }
            self.push("ORDER BY ");
            self.order_terms(order_by, &[])?;
        }
        if let Some(frame) = frame {
            if !partition_by.is_empty() || !order_by.is_empty() {
                self.push(" ");
            }
            self.frame(frame, order_by.len())?;
        }
        self.push(")");
        Ok(())
    }

    /// `ROWS BETWEEN start AND end` / `RANGE ...`, refusing what the databases refuse.
    fn frame(&mut self, frame: &WindowFrame, order_terms: usize) -> Result<()> {
        // Where each bound lies, from the partition's start to its end.
        let rank = |b: FrameBound| match b {
            FrameBound::UnboundedPreceding => 0,
            FrameBound::Preceding(_) => 1,
            FrameBound::CurrentRow => 2,
            FrameBound::Following(_) => 3,
            FrameBound::UnboundedFollowing => 4,
        };
        let (start, end) = (frame.start, frame.end);
        if start == FrameBound::UnboundedFollowing
            || end == FrameBound::UnboundedPreceding
            || rank(start) > rank(end)
        {
            return Err(Error::Compile(format!(
                "a window frame cannot run from {} to {}",
                bound_sql(start),
                bound_sql(end)
            )));
        }
        let offset =
            |b: FrameBound| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_));
        if frame.units == FrameUnits::Range && (offset(start) || offset(end)) && order_terms != 1 {
            return Err(Error::Compile(
                "a RANGE frame with an offset needs exactly one ORDER BY term".into(),
            ));
        }
        self.push(match frame.units {
            FrameUnits::Rows => "ROWS BETWEEN ",
            FrameUnits::Range => "RANGE BETWEEN ",
        });
        self.frame_bound(start);
        self.push(" AND ");
        self.frame_bound(end);
        Ok(())
    }

    /// A frame bound. Offsets are written as numbers (not every database takes a
    /// placeholder there), lowered like LIMIT to what the database takes.
    fn frame_bound(&mut self, bound: FrameBound) {
        match bound {
            FrameBound::Preceding(n) | FrameBound::Following(n) => {
                let n = n
                    .min(self.dialect.max_row_count())
                    .min(i64::MAX.unsigned_abs());
                self.push_display(n);
                self.push(if matches!(bound, FrameBound::Preceding(_)) {
                    " PRECEDING"
                } else {
                    " FOLLOWING"
                });
            }
            other => self.push(bound_sql(other)),
        }
    }

    fn excluded(&mut self, column: &str) {
        match self.caps.upsert {
            UpsertStyle::OnConflict => {
                self.push("excluded.");
                self.push_identifier(column);
            }
            UpsertStyle::OnDuplicateKey => {
                self.push("VALUES(");
                self.push_identifier(column);
                self.push(")");
            }
        }
    }
}
