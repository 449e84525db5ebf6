//! Reflection: what a live database says its tables are, in retort's own vocabulary.
//!
//! Each `Reflected*` value describes one object as the database reports it: types are mapped
//! back to [`SqlType`]s, server defaults kept as the SQL text the database shows.

use crate::types::SqlType;

use super::column::ReferentialAction;

/// A column as the database describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReflectedColumn {
    /// The column's name.
    pub name: String,
    /// Its type, mapped back to retort's types (`SqlType::Custom` with the database's own
    /// spelling where no retort type matches).
    pub sql_type: SqlType,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The server default as SQL text, as the database shows it.
    pub server_default: Option<String>,
    /// Whether the database fills it in (SQLite's rowid alias, PostgreSQL identity or serial,
    /// MySQL `AUTO_INCREMENT`).
    pub autoincrement: bool,
    /// The column's comment, where the database keeps one.
    pub comment: Option<String>,
}

/// A table's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectedPrimaryKey {
    /// The constraint's name, where the database keeps one.
    pub name: Option<String>,
    /// The key's columns, in key order.
    pub columns: Vec<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectedForeignKey {
    /// The constraint's name, where the database keeps one.
    pub name: Option<String>,
    /// The referring columns.
    pub columns: Vec<String>,
    /// The referred table's schema, when it is not the inspected table's own.
    pub referred_schema: Option<String>,
    /// The referred table.
    pub referred_table: String,
    /// The referred columns, paired with `columns`.
    pub referred_columns: Vec<String>,
    /// `ON DELETE`, unless it is the database's default (`NO ACTION`).
    pub ondelete: Option<ReferentialAction>,
    /// `ON UPDATE`, unless it is the database's default (`NO ACTION`).
    pub onupdate: Option<ReferentialAction>,
}

/// An index (not one the database made to back a primary key or unique constraint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectedIndex {
    /// The index's name.
    pub name: String,
    /// Its columns, in index order.
    pub columns: Vec<String>,
    /// Whether it is a unique index.
    pub unique: bool,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectedUnique {
    /// The constraint's name, where the database keeps one.
    pub name: Option<String>,
    /// Its columns.
    pub columns: Vec<String>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectedCheck {
    /// The constraint's name, where the database keeps one.
    pub name: Option<String>,
    /// The condition's SQL text, without the surrounding `CHECK (...)`.
    pub sqltext: String,
}

/// Everything reflection tells about one table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReflectedTable {
    /// The table's name.
    pub name: String,
    /// Its schema, when one was asked for.
    pub schema: Option<String>,
    /// Its columns, in table order.
    pub columns: Vec<ReflectedColumn>,
    /// Its primary key, if it has one.
    pub primary_key: Option<ReflectedPrimaryKey>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ReflectedForeignKey>,
    /// Its indexes.
    pub indexes: Vec<ReflectedIndex>,
    /// Its unique constraints.
    pub unique_constraints: Vec<ReflectedUnique>,
    /// Its check constraints.
    pub check_constraints: Vec<ReflectedCheck>,
    /// The table's comment, where the database keeps one.
    pub comment: Option<String>,
}
