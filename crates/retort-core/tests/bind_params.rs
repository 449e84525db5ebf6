//! Named bind parameters (`bindparam`) and prepared statements on every backend: values given
//! at each run, by name; every mistake in naming them refused before anything is sent; a
//! prepared statement run without the cache, on its own engine only.

use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::sql::{bindparam, insert, select, table, Executable};
use retort_core::{create_engine, Connection, Error, Value};
use retort_testkit::for_each_backend;

mod common;
use common::people;

fn names(rows: retort_core::CursorResult) -> Vec<String> {
    rows.all()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect()
}

fn count(conn: &mut Connection) -> i64 {
    conn.execute(&select(retort_core::sql::func::count_star()).select_from(table("people")))
        .unwrap()
        .scalar::<i64>()
        .unwrap()
}

#[test]
fn bind_parameters_compile_to_the_dialects_placeholders() {
    let p = table("people");
    let q = select(p.c("name")).where_(
        p.c("age")
            .gt(bindparam("min"))
            .and(p.c("id").ne(bindparam("skip"))),
    );
    let sqlite = q.compile(&SqliteDialect).unwrap();
    assert_eq!(
        sqlite.sql,
        r#"SELECT "people"."name" FROM "people" WHERE "people"."age" > ? AND "people"."id" != ?"#
    );
    let pg = q.compile(&PostgresDialect).unwrap();
    assert_eq!(
        pg.sql,
        r#"SELECT "people"."name" FROM "people" WHERE "people"."age" > $1 AND "people"."id" != $2"#
    );
    let my = q.compile(&MySqlDialect::default()).unwrap();
    assert_eq!(
        my.sql,
        "SELECT `people`.`name` FROM `people` WHERE `people`.`age` > ? AND `people`.`id` != ?"
    );
    assert_eq!(
        q.to_sql_string(&PostgresDialect).unwrap(),
        r#"SELECT "people"."name" FROM "people" WHERE "people"."age" > :min AND "people"."id" != :skip"#
    );
    for c in [&sqlite, &pg, &my] {
        let slots: Vec<(usize, &str)> = c.binds.iter().map(|b| (b.index, &*b.name)).collect();
        assert_eq!(slots, [(0, "min"), (1, "skip")]);
        assert_eq!(c.params, [Value::Null, Value::Null]);
    }
}

#[test]
fn a_bind_parameter_takes_its_value_at_each_run_and_the_shape_compiles_once() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        // A literal value and a bind parameter side by side: the literal stays the
        // statement's own, the bind takes each run's value.
        let q = select(p.c("name"))
            .where_(p.c("age").ge(bindparam("min")).and(p.c("name").ne("Zed")))
            .order_by(p.c("id"));
        let before = engine.query_cache_stats();
        let mut seen = Vec::new();
        for min in [0, 31, 50] {
            seen.push(names(
                conn.execute_with(&q, &[("min", min.into())]).unwrap(),
            ));
        }
        assert_eq!(
            seen,
            [vec!["Ann", "Cy"], vec!["Cy"], Vec::<&str>::new()],
            "{}",
            db.name()
        );
        let after = engine.query_cache_stats();
        assert_eq!(
            (after.misses - before.misses, after.hits - before.hits),
            (1, 2),
            "{}",
            db.name()
        );
        // query_map_with reads the same rows by position.
        let ages: Vec<i64> = conn
            .query_map_with(&q, &[("min", 31.into())], |r| {
                r.get::<String>(0).map(|n| n.len() as i64)
            })
            .unwrap();
        assert_eq!(ages, [2], "{}", db.name());
    });
}

#[test]
fn one_name_in_two_places_binds_the_same_value_to_both() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let q = select(p.c("name"))
            .where_(
                p.c("id")
                    .eq(bindparam("n"))
                    .or(p.c("age").eq(bindparam("n"))),
            )
            .order_by(p.c("id"));
        let c = q.compile(engine.dialect()).unwrap();
        assert_eq!(c.binds.len(), 2);
        assert_eq!(
            names(conn.execute_with(&q, &[("n", 3.into())]).unwrap()),
            ["Cy"],
            "{}",
            db.name()
        );
    });
}

#[test]
fn a_missing_or_unknown_value_is_an_argument_error_and_nothing_is_sent() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let add =
            insert(table("people")).values([("id", bindparam("id")), ("name", bindparam("name"))]);
        let missing = conn.execute_with(&add, &[("id", 9.into())]).unwrap_err();
        assert!(
            matches!(&missing, Error::Argument(m) if m.contains("`name`")),
            "{}: {missing}",
            db.name()
        );
        let unknown = conn
            .execute_with(
                &add,
                &[
                    ("id", 9.into()),
                    ("name", "Di".into()),
                    ("nmae", "x".into()),
                ],
            )
            .unwrap_err();
        assert!(
            matches!(&unknown, Error::Argument(m) if m.contains("`nmae`")),
            "{}: {unknown}",
            db.name()
        );
        // Run without values at all, by any method that runs a statement.
        assert!(matches!(conn.execute(&add), Err(Error::Argument(_))));
        assert!(matches!(
            conn.query_map(&add, |r| r.get::<i64>(0)),
            Err(Error::Argument(_))
        ));
        assert!(matches!(conn.stream(&add), Err(Error::Argument(_))));
        assert_eq!(count(&mut conn), 3, "{}: a row was written", db.name());
        conn.execute_with(&add, &[("id", 9.into()), ("name", "Di".into())])
            .unwrap();
        assert_eq!(count(&mut conn), 4, "{}", db.name());
    });
}

#[test]
fn a_null_bound_to_an_equality_matches_no_row() {
    // Unlike a NULL written into the statement (which compiles to IS NULL), a bind's SQL does
    // not depend on its value: `age = NULL` is never true.
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let q = select(p.c("name")).where_(p.c("age").eq(bindparam("age")));
        let rows = conn.execute_with(&q, &[("age", Value::Null)]).unwrap();
        assert!(names(rows).is_empty(), "{}", db.name());
        let written = select(p.c("name")).where_(p.c("age").eq(Value::Null));
        assert_eq!(
            names(conn.execute(&written).unwrap()),
            ["Bo"],
            "{}",
            db.name()
        );
    });
}

#[test]
fn a_prepared_statement_runs_with_its_own_values_without_the_cache() {
    for_each_backend(|db| {
        let engine = db.engine();
        let mut conn = people(db, engine);
        let p = table("people");
        let q =
            select(p.c("name")).where_(p.c("id").eq(bindparam("id")).and(p.c("name").ne("Zed")));
        let lookup = conn.prepare(&q).unwrap();
        assert_eq!(lookup.bind_names().collect::<Vec<_>>(), ["id"]);
        assert_eq!(lookup.sql(), q.compile(engine.dialect()).unwrap().sql);
        let before = engine.query_cache_stats();
        let mut found = Vec::new();
        for id in [3, 1, 2] {
            let rows: Vec<String> = conn
                .query_map_with(&lookup, &[("id", id.into())], |r| r.get(0))
                .unwrap();
            found.extend(rows);
        }
        assert_eq!(found, ["Cy", "Ann", "Bo"], "{}", db.name());
        assert_eq!(engine.query_cache_stats(), before, "{}", db.name());
        // Another connection of the same engine runs it too.
        drop(conn);
        let mut other = engine.connect().unwrap();
        let rows = other.execute_with(&lookup, &[("id", 2.into())]).unwrap();
        assert_eq!(names(rows), ["Bo"], "{}", db.name());
        assert!(matches!(
            other.execute(&lookup),
            Err(Error::Argument(m)) if m.contains("`id`")
        ));
    });
}

#[test]
fn a_prepared_statement_is_refused_on_another_engines_connection() {
    let a = create_engine("sqlite://").unwrap();
    let b = create_engine("sqlite://").unwrap();
    let stmt = select(bindparam("x"));
    let prepared = a.connect().unwrap().prepare(&stmt).unwrap();
    let err = b
        .connect()
        .unwrap()
        .execute_with(&prepared, &[("x", 1.into())])
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest(m) if m.contains("another engine")),
        "{err}"
    );
    // A clone of the engine shares its dialect and its connections.
    let clone = a.clone();
    let value = clone
        .connect()
        .unwrap()
        .execute_with(&prepared, &[("x", 1.into())])
        .unwrap()
        .scalar::<i64>()
        .unwrap();
    assert_eq!(value, 1);
}

#[test]
fn text_with_nul_bound_into_a_like_is_refused_where_like_stops_at_nul() {
    let p = table("people");
    let q = select(p.c("name")).where_(p.c("name").like(bindparam("pattern")));
    let sqlite = q.compile(&SqliteDialect).unwrap();
    let mysql = q.compile(&MySqlDialect::default()).unwrap();
    assert!(sqlite.binds[0].refuse_nul);
    assert!(!mysql.binds[0].refuse_nul);
    // Outside a LIKE the same value is fine.
    let eq = select(p.c("name")).where_(p.c("name").eq(bindparam("pattern")));
    assert!(!eq.compile(&SqliteDialect).unwrap().binds[0].refuse_nul);

    let db = retort_testkit::sqlite();
    let engine = db.engine();
    let mut conn = people(&db, engine);
    let err = conn
        .execute_with(&q, &[("pattern", "A\0%".into())])
        .unwrap_err();
    assert!(
        matches!(&err, Error::Argument(m) if m.contains("NUL")),
        "{err}"
    );
    let rows = conn.execute_with(&q, &[("pattern", "A%".into())]).unwrap();
    assert_eq!(names(rows), ["Ann"]);
    let rows = conn
        .execute_with(&eq, &[("pattern", "A\0".into())])
        .unwrap();
    assert!(names(rows).is_empty());
}
