//! Reading SQLite's schema for reflection: the `pragma_*` table-valued functions (with bound
//! arguments) for columns, keys and indexes, and the `CREATE TABLE` text in `sqlite_master`
//! for what only it keeps — constraint names and check conditions (see `table_sql`).
//!
//! A declared type maps to the [`SqlType`] whose DDL here is that same declaration (compared
//! without case and spaces); any other declaration stays [`SqlType::Custom`] as written.
//! SQLite keeps no comments.

use super::table_sql::{parse_constraints, ParsedConstraint, ParsedKind};
use super::SqliteDialect;
use crate::dialect::Dialect;
use crate::engine::Connection;
use crate::error::Result;
use crate::schema::ddl::DdlHooks;
use crate::schema::reflect::{
    catalog_rows, first_text, merge_foreign_keys, referential_action, type_arguments,
    ReflectedCheck, ReflectedColumn, ReflectedForeignKey, ReflectedIndex, ReflectedPrimaryKey,
    ReflectedUnique, ReflectionHooks,
};
use crate::types::SqlType;

/// Whether two SQLite identifiers name the same thing (SQLite compares them without ASCII
/// case).
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn same_list(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// The retort type a declared type stands for, before checking that it renders back.
fn candidate(declared: &str) -> Option<SqlType> {
    let upper = declared.trim().to_ascii_uppercase();
    let (base, numbers) = type_arguments(&upper)?;
    Some(match (base.trim(), numbers.as_slice()) {
        ("INTEGER", []) => SqlType::Integer,
        ("SMALLINT", []) => SqlType::SmallInteger,
        ("BIGINT", []) => SqlType::BigInteger,
        ("FLOAT", []) => SqlType::Float,
        ("DOUBLE", []) => SqlType::Double,
        ("NUMERIC", []) => SqlType::Numeric {
            precision: None,
            scale: None,
        },
        ("NUMERIC", [p]) => SqlType::Numeric {
            precision: Some(*p),
            scale: None,
        },
        ("NUMERIC", [p, s]) => SqlType::numeric(*p, *s),
        ("VARCHAR", []) => SqlType::String(None),
        ("VARCHAR", [n]) => SqlType::String(Some(*n)),
        ("TEXT", []) => SqlType::Text,
        ("BOOLEAN", []) => SqlType::Boolean,
        ("DATE", []) => SqlType::Date,
        ("TIME", []) => SqlType::Time,
        ("DATETIME", []) => SqlType::DateTime { timezone: false },
        ("BLOB", []) => SqlType::LargeBinary,
        ("CHAR", [36]) => SqlType::Uuid,
        _ => return None,
    })
}

impl SqliteDialect {
    /// The [`SqlType`] of a column declared as `declared`.
    fn map_type(&self, declared: &str) -> SqlType {
        let squeeze = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_uppercase()
        };
        candidate(declared)
            .filter(|ty| {
                let mut rendered = String::new();
                self.column_type(self, ty, &mut rendered).is_ok()
                    && squeeze(&rendered) == squeeze(declared)
            })
            .unwrap_or_else(|| SqlType::Custom(declared.to_owned()))
    }

    /// The constraints written in the table's `CREATE TABLE`.
    fn parsed(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ParsedConstraint>> {
        let mut sql = String::from("SELECT sql FROM ");
        self.quote_identifier(schema, &mut sql);
        sql.push_str(".sqlite_master WHERE type = 'table' AND name = ?");
        let text = first_text(&catalog_rows(conn, &sql, &[table])?)?;
        Ok(text.map(|t| parse_constraints(&t)).unwrap_or_default())
    }

    /// The primary-key columns of `table`, in key order.
    fn pk_columns(&self, conn: &mut Connection, schema: &str, table: &str) -> Result<Vec<String>> {
        catalog_rows(
            conn,
            "SELECT name FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk",
            &[table, schema],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect()
    }

    /// The indexes of `table` SQLite reports with `origin` (`c`: CREATE INDEX, `u`: UNIQUE,
    /// `pk`: PRIMARY KEY), as `(name, unique, columns)`; expression indexes are left out.
    fn indexes_of(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
        origin: &str,
    ) -> Result<Vec<(String, bool, Vec<String>)>> {
        let list = catalog_rows(
            conn,
            "SELECT name, \"unique\" FROM pragma_index_list(?, ?) WHERE origin = ?",
            &[table, schema, origin],
        )?;
        let mut out = Vec::new();
        for r in list {
            let name: String = r.get(0)?;
            let columns: Vec<Option<String>> = catalog_rows(
                conn,
                "SELECT name FROM pragma_index_info(?, ?) ORDER BY seqno",
                &[&name, schema],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect::<Result<_>>()?;
            // A NULL column is an expression.
            if let Some(columns) = columns.into_iter().collect::<Option<Vec<_>>>() {
                out.push((name, r.get::<i64>(1)? != 0, columns));
            }
        }
        Ok(out)
    }
}

impl ReflectionHooks for SqliteDialect {
    fn default_schema_name(&self, _conn: &mut Connection) -> Result<Option<String>> {
        Ok(Some("main".to_owned()))
    }

    fn table_names(&self, conn: &mut Connection, schema: &str) -> Result<Vec<String>> {
        let mut sql = String::from("SELECT name FROM ");
        self.quote_identifier(schema, &mut sql);
        sql.push_str(
            ".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        );
        conn.exec_driver_sql(&sql, &[])?.scalars()
    }

    fn columns(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedColumn>> {
        let found = catalog_rows(
            conn,
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?, ?) \
             ORDER BY cid",
            &[table, schema],
        )?;
        let key_columns = found
            .iter()
            .map(|r| r.get::<i64>(4))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|pk| *pk > 0)
            .count();
        found
            .iter()
            .map(|r| {
                let declared: String = r.get(1)?;
                let in_key = r.get::<i64>(4)? > 0;
                Ok(ReflectedColumn {
                    name: r.get(0)?,
                    sql_type: self.map_type(&declared),
                    nullable: r.get::<i64>(2)? == 0 && !in_key,
                    server_default: r.get(3)?,
                    // Only a lone key column declared exactly INTEGER is the rowid.
                    autoincrement: in_key
                        && key_columns == 1
                        && declared.eq_ignore_ascii_case("INTEGER"),
                    comment: None,
                })
            })
            .collect()
    }

    fn primary_key(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Option<ReflectedPrimaryKey>> {
        let columns = self.pk_columns(conn, schema, table)?;
        if columns.is_empty() {
            return Ok(None);
        }
        let name = self
            .parsed(conn, schema, table)?
            .into_iter()
            .find(|c| matches!(&c.kind, ParsedKind::PrimaryKey(cols) if same_list(cols, &columns)))
            .and_then(|c| c.name);
        Ok(Some(ReflectedPrimaryKey { name, columns }))
    }

    fn foreign_keys(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedForeignKey>> {
        let found = catalog_rows(
            conn,
            "SELECT id, \"table\", \"from\", \"to\", on_delete, on_update \
             FROM pragma_foreign_key_list(?, ?) ORDER BY id, seq",
            &[table, schema],
        )?;
        let parsed = self.parsed(conn, schema, table)?;
        let parts = found
            .iter()
            .map(|r| {
                let part = ReflectedForeignKey {
                    name: None,
                    columns: vec![r.get(2)?],
                    referred_schema: None,
                    referred_table: r.get(1)?,
                    // NULL where the key refers to the parent's primary key.
                    referred_columns: r.get::<Option<String>>(3)?.into_iter().collect(),
                    ondelete: referential_action(&r.get::<String>(4)?),
                    onupdate: referential_action(&r.get::<String>(5)?),
                };
                Ok((r.get::<i64>(0)?, part))
            })
            .collect::<Result<Vec<_>>>()?;
        let keys = merge_foreign_keys(parts);
        let mut fks = Vec::with_capacity(keys.len());
        for mut fk in keys {
            // `REFERENCES parent` alone refers to the parent's primary key.
            if fk.referred_columns.len() != fk.columns.len() {
                fk.referred_columns = self.pk_columns(conn, schema, &fk.referred_table)?;
            }
            fk.name = parsed
                .iter()
                .find(|c| {
                    matches!(&c.kind, ParsedKind::ForeignKey { columns, referred_table, .. }
                        if same_list(columns, &fk.columns) && same(referred_table, &fk.referred_table))
                })
                .and_then(|c| c.name.clone());
            fks.push(fk);
        }
        Ok(fks)
    }

    fn indexes(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedIndex>> {
        Ok(self
            .indexes_of(conn, schema, table, "c")?
            .into_iter()
            .map(|(name, unique, columns)| ReflectedIndex {
                name,
                columns,
                unique,
            })
            .collect())
    }

    fn unique_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedUnique>> {
        let parsed = self.parsed(conn, schema, table)?;
        Ok(self
            .indexes_of(conn, schema, table, "u")?
            .into_iter()
            .map(|(_, _, columns)| {
                let name = parsed
                    .iter()
                    .find(|c| matches!(&c.kind, ParsedKind::Unique(cols) if same_list(cols, &columns)))
                    .and_then(|c| c.name.clone());
                ReflectedUnique { name, columns }
            })
            .collect())
    }

    fn check_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedCheck>> {
        Ok(self
            .parsed(conn, schema, table)?
            .into_iter()
            .filter_map(|c| match c.kind {
                ParsedKind::Check(sqltext) => Some(ReflectedCheck {
                    name: c.name,
                    sqltext,
                }),
                _ => None,
            })
            .collect())
    }
}
