//! Literal SQL with named parameters: `text("... WHERE id = :id").bind("id", 5)`.
//!
//! Each `:name` becomes the dialect's placeholder and its bound value a parameter. The parser
//! leaves alone:
//! - anything inside `'strings'`, `"identifiers"`, `` `identifiers` ``, PostgreSQL
//!   `$tag$dollar quotes$tag$`, `-- comments` and `/* comments */`;
//! - `::` (a PostgreSQL cast: `:id::int` is the parameter `id` cast to int);
//! - a colon right after a letter, digit or `_` (`a:b`);
//! - `\:`, which is written out as a plain `:`.
//!
//! Every placeholder must have a value and every value a placeholder; either mistake is an
//! [`Error::Argument`] when the statement is compiled.
//!
//! ```
//! use retort_core::dialect::postgres::PostgresDialect;
//! use retort_core::sql::{text, Executable};
//!
//! let q = text("SELECT ':x', id::text FROM t WHERE id = :id OR parent = :id").bind("id", 7);
//! let c = q.compile(&PostgresDialect).unwrap();
//! assert_eq!(c.sql, "SELECT ':x', id::text FROM t WHERE id = $1 OR parent = $2");
//! assert_eq!(c.params, vec![7.into(), 7.into()]);
//! ```

use std::sync::Arc;

use super::ast::{Statement, TextClause};
use super::compiler::{Compiled, Executable, SqlCompiler};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::value::ToValue;

/// Literal SQL with `:name` parameters; bind their values with [`TextClause::bind`]. Usable as
/// a statement of its own and as an expression inside another.
pub fn text(sql: impl Into<Arc<str>>) -> TextClause {
    TextClause::new(sql)
}

impl TextClause {
    /// Binds `value` to the placeholder `:name` (given with or without its colon), replacing
    /// an earlier value for the same name.
    pub fn bind(mut self, name: &str, value: impl ToValue) -> TextClause {
        let name = name.strip_prefix(':').unwrap_or(name);
        let value = value.to_value();
        match self.binds.iter_mut().find(|(n, _)| &**n == name) {
            Some(slot) => slot.1 = value,
            None => self.binds.push((name.into(), value)),
        }
        self
    }
}

impl From<TextClause> for Statement {
    fn from(t: TextClause) -> Statement {
        Statement::Text(t)
    }
}

impl Executable for TextClause {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        SqlCompiler::new(dialect).run(|c| render(c, self))
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The index just past the quoted section that starts at `start` with `quote`; a doubled
/// quote stays inside it.
pub(crate) fn skip_quoted(sql: &str, start: usize, quote: u8) -> usize {
    let bytes = sql.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// If a PostgreSQL dollar quote (`$$` or `$tag$`) opens at `start`, the index just past its
/// closing tag.
fn skip_dollar_quote(sql: &str, start: usize) -> Option<usize> {
    if sql[..start].chars().next_back().is_some_and(is_word) {
        return None;
    }
    let rest = &sql[start + 1..];
    let tag_len = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
    let tag = &rest[..tag_len];
    if !rest[tag_len..].starts_with('$') || tag.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let opener = &sql[start..start + tag_len + 2];
    let body = start + opener.len();
    Some(match sql[body..].find(opener) {
        Some(end) => body + end + opener.len(),
        None => sql.len(),
    })
}

/// Appends `clause` with its placeholders rendered and its values bound.
pub(crate) fn render(c: &mut SqlCompiler<'_>, clause: &TextClause) -> Result<()> {
    let sql: &str = &clause.sql;
    let bytes = sql.as_bytes();
    let mut used = vec![false; clause.binds.len()];
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(sql, i, q),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(bytes.len(), |n| i + n + 4);
            }
            b'$' => i = skip_dollar_quote(sql, i).unwrap_or(i + 1),
            b'\\' if bytes.get(i + 1) == Some(&b':') => {
                c.push(&sql[copied..i]);
                copied = i + 1;
                i += 2;
            }
            b':' if bytes.get(i + 1) == Some(&b':') => i += 2,
            b':' if sql[..i].chars().next_back().is_some_and(is_word) => i += 1,
            b':' => {
                let rest = &sql[i + 1..];
                let len = rest.find(|ch: char| !is_word(ch)).unwrap_or(rest.len());
                if len == 0 {
                    i += 1;
                    continue;
                }
                let name = &rest[..len];
                let Some(slot) = clause.binds.iter().position(|(n, _)| &**n == name) else {
                    return Err(Error::Argument(format!(
                        "text(): no value is bound for the placeholder :{name}"
                    )));
                };
                used[slot] = true;
                c.push(&sql[copied..i]);
                c.push_param(clause.binds[slot].1.clone());
                i += 1 + len;
                copied = i;
            }
            _ => i += 1,
        }
    }
    c.push(&sql[copied..]);
    if let Some(slot) = used.iter().position(|u| !u) {
        return Err(Error::Argument(format!(
            "text(): the value bound to :{} matches no placeholder",
            clause.binds[slot].0
        )));
    }
    Ok(())
}
