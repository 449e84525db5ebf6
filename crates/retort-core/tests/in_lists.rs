//! `in_` / `not_in` lists on every backend. PostgreSQL binds a list of two or more integers
//! compared with an integer column as one array (`= ANY($1)`, `<> ALL($1)`), which must
//! select exactly the rows the list does everywhere else; any other list stays a list.

use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::schema::{Column, MetaData, Table};
use retort_core::sql::{select, table, Executable, Expr};
use retort_core::types::SqlType;
use retort_core::{Connection, Engine, Error, ErrorKind, Value};
use retort_testkit::for_each_backend;

/// `nums (id INTEGER, n INTEGER, small SMALLINT, label TEXT)`, typed as a schema table is.
fn nums(metadata: &MetaData) -> Table {
    Table::new("nums", metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("n", SqlType::Integer))
        .column(Column::new("small", SqlType::SmallInteger))
        .column(Column::new("label", SqlType::Text))
        .build()
        .unwrap()
}

#[test]
fn postgresql_binds_an_integer_list_as_one_array() {
    let metadata = MetaData::new();
    let t = nums(&metadata);
    let q = |cond: Expr| select(t.c("id")).where_(cond);

    let any = q(t.c("n").in_([1, 2, 3]))
        .compile(&PostgresDialect)
        .unwrap();
    assert_eq!(
        any.sql,
        r#"SELECT "nums"."id" FROM "nums" WHERE "nums"."n" = ANY($1)"#
    );
    assert_eq!(any.params, [Value::Text("{1,2,3}".into())]);
    let all = q(t.c("n").not_in([-4, 5]))
        .compile(&PostgresDialect)
        .unwrap();
    assert_eq!(
        all.sql,
        r#"SELECT "nums"."id" FROM "nums" WHERE "nums"."n" <> ALL($1)"#
    );
    assert_eq!(all.params, [Value::Text("{-4,5}".into())]);

    // Everything else stays a list: one value, a NULL among the values, text, a column whose
    // type is not known, and the other dialects.
    let list = |cond: Expr| q(cond).compile(&PostgresDialect).unwrap().sql;
    assert!(list(t.c("n").in_([1])).ends_with(r#""nums"."n" IN ($1)"#));
    assert!(list(t.c("n").in_([Value::Int(1), Value::Null])).ends_with("IN ($1, $2)"));
    assert!(list(t.c("label").in_(["a", "b"])).ends_with("IN ($1, $2)"));
    assert!(list(table("nums").c("n").in_([1, 2])).ends_with("IN ($1, $2)"));
    for sql in [
        q(t.c("n").in_([1, 2])).compile(&SqliteDialect).unwrap().sql,
        q(t.c("n").in_([1, 2]))
            .compile(&MySqlDialect::default())
            .unwrap()
            .sql,
    ] {
        assert!(sql.ends_with("IN (?, ?)"), "{sql}");
    }
}

#[test]
fn integer_lists_select_the_same_rows_on_every_backend() {
    for_each_backend(|db| {
        let metadata = MetaData::new();
        let t = nums(&metadata);
        metadata.create_all(db.engine()).unwrap();
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql(
            "INSERT INTO nums (id, n, small, label) VALUES \
             (1, 10, 1, 'a'), (2, 20, 2, 'b'), (3, NULL, 3, 'c'), (4, 40, 4, 'd')",
            &[],
        )
        .unwrap();
        let mut ids = |cond: Expr| -> Vec<i64> {
            conn.query_map(&select(t.c("id")).where_(cond).order_by(t.c("id")), |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(ids(t.c("n").in_([10, 40, 99])), [1, 4], "{}", db.name());
        assert_eq!(
            ids(t.c("n").in_([7, 8])),
            Vec::<i64>::new(),
            "{}",
            db.name()
        );
        // NOT IN leaves out the row whose value is NULL, as `<> ALL` does.
        assert_eq!(ids(t.c("n").not_in([10, 20])), [4], "{}", db.name());
        assert_eq!(ids(t.c("n").not_in([7, 8])), [1, 2, 4], "{}", db.name());
        assert_eq!(ids(t.c("id").in_([-1, 4])), [4], "{}", db.name());
        let many: Vec<i64> = (1..=500).collect();
        assert_eq!(ids(t.c("small").in_(many)), [1, 2, 3, 4], "{}", db.name());
    });
}

/// Runs `f` with `nums` made on PostgreSQL, for what only PostgreSQL does (skipped, or failed
/// under `RETORT_REQUIRE_ALL_BACKENDS`, when the server cannot be reached).
fn on_postgresql(f: impl FnOnce(&Engine, &Table, &mut Connection)) {
    let Some(db) = retort_testkit::postgresql() else {
        return;
    };
    let metadata = MetaData::new();
    let t = nums(&metadata);
    metadata.create_all(db.engine()).unwrap();
    let mut conn = db.engine().connect().unwrap();
    f(db.engine(), &t, &mut conn);
}

#[test]
fn one_array_statement_serves_every_list_length_on_postgresql() {
    on_postgresql(|engine, t, conn| {
        let before = engine.query_cache_stats();
        for n in [2, 3, 50, 400] {
            let list: Vec<i64> = (0..n).collect();
            conn.execute(&select(t.c("id")).where_(t.c("n").in_(list)))
                .unwrap();
        }
        let after = engine.query_cache_stats();
        assert_eq!(
            (after.misses - before.misses, after.hits - before.hits),
            (1, 3)
        );
    });
}

#[test]
fn a_value_out_of_the_columns_range_is_the_same_data_error_as_in_a_list_on_postgresql() {
    // A list binds each value as the server typed its placeholder (the column's type) and
    // refuses one that does not fit before sending; the array is read by the server, which
    // refuses it the same way. Either way it is an out-of-range data error, never rows
    // compared as another type.
    on_postgresql(|engine, t, conn| {
        let untyped = table("nums");
        for (column, value, typed) in [
            (t.c("small"), 70_000, true),
            (untyped.c("small"), 70_000, false),
            (t.c("id"), i64::MAX, true),
            (untyped.c("id"), i64::MAX, false),
        ] {
            let stmt = select(t.c("id")).where_(column.in_([1, value]));
            let sql = stmt.compile(engine.dialect()).unwrap().sql;
            assert_eq!(sql.contains("ANY"), typed, "{sql}");
            let err = conn.execute(&stmt).unwrap_err();
            assert!(matches!(&err, Error::Data(_)), "{sql}: {err:?}");
            assert_eq!(err.kind(), Some(ErrorKind::OutOfRange), "{sql}: {err:?}");
        }
    });
}
