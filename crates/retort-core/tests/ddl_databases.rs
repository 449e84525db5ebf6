//! The rendered DDL run for real: `metadata.create_all` / `drop_all` on an engine for SQLite,
//! PostgreSQL and MariaDB/MySQL (each a fresh test database from retort-testkit), and the
//! tables checked to behave as declared (autoincrement, server defaults, enums, foreign keys,
//! checks, awkward names, a second schema).

use std::sync::{Arc, Mutex};

use retort_core::schema::*;
use retort_core::sql::{delete, func, insert, select};
use retort_core::types::SqlType;
use retort_core::{Engine, Error, ErrorKind};
use retort_testkit::{for_each_backend, unique_name, TestDb};

/// A second schema for tables declared with `.schema(..)`: an attached database on SQLite, a
/// schema on PostgreSQL, a database on MySQL. Removed when dropped.
struct OtherSchema {
    engine: Engine,
    name: String,
    drop_sql: Option<String>,
}

impl OtherSchema {
    fn new(db: &TestDb) -> OtherSchema {
        let name = unique_name();
        let quoted = {
            let mut out = String::new();
            db.engine().dialect().quote_identifier(&name, &mut out);
            out
        };
        let (engine, create, drop_sql) = match db.name() {
            // ATTACH holds for one connection only: keep the pool to that one.
            "sqlite" => (
                db.builder().pool_size(1).build().unwrap(),
                format!("ATTACH DATABASE ':memory:' AS {quoted}"),
                None,
            ),
            "postgresql" => (
                db.engine().clone(),
                format!("CREATE SCHEMA {quoted}"),
                Some(format!("DROP SCHEMA IF EXISTS {quoted} CASCADE")),
            ),
            _ => (
                db.engine().clone(),
                format!("CREATE DATABASE {quoted} CHARACTER SET utf8mb4"),
                Some(format!("DROP DATABASE IF EXISTS {quoted}")),
            ),
        };
        engine
            .connect()
            .unwrap()
            .exec_driver_sql(&create, &[])
            .unwrap();
        OtherSchema {
            engine,
            name,
            drop_sql,
        }
    }
}

impl Drop for OtherSchema {
    fn drop(&mut self) {
        if let Some(sql) = &self.drop_sql {
            let result = self
                .engine
                .connect()
                .and_then(|mut c| c.exec_driver_sql(sql, &[]));
            if let Err(e) = result {
                eprintln!("could not remove the second test schema: {e}");
            }
        }
    }
}

/// Records the DDL an engine runs (not the existence queries around it).
fn ddl_log(engine: &Engine) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    engine.on_execute(move |sql, _| {
        if ["CREATE", "DROP", "ALTER", "COMMENT"]
            .iter()
            .any(|kw| sql.starts_with(kw))
        {
            sink.lock().unwrap().push(sql.to_owned());
        }
    });
    log
}

fn take(log: &Mutex<Vec<String>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// Asserts that `result` is a database error of `family`, reporting what came instead.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: retort_core::Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Err(e) if e.kind() == Some(kind) => {}
        other => panic!("{what}: expected {kind:?}, got {other:?}"),
    }
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

fn exercise(db: &TestDb) {
    let other = OtherSchema::new(db);
    let engine = &other.engine;
    let md = metadata(&other.name);
    let t = |key: &str| md.table(key).unwrap();
    let log = ddl_log(engine);

    // On SQLite the pool holds one connection (see OtherSchema): none may be checked out
    // while create_all and drop_all take theirs.
    md.create_all(engine).unwrap();
    let created = take(&log);
    let mut conn = engine.connect().unwrap();
    let d = conn.dialect_ref();
    let tables = md.sorted_tables().unwrap();
    for table in &tables {
        assert!(
            conn.exists(&ddl::has_table(table, &*d).unwrap()).unwrap(),
            "{} was not created; ran {created:#?}",
            table.name()
        );
    }
    // The shared enum type is created once, before its first table.
    let creates_type = created
        .iter()
        .filter(|s| s.starts_with("CREATE TYPE"))
        .count();
    assert_eq!(creates_type, usize::from(d.name() == "postgresql"));

    // Everything exists now: a second run only looks.
    drop(conn);
    md.create_all(engine).unwrap();
    let mut conn = engine.connect().unwrap();
    assert_eq!(take(&log), Vec::<String>::new());

    // Autoincrement: ids come from the database.
    let users = t("users");
    for (name, age) in [("a", 1), ("😀 ünï", 2)] {
        conn.execute(&insert(&users).value("name", name).value("age", age))
            .unwrap();
    }
    let max: i64 = conn
        .execute(&select(func::max(users.c("id"))))
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(max, 2);
    let name: String = conn
        .execute(&select(users.c("name")).where_(users.c("age").eq(2)))
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(name, "😀 ünï", "non-BMP text must round-trip");

    // Server defaults, with the quote and backslash intact.
    let defaults = t("defaults");
    conn.execute(&insert(&defaults).value("id", 1)).unwrap();
    let row = conn
        .execute(&select((
            defaults.c("q"),
            defaults.c("n") + 1,
            defaults.c("flag"),
            defaults.c("f"),
            defaults.c("created"),
        )))
        .unwrap()
        .one()
        .unwrap();
    assert_eq!(row.get::<String>(0).unwrap(), r"it's a \ test");
    assert_eq!(row.get::<i64>(1).unwrap(), 6);
    assert!(row.get::<bool>(2).unwrap());
    assert_eq!(row.get::<f64>(3).unwrap(), 1.5);
    assert!(
        !row.get_value(4).unwrap().is_null(),
        "CURRENT_TIMESTAMP default"
    );

    // Enums take their values and refuse others.
    let all_types = t("all_types");
    conn.execute(&insert(&all_types).value("mood", "it's"))
        .unwrap();
    let err = conn
        .execute(&insert(&all_types).value("mood", "angry"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Data(_) | Error::Integrity(_)),
        "an enum value outside the set: {err:?}"
    );
    conn.execute(&insert(t("moods")).value("mood", "sad"))
        .unwrap();

    // Foreign keys: a missing parent is refused, deletes cascade through a composite key.
    let (orders, lines, notes) = (t("orders"), t("order_lines"), t("line_notes"));
    assert_refused(
        conn.execute(&insert(&lines).value("order_id", 99).value("line", 1)),
        ErrorKind::ForeignKeyViolation,
        "a line of a missing order",
    );
    conn.execute(&insert(&orders).value("id", 7).value("customer", "c"))
        .unwrap();
    conn.execute(&insert(&lines).value("order_id", 7).value("line", 1))
        .unwrap();
    conn.execute(
        &insert(&notes)
            .value("order_id", 7)
            .value("line", 1)
            .value("author_id", 1),
    )
    .unwrap();
    assert_refused(
        conn.execute(
            &insert(&lines)
                .value("order_id", 7)
                .value("line", 2)
                .value("qty", 0),
        ),
        ErrorKind::CheckViolation,
        "the named CHECK",
    );
    conn.execute(&delete(&orders).where_(orders.c("id").eq(7)))
        .unwrap();
    let left: i64 = conn
        .execute(&select(func::count_star()).select_from(&notes))
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(left, 0, "the delete cascaded through order_lines");

    // The use_alter key exists, so the cycle is enforced both ways.
    assert_refused(
        conn.execute(
            &insert(t("authors"))
                .value("id", 1)
                .value("favourite_book", 42),
        ),
        ErrorKind::ForeignKeyViolation,
        "the use_alter foreign key",
    );

    // A unique constraint on an awkward name, quoted by the dialect.
    let user = t("user");
    let awkward = |order: i32| {
        insert(&user)
            .value("order", order)
            .value("a\"b`c d.e%f?g:h", 5)
    };
    conn.execute(&awkward(1)).unwrap();
    assert_refused(
        conn.execute(&awkward(2)),
        ErrorKind::UniqueViolation,
        "the unique constraint on an awkward name",
    );

    // The table in the other schema is usable under its qualified name.
    let elsewhere = t(&format!("{}.elsewhere", other.name));
    conn.execute(&insert(&elsewhere).value("id", 1).value("v", 10))
        .unwrap();
    let v: i64 = conn
        .execute(&select(elsewhere.c("v")))
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(v, 10);

    take(&log);
    drop(conn);
    md.drop_all(engine).unwrap();
    let dropped = take(&log);
    let mut conn = engine.connect().unwrap();
    for table in &tables {
        assert!(
            !conn.exists(&ddl::has_table(table, &*d).unwrap()).unwrap(),
            "{} was not dropped; ran {dropped:#?}",
            table.name()
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
    drop(conn);
    md.drop_all(engine).unwrap();
    assert_eq!(take(&log), Vec::<String>::new());
}

#[test]
fn ddl_runs_on_every_backend() {
    for_each_backend(exercise);
}
