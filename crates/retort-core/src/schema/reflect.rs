//! Reflection: what a live database says its tables are, in retort's own vocabulary.
//!
//! Each `Reflected*` value describes one object as the database reports it: types are mapped
//! back to [`SqlType`]s, server defaults kept as the SQL text the database shows. The
//! [`Inspector`](crate::engine::Inspector) asks a dialect's [`ReflectionHooks`] for them.
//!
//! # Types
//!
//! A database type maps to the [`SqlType`] whose DDL (see [`ddl`](super::ddl)) gives that same
//! type back on the same database; anything else becomes [`SqlType::Custom`] with the
//! database's own spelling, which renders verbatim.
//!
//! | SqlType | SQLite (declared type) | PostgreSQL (`format_type`) | MySQL / MariaDB (`COLUMN_TYPE`) |
//! |---|---|---|---|
//! | Integer / SmallInteger / BigInteger | INTEGER / SMALLINT / BIGINT | integer / smallint / bigint | int / smallint / bigint (any display width) |
//! | Float / Double | FLOAT / DOUBLE | real / double precision | float / double |
//! | Numeric | NUMERIC[(p[, s])] | numeric[(p,s)] | decimal(p,s) |
//! | String(n) / String(None) | VARCHAR(n) / VARCHAR | character varying(n) / character varying | varchar(n) |
//! | Text | TEXT | text | longtext |
//! | Boolean | BOOLEAN | boolean | tinyint(1) |
//! | Date / Time | DATE / TIME | date / time without time zone | date / time(6) |
//! | DateTime | DATETIME (naive) | timestamp without / with time zone | datetime(6) (naive) |
//! | LargeBinary | BLOB | bytea | longblob |
//! | Json | — (stored as TEXT) | jsonb | json; MariaDB: longtext with its `json_valid` check |
//! | Uuid | CHAR(36) | uuid | char(36) |
//! | Enum | — (VARCHAR and a CHECK) | a user enum type: its name and labels in order | enum('a', ...), with an empty name |
//!
//! An enum on MySQL has no type name to reflect, so its `name` is empty: the same enum
//! declared with any name renders the same `ENUM(...)` column there.
//!
//! The other rules: `autoincrement` is SQLite's single-column `INTEGER PRIMARY KEY`, a
//! PostgreSQL identity column or `nextval(...)` default (which is then not reported as a server
//! default), MySQL's `AUTO_INCREMENT`. Primary-key columns are never nullable. Indexes the
//! database made to back a primary key, a unique constraint or (MySQL) a foreign key are not
//! indexes; MySQL's unique indexes are unique constraints there. Expression indexes are left
//! out (an index here is a list of columns). `ON DELETE` / `ON UPDATE` are `None` for
//! `NO ACTION`; a foreign key's `referred_schema` is `None` when it is the table's own.
//! MySQL does not keep a primary key's name (it is always `PRIMARY`), so it is `None` there.
//!
//! MySQL and MariaDB report a foreign key declared without an action as `RESTRICT` (which
//! means `NO ACTION` there), so `RESTRICT` is `None` on them too; the index InnoDB adds for a
//! foreign key (named after the constraint, or after its first column when the key has no name
//! of its own) is not listed. Check conditions are the text each database keeps: PostgreSQL's
//! `pg_get_constraintdef` in its own parentheses, MariaDB's normalized clause, SQLite's as
//! written. Partial-index predicates and generated columns' expressions are not reflected.

use crate::engine::{Connection, Row};
use crate::error::Result;
use crate::types::SqlType;
use crate::value::Value;

use super::column::{Column, ReferentialAction, ServerDefault};
use super::constraint::{
    CheckConstraint, ForeignKeyConstraint, Index, PrimaryKeyConstraint, UniqueConstraint,
};
use super::metadata::MetaData;
use super::table::Table;

/// How a dialect reads its catalog: one method per kind of object, each given the schema
/// already resolved (the connection's current one when the caller gave none). Each dialect's
/// implementation lives in `dialect/<db>/reflect.rs`; the
/// [`Inspector`](crate::engine::Inspector) checks that the table exists and orders the
/// results.
pub trait ReflectionHooks {
    /// The schema unqualified names refer to: PostgreSQL's `current_schema()`, MySQL's
    /// `DATABASE()`, SQLite's `main`.
    fn default_schema_name(&self, conn: &mut Connection) -> Result<Option<String>>;

    /// The names of the base tables of `schema` (no views, no internal tables), in any order.
    fn table_names(&self, conn: &mut Connection, schema: &str) -> Result<Vec<String>>;

    /// The columns of `table`, in table order.
    fn columns(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedColumn>>;

    /// The primary key of `table`.
    fn primary_key(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Option<ReflectedPrimaryKey>>;

    /// The foreign keys of `table`.
    fn foreign_keys(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedForeignKey>>;

    /// The indexes of `table`, except those backing its constraints.
    fn indexes(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedIndex>>;

    /// The unique constraints of `table`.
    fn unique_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedUnique>>;

    /// The check constraints of `table`.
    fn check_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedCheck>>;

    /// The comment on `table` (by default none: the database keeps no comments).
    fn table_comment(
        &self,
        _conn: &mut Connection,
        _schema: &str,
        _table: &str,
    ) -> Result<Option<String>> {
        Ok(None)
    }
}

/// Maps a foreign key action as the catalogs spell it (`CASCADE`, `SET NULL`, ...) to a
/// [`ReferentialAction`]; `NO ACTION` (the default) and anything unknown are `None`.
pub(crate) fn referential_action(rule: &str) -> Option<ReferentialAction> {
    match rule.to_ascii_uppercase().as_str() {
        "CASCADE" => Some(ReferentialAction::Cascade),
        "SET NULL" => Some(ReferentialAction::SetNull),
        "SET DEFAULT" => Some(ReferentialAction::SetDefault),
        "RESTRICT" => Some(ReferentialAction::Restrict),
        _ => None,
    }
}

/// Splits a type's spelling `base(n, ...)` into its base and whole-number arguments (none for
/// a bare `base`); `None` when what follows `(` is not such a list closed by the last `)`, as
/// in `numeric(10,2)[]` or `enum('a')`.
pub(crate) fn type_arguments(spelled: &str) -> Option<(&str, Vec<u32>)> {
    match spelled.split_once('(') {
        Some((base, rest)) => {
            let numbers = rest
                .strip_suffix(')')?
                .split(',')
                .map(|n| n.trim().parse().ok())
                .collect::<Option<_>>()?;
            Some((base, numbers))
        }
        None => Some((spelled, Vec::new())),
    }
}

/// Runs a catalog query with text parameters and reads all its rows.
pub(crate) fn catalog_rows(conn: &mut Connection, sql: &str, params: &[&str]) -> Result<Vec<Row>> {
    let params: Vec<Value> = params.iter().map(|p| Value::from(*p)).collect();
    Ok(conn.exec_driver_sql(sql, &params)?.into_rows())
}

/// The first column of the first row as text: `None` when there is no row or it is NULL.
pub(crate) fn first_text(rows: &[Row]) -> Result<Option<String>> {
    Ok(rows
        .first()
        .map(|r| r.get::<Option<String>>(0))
        .transpose()?
        .flatten())
}

/// The first two columns of each row, as text.
pub(crate) fn text_pairs(rows: &[Row]) -> Result<Vec<(String, String)>> {
    rows.iter()
        .map(|r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))
        .collect()
}

/// Groups rows of `(constraint name, column)` that come ordered by constraint and then by
/// position into `(name, columns)` pairs, in first-seen order.
pub(crate) fn group_columns(rows: &[Row]) -> Result<Vec<(String, Vec<String>)>> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (key, column) in text_pairs(rows)? {
        match out.last_mut() {
            Some((last, columns)) if *last == key => columns.push(column),
            _ => out.push((key, vec![column])),
        }
    }
    Ok(out)
}

/// Named unique constraints from `(name, columns)` groups.
pub(crate) fn named_uniques(groups: Vec<(String, Vec<String>)>) -> Vec<ReflectedUnique> {
    groups
        .into_iter()
        .map(|(name, columns)| ReflectedUnique {
            name: Some(name),
            columns,
        })
        .collect()
}

/// Merges the one-column foreign keys of catalog rows (one row per column, ordered by key and
/// then by position) into whole keys: consecutive parts with the same `key` are one foreign
/// key, whose other fields are those of its first part.
pub(crate) fn merge_foreign_keys<K: PartialEq>(
    parts: Vec<(K, ReflectedForeignKey)>,
) -> Vec<ReflectedForeignKey> {
    let mut out: Vec<(K, ReflectedForeignKey)> = Vec::new();
    for (key, part) in parts {
        match out.last_mut() {
            Some((last, fk)) if *last == key => {
                fk.columns.extend(part.columns);
                fk.referred_columns.extend(part.referred_columns);
            }
            _ => out.push((key, part)),
        }
    }
    out.into_iter().map(|(_, fk)| fk).collect()
}

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
