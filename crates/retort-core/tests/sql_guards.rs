//! Statements the compiler must refuse or adjust before anything reaches the database: very
//! deep expressions, LIMIT and OFFSET beyond what the database takes, LIKE terms holding NUL
//! on SQLite, and names PostgreSQL would silently truncate. Golden checks need no database;
//! the live ones run on SQLite, PostgreSQL and MariaDB.

use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::Dialect;
use retort_core::schema::{Column, MetaData, Table};
use retort_core::sql::prelude::*;
use retort_core::sql::MAX_DEPTH;
use retort_core::types::SqlType;
use retort_core::{Connection, Error, Value};
use retort_testkit::{for_each_backend, TestDb};

const MARIADB: MySqlDialect = MySqlDialect { mariadb: true };

fn dialects() -> [&'static dyn Dialect; 3] {
    [&SqliteDialect, &PostgresDialect, &MARIADB]
}

// ---------------------------------------------------------------- depth

/// `x + 1 + 1 + ...` with `n` additions: `n + 1` expression levels.
fn sum_chain(n: usize) -> Expr {
    let mut e = table("t").c("x");
    for _ in 0..n {
        e = e + 1;
    }
    e
}

#[test]
fn a_hundred_thousand_levels_are_a_compile_error_and_drop_safely() {
    let q = select(sum_chain(100_000));
    for d in dialects() {
        match q.compile(d) {
            Err(Error::Compile(msg)) => assert!(msg.contains("deep"), "{msg}"),
            other => panic!("{}: expected a CompileError, got {other:?}", d.name()),
        }
        assert!(
            matches!(q.to_sql_string(d), Err(Error::Compile(_))),
            "{}",
            d.name()
        );
    }
    // Building on the deep tree and reading its type must not recurse without bound either.
    let t = table("t");
    let mut untyped = t.c("x");
    for _ in 0..100_000 {
        untyped = untyped + t.c("y");
    }
    assert_eq!(func::sum(untyped).sql_type(), None);
    let nested = not_(sum_chain(100_000).eq(1) & sum_chain(100_000).contains(sum_chain(1000)));
    assert!(matches!(
        select(nested).compile(&SqliteDialect),
        Err(Error::Compile(_))
    ));
    // Dropping the trees (at the end of scope) must not overflow the stack either.
}

#[test]
fn the_deepest_allowed_expression_compiles_and_one_more_level_does_not() {
    // `MAX_DEPTH - 1` additions over a column: `MAX_DEPTH` levels.
    let ok = select(sum_chain(MAX_DEPTH - 1));
    let too_deep = select(sum_chain(MAX_DEPTH));
    for d in dialects() {
        let c = ok
            .compile(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.name()));
        assert_eq!(c.sql.matches(" + ").count(), MAX_DEPTH - 1);
        assert!(
            matches!(too_deep.compile(d), Err(Error::Compile(_))),
            "{}",
            d.name()
        );
    }
}

/// `n` EXISTS nested in one another: each is an expression level and a query (three more).
fn nested_exists(n: usize) -> Select {
    let t = table("t");
    let mut cond = t.c("x").eq(1);
    for _ in 0..n {
        cond = exists(select(t.c("x")).where_(cond));
    }
    select(t.c("x")).where_(cond)
}

#[test]
fn the_deepest_allowed_subquery_nesting_compiles() {
    // 4 levels per EXISTS, 2 for the comparison at the bottom.
    let most = (MAX_DEPTH - 2) / 4;
    for d in dialects() {
        let sql = nested_exists(most)
            .compile(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.name()))
            .sql;
        assert_eq!(sql.matches("EXISTS").count(), most);
        assert!(matches!(
            nested_exists(most + 1).compile(d),
            Err(Error::Compile(_))
        ));
    }
}

#[test]
fn deeply_nested_queries_are_a_compile_error() {
    let t = table("t");
    let mut q = select(t.c("x"));
    for i in 0..20_000 {
        q = select(star()).from(q.subquery(format!("s{i}")));
    }
    let mut compound = select(t.c("x")).union(select(t.c("y")));
    for _ in 0..20_000 {
        compound = compound.union(select(t.c("y")));
    }
    let stmts: [Statement; 3] = [q.into(), nested_exists(20_000).into(), compound.into()];
    for d in dialects() {
        for stmt in &stmts {
            assert!(
                matches!(stmt.compile(d), Err(Error::Compile(_))),
                "{}",
                d.name()
            );
        }
    }
}

#[test]
fn a_long_concatenation_is_deep_with_pipes_and_flat_on_mysql() {
    let t = table("t");
    let mut e = t.c("x");
    for _ in 0..100_000 {
        e = e.concat(t.c("y"));
    }
    let q = select(e);
    for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect] {
        assert!(
            matches!(q.compile(d), Err(Error::Compile(_))),
            "{}",
            d.name()
        );
    }
    // MySQL writes the chain as one CONCAT(...) of 100 001 operands: long, not deep.
    let sql = q.compile(&MARIADB).unwrap().sql;
    assert!(
        sql.starts_with("SELECT CONCAT(`t`.`x`, `t`.`y`, "),
        "{}",
        &sql[..60]
    );
}

#[test]
fn a_deep_expression_is_refused_before_it_is_sent() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        // The table does not exist: had anything been sent, the database would say so.
        let q = select(sum_chain(100_000).label("n"));
        assert!(matches!(conn.execute(&q), Err(Error::Compile(_))));
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)", &[])
            .unwrap();
        conn.exec_driver_sql("INSERT INTO t (x) VALUES (1)", &[])
            .unwrap();
        let ok = select(literal(1) + sum_chain(100).cast(SqlType::Integer));
        let n: i64 = conn.execute(&ok).unwrap().scalar().unwrap();
        assert_eq!(n, 102, "{}", db.name());
    });
}

// ---------------------------------------------------------------- LIMIT and OFFSET

#[test]
fn huge_limits_and_offsets_compile_within_each_dialects_range() {
    let u = table("users");
    let q = select(u.c("id")).limit(u64::MAX).offset(u64::MAX);
    let s = q.compile(&SqliteDialect).unwrap();
    assert_eq!(
        s.sql,
        r#"SELECT "users"."id" FROM "users" LIMIT 9223372036854775807 OFFSET 9223372036854775807"#
    );
    let p = q.compile(&PostgresDialect).unwrap();
    assert_eq!(
        p.sql,
        r#"SELECT "users"."id" FROM "users" LIMIT $1 OFFSET $2"#
    );
    assert_eq!(p.params, vec![Value::Int(i64::MAX), Value::Int(i64::MAX)]);
    // MySQL takes the whole unsigned range; past i64 it cannot be bound, so it is written.
    let m = q.compile(&MARIADB).unwrap();
    assert_eq!(
        m.sql,
        "SELECT `users`.`id` FROM `users` LIMIT 18446744073709551615 OFFSET 18446744073709551615"
    );
    assert!(m.params.is_empty());
    let small = select(u.c("id")).limit(5).offset(i64::MAX as u64);
    assert_eq!(
        small.compile(&MARIADB).unwrap().params,
        vec![Value::Int(5), Value::Int(i64::MAX)]
    );
}

fn three_rows(db: &TestDb) -> Table {
    let md = MetaData::new();
    let t = Table::new("nums", &md)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .build()
        .unwrap();
    md.create_all(db.engine()).unwrap();
    let mut conn = db.engine().connect().unwrap();
    conn.execute(&insert(&t).values_many(["id"], [1, 2, 3]))
        .unwrap();
    t
}

fn ids(conn: &mut Connection, q: &Select) -> Vec<i64> {
    conn.execute(q)
        .unwrap_or_else(|e| panic!("{e}\n{}", q.compile(conn.dialect()).unwrap()))
        .scalars()
        .unwrap()
}

#[test]
fn huge_limits_and_offsets_run_on_every_backend() {
    for_each_backend(|db| {
        let t = three_rows(db);
        let mut conn = db.engine().connect().unwrap();
        let base = || select(t.c("id")).order_by(t.c("id"));
        assert_eq!(ids(&mut conn, &base().limit(u64::MAX)), vec![1, 2, 3]);
        assert_eq!(
            ids(&mut conn, &base().limit(i64::MAX as u64 + 1)),
            vec![1, 2, 3]
        );
        assert_eq!(ids(&mut conn, &base().offset(u64::MAX)), Vec::<i64>::new());
        assert_eq!(
            ids(&mut conn, &base().limit(u64::MAX).offset(1)),
            vec![2, 3]
        );
        assert_eq!(
            ids(&mut conn, &base().limit(1).offset(u64::MAX)),
            Vec::<i64>::new()
        );
        let compound = base()
            .union(select(t.c("id")))
            .order_by(t.c("id"))
            .limit(u64::MAX)
            .offset(2);
        let rows: Vec<i64> = conn.execute(&compound).unwrap().scalars().unwrap();
        assert_eq!(rows, vec![3], "{}", db.name());
    });
}

// ---------------------------------------------------------------- LIKE terms with NUL

#[test]
fn like_terms_with_nul_are_refused_on_sqlite_before_sending() {
    let t = table("t");
    for cond in [
        t.c("s").contains("a\0b"),
        t.c("s").startswith("\0"),
        t.c("s").endswith("x\0"),
        t.c("s").like("%\0%"),
        t.c("s").not_ilike("\0%"),
        t.c("s").contains(func::lower("\0")),
    ] {
        match select(t.c("s")).where_(cond).compile(&SqliteDialect) {
            Err(Error::Argument(msg)) => assert!(msg.contains("NUL"), "{msg}"),
            other => panic!("expected an ArgumentError, got {other:?}"),
        }
    }
    // Elsewhere the term is bound as it is.
    let q = select(t.c("s")).where_(t.c("s").contains("a\0b"));
    assert_eq!(
        q.compile(&MARIADB).unwrap().params,
        vec![Value::from("%a\0b%")]
    );
}

#[test]
fn a_like_term_with_nul_matches_no_row_that_lacks_it() {
    for_each_backend(|db| {
        let md = MetaData::new();
        let t = Table::new("words", &md)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("s", SqlType::string(20)))
            .build()
            .unwrap();
        md.create_all(db.engine()).unwrap();
        let mut conn = db.engine().connect().unwrap();
        conn.execute(&insert(&t).values_many(
            ["id", "s"],
            [(1, "plain"), (2, "50%"), (3, "a_b"), (4, "x/y"), (5, "")],
        ))
        .unwrap();
        let find = |conn: &mut Connection, cond: Expr| -> retort_core::Result<Vec<i64>> {
            conn.execute(&select(t.c("id")).where_(cond).order_by(t.c("id")))?
                .scalars()
        };
        for cond in [
            t.c("s").contains("\0"),
            t.c("s").contains("pl\0"),
            t.c("s").startswith("\0"),
            t.c("s").startswith("pla\0"),
            t.c("s").endswith("\0"),
            t.c("s").endswith("\0n"),
            t.c("s").like("%\0%"),
        ] {
            match find(&mut conn, cond) {
                Ok(rows) => assert!(rows.is_empty(), "{}: matched {rows:?}", db.name()),
                // SQLite refuses the term; PostgreSQL's text cannot hold NUL at all.
                Err(Error::Argument(_)) if db.name() == "sqlite" => {}
                Err(e) if db.name() == "postgresql" && e.database_error().is_some() => {}
                Err(e) => panic!("{}: {e}", db.name()),
            }
        }
        // The wildcards and the escape character still match only themselves.
        let cases = [
            (t.c("s").contains("%"), vec![2]),
            (t.c("s").contains("_"), vec![3]),
            (t.c("s").contains("/"), vec![4]),
            (t.c("s").startswith("a_"), vec![3]),
            (t.c("s").endswith("0%"), vec![2]),
            (t.c("s").startswith("x/"), vec![4]),
            (t.c("s").contains(""), vec![1, 2, 3, 4, 5]),
        ];
        for (cond, expect) in cases {
            assert_eq!(find(&mut conn, cond).unwrap(), expect, "{}", db.name());
        }
    });
}

// ---------------------------------------------------------------- identifier lengths

fn long(n: usize) -> String {
    "a".repeat(n)
}

#[test]
fn names_postgresql_would_truncate_are_refused_there() {
    let t = table("t");
    let name64 = long(64);
    let wide = "é".repeat(32); // 64 bytes, 32 characters
    let cases: Vec<(&str, Statement)> = vec![
        ("label", select(t.c("x").label(name64.as_str())).into()),
        ("wide label", select(t.c("x").label(wide.as_str())).into()),
        (
            "table alias",
            select(t.alias(name64.as_str()).c("x")).into(),
        ),
        (
            "subquery alias",
            select(star())
                .from(select(t.c("x")).subquery(name64.as_str()))
                .into(),
        ),
        ("cte name", {
            let cte = select(t.c("x")).cte(name64.as_str());
            select(cte.c("x")).into()
        }),
        ("cte column", {
            let cte = select(t.c("x")).cte("c").with_columns([name64.as_str()]);
            select(cte.c(name64.as_str())).into()
        }),
        ("table", select(table(name64.as_str()).c("x")).into()),
        ("column", select(t.c(name64.as_str())).into()),
        ("update column", update(&t).set(name64.as_str(), 1).into()),
    ];
    for (what, stmt) in &cases {
        match stmt.compile(&PostgresDialect) {
            Err(Error::Compile(msg)) => {
                assert!(
                    msg.contains(name64.as_str()) || msg.contains(wide.as_str()),
                    "{what}: {msg}"
                );
                assert!(msg.contains("63"), "{what}: {msg}");
            }
            other => panic!("{what}: expected a CompileError, got {other:?}"),
        }
        // SQLite has no limit; MySQL counts characters and allows 64 (aliases 255 bytes).
        stmt.compile(&SqliteDialect)
            .unwrap_or_else(|e| panic!("{what} on SQLite: {e}"));
        stmt.compile(&MARIADB)
            .unwrap_or_else(|e| panic!("{what} on MySQL: {e}"));
    }
    // 63 bytes are fine on PostgreSQL.
    let ok = select(t.alias(long(63)).c("x").label(long(63)));
    ok.compile(&PostgresDialect).unwrap();
    // MySQL: 65 characters are too many for a table or column; MariaDB keeps 255 bytes of a
    // label.
    let m = |s: Statement| s.compile(&MARIADB);
    assert!(matches!(
        m(select(t.c(long(65))).into()),
        Err(Error::Compile(_))
    ));
    m(select(t.c("x").label(long(255))).into()).unwrap();
    for label in [long(256), "é".repeat(128)] {
        assert!(matches!(
            m(select(t.c("x").label(label)).into()),
            Err(Error::Compile(_))
        ));
    }
}

#[test]
fn a_255_byte_label_reads_back_whole_on_mariadb() {
    let Some(db) = retort_testkit::mysql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    let name = "é".repeat(127) + "a"; // 255 bytes
    let row = conn
        .execute(&select(literal(7).label(name.as_str())))
        .unwrap()
        .one()
        .unwrap();
    assert_eq!(row.columns(), std::slice::from_ref(&name));
    let too_long = select(literal(7).label(name + "a"));
    assert!(matches!(conn.execute(&too_long), Err(Error::Compile(_))));
}

#[test]
fn a_63_byte_label_reads_back_by_name_and_64_is_refused_before_sending() {
    let Some(db) = retort_testkit::postgresql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    let name63 = long(63);
    let row = conn
        .execute(&select(literal(7).label(name63.as_str())))
        .unwrap()
        .one()
        .unwrap();
    assert_eq!(row.get::<i64>(name63.as_str()).unwrap(), 7);
    let cte = select(literal(5).label("v")).cte(long(64));
    for stmt in [
        Statement::from(select(literal(7).label(long(64)))),
        select(cte.c("v")).into(),
    ] {
        assert!(matches!(conn.execute(&stmt), Err(Error::Compile(_))));
    }
}
