//! Naming conventions: templates that name the constraints and indexes left unnamed, as
//! SQLAlchemy's `MetaData(naming_convention=...)` does.
//!
//! A template is text with `%(token)s` placeholders (`%%` writes a `%`):
//!
//! | token | value |
//! |---|---|
//! | `%(table_name)s` | the table's name |
//! | `%(column_0_name)s`, `%(column_1_name)s`, ... | the n-th column of the constraint |
//! | `%(column_0_N_name)s` / `%(column_0N_name)s` | all its columns, joined with `_` / with nothing |
//! | `%(column_0_label)s`, `%(column_0_N_label)s`, ... | the same as `<table>_<column>` |
//! | `%(column_0_key)s`, ... | the same as `_name` (columns have no separate key) |
//! | `%(referred_table_name)s` | a foreign key's referred table |
//! | `%(referred_column_0_name)s`, `%(referred_column_0_N_name)s`, ... | its referred columns |
//! | `%(constraint_name)s` | the name given to the constraint |
//!
//! When a template uses `%(constraint_name)s`, a given name is put through it (so
//! `CheckConstraint::new(..).named("positive_age")` becomes `ck_users_positive_age`) and an
//! unnamed constraint is an error; a template without that token names only unnamed
//! constraints and leaves given names alone.
//!
//! Without a convention of your own, [`NamingConvention::default`] applies: indexes are named
//! `ix_%(column_0_label)s` (`ix_<table>_<column>`), every other constraint stays unnamed unless
//! given a name, and the database names it.
//!
//! Names a convention produces that exceed the dialect's identifier limit (PostgreSQL 63 bytes,
//! MySQL 64 characters) are cut and given an 8-hex-digit hash of the whole name, so they stay
//! distinct and are the same on every run.

use std::sync::Arc;

use crate::error::{Error, Result};

use super::constraint::ConstraintName;

/// The index template used when none is set: `ix_<table>_<column>`.
pub const DEFAULT_INDEX_TEMPLATE: &str = "ix_%(column_0_label)s";

/// The kinds of object a naming convention names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConstraintKind {
    /// Indexes (`ix`).
    Index,
    /// Unique constraints (`uq`).
    Unique,
    /// Check constraints (`ck`).
    Check,
    /// Foreign keys (`fk`).
    ForeignKey,
    /// Primary keys (`pk`).
    PrimaryKey,
}

impl ConstraintKind {
    /// SQLAlchemy's key for the kind: `ix`, `uq`, `ck`, `fk` or `pk`.
    pub fn key(self) -> &'static str {
        match self {
            ConstraintKind::Index => "ix",
            ConstraintKind::Unique => "uq",
            ConstraintKind::Check => "ck",
            ConstraintKind::ForeignKey => "fk",
            ConstraintKind::PrimaryKey => "pk",
        }
    }
}

/// Templates naming constraints and indexes; see the [module documentation](self).
///
/// ```
/// use retort_core::schema::{Column, MetaData, NamingConvention, Table};
/// use retort_core::types::SqlType;
///
/// let metadata = MetaData::new().with_naming_convention(
///     NamingConvention::new()
///         .uq("uq_%(table_name)s_%(column_0_N_name)s")
///         .fk("fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"),
/// );
/// let users = Table::new("users", &metadata)
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("email", SqlType::string(200)).unique())
///     .build()?;
/// assert_eq!(users.constraints()[1].name(), Some("uq_users_email"));
/// # Ok::<(), retort_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingConvention {
    ix: Option<Arc<str>>,
    uq: Option<Arc<str>>,
    ck: Option<Arc<str>>,
    fk: Option<Arc<str>>,
    pk: Option<Arc<str>>,
}

impl Default for NamingConvention {
    fn default() -> Self {
        NamingConvention {
            ix: Some(DEFAULT_INDEX_TEMPLATE.into()),
            uq: None,
            ck: None,
            fk: None,
            pk: None,
        }
    }
}

impl NamingConvention {
    /// The default convention ([`DEFAULT_INDEX_TEMPLATE`] for indexes, nothing else), to add
    /// templates to.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the index template.
    pub fn ix(mut self, template: impl Into<Arc<str>>) -> Self {
        self.ix = Some(template.into());
        self
    }

    /// Sets the unique-constraint template.
    pub fn uq(mut self, template: impl Into<Arc<str>>) -> Self {
        self.uq = Some(template.into());
        self
    }

    /// Sets the check-constraint template.
    pub fn ck(mut self, template: impl Into<Arc<str>>) -> Self {
        self.ck = Some(template.into());
        self
    }

    /// Sets the foreign-key template.
    pub fn fk(mut self, template: impl Into<Arc<str>>) -> Self {
        self.fk = Some(template.into());
        self
    }

    /// Sets the primary-key template.
    pub fn pk(mut self, template: impl Into<Arc<str>>) -> Self {
        self.pk = Some(template.into());
        self
    }

    /// The template for `kind`, if set.
    pub fn template(&self, kind: ConstraintKind) -> Option<&str> {
        match kind {
            ConstraintKind::Index => self.ix.as_deref(),
            ConstraintKind::Unique => self.uq.as_deref(),
            ConstraintKind::Check => self.ck.as_deref(),
            ConstraintKind::ForeignKey => self.fk.as_deref(),
            ConstraintKind::PrimaryKey => self.pk.as_deref(),
        }
    }

    /// The name an object of `kind` gets: the given name, or the template filled in from
    /// `tokens`, or none.
    pub(crate) fn resolve(
        &self,
        kind: ConstraintKind,
        given: Option<&ConstraintName>,
        tokens: &NameTokens<'_>,
    ) -> Result<Option<ConstraintName>> {
        let Some(template) = self.template(kind) else {
            return Ok(given.cloned());
        };
        if given.is_some() && !template.contains("%(constraint_name)s") {
            return Ok(given.cloned());
        }
        let tokens = NameTokens {
            constraint_name: given.map(|n| &*n.text),
            ..*tokens
        };
        let text = render_template(kind, template, &tokens)?;
        Ok(Some(ConstraintName {
            text: text.into(),
            generated: true,
        }))
    }
}

/// What a template's tokens are filled from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameTokens<'a> {
    pub(crate) table: &'a str,
    pub(crate) columns: &'a [Arc<str>],
    pub(crate) referred_table: Option<&'a str>,
    pub(crate) referred_columns: &'a [Arc<str>],
    pub(crate) constraint_name: Option<&'a str>,
}

impl<'a> NameTokens<'a> {
    pub(crate) fn new(table: &'a str, columns: &'a [Arc<str>]) -> Self {
        NameTokens {
            table,
            columns,
            referred_table: None,
            referred_columns: &[],
            constraint_name: None,
        }
    }
}

fn render_template(
    kind: ConstraintKind,
    template: &str,
    tokens: &NameTokens<'_>,
) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(open) = after.strip_prefix('(') {
            let Some(end) = open.find(")s") else {
                return Err(Error::Argument(format!(
                    "naming convention '{}' template {template:?} has an unterminated %(...)s token",
                    kind.key()
                )));
            };
            out.push_str(&token_value(kind, template, &open[..end], tokens)?);
            rest = &open[end + 2..];
        } else {
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn token_value(
    kind: ConstraintKind,
    template: &str,
    token: &str,
    t: &NameTokens<'_>,
) -> Result<String> {
    let err = |why: &str| {
        Error::Argument(format!(
            "naming convention '{}' template {template:?}: %({token})s {why}",
            kind.key()
        ))
    };
    match token {
        "table_name" => return Ok(t.table.to_owned()),
        "referred_table_name" => {
            return t
                .referred_table
                .map(str::to_owned)
                .ok_or_else(|| err("applies only to foreign keys"))
        }
        "constraint_name" => {
            return t.constraint_name.map(str::to_owned).ok_or_else(|| {
                err("needs the constraint to be given a name; name it with .named(..)")
            })
        }
        _ => {}
    }
    let (columns, label_table, rest) = if let Some(rest) = token.strip_prefix("referred_column_") {
        if t.referred_table.is_none() {
            return Err(err("applies only to foreign keys"));
        }
        (
            t.referred_columns,
            t.referred_table.unwrap_or_default(),
            rest,
        )
    } else if let Some(rest) = token.strip_prefix("column_") {
        (t.columns, t.table, rest)
    } else {
        return Err(err("is not a known token"));
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let index: usize = rest[..digits]
        .parse()
        .map_err(|_| err("is not a known token"))?;
    let (all, separator, part) = match &rest[digits..] {
        "_name" | "_key" => (false, "", "name"),
        "_label" => (false, "", "label"),
        "N_name" | "N_key" => (true, "", "name"),
        "N_label" => (true, "", "label"),
        "_N_name" | "_N_key" => (true, "_", "name"),
        "_N_label" => (true, "_", "label"),
        _ => return Err(err("is not a known token")),
    };
    let render = |c: &Arc<str>| match part {
        "label" => format!("{label_table}_{c}"),
        _ => c.to_string(),
    };
    if all {
        if index != 0 {
            return Err(err("joins all columns and must start at column 0"));
        }
        if columns.is_empty() {
            return Err(err("has no columns to name"));
        }
        Ok(columns
            .iter()
            .map(render)
            .collect::<Vec<_>>()
            .join(separator))
    } else {
        columns
            .get(index)
            .map(render)
            .ok_or_else(|| err(&format!("needs at least {} column(s)", index + 1)))
    }
}

/// Cuts `name` so that `measure(name) <= max`, ending it with `_` and eight hex digits of a hash
/// of the whole name so that cut names stay distinct and the same on every run.
pub(crate) fn truncate_name(name: &str, max: usize, measure: &dyn Fn(&str) -> usize) -> String {
    if measure(name) <= max {
        return name.to_owned();
    }
    let suffix = format!("_{:08x}", fnv1a(name));
    let budget = max.saturating_sub(suffix.len());
    let mut cut = 0;
    for (i, c) in name.char_indices() {
        let end = i + c.len_utf8();
        if measure(&name[..end]) > budget {
            break;
        }
        cut = end;
    }
    format!("{}{suffix}", &name[..cut])
}

/// 32-bit FNV-1a: tiny and, unlike std's hasher, the same in every Rust release.
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<Arc<str>> {
        names.iter().map(|c| Arc::from(*c)).collect()
    }

    fn render(template: &str, tokens: &NameTokens<'_>) -> Result<String> {
        render_template(ConstraintKind::Unique, template, tokens)
    }

    #[test]
    fn tokens_are_filled_in() {
        let c = cols(&["a", "b"]);
        let r = cols(&["x", "y"]);
        let t = NameTokens {
            referred_table: Some("other"),
            referred_columns: &r,
            constraint_name: Some("named"),
            ..NameTokens::new("t", &c)
        };
        assert_eq!(
            render("uq_%(table_name)s_%(column_0_name)s", &t).unwrap(),
            "uq_t_a"
        );
        assert_eq!(render("%(column_1_name)s", &t).unwrap(), "b");
        assert_eq!(render("%(column_0_N_name)s", &t).unwrap(), "a_b");
        assert_eq!(render("%(column_0N_name)s", &t).unwrap(), "ab");
        assert_eq!(render("%(column_0_label)s", &t).unwrap(), "t_a");
        assert_eq!(render("%(column_0_N_label)s", &t).unwrap(), "t_a_t_b");
        assert_eq!(render("%(referred_table_name)s", &t).unwrap(), "other");
        assert_eq!(render("%(referred_column_0_N_name)s", &t).unwrap(), "x_y");
        assert_eq!(
            render("%(referred_column_0_label)s", &t).unwrap(),
            "other_x"
        );
        assert_eq!(render("%(constraint_name)s", &t).unwrap(), "named");
        assert_eq!(render("100%%_%(column_0_key)s%", &t).unwrap(), "100%_a%");
    }

    #[test]
    fn bad_tokens_are_argument_errors() {
        let c = cols(&["a"]);
        let t = NameTokens::new("t", &c);
        for bad in [
            "%(nope)s",
            "%(column_1_name)s",
            "%(column_1_N_name)s",
            "%(column_x_name)s",
            "%(referred_table_name)s",
            "%(constraint_name)s",
            "%(table_name",
        ] {
            let e = render(bad, &t).unwrap_err();
            assert!(matches!(e, Error::Argument(_)), "{bad}: {e}");
        }
        let none: Vec<Arc<str>> = vec![];
        let e = render("%(column_0_N_name)s", &NameTokens::new("t", &none)).unwrap_err();
        assert!(e.to_string().contains("no columns"), "{e}");
    }

    #[test]
    fn given_names_pass_through_unless_the_template_uses_them() {
        let nc = NamingConvention::new().ck("ck_%(table_name)s_%(constraint_name)s");
        let c = cols(&["a"]);
        let t = NameTokens::new("t", &c);
        let given = ConstraintName::given("positive");
        let ck = nc
            .resolve(ConstraintKind::Check, Some(&given), &t)
            .unwrap()
            .unwrap();
        assert_eq!((&*ck.text, ck.generated), ("ck_t_positive", true));
        assert!(nc.resolve(ConstraintKind::Check, None, &t).is_err());
        let ix = nc
            .resolve(ConstraintKind::Index, Some(&given), &t)
            .unwrap()
            .unwrap();
        assert_eq!((&*ix.text, ix.generated), ("positive", false));
        let ix = nc
            .resolve(ConstraintKind::Index, None, &t)
            .unwrap()
            .unwrap();
        assert_eq!(&*ix.text, "ix_t_a");
        assert_eq!(nc.resolve(ConstraintKind::Unique, None, &t).unwrap(), None);
    }

    #[test]
    fn long_names_are_cut_with_a_stable_hash() {
        let bytes = |s: &str| s.len();
        let long = "x".repeat(80);
        let cut = truncate_name(&long, 63, &bytes);
        assert_eq!(cut.len(), 63);
        assert_eq!(cut, truncate_name(&long, 63, &bytes));
        assert_eq!(&cut[..54], &long[..54]);
        let other = truncate_name(&format!("{}y", "x".repeat(79)), 63, &bytes);
        assert_ne!(cut, other);
        assert_eq!(truncate_name("short", 63, &bytes), "short");
        // Multi-byte characters are never split.
        let wide = "é".repeat(40);
        let cut = truncate_name(&wide, 63, &bytes);
        assert!(cut.len() <= 63 && cut.starts_with("éé"), "{cut}");
        let chars = |s: &str| s.chars().count();
        assert_eq!(truncate_name(&wide, 64, &chars), wide);
        assert_eq!(fnv1a(""), 0x811c_9dc5);
        assert_eq!(fnv1a("a"), 0xe40c_292c);
    }
}
