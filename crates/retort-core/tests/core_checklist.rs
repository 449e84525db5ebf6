//! The Core checklist items sql_live runs but does not read back in full, executed on every
//! backend with every result checked: aggregate and scalar functions, NULL comparisons,
//! casts, window functions, bound values alone in a select list, generated keys,
//! execute_many with builder statements, and row locks.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use retort_core::schema::{Column, MetaData, Table};
use retort_core::sql::{
    and_, cast, func, insert, literal, not_, or_, select, update, Executable, Expr, Over,
};
use retort_core::types::SqlType;
use retort_core::{Connection, Error, ErrorKind, Row, Value};
use retort_testkit::{for_each_backend, TestDb};
use rust_decimal::Decimal;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// `products`, with four rows:
///
/// | id | name  | price | qty  | category |
/// |----|-------|-------|------|----------|
/// | 1  | apple | 1.50  | 10   | fruit    |
/// | 2  | pear  | 2.25  | NULL | fruit    |
/// | 3  | kale  | 3.00  | 5    | veg      |
/// | 4  | salt  | 0.75  | 20   | NULL     |
fn products(db: &TestDb) -> (Table, Connection) {
    let md = MetaData::new();
    let t = Table::new("products", &md)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(30)).not_null())
        .column(Column::new("price", SqlType::numeric(10, 2)).not_null())
        .column(Column::new("qty", SqlType::Integer))
        .column(Column::new("category", SqlType::string(20)))
        .build()
        .unwrap();
    md.create_all(db.engine()).unwrap();
    let mut conn = db.engine().connect().unwrap();
    let rows: Vec<Vec<Expr>> = vec![
        vec![
            literal("apple"),
            literal(dec("1.50")),
            literal(10),
            literal("fruit"),
        ],
        vec![
            literal("pear"),
            literal(dec("2.25")),
            literal(None::<i32>),
            literal("fruit"),
        ],
        vec![
            literal("kale"),
            literal(dec("3.00")),
            literal(5),
            literal("veg"),
        ],
        vec![
            literal("salt"),
            literal(dec("0.75")),
            literal(20),
            literal(None::<&str>),
        ],
    ];
    conn.execute(&insert(&t).values_many(["name", "price", "qty", "category"], rows))
        .unwrap();
    (t, conn)
}

fn ids(conn: &mut Connection, t: &Table, condition: Expr) -> Vec<i64> {
    conn.execute(&select(t.c("id")).where_(condition).order_by(t.c("id")))
        .unwrap()
        .scalars()
        .unwrap()
}

fn one(conn: &mut Connection, stmt: &impl Executable) -> Row {
    conn.execute(stmt).unwrap().one().unwrap()
}

#[test]
fn aggregates_and_scalar_functions() {
    for_each_backend(|db| {
        let (t, mut conn) = products(db);
        let row = one(
            &mut conn,
            &select(vec![
                func::count(t.c("id")),
                func::count(t.c("qty")),
                func::count_star(),
                func::count_distinct(t.c("category")),
                func::sum(t.c("qty")),
                func::avg(t.c("qty")),
                func::min(t.c("price")),
                func::max(t.c("price")),
                func::min(t.c("name")),
                func::max(t.c("name")),
                func::sum(t.c("price")),
            ]),
        );
        let name = db.name();
        assert_eq!(row.get::<i64>(0).unwrap(), 4, "{name} count(id)");
        assert_eq!(
            row.get::<i64>(1).unwrap(),
            3,
            "{name} count(qty) skips NULL"
        );
        assert_eq!(row.get::<i64>(2).unwrap(), 4, "{name} count(*)");
        assert_eq!(row.get::<i64>(3).unwrap(), 2, "{name} count(distinct)");
        assert_eq!(row.get::<i64>(4).unwrap(), 35, "{name} sum");
        let avg = row.get::<f64>(5).unwrap();
        assert!((avg - 35.0 / 3.0).abs() < 1e-3, "{name} avg {avg}");
        assert_eq!(row.get::<Decimal>(6).unwrap(), dec("0.75"), "{name} min");
        assert_eq!(row.get::<Decimal>(7).unwrap(), dec("3.00"), "{name} max");
        assert_eq!(row.get::<String>(8).unwrap(), "apple");
        assert_eq!(row.get::<String>(9).unwrap(), "salt");
        assert_eq!(
            row.get::<Decimal>(10).unwrap(),
            dec("7.50"),
            "{name} sum(price)"
        );

        // Scalar functions, row by row.
        let rows = conn
            .execute(
                &select((
                    func::coalesce((t.c("qty"), -1)),
                    func::upper(t.c("name")),
                    func::length(t.c("name")),
                    func::abs(func::coalesce((t.c("qty"), 0)) - 100),
                    func::lower(func::coalesce((t.c("category"), "NONE"))),
                ))
                .order_by(t.c("id")),
            )
            .unwrap();
        let got: Vec<(i64, String, i64, i64, String)> = rows
            .into_iter()
            .map(|r| {
                (
                    r.get(0).unwrap(),
                    r.get(1).unwrap(),
                    r.get(2).unwrap(),
                    r.get(3).unwrap(),
                    r.get(4).unwrap(),
                )
            })
            .collect();
        let s = |x: &str| x.to_owned();
        assert_eq!(
            got,
            [
                (10, s("APPLE"), 5, 90, s("fruit")),
                (-1, s("PEAR"), 4, 100, s("fruit")),
                (5, s("KALE"), 4, 95, s("veg")),
                (20, s("SALT"), 4, 80, s("none")),
            ],
            "{name}"
        );

        // GROUP BY with HAVING on an aggregate, ordered by the aggregate.
        let rows = conn
            .execute(
                &select((t.c("category"), func::sum(t.c("price")).label("total")))
                    .group_by(t.c("category"))
                    .having(func::count(t.c("id")).ge(1))
                    .order_by(func::sum(t.c("price")).desc()),
            )
            .unwrap();
        let got: Vec<(Option<String>, Decimal)> = rows
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get("total").unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (Some(s("fruit")), dec("3.75")),
                (Some(s("veg")), dec("3.00")),
                (None, dec("0.75")),
            ],
            "{name}"
        );
    });
}

#[test]
fn conditions_and_null_comparisons() {
    for_each_backend(|db| {
        let (t, mut conn) = products(db);
        let name = db.name();
        // eq(None) / ne(None) compile to IS NULL / IS NOT NULL (never `= NULL`).
        assert_eq!(
            ids(&mut conn, &t, t.c("qty").eq(None::<i32>)),
            [2],
            "{name}"
        );
        assert_eq!(
            ids(&mut conn, &t, t.c("qty").ne(None::<i32>)),
            [1, 3, 4],
            "{name}"
        );
        assert_eq!(ids(&mut conn, &t, t.c("category").is_null()), [4], "{name}");
        assert_eq!(ids(&mut conn, &t, t.c("category").is_not_null()), [1, 2, 3]);
        // A comparison with NULL inside matches nothing, as in SQL.
        assert_eq!(ids(&mut conn, &t, t.c("qty").gt(0)), [1, 3, 4], "{name}");
        assert_eq!(ids(&mut conn, &t, not_(t.c("qty").gt(5))), [3], "{name}");
        assert_eq!(
            ids(&mut conn, &t, t.c("price").between(dec("1"), dec("3"))),
            [1, 2, 3],
            "{name}"
        );
        assert_eq!(
            ids(
                &mut conn,
                &t,
                or_([
                    and_([t.c("category").eq("fruit"), t.c("price").lt(dec("2"))]),
                    t.c("name").startswith("s"),
                ])
            ),
            [1, 4],
            "{name}"
        );
        assert_eq!(
            ids(&mut conn, &t, t.c("name").in_(["kale", "pear", "nope"])),
            [2, 3],
            "{name}"
        );
        assert_eq!(
            ids(&mut conn, &t, t.c("name").not_in(Vec::<&str>::new())),
            [1, 2, 3, 4],
            "{name}: NOT IN () is true for every row"
        );
    });
}

#[test]
fn casts_convert_values() {
    for_each_backend(|db| {
        let name = db.name();
        let mut conn = db.engine().connect().unwrap();
        let row = one(
            &mut conn,
            &select(vec![
                cast(literal("12"), SqlType::Integer),
                cast(literal("1.25"), SqlType::numeric(10, 2)),
                cast(literal(12), SqlType::string(20)),
                cast(literal(12), SqlType::Text),
                cast(literal("2024-01-02"), SqlType::Date),
                cast(
                    literal("2024-01-02 10:11:12.123456"),
                    SqlType::DateTime { timezone: false },
                ),
                cast(literal("10:11:12.654321"), SqlType::Time),
                cast(literal("abc"), SqlType::LargeBinary),
                cast(literal("{\"a\": [1, true]}"), SqlType::Json),
                cast(literal(2.5), SqlType::Double),
                cast(literal(1), SqlType::Boolean),
                cast(literal(2.7), SqlType::Integer),
                cast(literal(i64::MAX), SqlType::Text),
            ]),
        );
        assert_eq!(row.get::<i64>(0).unwrap(), 12, "{name}");
        assert_eq!(row.get::<Decimal>(1).unwrap(), dec("1.25"), "{name}");
        assert_eq!(row.get::<String>(2).unwrap(), "12", "{name}");
        assert_eq!(row.get::<String>(3).unwrap(), "12", "{name}");
        assert_eq!(
            row.get::<NaiveDate>(4).unwrap(),
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
            "{name}"
        );
        assert_eq!(
            row.get::<NaiveDateTime>(5).unwrap(),
            NaiveDate::from_ymd_opt(2024, 1, 2)
                .unwrap()
                .and_hms_micro_opt(10, 11, 12, 123_456)
                .unwrap(),
            "{name}: a cast keeps microseconds"
        );
        assert_eq!(
            row.get::<NaiveTime>(6).unwrap(),
            NaiveTime::from_hms_micro_opt(10, 11, 12, 654_321).unwrap(),
            "{name}: a cast keeps microseconds"
        );
        assert_eq!(row.get::<Vec<u8>>(7).unwrap(), b"abc", "{name}");
        assert_eq!(
            row.get::<serde_json::Value>(8).unwrap(),
            serde_json::json!({"a": [1, true]}),
            "{name}"
        );
        assert_eq!(row.get::<f64>(9).unwrap(), 2.5, "{name}");
        assert!(row.get::<bool>(10).unwrap(), "{name}");
        // The value is converted from its own type: PostgreSQL and MySQL round, SQLite
        // truncates.
        let rounded = if name == "sqlite" { 2 } else { 3 };
        assert_eq!(row.get::<i64>(11).unwrap(), rounded, "{name}");
        assert_eq!(
            row.get::<String>(12).unwrap(),
            i64::MAX.to_string(),
            "{name}"
        );
    });
}

#[test]
fn window_functions() {
    for_each_backend(|db| {
        let (t, mut conn) = products(db);
        let rows = conn
            .execute(
                &select((
                    t.c("id"),
                    func::row_number().over(
                        Over::new()
                            .partition_by(t.c("category"))
                            .order_by(t.c("price").desc()),
                    ),
                    func::rank().over(Over::new().order_by(t.c("category"))),
                    func::sum(t.c("qty")).over(Over::new().partition_by(t.c("category"))),
                    func::count_star().over(Over::new()),
                ))
                .order_by(t.c("id")),
            )
            .unwrap();
        let got: Vec<(i64, i64, i64, Option<i64>, i64)> = rows
            .into_iter()
            .map(|r| {
                (
                    r.get(0).unwrap(),
                    r.get(1).unwrap(),
                    r.get(2).unwrap(),
                    r.get(3).unwrap(),
                    r.get(4).unwrap(),
                )
            })
            .collect();
        // Categories sort NULL first on SQLite and MySQL and last on PostgreSQL.
        let (fruit, veg, none) = if db.name() == "postgresql" {
            (1, 3, 4)
        } else {
            (2, 4, 1)
        };
        assert_eq!(
            got,
            [
                (1, 2, fruit, Some(10), 4),
                (2, 1, fruit, Some(10), 4),
                (3, 1, veg, Some(5), 4),
                (4, 1, none, Some(20), 4),
            ],
            "{}",
            db.name()
        );
    });
}

#[test]
fn bound_values_alone_in_the_select_list_keep_their_types() {
    for_each_backend(|db| {
        let name = db.name();
        let (t, mut conn) = products(db);
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let row = one(
            &mut conn,
            &select((
                literal(7),
                literal(true),
                literal(1.5),
                literal("text"),
                literal(dec("12.34")),
                literal(date),
                literal(None::<i32>),
            )),
        );
        assert_eq!(row.get::<i64>(0).unwrap(), 7, "{name}");
        assert!(row.get::<bool>(1).unwrap(), "{name}");
        assert_eq!(row.get::<f64>(2).unwrap(), 1.5, "{name}");
        assert_eq!(row.get::<String>(3).unwrap(), "text", "{name}");
        assert_eq!(row.get::<Decimal>(4).unwrap(), dec("12.34"), "{name}");
        assert_eq!(row.get::<NaiveDate>(5).unwrap(), date, "{name}");
        assert_eq!(row.get::<Option<i64>>(6).unwrap(), None, "{name}");
        if name == "postgresql" {
            // Typed by the server, not text that happens to parse.
            assert_eq!(row.get_value(0).unwrap(), &Value::Int(7));
            assert_eq!(row.get_value(1).unwrap(), &Value::Bool(true));
        }

        // A constant beside a column in a UNION, and constants as the rows of INSERT ... SELECT.
        let ids: Vec<i64> = conn
            .execute(
                &select(literal(0).label("id"))
                    .union_all(select(t.c("id")).where_(t.c("id").le(2)))
                    .order_by(t.c("id")),
            )
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(ids, [0, 1, 2], "{name}");
        conn.execute(&insert(&t).from_select(
            ["id", "name", "price", "qty"],
            select((
                literal(10),
                literal("const"),
                literal(dec("9.99")),
                literal(3),
            )),
        ))
        .unwrap();
        let row = one(
            &mut conn,
            &select((t.c("name"), t.c("price"), t.c("qty"))).where_(t.c("id").eq(10)),
        );
        assert_eq!(row.get::<String>(0).unwrap(), "const");
        assert_eq!(row.get::<Decimal>(1).unwrap(), dec("9.99"));
        assert_eq!(row.get::<i64>(2).unwrap(), 3);
    });
}

#[test]
fn generated_keys() {
    for_each_backend(|db| {
        let (t, mut conn) = products(db);
        let caps = conn.dialect().capabilities();
        let new = |name: &str| insert(&t).value("name", name).value("price", dec("1"));

        // The key of a one-row insert, as the database reports it.
        let result = conn.execute(&new("first")).unwrap();
        let max = |conn: &mut Connection| -> i64 {
            conn.execute(&select(func::max(t.c("id"))))
                .unwrap()
                .scalar()
                .unwrap()
        };
        let id = max(&mut conn);
        assert_eq!(id, 5, "{}", db.name());
        match db.name() {
            // PostgreSQL has no "last insert id": keys come back through RETURNING.
            "postgresql" => assert_eq!(result.last_insert_id(), None),
            _ => assert_eq!(result.last_insert_id(), Some(id), "{}", db.name()),
        }

        let returning = new("second").returning(t.c("id"));
        if caps.insert_returning {
            let id: i64 = conn.execute(&returning).unwrap().scalar().unwrap();
            assert_eq!(id, 6, "{}", db.name());
            let many = insert(&t)
                .values_many(["name", "price"], [("x", 1), ("y", 2), ("z", 3)])
                .returning((t.c("id"), t.c("name")));
            let mut got: Vec<(i64, String)> = conn
                .execute(&many)
                .unwrap()
                .into_iter()
                .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
                .collect();
            got.sort();
            let s = |x: &str| x.to_owned();
            assert_eq!(
                got,
                [(7, s("x")), (8, s("y")), (9, s("z"))],
                "{}",
                db.name()
            );
        } else {
            // MySQL (not MariaDB) has no INSERT ... RETURNING.
            let err = conn.execute(&returning).unwrap_err();
            assert!(matches!(err, Error::Compile(_)), "{err:?}");
        }

        // An explicit key of 0 is stored as 0 everywhere (MySQL would otherwise generate one).
        conn.execute(&new("zero").value("id", 0)).unwrap();
        let name: String = conn
            .execute(&select(t.c("name")).where_(t.c("id").eq(0)))
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(name, "zero", "{}", db.name());
    });
}

#[test]
fn execute_many_with_builder_statements() {
    for_each_backend(|db| {
        let (t, mut conn) = products(db);
        // The builder gives the SQL; each parameter set gives the values, in placeholder order.
        let stmt = insert(&t)
            .value("name", "")
            .value("price", dec("0"))
            .value("qty", 0);
        let sets: Vec<Vec<Value>> = (0..20)
            .map(|i| vec![format!("bulk{i}").into(), dec("0.5").into(), Value::Int(i)])
            .collect();
        assert_eq!(
            conn.execute_many(&stmt, &sets).unwrap(),
            20,
            "{}",
            db.name()
        );

        let bump = update(&t)
            .set("qty", t.c("qty") + 0)
            .where_(t.c("name").eq(""));
        let n = conn
            .execute_many(
                &bump,
                [
                    [Value::Int(100), "bulk1".into()],
                    [Value::Int(100), "bulk2".into()],
                    [Value::Int(100), "missing".into()],
                ],
            )
            .unwrap();
        assert_eq!(n, 2, "{}", db.name());
        let row = one(
            &mut conn,
            &select((func::count(t.c("id")), func::sum(t.c("qty"))))
                .where_(t.c("name").startswith("bulk")),
        );
        assert_eq!(row.get::<i64>(0).unwrap(), 20);
        // 0 + 1 + ... + 19 = 190, plus 100 for each of two bumped rows.
        assert_eq!(row.get::<i64>(1).unwrap(), 390, "{}", db.name());
    });
}

#[test]
fn for_update_locks_the_rows_it_reads() {
    for_each_backend(|db| {
        let (t, mut conn) = products(db);
        let row_one = || select(t.c("id")).where_(t.c("id").eq(1));
        if !conn.dialect().capabilities().row_locking {
            // SQLite locks the whole database on write: the clause is left out, and the
            // query still runs.
            let sql = row_one().for_update().compile(conn.dialect()).unwrap().sql;
            assert!(!sql.contains("FOR UPDATE"), "{sql}");
            let id: i64 = conn
                .execute(&row_one().for_update())
                .unwrap()
                .scalar()
                .unwrap();
            assert_eq!(id, 1);
            return;
        }
        let mut holder = conn.begin().unwrap();
        let id: i64 = holder
            .execute(&row_one().for_update())
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(id, 1);

        let mut other = db.engine().connect().unwrap();
        let mut tx = other.begin().unwrap();
        let err = tx.execute(&row_one().for_update_nowait()).unwrap_err();
        assert!(
            matches!(err, Error::Operational(_)),
            "{}: {err:?}",
            db.name()
        );
        assert_eq!(err.kind(), Some(ErrorKind::LockTimeout), "{}", db.name());
        tx.rollback().unwrap();

        let mut tx = other.begin().unwrap();
        let free: Vec<i64> = tx
            .execute(
                &select(t.c("id"))
                    .order_by(t.c("id"))
                    .for_update_skip_locked(),
            )
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(
            free,
            [2, 3, 4],
            "{}: SKIP LOCKED passes the locked row",
            db.name()
        );
        tx.rollback().unwrap();

        // A shared lock reads a row nobody holds exclusively.
        let mut tx = other.begin().unwrap();
        let id: i64 = tx
            .execute(&select(t.c("id")).where_(t.c("id").eq(2)).for_share())
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(id, 2);
        tx.rollback().unwrap();

        holder.commit().unwrap();
        let mut tx = other.begin().unwrap();
        let id: i64 = tx
            .execute(&row_one().for_update_nowait())
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(id, 1, "{}: free once the holder commits", db.name());
        tx.commit().unwrap();
    });
}
