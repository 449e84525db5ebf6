//! Reading PostgreSQL's catalog (`pg_catalog`) for reflection.

use super::PostgresDialect;
use crate::engine::Connection;
use crate::error::Result;
use crate::schema::column::ReferentialAction;
use crate::schema::reflect::{
    catalog_rows, first_text, group_columns, merge_foreign_keys, named_uniques, type_arguments,
    ReflectedCheck, ReflectedColumn, ReflectedForeignKey, ReflectedIndex, ReflectedPrimaryKey,
    ReflectedUnique, ReflectionHooks,
};
use crate::types::SqlType;
use crate::value::Value;

/// Joins a constraint to its table, selected by `$1` (schema) and `$2` (table name).
const CONSTRAINT_OF_TABLE: &str = "FROM pg_catalog.pg_constraint con \
     JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";

/// `(constraint name, column)` of the constraints of kind `contype`, by name and key order.
fn constraint_columns(
    conn: &mut Connection,
    schema: &str,
    table: &str,
    contype: &str,
) -> Result<Vec<(String, Vec<String>)>> {
    let sql = format!(
        "SELECT con.conname, a.attname {CONSTRAINT_OF_TABLE} \
         CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
         WHERE n.nspname = $1 AND c.relname = $2 AND con.contype = '{contype}' \
         ORDER BY con.conname, k.ord"
    );
    group_columns(&catalog_rows(conn, &sql, &[schema, table])?)
}

/// The [`SqlType`] of a column `format_type()` spells `spelled`.
fn map_type(spelled: &str) -> SqlType {
    let custom = || SqlType::Custom(spelled.to_owned());
    let Some((base, numbers)) = type_arguments(spelled) else {
        return custom();
    };
    match (base, numbers.as_slice()) {
        ("integer", []) => SqlType::Integer,
        ("smallint", []) => SqlType::SmallInteger,
        ("bigint", []) => SqlType::BigInteger,
        ("real", []) => SqlType::Float,
        ("double precision", []) => SqlType::Double,
        ("numeric", []) => SqlType::Numeric {
            precision: None,
            scale: None,
        },
        ("numeric", [p, s]) => SqlType::numeric(*p, *s),
        ("character varying", []) => SqlType::String(None),
        ("character varying", [n]) => SqlType::String(Some(*n)),
        ("text", []) => SqlType::Text,
        ("boolean", []) => SqlType::Boolean,
        ("date", []) => SqlType::Date,
        ("time without time zone", []) => SqlType::Time,
        ("timestamp without time zone", []) => SqlType::DateTime { timezone: false },
        ("timestamp with time zone", []) => SqlType::DateTime { timezone: true },
        ("bytea", []) => SqlType::LargeBinary,
        ("jsonb", []) => SqlType::Json,
        ("uuid", []) => SqlType::Uuid,
        _ => custom(),
    }
}

/// `pg_constraint.confdeltype` / `confupdtype`.
fn action(code: &str) -> Option<ReferentialAction> {
    match code {
        "c" => Some(ReferentialAction::Cascade),
        "n" => Some(ReferentialAction::SetNull),
        "d" => Some(ReferentialAction::SetDefault),
        "r" => Some(ReferentialAction::Restrict),
        // "a": NO ACTION, the default.
        _ => None,
    }
}

impl ReflectionHooks for PostgresDialect {
    fn default_schema_name(&self, conn: &mut Connection) -> Result<Option<String>> {
        conn.exec_driver_sql("SELECT current_schema()::text", &[])?
            .scalar()
    }

    fn table_names(&self, conn: &mut Connection, schema: &str) -> Result<Vec<String>> {
        conn.exec_driver_sql(
            "SELECT c.relname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')",
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
        let columns = catalog_rows(
            conn,
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, \
             CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END, \
             a.attidentity <> '', pg_catalog.col_description(c.oid, a.attnum), \
             t.typtype = 'e', t.typname \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[schema, table],
        )?;
        let labels = group_columns(&catalog_rows(
            conn,
            "SELECT a.attname, e.enumlabel FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_enum e ON e.enumtypid = a.atttypid \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum, e.enumsortorder",
            &[schema, table],
        )?)?;
        columns
            .iter()
            .map(|r| {
                let name: String = r.get(0)?;
                let sql_type = if r.get::<bool>(6)? {
                    SqlType::Enum {
                        name: r.get(7)?,
                        variants: labels
                            .iter()
                            .find(|(column, _)| *column == name)
                            .map(|(_, variants)| variants.clone())
                            .unwrap_or_default(),
                    }
                } else {
                    map_type(&r.get::<String>(1)?)
                };
                let mut default: Option<String> = r.get(3)?;
                let mut autoincrement = r.get::<bool>(4)?;
                // A serial column: its sequence is how it autoincrements, not a default one
                // would write in a model.
                if default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval("))
                {
                    default = None;
                    autoincrement = true;
                }
                Ok(ReflectedColumn {
                    name,
                    sql_type,
                    nullable: !r.get::<bool>(2)?,
                    server_default: default,
                    autoincrement,
                    comment: r.get(5)?,
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
        Ok(constraint_columns(conn, schema, table, "p")?
            .into_iter()
            .next()
            .map(|(name, columns)| ReflectedPrimaryKey {
                name: Some(name),
                columns,
            }))
    }

    fn foreign_keys(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedForeignKey>> {
        let sql = format!(
            "SELECT con.conname, rn.nspname, rc.relname, a.attname, ra.attname, \
             con.confdeltype::text, con.confupdtype::text {CONSTRAINT_OF_TABLE} \
             JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
             JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
             CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY \
                 AS k(attnum, refnum, ord) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
             JOIN pg_catalog.pg_attribute ra \
                 ON ra.attrelid = con.confrelid AND ra.attnum = k.refnum \
             WHERE n.nspname = $1 AND c.relname = $2 AND con.contype = 'f' \
             ORDER BY con.conname, k.ord"
        );
        let parts = catalog_rows(conn, &sql, &[schema, table])?
            .iter()
            .map(|r| {
                let name: String = r.get(0)?;
                let referred_schema: String = r.get(1)?;
                let part = ReflectedForeignKey {
                    name: Some(name.clone()),
                    columns: vec![r.get(3)?],
                    referred_schema: (referred_schema != schema).then_some(referred_schema),
                    referred_table: r.get(2)?,
                    referred_columns: vec![r.get(4)?],
                    ondelete: action(&r.get::<String>(5)?),
                    onupdate: action(&r.get::<String>(6)?),
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
        // attname is NULL for an expression; such indexes are left out below.
        let found = catalog_rows(
            conn,
            "SELECT i.relname, ix.indisunique, a.attname \
             FROM pg_catalog.pg_index ix \
             JOIN pg_catalog.pg_class c ON c.oid = ix.indrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid \
             CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             WHERE n.nspname = $1 AND c.relname = $2 AND k.ord <= ix.indnkeyatts \
             AND ix.indexprs IS NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con \
                 WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid \
                 AND con.contype IN ('p', 'u', 'x')) \
             ORDER BY i.relname, k.ord",
            &[schema, table],
        )?;
        let mut indexes: Vec<ReflectedIndex> = Vec::new();
        for r in found {
            let name: String = r.get(0)?;
            let column: String = r.get(2)?;
            match indexes.last_mut() {
                Some(ix) if ix.name == name => ix.columns.push(column),
                _ => indexes.push(ReflectedIndex {
                    name,
                    columns: vec![column],
                    unique: r.get(1)?,
                }),
            }
        }
        Ok(indexes)
    }

    fn unique_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedUnique>> {
        Ok(named_uniques(constraint_columns(conn, schema, table, "u")?))
    }

    fn check_constraints(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Vec<ReflectedCheck>> {
        let sql = format!(
            "SELECT con.conname, pg_catalog.pg_get_constraintdef(con.oid) {CONSTRAINT_OF_TABLE} \
             WHERE n.nspname = $1 AND c.relname = $2 AND con.contype = 'c'"
        );
        catalog_rows(conn, &sql, &[schema, table])?
            .iter()
            .map(|r| {
                let definition: String = r.get(1)?;
                Ok(ReflectedCheck {
                    name: Some(r.get(0)?),
                    sqltext: check_condition(&definition).to_owned(),
                })
            })
            .collect()
    }

    fn table_comment(
        &self,
        conn: &mut Connection,
        schema: &str,
        table: &str,
    ) -> Result<Option<String>> {
        first_text(&catalog_rows(
            conn,
            "SELECT pg_catalog.obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2",
            &[schema, table],
        )?)
    }
}

/// The condition of `CHECK (cond)` as `pg_get_constraintdef` writes it (possibly followed by
/// `NOT VALID`).
fn check_condition(definition: &str) -> &str {
    let body = definition
        .strip_suffix(" NOT VALID")
        .unwrap_or(definition)
        .trim();
    body.strip_prefix("CHECK (")
        .and_then(|b| b.strip_suffix(')'))
        .unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_format_type_spellings() {
        assert_eq!(map_type("character varying(50)"), SqlType::string(50));
        assert_eq!(map_type("numeric(10,2)"), SqlType::numeric(10, 2));
        assert_eq!(
            map_type("timestamp with time zone"),
            SqlType::DateTime { timezone: true }
        );
        assert_eq!(
            map_type("timestamp(3) without time zone"),
            SqlType::Custom("timestamp(3) without time zone".into())
        );
        assert_eq!(map_type("json"), SqlType::Custom("json".into()));
        // An array of a type with arguments is not that type.
        assert_eq!(
            map_type("character varying(50)[]"),
            SqlType::Custom("character varying(50)[]".into())
        );
        assert_eq!(check_condition("CHECK ((qty > 0))"), "(qty > 0)");
        assert_eq!(check_condition("CHECK ((qty > 0)) NOT VALID"), "(qty > 0)");
    }
}
