//! Reflection: what a live database says its tables are, in retort's own vocabulary.
//!
//! Each `Reflected*` value describes one object as the database reports it: types are mapped
//! back to [`SqlType`]s, server defaults kept as the SQL text the database shows.

use crate::error::Result;
use crate::types::SqlType;

use super::column::{Column, ReferentialAction, ServerDefault};
use super::constraint::{
    CheckConstraint, ForeignKeyConstraint, Index, PrimaryKeyConstraint, UniqueConstraint,
};
use super::metadata::MetaData;
use super::table::Table;

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

impl ReflectedTable {
    /// Builds the Core [`Table`] this description stands for, on `metadata` (replacing a
    /// table of the same name there). Every constraint and index keeps the database's name;
    /// server defaults are kept as SQL text.
    pub fn to_table(&self, metadata: &MetaData) -> Result<Table> {
        let pk: &[String] = self
            .primary_key
            .as_ref()
            .map_or(&[], |pk| pk.columns.as_slice());
        let mut builder = Table::new(self.name.as_str(), metadata).extend_existing();
        if let Some(schema) = &self.schema {
            builder = builder.schema(schema.as_str());
        }
        if let Some(comment) = &self.comment {
            builder = builder.comment(comment.as_str());
        }
        for c in &self.columns {
            let mut column = Column::new(c.name.as_str(), c.sql_type.clone()).nullable(c.nullable);
            if let Some(default) = &c.server_default {
                column = column.server_default(ServerDefault::text(default.as_str()));
            }
            // Say it either way for key columns, so Core's guess (a lone integer key
            // autoincrements) cannot differ from what the database does.
            if pk.contains(&c.name) && c.sql_type.is_integer() {
                column = column.autoincrement(c.autoincrement);
            }
            if let Some(comment) = &c.comment {
                column = column.comment(comment.as_str());
            }
            builder = builder.column(column);
        }
        if let Some(key) = &self.primary_key {
            let mut constraint = PrimaryKeyConstraint::new(key.columns.iter().map(String::as_str));
            if let Some(name) = &key.name {
                constraint = constraint.named(name.as_str());
            }
            builder = builder.constraint(constraint);
        }
        for u in &self.unique_constraints {
            let mut constraint = UniqueConstraint::new(u.columns.iter().map(String::as_str));
            if let Some(name) = &u.name {
                constraint = constraint.named(name.as_str());
            }
            builder = builder.constraint(constraint);
        }
        for ck in &self.check_constraints {
            let mut constraint = CheckConstraint::new(ck.sqltext.as_str());
            if let Some(name) = &ck.name {
                constraint = constraint.named(name.as_str());
            }
            builder = builder.constraint(constraint);
        }
        for fk in &self.foreign_keys {
            let mut constraint = ForeignKeyConstraint::new(
                fk.columns.iter().map(String::as_str),
                fk.referred_table.as_str(),
                fk.referred_columns.iter().map(String::as_str),
            );
            if let Some(schema) = &fk.referred_schema {
                constraint = constraint.referred_schema(schema.as_str());
            }
            if let Some(name) = &fk.name {
                constraint = constraint.named(name.as_str());
            }
            if let Some(action) = fk.ondelete {
                constraint = constraint.on_delete(action);
            }
            if let Some(action) = fk.onupdate {
                constraint = constraint.on_update(action);
            }
            builder = builder.constraint(constraint);
        }
        for ix in &self.indexes {
            let mut index = Index::new(ix.name.as_str(), ix.columns.iter().map(String::as_str));
            if ix.unique {
                index = index.unique();
            }
            builder = builder.index(index);
        }
        builder.build()
    }
}
