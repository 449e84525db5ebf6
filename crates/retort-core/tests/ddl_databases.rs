//! The rendered DDL run for real: create_all / drop_all through the raw drivers on SQLite,
//! PostgreSQL and MariaDB/MySQL, and the tables checked to behave as declared (autoincrement,
//! server defaults, enums, foreign keys, unicode).
//!
//! Each test gets its own PostgreSQL schema or MySQL database. Backend URLs come from
//! `RETORT_TEST_POSTGRES_URL` / `RETORT_TEST_MYSQL_URL` (defaults below); an unreachable server
//! is reported and skipped, or fails the test with `RETORT_REQUIRE_ALL_BACKENDS=1`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mysql::prelude::Queryable;
use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::DialectRef;
use retort_core::schema::*;
use retort_core::sql::compiler::Compiled;
use retort_core::types::SqlType;
use retort_core::value::Value;
use retort_core::{DatabaseError, Error, ErrorKind, Result};

fn driver_error(e: impl std::fmt::Debug) -> Error {
    Error::Database(DatabaseError::new(ErrorKind::Other, format!("{e:?}")))
}

fn text_params(params: &[Value]) -> Vec<String> {
    params
        .iter()
        .map(|p| match p {
            Value::Text(s) => s.clone(),
            other => panic!("existence queries bind text only, got {other:?}"),
        })
        .collect()
}

/// A raw connection that records the DDL it runs.
trait Backend: DdlExecutor {
    /// The first column of the first row, as text (`None` for NULL or no row).
    fn text(&mut self, sql: &str) -> Result<Option<String>>;
    /// The type to cast to for text: `TEXT` or `CHAR`.
    fn text_type(&self) -> &'static str;
    /// Takes the DDL statements run so far.
    fn take_log(&mut self) -> Vec<String>;
}

struct Sqlite {
    conn: rusqlite::Connection,
    log: Vec<String>,
}

impl DdlExecutor for Sqlite {
    fn dialect(&self) -> DialectRef {
        Arc::new(SqliteDialect)
    }
    fn exists(&mut self, query: &Compiled) -> Result<bool> {
        let mut stmt = self.conn.prepare(&query.sql).map_err(driver_error)?;
        stmt.exists(rusqlite::params_from_iter(text_params(&query.params)))
            .map_err(driver_error)
    }
    fn execute(&mut self, sql: &str) -> Result<()> {
        self.log.push(sql.to_owned());
        self.conn.execute_batch(sql).map_err(driver_error)
    }
}

impl Backend for Sqlite {
    fn text(&mut self, sql: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        let v = self
            .conn
            .query_row(sql, [], |r| r.get::<_, Option<String>>(0))
            .optional()
            .map_err(driver_error)?;
        Ok(v.flatten())
    }
    fn text_type(&self) -> &'static str {
        "TEXT"
    }
    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

struct Postgres {
    client: postgres::Client,
    schema: String,
    log: Vec<String>,
}

impl DdlExecutor for Postgres {
    fn dialect(&self) -> DialectRef {
        Arc::new(PostgresDialect)
    }
    fn exists(&mut self, query: &Compiled) -> Result<bool> {
        let params = text_params(&query.params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self.client.query(&query.sql, &refs).map_err(driver_error)?;
        Ok(!rows.is_empty())
    }
    fn execute(&mut self, sql: &str) -> Result<()> {
        self.log.push(sql.to_owned());
        self.client.batch_execute(sql).map_err(driver_error)
    }
}

impl Backend for Postgres {
    fn text(&mut self, sql: &str) -> Result<Option<String>> {
        let row = self.client.query_opt(sql, &[]).map_err(driver_error)?;
        Ok(row.and_then(|r| r.get::<_, Option<String>>(0)))
    }
    fn text_type(&self) -> &'static str {
        "TEXT"
    }
    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.client.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{0}\" CASCADE; DROP SCHEMA IF EXISTS \"{0}_other\" CASCADE",
            self.schema
        ));
    }
}

struct MySql {
    conn: mysql::Conn,
    database: String,
    log: Vec<String>,
}

impl DdlExecutor for MySql {
    fn dialect(&self) -> DialectRef {
        Arc::new(MySqlDialect { mariadb: true })
    }
    fn exists(&mut self, query: &Compiled) -> Result<bool> {
        let params: Vec<mysql::Value> = text_params(&query.params)
            .into_iter()
            .map(mysql::Value::from)
            .collect();
        let row: Option<mysql::Row> = self
            .conn
            .exec_first(&query.sql, mysql::Params::Positional(params))
            .map_err(driver_error)?;
        Ok(row.is_some())
    }
    fn execute(&mut self, sql: &str) -> Result<()> {
        self.log.push(sql.to_owned());
        self.conn.query_drop(sql).map_err(driver_error)
    }
}

impl Backend for MySql {
    fn text(&mut self, sql: &str) -> Result<Option<String>> {
        let v: Option<Option<String>> = self.conn.query_first(sql).map_err(driver_error)?;
        Ok(v.flatten())
    }
    fn text_type(&self) -> &'static str {
        "CHAR"
    }
    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

impl Drop for MySql {
    fn drop(&mut self) {
        let _ = self.conn.query_drop(format!(
            "DROP DATABASE IF EXISTS `{0}`; DROP DATABASE IF EXISTS `{0}_other`",
            self.database
        ));
    }
}

fn unique_name(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn unreachable_backend(name: &str, err: impl std::fmt::Display) {
    if std::env::var("RETORT_REQUIRE_ALL_BACKENDS").as_deref() == Ok("1") {
        panic!("{name} is unreachable and RETORT_REQUIRE_ALL_BACKENDS=1: {err}");
    }
    eprintln!("!!! SKIPPING {name} tests: server unreachable: {err}");
}

fn sqlite() -> Sqlite {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON; ATTACH DATABASE ':memory:' AS \"other db\"")
        .unwrap();
    Sqlite {
        conn,
        log: Vec::new(),
    }
}

fn postgres() -> Option<Postgres> {
    let url = std::env::var("RETORT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into());
    let mut client = match postgres::Client::connect(&url, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => {
            unreachable_backend("PostgreSQL", e);
            return None;
        }
    };
    let schema = unique_name("retort_ddl");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{schema}\"; CREATE SCHEMA \"{schema}_other\"; \
             SET search_path TO \"{schema}\"; SET client_min_messages TO WARNING"
        ))
        .unwrap();
    Some(Postgres {
        client,
        schema,
        log: Vec::new(),
    })
}

fn mysql() -> Option<MySql> {
    let url = std::env::var("RETORT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let opts = mysql::Opts::from_url(&url).unwrap();
    let mut conn = match mysql::Conn::new(opts) {
        Ok(c) => c,
        Err(e) => {
            unreachable_backend("MySQL/MariaDB", e);
            return None;
        }
    };
    let database = unique_name("retort_ddl");
    conn.query_drop(format!(
        "CREATE DATABASE `{database}` CHARACTER SET utf8mb4; \
         CREATE DATABASE `{database}_other` CHARACTER SET utf8mb4; USE `{database}`"
    ))
    .unwrap();
    Some(MySql {
        conn,
        database,
        log: Vec::new(),
    })
}

/// Every kind of table the golden tests render, in one MetaData with a naming convention.
fn metadata(other_schema: &str) -> MetaData {
    let md = MetaData::new().with_naming_convention(
        NamingConvention::new()
            .ix("ix_%(column_0_label)s")
            .uq("uq_%(table_name)s_%(column_0_N_name)s")
            .ck("ck_%(table_name)s_%(constraint_name)s")
            .fk("fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s")
            .pk("pk_%(table_name)s"),
    );
    let build = |b: TableBuilder| b.build().unwrap();
    // Defined children first: create_all must sort.
    build(
        Table::new("line_notes", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("order_id", SqlType::Integer).not_null())
            .column(Column::new("line", SqlType::Integer).not_null())
            .column(
                Column::new("author_id", SqlType::Integer)
                    .foreign_key(ForeignKey::new("users.id").on_delete(ReferentialAction::SetNull)),
            )
            .constraint(
                ForeignKeyConstraint::new(
                    ["order_id", "line"],
                    "order_lines",
                    ["order_id", "line"],
                )
                .on_delete(ReferentialAction::Cascade),
            )
            .index(Index::new("ix_notes_line", ["order_id", "line"])),
    );
    build(
        Table::new("order_lines", &md)
            .column(
                Column::new("order_id", SqlType::Integer).foreign_key(
                    ForeignKey::new("orders.id").on_delete(ReferentialAction::Cascade),
                ),
            )
            .column(Column::new("line", SqlType::Integer))
            .column(
                Column::new("qty", SqlType::Integer)
                    .not_null()
                    .server_default(1),
            )
            .constraint(PrimaryKeyConstraint::new(["order_id", "line"]))
            .constraint(CheckConstraint::new("qty > 0").named("positive_qty")),
    );
    build(
        Table::new("orders", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("customer", SqlType::string(40)).not_null()),
    );
    build(
        Table::new("users", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::String(None)).index())
            .column(Column::new("age", SqlType::Integer)),
    );
    build(
        Table::new("all_types", &md)
            .column(Column::new("id", SqlType::BigInteger).primary_key())
            .column(Column::new("small", SqlType::SmallInteger))
            .column(Column::new("f", SqlType::Float))
            .column(Column::new("d", SqlType::Double))
            .column(Column::new(
                "n",
                SqlType::Numeric {
                    precision: None,
                    scale: None,
                },
            ))
            .column(Column::new("money", SqlType::numeric(10, 2)))
            .column(Column::new("s", SqlType::string(50)).unique())
            .column(Column::new("t", SqlType::Text))
            .column(Column::new("b", SqlType::Boolean))
            .column(Column::new("day", SqlType::Date))
            .column(Column::new("tm", SqlType::Time))
            .column(Column::new("ts", SqlType::DateTime { timezone: false }))
            .column(Column::new("tstz", SqlType::DateTime { timezone: true }))
            .column(Column::new("bin", SqlType::LargeBinary))
            .column(Column::new("j", SqlType::Json))
            .column(Column::new("u", SqlType::Uuid))
            .column(Column::new(
                "mood",
                SqlType::enumeration("mood", ["happy", "sad", "it's"]),
            ))
            .comment("every type"),
    );
    build(
        Table::new("moods", &md).column(
            Column::new(
                "mood",
                SqlType::enumeration("mood", ["happy", "sad", "it's"]),
            )
            .primary_key(),
        ),
    );
    build(
        Table::new("defaults", &md)
            .column(
                Column::new("id", SqlType::Integer)
                    .primary_key()
                    .autoincrement(false),
            )
            .column(Column::new("q", SqlType::string(20)).server_default(r"it's a \ test"))
            .column(
                Column::new("n", SqlType::Integer)
                    .server_default(5)
                    .not_null(),
            )
            .column(Column::new("flag", SqlType::Boolean).server_default(true))
            .column(Column::new("f", SqlType::Double).server_default(1.5))
            .column(
                Column::new("created", SqlType::DateTime { timezone: false })
                    .server_default(ServerDefault::text("CURRENT_TIMESTAMP")),
            )
            .column(Column::new("c", SqlType::Text).comment("it's a comment")),
    );
    build(
        Table::new("authors", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("favourite_book", SqlType::Integer)
                    .foreign_key(ForeignKey::new("books.id").use_alter()),
            ),
    );
    build(
        Table::new("books", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("author_id", SqlType::Integer).foreign_key("authors.id")),
    );
    build(
        Table::new("user", &md)
            .column(Column::new("order", SqlType::Integer).primary_key())
            .column(Column::new("group", SqlType::string(10)).index())
            .column(Column::new("a\"b`c d.e%f?g:h", SqlType::Integer).unique())
            // MySQL refuses identifiers with characters beyond the Basic Multilingual Plane.
            .column(Column::new("ünï ñ", SqlType::Text)),
    );
    build(
        Table::new("a_table_with_a_rather_long_name_for_testing_limits", &md)
            .column(Column::new("and_a_column_with_a_long_name_too", SqlType::Integer).unique())
            .column(Column::new("x", SqlType::Integer).index().foreign_key(
                "a_table_with_a_rather_long_name_for_testing_limits.\
                         and_a_column_with_a_long_name_too",
            )),
    );
    build(
        Table::new("elsewhere", &md)
            .schema(other_schema)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("v", SqlType::Integer).index()),
    );
    md
}

fn exercise(db: &mut dyn Backend, other_schema: &str) {
    let md = metadata(other_schema);
    let d = db.dialect();
    create_all(&md, db).unwrap();
    let created = db.take_log();
    let tables = md.sorted_tables().unwrap();
    for t in &tables {
        assert!(
            db.exists(&ddl::has_table(t, &*d).unwrap()).unwrap(),
            "{} was not created; ran {created:#?}",
            t.name()
        );
    }
    // The shared enum type is created once, before its first table.
    let creates_type = created
        .iter()
        .filter(|s| s.starts_with("CREATE TYPE"))
        .count();
    assert_eq!(creates_type, usize::from(d.name() == "postgresql"));

    // Everything exists now: a second run only looks.
    create_all(&md, db).unwrap();
    assert_eq!(db.take_log(), Vec::<String>::new());

    let text = db.text_type();
    let q = |d: &DialectRef, s: &str| {
        // Statements below are written with double-quoted identifiers.
        if d.name() == "mysql" {
            s.replace('"', "`")
        } else {
            s.to_owned()
        }
    };

    // Autoincrement: ids come from the database.
    db.execute(&q(
        &d,
        "INSERT INTO \"users\" (\"name\", \"age\") VALUES ('a', 1)",
    ))
    .unwrap();
    db.execute(&q(
        &d,
        "INSERT INTO \"users\" (\"name\", \"age\") VALUES ('😀 ünï', 2)",
    ))
    .unwrap();
    let max = db
        .text(&q(
            &d,
            &format!("SELECT CAST(MAX(\"id\") AS {text}) FROM \"users\""),
        ))
        .unwrap();
    assert_eq!(max.as_deref(), Some("2"));
    let name = db
        .text(&q(&d, "SELECT \"name\" FROM \"users\" WHERE \"age\" = 2"))
        .unwrap();
    assert_eq!(
        name.as_deref(),
        Some("😀 ünï"),
        "non-BMP text must round-trip"
    );

    // Server defaults, with the quote and backslash intact.
    db.execute(&q(&d, "INSERT INTO \"defaults\" (\"id\") VALUES (1)"))
        .unwrap();
    let got = db.text(&q(&d, "SELECT \"q\" FROM \"defaults\"")).unwrap();
    assert_eq!(got.as_deref(), Some(r"it's a \ test"));
    let got = db
        .text(&q(
            &d,
            &format!("SELECT CAST(\"n\" + 1 AS {text}) FROM \"defaults\""),
        ))
        .unwrap();
    assert_eq!(got.as_deref(), Some("6"));
    let got = db
        .text(&q(
            &d,
            "SELECT CASE WHEN \"flag\" THEN 'yes' ELSE 'no' END FROM \"defaults\"",
        ))
        .unwrap();
    assert_eq!(got.as_deref(), Some("yes"));
    let got = db
        .text(&q(
            &d,
            "SELECT CASE WHEN \"created\" IS NULL THEN 'null' ELSE 'set' END FROM \"defaults\"",
        ))
        .unwrap();
    assert_eq!(got.as_deref(), Some("set"));

    // Enums take their values and refuse others.
    db.execute(&q(
        &d,
        "INSERT INTO \"all_types\" (\"mood\") VALUES ('it''s')",
    ))
    .unwrap();
    assert!(db
        .execute(&q(
            &d,
            "INSERT INTO \"all_types\" (\"mood\") VALUES ('angry')"
        ))
        .is_err());
    assert!(db
        .execute(&q(&d, "INSERT INTO \"moods\" VALUES ('sad')"))
        .is_ok());

    // Foreign keys: a missing parent is refused, deletes cascade through a composite key.
    assert!(db
        .execute(&q(
            &d,
            "INSERT INTO \"order_lines\" (\"order_id\", \"line\") VALUES (99, 1)"
        ))
        .is_err());
    db.execute(&q(
        &d,
        "INSERT INTO \"orders\" (\"id\", \"customer\") VALUES (7, 'c')",
    ))
    .unwrap();
    db.execute(&q(
        &d,
        "INSERT INTO \"order_lines\" (\"order_id\", \"line\") VALUES (7, 1)",
    ))
    .unwrap();
    db.execute(&q(
        &d,
        "INSERT INTO \"line_notes\" (\"order_id\", \"line\", \"author_id\") VALUES (7, 1, 1)",
    ))
    .unwrap();
    assert!(
        db.execute(&q(
            &d,
            "INSERT INTO \"order_lines\" (\"order_id\", \"line\", \"qty\") VALUES (7, 2, 0)"
        ))
        .is_err(),
        "the named CHECK holds"
    );
    db.execute(&q(&d, "DELETE FROM \"orders\" WHERE \"id\" = 7"))
        .unwrap();
    let left = db
        .text(&q(
            &d,
            &format!("SELECT CAST(COUNT(*) AS {text}) FROM \"line_notes\""),
        ))
        .unwrap();
    assert_eq!(left.as_deref(), Some("0"));

    // The use_alter key exists, so the cycle is enforced both ways.
    assert!(db
        .execute(&q(
            &d,
            "INSERT INTO \"authors\" (\"id\", \"favourite_book\") VALUES (1, 42)"
        ))
        .is_err());

    // A unique constraint on an awkward name, quoted by the dialect.
    let quoted = |name: &str| {
        let mut out = String::new();
        d.quote_identifier(name, &mut out);
        out
    };
    let insert = |order: i32| {
        format!(
            "INSERT INTO {} ({}, {}) VALUES ({order}, 5)",
            quoted("user"),
            quoted("order"),
            quoted("a\"b`c d.e%f?g:h")
        )
    };
    db.execute(&insert(1)).unwrap();
    assert!(
        db.execute(&insert(2)).is_err(),
        "the unique constraint holds"
    );

    drop_all(&md, db).unwrap();
    let dropped = db.take_log();
    for t in &tables {
        assert!(
            !db.exists(&ddl::has_table(t, &*d).unwrap()).unwrap(),
            "{} was not dropped; ran {dropped:#?}",
            t.name()
        );
    }
    if d.name() == "postgresql" {
        assert!(
            dropped.iter().any(|s| s == "DROP TYPE \"mood\""),
            "{dropped:#?}"
        );
        assert!(
            dropped.iter().any(|s| s.contains("DROP CONSTRAINT")),
            "{dropped:#?}"
        );
    }
    drop_all(&md, db).unwrap();
    assert_eq!(db.take_log(), Vec::<String>::new());
}

#[test]
fn ddl_runs_on_sqlite() {
    let mut db = sqlite();
    exercise(&mut db, "other db");
}

#[test]
fn ddl_runs_on_postgres() {
    let Some(mut db) = postgres() else { return };
    let other = format!("{}_other", db.schema);
    exercise(&mut db, &other);
}

#[test]
fn ddl_runs_on_mysql() {
    let Some(mut db) = mysql() else { return };
    let other = format!("{}_other", db.database);
    exercise(&mut db, &other);
}
