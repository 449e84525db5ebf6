//! The schema as a Mermaid entity-relationship diagram: [`MetaData::to_mermaid`].
//!
//! Mermaid's `erDiagram` grammar restricts what may stand where, and GitHub, GitLab and the
//! editors that render it run different Mermaid versions. The output therefore keeps to what
//! Mermaid 9 through 12 all parse (checked against 9.4, 10.9, 11.4 and 12.3):
//!
//! - entity (table) names are always double-quoted, which lets them hold spaces, dots and
//!   non-ASCII letters and keeps a table called `one` or `class` from reading as a keyword;
//!   the characters a quoted name cannot hold (`"`, `%`, `\` and control characters) become `_`;
//! - attribute types and names are single words of ASCII letters, digits, `_`, `-`, `(`, `)`,
//!   `[` and `]`, starting with a letter or `_`; any other character becomes `_` (so
//!   `NUMERIC(10,2)` is written `NUMERIC(10_2)`), and a word that would read as a key marker
//!   (`pk`, `FK`, `uk`) gets a trailing `_`. A column whose name had to change keeps its real
//!   name in the attribute's comment.

use std::collections::HashSet;
use std::fmt::Write;
use std::sync::Arc;

use crate::types::SqlType;

use super::column::Column;
use super::constraint::{Constraint, ForeignKeyConstraint};
use super::metadata::MetaData;
use super::table::Table;

impl MetaData {
    /// The tables, their columns, keys and foreign keys as a Mermaid `erDiagram`, ready to be
    /// pasted into a ```` ```mermaid ```` block of a README or an issue.
    ///
    /// - Tables come in the MetaData's order (definition order; `Base::metadata()` orders the
    ///   models by table name), so the text is the same on every run and the author decides
    ///   the layout by the order of definition. Each table lists its columns in column order
    ///   with a generic type (`INTEGER`, `VARCHAR(50)`, `NUMERIC(10_2)`, ...), the key markers
    ///   `PK`, `FK` and `UK` (every column of a composite key carries the marker), and a comment
    ///   saying `not null` for a NOT NULL column outside the primary key, followed by the
    ///   column's own comment.
    /// - Relationships follow the tables, one per foreign key, in the referring table's order,
    ///   as `"parent" <parent side><line><child side> "child" : "<fk columns>"`. The parent side
    ///   is `||` (exactly one) when every foreign-key column is NOT NULL and `|o` (zero or one)
    ///   otherwise; the child side is `o|` (one-to-one) when the foreign-key columns are
    ///   covered by the child's primary key, a unique constraint or a unique index, and `o{`
    ///   (zero or more) otherwise. The line is solid (`--`, identifying) when the foreign-key
    ///   columns are part of the child's primary key, as in an association table, and dashed
    ///   (`..`) otherwise. A self-reference links a table to itself; a foreign key to a table
    ///   outside the MetaData still draws its line, to an entity without attributes.
    ///
    /// See the [module documentation](super::diagram) for how names are made safe for Mermaid.
    ///
    /// ```
    /// use retort_core::schema::{Column, MetaData, Table};
    /// use retort_core::types::SqlType;
    ///
    /// let metadata = MetaData::new();
    /// Table::new("users", &metadata)
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .column(Column::new("email", SqlType::string(120)).not_null().unique())
    ///     .build()?;
    /// Table::new("addresses", &metadata)
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .column(Column::new("user_id", SqlType::Integer).not_null().foreign_key("users.id"))
    ///     .build()?;
    /// assert_eq!(
    ///     metadata.to_mermaid(),
    ///     r#"erDiagram
    ///     "users" {
    ///         INTEGER id PK
    ///         VARCHAR(120) email UK "not null"
    ///     }
    ///     "addresses" {
    ///         INTEGER id PK
    ///         INTEGER user_id FK "not null"
    ///     }
    ///     "users" ||..o{ "addresses" : "user_id"
    /// "#
    /// );
    /// # Ok::<(), retort_core::Error>(())
    /// ```
    pub fn to_mermaid(&self) -> String {
        let tables = self.tables();
        let mut out = String::from("erDiagram\n");
        for table in &tables {
            write_entity(&mut out, table);
        }
        for table in &tables {
            for fk in table.foreign_keys() {
                write_relationship(&mut out, table, fk);
            }
        }
        out
    }
}

fn write_entity(out: &mut String, table: &Table) {
    let unique = unique_sets_for_marker(table);
    let fk_columns: HashSet<&str> = table
        .foreign_keys()
        .flat_map(|fk| fk.columns().iter().map(|c| &**c))
        .collect();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "    {} {{", entity_name(table.key()));
    for column in table.columns() {
        let name = column.name();
        let mut keys = Vec::new();
        if column.is_primary_key() {
            keys.push("PK");
        }
        if fk_columns.contains(name) {
            keys.push("FK");
        }
        if unique.iter().any(|set| set.iter().any(|c| &**c == name)) {
            keys.push("UK");
        }
        let word = word(name);
        let mut line = format!("        {} {word}", word_of_type(column.sql_type()));
        if !keys.is_empty() {
            line.push(' ');
            line.push_str(&keys.join(", "));
        }
        let comment = attribute_comment(column, word != name);
        if !comment.is_empty() {
            let _ = write!(line, " \"{}\"", quoted_text(&comment));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("    }\n");
}

fn attribute_comment(column: &Column, renamed: bool) -> String {
    let mut parts = Vec::new();
    if renamed {
        parts.push(format!("column: {}", column.name()));
    }
    if !column.is_nullable() && !column.is_primary_key() {
        parts.push("not null".to_owned());
    }
    if let Some(comment) = column.get_comment() {
        parts.push(comment.to_owned());
    }
    parts.join("; ")
}

fn write_relationship(out: &mut String, table: &Table, fk: &ForeignKeyConstraint) {
    let columns = fk.columns();
    let nullable = columns
        .iter()
        .any(|c| table.column(c).map_or(true, Column::is_nullable));
    let covers = |set: &[Arc<str>]| !set.is_empty() && set.iter().all(|c| columns.contains(c));
    let one_to_one = unique_column_sets(table).iter().any(|set| covers(set));
    let pk: Vec<&str> = table.primary_key().iter().map(|c| c.name()).collect();
    let identifying = columns.iter().all(|c| pk.contains(&&**c));
    let names: Vec<&str> = columns.iter().map(|c| &**c).collect();
    let _ = writeln!(
        out,
        "    {} {}{}{} {} : \"{}\"",
        entity_name(&fk.referred_key()),
        if nullable { "|o" } else { "||" },
        if identifying { "--" } else { ".." },
        if one_to_one { "o|" } else { "o{" },
        entity_name(table.key()),
        quoted_text(&names.join(", ")),
    );
}

/// The column sets the table holds unique: its primary key, unique constraints and unique
/// indexes.
fn unique_column_sets(table: &Table) -> Vec<&[Arc<str>]> {
    let constraints = table.constraints().iter().filter_map(|c| match c {
        Constraint::PrimaryKey(pk) => Some(pk.columns()),
        Constraint::Unique(u) => Some(u.columns()),
        _ => None,
    });
    let indexes = table
        .indexes()
        .iter()
        .filter(|ix| ix.is_unique())
        .map(|ix| ix.columns());
    constraints.chain(indexes).collect()
}

/// The `UK` marker is for unique keys other than the primary key.
fn unique_sets_for_marker(table: &Table) -> Vec<&[Arc<str>]> {
    let pk = table.primary_key_constraint().map(|pk| pk.columns());
    unique_column_sets(table)
        .into_iter()
        .filter(|set| Some(*set) != pk)
        .collect()
}

/// A table name as a quoted Mermaid entity name.
fn entity_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| match c {
            '"' | '%' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    format!("\"{safe}\"")
}

/// Text inside a comment or a relationship label: anything but a double quote or a line break.
fn quoted_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A type or column name as one Mermaid attribute word.
fn word(text: &str) -> String {
    let mut word: String = text
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '_' | '-' | '(' | ')' | '[' | ']' => c,
            _ => '_',
        })
        .collect();
    if !word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        word.insert(0, '_');
    }
    // Mermaid reads a leading PK/FK/UK that ends at a word boundary as a key marker.
    let lead = word
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(word.len());
    if ["pk", "fk", "uk"].contains(&word[..lead].to_ascii_lowercase().as_str()) {
        word.insert(lead, '_');
    }
    word
}

fn word_of_type(sql_type: &SqlType) -> String {
    let name = match sql_type {
        SqlType::Integer => "INTEGER".to_owned(),
        SqlType::SmallInteger => "SMALLINT".to_owned(),
        SqlType::BigInteger => "BIGINT".to_owned(),
        SqlType::Float => "FLOAT".to_owned(),
        SqlType::Double => "DOUBLE".to_owned(),
        SqlType::Numeric {
            precision: Some(p),
            scale: Some(s),
        } => format!("NUMERIC({p},{s})"),
        SqlType::Numeric {
            precision: Some(p),
            scale: None,
        } => format!("NUMERIC({p})"),
        SqlType::Numeric { .. } => "NUMERIC".to_owned(),
        SqlType::String(Some(n)) => format!("VARCHAR({n})"),
        SqlType::String(None) => "VARCHAR".to_owned(),
        SqlType::Text => "TEXT".to_owned(),
        SqlType::Boolean => "BOOLEAN".to_owned(),
        SqlType::Date => "DATE".to_owned(),
        SqlType::Time => "TIME".to_owned(),
        SqlType::DateTime { timezone: false } => "DATETIME".to_owned(),
        SqlType::DateTime { timezone: true } => "DATETIME_TZ".to_owned(),
        SqlType::LargeBinary => "BLOB".to_owned(),
        SqlType::Json => "JSON".to_owned(),
        SqlType::Uuid => "UUID".to_owned(),
        SqlType::Enum { name, .. } if name.is_empty() => "ENUM".to_owned(),
        SqlType::Enum { name, .. } => format!("ENUM({name})"),
        SqlType::Custom(sql) => sql.clone(),
    };
    word(&name)
}
