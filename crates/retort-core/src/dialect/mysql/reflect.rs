//! Reading MySQL's and MariaDB's `information_schema` for reflection.
//!
//! Besides the mapping in [`schema::reflect`](crate::schema::reflect): `RESTRICT` is what
//! these servers report for a foreign key declared without an action (the two mean the same
//! here), so it reads as `None` like `NO ACTION`. MariaDB stores a JSON column as `longtext`
//! with a column-level `CHECK (json_valid(col))` named after it; that pair reads back as
//! [`SqlType::Json`] and the check is not listed. The index InnoDB adds for a foreign key
//! (named after the constraint, or after its first column when the constraint has no name
//! of its own) is not an index of the table's.

use super::MySqlDialect;
use crate::engine::{Connection, Row};
use crate::error::Result;
use crate::schema::reflect::{
    catalog_rows, first_text, group_columns, merge_foreign_keys, named_uniques, referential_action,
    text_pairs, type_arguments, ReflectedCheck, ReflectedColumn, ReflectedForeignKey,
    ReflectedIndex, ReflectedPrimaryKey, ReflectedUnique, ReflectionHooks,
};
use crate::types::SqlType;
use crate::value::Value;

/// The columns of the table's constraints of `kind` (`PRIMARY KEY`, `UNIQUE`), by name and
/// position.
fn constraint_columns(
    conn: &mut Connection,
    schema: &str,
    table: &str,
    kind: &str,
) -> Result<Vec<(String, Vec<String>)>> {
    let sql = format!(
        "SELECT tc.CONSTRAINT_NAME, k.COLUMN_NAME FROM information_schema.TABLE_CONSTRAINTS tc \
         JOIN information_schema.KEY_COLUMN_USAGE k \
         ON k.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
         AND k.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND k.TABLE_NAME = tc.TABLE_NAME \
         WHERE tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ? AND tc.CONSTRAINT_TYPE = '{kind}' \
         ORDER BY tc.CONSTRAINT_NAME, k.ORDINAL_POSITION"
    );
    group_columns(&catalog_rows(conn, &sql, &[schema, table])?)
}

/// The [`SqlType`] of a column whose `COLUMN_TYPE` is `spelled`.
fn map_type(spelled: &str) -> SqlType {
    let lower = spelled.to_ascii_lowercase();
    let custom = || SqlType::Custom(spelled.to_owned());
    if let Some(list) = lower
        .strip_prefix("enum(")
        .and_then(|_| spelled.get(5..spelled.len().saturating_sub(1)))
    {
        return match enum_labels(list) {
            Some(variants) if lower.ends_with(')') => SqlType::Enum {
                name: String::new(),
                variants,
            },
            _ => custom(),
        };
    }
    // Anything after the arguments (unsigned, zerofill) makes it a type of its own.
    let Some((base, numbers)) = type_arguments(&lower) else {
        return custom();
    };
    match (base, numbers.as_slice()) {
        ("tinyint", [1]) => SqlType::Boolean,
        // The display width of an integer type (MariaDB, MySQL before 8.0.19) is no part of it.
        ("int", [] | [_]) => SqlType::Integer,
        ("smallint", [] | [_]) => SqlType::SmallInteger,
        ("bigint", [] | [_]) => SqlType::BigInteger,
        ("float", []) => SqlType::Float,
        ("double", []) => SqlType::Double,
        ("decimal", [p, s]) => SqlType::numeric(*p, *s),
        ("varchar", [n]) => SqlType::String(Some(*n)),
        ("longtext", []) => SqlType::Text,
        ("longblob", []) => SqlType::LargeBinary,
        ("date", []) => SqlType::Date,
        ("time", [6]) => SqlType::Time,
        ("datetime", [6]) => SqlType::DateTime { timezone: false },
        ("char", [36]) => SqlType::Uuid,
        ("json", []) => SqlType::Json,
        _ => custom(),
    }
}

/// The labels of `'a','b'` (quotes inside doubled); `None` if it is not such a list.
fn enum_labels(list: &str) -> Option<Vec<String>> {
    let mut labels = Vec::new();
    let mut chars = list.chars().peekable();
    loop {
        if chars.next()? != '\'' {
            return None;
        }
        let mut label = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                '\'' => break,
                c => label.push(c),
            }
        }
        labels.push(label);
        match chars.next() {
            None => return Some(labels),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// Whether a check is the one MariaDB attaches to a JSON column.
fn is_json_check(name: &str, clause: &str) -> bool {
    clause == format!("json_valid(`{}`)", name.replace('`', "``"))
}

impl MySqlDialect {
    /// `(name, clause)` of the table's check constraints.
    fn checks(&self, conn: &mut Connection, schema: &str, table: &str) -> Result<Vec<Row>> {
        // MariaDB names checks per table (its CHECK_CONSTRAINTS has TABLE_NAME), MySQL per
        // schema (and has no such column).
        let sql = if self.mariadb {
            "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?"
        } else {
            "SELECT tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc \
             JOIN information_schema.CHECK_CONSTRAINTS cc \
             ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
             AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
             WHERE tc.TABLE_SCHEMA = ? AND tc.TABLE_NAME = ? AND tc.CONSTRAINT_TYPE = 'CHECK'"
        };
        catalog_rows(conn, sql, &[schema, table])
    }

    /// A `COLUMN_DEFAULT` as the SQL text of the default.
    fn default_text(&self, shown: Option<String>, extra: &str) -> Option<String> {
        let shown = shown?;
        // MariaDB writes an explicit or implied NULL default as the text NULL, and quotes
        // string literals itself.
        if self.mariadb {
            return (shown != "NULL").then_some(shown);
        }
        // MySQL shows a literal's bare value and an expression (DEFAULT_GENERATED) as is.
        if extra.contains("DEFAULT_GENERATED")
            || shown.parse::<f64>().is_ok()
            || shown.eq_ignore_ascii_case("CURRENT_TIMESTAMP")
        {
            Some(shown)
        } else {
            Some(format!("'{}'", shown.replace('\'', "''")))
        }
    }
}

impl ReflectionHooks for MySqlDialect {
    fn default_schema_name(&self, conn: &mut Connection) -> Result<Option<String>> {
        conn.exec_driver_sql("SELECT DATABASE()", &[])?.scalar()
    }

    fn table_names(&self, conn: &mut Connection, schema: &str) -> Result<Vec<String>> {
        conn.exec_driver_sql(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
            &[Value::from(schema)],
        )?
        .scalars()
    }

    fn columns(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedColumn>> {
        let json_columns: Vec<String> = if self.mariadb {
            text_pairs(&self.checks(conn, schema, table)?)?
                .into_iter()
                .filter(|(name, clause)| is_json_check(name, clause))
                .map(|(name, _)| name)
                .collect()
        } else {
            Vec::new()
        };
        catalog_rows(
            conn,
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            &[schema, table],
        )?
        .iter()
        .map(|r| {
            let name: String = r.get(0)?;
            let spelled: String = r.get(1)?;
            let sql_type =
                if spelled.eq_ignore_ascii_case("longtext") && json_columns.contains(&name) {
                    SqlType::Json
                } else {
                    map_type(&spelled)
                };
            let extra: String = r.get(4)?;
            let comment: String = r.get(5)?;
            Ok(ReflectedColumn {
                name,
                sql_type,
                nullable: r.get::<String>(2)? == "YES",
                server_default: self.default_text(r.get(3)?, &extra),
                autoincrement: extra.to_ascii_lowercase().contains("auto_increment"),
                comment: (!comment.is_empty()).then_some(comment),
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
        // The key's name is always PRIMARY: nothing to keep.
        Ok(constraint_columns(conn, schema, table, "PRIMARY KEY")?
            .into_iter()
            .next()
            .map(|(_, columns)| ReflectedPrimaryKey {
                name: None,
                columns,
            }))
    }

    fn foreign_keys(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedForeignKey>> {
        let found = catalog_rows(
            conn,
            "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, \
             k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, rc.DELETE_RULE, rc.UPDATE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS rc \
             ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
             AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND rc.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = ? AND k.TABLE_NAME = ? \
             AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            &[schema, table],
        )?;
        // RESTRICT is these servers' default and means NO ACTION.
        let action = |rule: String| referential_action(&rule).filter(|_| rule != "RESTRICT");
        let parts = found
            .iter()
            .map(|r| {
                let name: String = r.get(0)?;
                let referred_schema: String = r.get(2)?;
                let part = ReflectedForeignKey {
                    name: Some(name.clone()),
                    columns: vec![r.get(1)?],
                    referred_schema: (referred_schema != schema).then_some(referred_schema),
                    referred_table: r.get(3)?,
                    referred_columns: vec![r.get(4)?],
                    ondelete: action(r.get(5)?),
                    onupdate: action(r.get(6)?),
                };
                Ok((name, part))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(merge_foreign_keys(parts))
    }

    fn indexes(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedIndex>> {
        let fks = self.foreign_keys(conn, schema, table)?;
        // Unique indexes are unique constraints here; COLUMN_NAME is NULL for an expression.
        let found = catalog_rows(
            conn,
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 1 \
             AND INDEX_NAME NOT IN (SELECT INDEX_NAME FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME IS NULL) \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            &[schema, table, schema, table],
        )?;
        Ok(group_columns(&found)?
            .into_iter()
            .filter(|(name, columns)| {
                !fks.iter().any(|fk| {
                    fk.columns == *columns
                        && (fk.name.as_deref() == Some(name.as_str())
                            || fk.columns.first() == Some(name))
                })
            })
            .map(|(name, columns)| ReflectedIndex {
                name,
                columns,
                unique: false,
            })
            .collect())
    }

    fn unique_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedUnique>> {
        Ok(named_uniques(constraint_columns(
            conn, schema, table, "UNIQUE",
        )?))
    }

    fn check_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedCheck>> {
        let mut checks = Vec::new();
        for r in self.checks(conn, schema, table)? {
            let name: String = r.get(0)?;
            let clause: String = r.get(1)?;
            if self.mariadb && is_json_check(&name, &clause) {
                continue;
            }
            checks.push(ReflectedCheck {
                name: Some(name),
                sqltext: clause,
            });
        }
        Ok(checks)
    }

    fn table_comment(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Option<String>> {
        let comment = first_text(&catalog_rows(
            conn,
            "SELECT TABLE_COMMENT FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            &[schema, table],
        )?)?;
        Ok(comment.filter(|c| !c.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_column_types() {
        assert_eq!(map_type("tinyint(1)"), SqlType::Boolean);
        assert_eq!(map_type("int(11)"), SqlType::Integer);
        assert_eq!(map_type("int"), SqlType::Integer);
        assert_eq!(
            map_type("int(10) unsigned"),
            SqlType::Custom("int(10) unsigned".into())
        );
        assert_eq!(map_type("decimal(10,2)"), SqlType::numeric(10, 2));
        assert_eq!(
            map_type("datetime(6)"),
            SqlType::DateTime { timezone: false }
        );
        assert_eq!(map_type("datetime"), SqlType::Custom("datetime".into()));
        assert_eq!(
            map_type("enum('a','it''s','x,y')"),
            SqlType::enumeration("", ["a", "it's", "x,y"])
        );
        assert_eq!(map_type("enum('a"), SqlType::Custom("enum('a".into()));
        assert!(is_json_check("data", "json_valid(`data`)"));
        assert!(!is_json_check("data", "json_valid(`other`)"));
    }
}
