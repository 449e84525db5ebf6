//! Golden tests: statements and the exact SQL and parameters they compile to on SQLite,
//! PostgreSQL and MySQL/MariaDB. No database is needed.

use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::Dialect;
use retort_core::sql::prelude::*;
use retort_core::sql::{Compiled, SqlCompiler};
use retort_core::types::SqlType;
use retort_core::value::Value;
use retort_core::Error;

const MARIADB: MySqlDialect = MySqlDialect { mariadb: true };
const MYSQL: MySqlDialect = MySqlDialect { mariadb: false };

fn v(x: impl Into<Value>) -> Value {
    x.into()
}

/// Compiles, and checks that the shape-mode pass the statement cache keys by collects the
/// same parameters.
fn compile(stmt: &impl Executable, dialect: &dyn Dialect) -> Compiled {
    let compiled = match stmt.compile(dialect) {
        Ok(c) => c,
        Err(e) => panic!("compiling for {} failed: {e}", dialect.name()),
    };
    if let Ok(shape) =
        SqlCompiler::new(dialect).run_shape(|c| stmt.compile_into(c).unwrap_or(Ok(())))
    {
        if stmt.compile_into(&mut SqlCompiler::new(dialect)).is_some() {
            assert_eq!(
                (shape.params, shape.binds),
                (compiled.params.clone(), compiled.binds.clone()),
                "shape-mode parameters on {}",
                dialect.name()
            );
        }
    }
    compiled
}

/// Asserts the SQL on the three dialects (MySQL as MariaDB) and returns the compiled forms.
fn check(stmt: &impl Executable, sqlite: &str, pg: &str, mysql: &str) -> [Compiled; 3] {
    let s = compile(stmt, &SqliteDialect);
    let p = compile(stmt, &PostgresDialect);
    let m = compile(stmt, &MARIADB);
    assert_eq!(s.sql, sqlite, "SQLite");
    assert_eq!(p.sql, pg, "PostgreSQL");
    assert_eq!(m.sql, mysql, "MySQL");
    [s, p, m]
}

/// As [`check`], and asserts that all three bind `params`.
fn check_params(stmt: &impl Executable, sqlite: &str, pg: &str, mysql: &str, params: &[Value]) {
    for (c, name) in check(stmt, sqlite, pg, mysql)
        .iter()
        .zip(["SQLite", "PostgreSQL", "MySQL"])
    {
        assert_eq!(c.params, params, "{name} parameters");
    }
}

fn compile_error(stmt: &impl Executable, dialect: &dyn Dialect) -> Error {
    match stmt.compile(dialect) {
        Ok(c) => panic!("expected an error on {}, got {}", dialect.name(), c.sql),
        Err(e) => e,
    }
}

fn users() -> TableClause {
    table("users")
}

fn addresses() -> TableClause {
    table("addresses")
}

// ---------------------------------------------------------------- basic SELECT and WHERE

#[test]
fn select_where_and_params() {
    let u = users();
    let q = select((u.c("id"), u.c("name")))
        .where_(u.c("name").eq("alice"))
        .where_(u.c("age").ge(18));
    check_params(
        &q,
        r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."name" = ? AND "users"."age" >= ?"#,
        r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."name" = $1 AND "users"."age" >= $2"#,
        "SELECT `users`.`id`, `users`.`name` FROM `users` WHERE `users`.`name` = ? AND `users`.`age` >= ?",
        &[v("alice"), v(18)],
    );
}

#[test]
fn comparison_operators() {
    let u = users();
    let q = select(u.c("id")).where_(and_([
        u.c("a").ne(1),
        u.c("b").lt(2),
        u.c("c").le(3),
        u.c("d").gt(4),
        u.c("e").ge(5),
    ]));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" != ? AND "users"."b" < ? AND "users"."c" <= ? AND "users"."d" > ? AND "users"."e" >= ?"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" != $1 AND "users"."b" < $2 AND "users"."c" <= $3 AND "users"."d" > $4 AND "users"."e" >= $5"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` != ? AND `users`.`b` < ? AND `users`.`c` <= ? AND `users`.`d` > ? AND `users`.`e` >= ?",
        &[v(1), v(2), v(3), v(4), v(5)],
    );
}

#[test]
fn comparing_with_null_gives_is_null() {
    let u = users();
    let q = select(u.c("id")).where_(and_([
        u.c("a").eq(None::<i32>),
        u.c("b").ne(Value::Null),
        u.c("c").eq(null()),
        u.c("d").is_null(),
        u.c("e").is_not_null(),
    ]));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" IS NULL AND "users"."b" IS NOT NULL AND "users"."c" IS NULL AND "users"."d" IS NULL AND "users"."e" IS NOT NULL"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" IS NULL AND "users"."b" IS NOT NULL AND "users"."c" IS NULL AND "users"."d" IS NULL AND "users"."e" IS NOT NULL"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` IS NULL AND `users`.`b` IS NOT NULL AND `users`.`c` IS NULL AND `users`.`d` IS NULL AND `users`.`e` IS NOT NULL",
        &[],
    );
    // Some(x) is a value like any other.
    let q = select(u.c("id")).where_(u.c("a").eq(Some(3)));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" = ?"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" = $1"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` = ?",
        &[v(3)],
    );
}

#[test]
fn is_distinct_from_per_dialect() {
    let u = users();
    let q = select(u.c("id"))
        .where_(u.c("a").is_distinct_from(u.c("b")))
        .where_(u.c("c").is_not_distinct_from(5));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" IS NOT "users"."b" AND "users"."c" IS ?"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" IS DISTINCT FROM "users"."b" AND "users"."c" IS NOT DISTINCT FROM $1"#,
        "SELECT `users`.`id` FROM `users` WHERE NOT (`users`.`a` <=> `users`.`b`) AND `users`.`c` <=> ?",
        &[v(5)],
    );
    // not_() flips them.
    let q = select(u.c("id")).where_(not_(u.c("a").is_distinct_from(1)));
    check(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" IS ?"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" IS NOT DISTINCT FROM $1"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` <=> ?",
    );
}

#[test]
fn in_lists() {
    let u = users();
    let q = select(u.c("id"))
        .where_(u.c("id").in_([1, 2, 3]))
        .where_(u.c("name").not_in(vec!["x", "y"]));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."id" IN (?, ?, ?) AND "users"."name" NOT IN (?, ?)"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."id" IN ($1, $2, $3) AND "users"."name" NOT IN ($4, $5)"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`id` IN (?, ?, ?) AND `users`.`name` NOT IN (?, ?)",
        &[v(1), v(2), v(3), v("x"), v("y")],
    );
}

#[test]
fn empty_in_lists_are_constant_conditions() {
    let u = users();
    let q = select(u.c("id"))
        .where_(u.c("id").in_(Vec::<i64>::new()))
        .where_(u.c("id").not_in(Vec::<i64>::new()));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE 1 != 1 AND 1 = 1"#,
        r#"SELECT "users"."id" FROM "users" WHERE 1 != 1 AND 1 = 1"#,
        "SELECT `users`.`id` FROM `users` WHERE 1 != 1 AND 1 = 1",
        &[],
    );
    // Negating an empty IN gives the always-true form.
    let q = select(u.c("id")).where_(!u.c("id").in_(Vec::<i64>::new()));
    check(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE 1 = 1"#,
        r#"SELECT "users"."id" FROM "users" WHERE 1 = 1"#,
        "SELECT `users`.`id` FROM `users` WHERE 1 = 1",
    );
}

#[test]
fn in_subquery() {
    let (u, a) = (users(), addresses());
    let q = select(u.c("name"))
        .where_(
            u.c("id")
                .in_subquery(select(a.c("user_id")).where_(a.c("email").like("%@x.org"))),
        )
        .where_(u.c("id").not_in_subquery(select(a.c("user_id"))));
    check_params(
        &q,
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "addresses"."user_id" FROM "addresses" WHERE "addresses"."email" LIKE ?) AND "users"."id" NOT IN (SELECT "addresses"."user_id" FROM "addresses")"#,
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "addresses"."user_id" FROM "addresses" WHERE "addresses"."email" LIKE $1) AND "users"."id" NOT IN (SELECT "addresses"."user_id" FROM "addresses")"#,
        "SELECT `users`.`name` FROM `users` WHERE `users`.`id` IN (SELECT `addresses`.`user_id` FROM `addresses` WHERE `addresses`.`email` LIKE ?) AND `users`.`id` NOT IN (SELECT `addresses`.`user_id` FROM `addresses`)",
        &[v("%@x.org")],
    );
}

#[test]
fn between() {
    let u = users();
    let q = select(u.c("id"))
        .where_(u.c("age").between(18, 65))
        .where_(u.c("score").not_between(u.c("lo"), u.c("hi") + 1));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."age" BETWEEN ? AND ? AND "users"."score" NOT BETWEEN "users"."lo" AND "users"."hi" + ?"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."age" BETWEEN $1 AND $2 AND "users"."score" NOT BETWEEN "users"."lo" AND "users"."hi" + $3"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`age` BETWEEN ? AND ? AND `users`.`score` NOT BETWEEN `users`.`lo` AND `users`.`hi` + ?",
        &[v(18), v(65), v(1)],
    );
}

#[test]
fn like_and_ilike() {
    let u = users();
    let q = select(u.c("id")).where_(or_([
        u.c("a").like("A%"),
        u.c("b").not_like("B%"),
        u.c("c").ilike("c%"),
        u.c("d").not_ilike("d%"),
        u.c("e").like("x!%").escape('!'),
    ]));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE ? OR "users"."b" NOT LIKE ? OR lower("users"."c") LIKE lower(?) OR lower("users"."d") NOT LIKE lower(?) OR "users"."e" LIKE ? ESCAPE '!'"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE $1 OR "users"."b" NOT LIKE $2 OR "users"."c" ILIKE $3 OR "users"."d" NOT ILIKE $4 OR "users"."e" LIKE $5 ESCAPE '!'"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` LIKE ? OR `users`.`b` NOT LIKE ? OR lower(`users`.`c`) LIKE lower(?) OR lower(`users`.`d`) NOT LIKE lower(?) OR `users`.`e` LIKE ? ESCAPE '!'",
        &[v("A%"), v("B%"), v("c%"), v("d%"), v("x!%")],
    );
}

#[test]
fn contains_startswith_endswith_escape_literals() {
    let u = users();
    let q = select(u.c("id")).where_(and_([
        u.c("a").contains("50%_off/"),
        u.c("b").startswith("pre"),
        u.c("c").endswith("_x"),
    ]));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE ? ESCAPE '/' AND "users"."b" LIKE ? ESCAPE '/' AND "users"."c" LIKE ? ESCAPE '/'"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE $1 ESCAPE '/' AND "users"."b" LIKE $2 ESCAPE '/' AND "users"."c" LIKE $3 ESCAPE '/'"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` LIKE ? ESCAPE '/' AND `users`.`b` LIKE ? ESCAPE '/' AND `users`.`c` LIKE ? ESCAPE '/'",
        &[v("%50/%/_off//%"), v("pre%"), v("%/_x")],
    );
}

#[test]
fn contains_with_an_expression_concatenates_wildcards() {
    let u = users();
    let q = select(u.c("id")).where_(u.c("a").contains(u.c("b")));
    check_params(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE '%' || "users"."b" || '%'"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE '%' || "users"."b" || '%'"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` LIKE CONCAT('%', `users`.`b`, '%')",
        &[],
    );
    let q = select(u.c("id")).where_(u.c("a").startswith(u.c("b")));
    check(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE "users"."b" || '%'"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" LIKE "users"."b" || '%'"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` LIKE CONCAT(`users`.`b`, '%')",
    );
}

#[test]
fn concat_per_dialect_and_against_arithmetic() {
    let u = users();
    let q = select(u.c("first").concat(" ").concat(u.c("last")).label("full"));
    check_params(
        &q,
        r#"SELECT "users"."first" || ? || "users"."last" AS "full" FROM "users""#,
        r#"SELECT "users"."first" || $1 || "users"."last" AS "full" FROM "users""#,
        "SELECT CONCAT(`users`.`first`, ?, `users`.`last`) AS `full` FROM `users`",
        &[v(" ")],
    );
    // SQLite ranks || above +, PostgreSQL below: parentheses keep the meaning on both.
    let q = select(u.c("a").concat(u.c("b") + 1));
    check(
        &q,
        r#"SELECT "users"."a" || ("users"."b" + ?) FROM "users""#,
        r#"SELECT "users"."a" || ("users"."b" + $1) FROM "users""#,
        "SELECT CONCAT(`users`.`a`, `users`.`b` + ?) FROM `users`",
    );
    let q = select(u.c("a").concat(u.c("b")) + 1);
    check(
        &q,
        r#"SELECT ("users"."a" || "users"."b") + ? FROM "users""#,
        r#"SELECT ("users"."a" || "users"."b") + $1 FROM "users""#,
        "SELECT (CONCAT(`users`.`a`, `users`.`b`)) + ? FROM `users`",
    );
}

#[test]
fn arithmetic_precedence() {
    let t = table("t");
    let (a, b, c) = (t.c("a"), t.c("b"), t.c("c"));
    let q = select((
        (a.clone() + b.clone()) * c.clone(),
        a.clone() - (b.clone() - c.clone()),
        a.clone() - b.clone() - c.clone(),
        a.clone() * b.clone() + c.clone(),
        a.clone() / (b.clone() * c.clone()),
        a.clone() % b.clone(),
        -(a.clone() + b.clone()),
        -(-a.clone()),
        a.clone() - -b.clone(),
    ));
    check(
        &q,
        r#"SELECT ("t"."a" + "t"."b") * "t"."c", "t"."a" - ("t"."b" - "t"."c"), "t"."a" - "t"."b" - "t"."c", "t"."a" * "t"."b" + "t"."c", "t"."a" / ("t"."b" * "t"."c"), "t"."a" % "t"."b", -("t"."a" + "t"."b"), -(-"t"."a"), "t"."a" - -"t"."b" FROM "t""#,
        r#"SELECT ("t"."a" + "t"."b") * "t"."c", "t"."a" - ("t"."b" - "t"."c"), "t"."a" - "t"."b" - "t"."c", "t"."a" * "t"."b" + "t"."c", "t"."a" / ("t"."b" * "t"."c"), "t"."a" % "t"."b", -("t"."a" + "t"."b"), -(-"t"."a"), "t"."a" - -"t"."b" FROM "t""#,
        "SELECT (`t`.`a` + `t`.`b`) * `t`.`c`, `t`.`a` - (`t`.`b` - `t`.`c`), `t`.`a` - `t`.`b` - `t`.`c`, `t`.`a` * `t`.`b` + `t`.`c`, `t`.`a` / (`t`.`b` * `t`.`c`), `t`.`a` % `t`.`b`, -(`t`.`a` + `t`.`b`), -(-`t`.`a`), `t`.`a` - -`t`.`b` FROM `t`",
    );
    // The method forms build the same tree as the operators.
    assert_eq!(a.clone().add(1).mul(2), (a.clone() + 1) * 2);
    assert_eq!(a.clone().sub(1).div(2).rem(3), (a - 1) / 2 % 3);
    // Comparisons of arithmetic need no parentheses; comparisons of comparisons do.
    let q = select(t.c("id")).where_((t.c("a") + 1).gt(t.c("b") * 2).eq(false));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE ("t"."a" + ? > "t"."b" * ?) = ?"#,
        r#"SELECT "t"."id" FROM "t" WHERE ("t"."a" + $1 > "t"."b" * $2) = $3"#,
        "SELECT `t`.`id` FROM `t` WHERE (`t`.`a` + ? > `t`.`b` * ?) = ?",
    );
}

#[test]
fn boolean_nesting_and_negation() {
    let t = table("t");
    let (a, b, c) = (t.c("a").eq(1), t.c("b").eq(2), t.c("c").eq(3));
    let q = select(t.c("id")).where_(and_([a.clone(), or_([b.clone(), c.clone()])]));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" = ? AND ("t"."b" = ? OR "t"."c" = ?)"#,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" = $1 AND ("t"."b" = $2 OR "t"."c" = $3)"#,
        "SELECT `t`.`id` FROM `t` WHERE `t`.`a` = ? AND (`t`.`b` = ? OR `t`.`c` = ?)",
    );
    // AND binds tighter than OR: no parentheses needed, none written.
    let q = select(t.c("id")).where_(or_([and_([a.clone(), b.clone()]), c.clone()]));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" = ? AND "t"."b" = ? OR "t"."c" = ?"#,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" = $1 AND "t"."b" = $2 OR "t"."c" = $3"#,
        "SELECT `t`.`id` FROM `t` WHERE `t`.`a` = ? AND `t`.`b` = ? OR `t`.`c` = ?",
    );
    // & and | build the same trees, flattening chains.
    assert_eq!(
        a.clone() & b.clone() & c.clone(),
        and_([a.clone(), b.clone(), c.clone()])
    );
    assert_eq!(a.clone() | b.clone(), or_([a.clone(), b.clone()]));
    assert_eq!(a.clone().and(b.clone()), and_([a.clone(), b.clone()]));
    assert_eq!(a.clone().or(b.clone()), or_((a.clone(), b.clone())));

    let q = select(t.c("id")).where_(not_(and_([a.clone(), b.clone()])));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE NOT ("t"."a" = ? AND "t"."b" = ?)"#,
        r#"SELECT "t"."id" FROM "t" WHERE NOT ("t"."a" = $1 AND "t"."b" = $2)"#,
        "SELECT `t`.`id` FROM `t` WHERE NOT (`t`.`a` = ? AND `t`.`b` = ?)",
    );
    let q = select(t.c("id")).where_(and_([
        not_(a.clone()),
        !t.c("n").lt(5),
        !t.c("s").like("x"),
        !t.c("flag"),
        not_(not_(t.c("other"))),
        !t.c("n").is_null(),
        !t.c("n").between(1, 2),
    ]));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" != ? AND "t"."n" >= ? AND "t"."s" NOT LIKE ? AND NOT "t"."flag" AND "t"."other" AND "t"."n" IS NOT NULL AND "t"."n" NOT BETWEEN ? AND ?"#,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" != $1 AND "t"."n" >= $2 AND "t"."s" NOT LIKE $3 AND NOT "t"."flag" AND "t"."other" AND "t"."n" IS NOT NULL AND "t"."n" NOT BETWEEN $4 AND $5"#,
        "SELECT `t`.`id` FROM `t` WHERE `t`.`a` != ? AND `t`.`n` >= ? AND `t`.`s` NOT LIKE ? AND NOT `t`.`flag` AND `t`.`other` AND `t`.`n` IS NOT NULL AND `t`.`n` NOT BETWEEN ? AND ?",
    );
    // NOT over an OR, and over a concatenation (an operand, not a condition).
    let q = select(t.c("id")).where_(!or_([a.clone(), b.clone()]));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE NOT ("t"."a" = ? OR "t"."b" = ?)"#,
        r#"SELECT "t"."id" FROM "t" WHERE NOT ("t"."a" = $1 OR "t"."b" = $2)"#,
        "SELECT `t`.`id` FROM `t` WHERE NOT (`t`.`a` = ? OR `t`.`b` = ?)",
    );
}

#[test]
fn empty_and_single_boolean_combinations() {
    let t = table("t");
    let q = select(t.c("id")).where_(and_(Vec::<Expr>::new()));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE 1 = 1"#,
        r#"SELECT "t"."id" FROM "t" WHERE 1 = 1"#,
        "SELECT `t`.`id` FROM `t` WHERE 1 = 1",
    );
    let q = select(t.c("id")).where_(t.c("a").eq(1).or(or_(())));
    check(
        &q,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" = ? OR 1 != 1"#,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" = $1 OR 1 != 1"#,
        "SELECT `t`.`id` FROM `t` WHERE `t`.`a` = ? OR 1 != 1",
    );
    // An empty AND (always true) ANDed with a condition is that condition.
    let q = select(t.c("id")).where_(and_(()).and(t.c("a").eq(1)));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."a" = ?"#
    );
    assert_eq!(and_([t.c("a")]), t.c("a"));
    assert_eq!(or_([t.c("a")]), t.c("a"));
}

// ---------------------------------------------------------------- ordering, labels, casts

#[test]
fn order_by_directions_and_nulls() {
    let u = users();
    let q = select(u.c("id")).order_by((
        u.c("name"),
        u.c("age").desc().nulls_last(),
        u.c("city").asc().nulls_first(),
    ));
    check(
        &q,
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."name", "users"."age" DESC NULLS LAST, "users"."city" ASC NULLS FIRST"#,
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."name", "users"."age" DESC NULLS LAST, "users"."city" ASC NULLS FIRST"#,
        "SELECT `users`.`id` FROM `users` ORDER BY `users`.`name`, `users`.`age` IS NULL ASC, `users`.`age` DESC, `users`.`city` IS NULL DESC, `users`.`city` ASC",
    );
    // Repeated order_by calls add terms; arrays and Vecs work too.
    let q = select(u.c("id"))
        .order_by([u.c("a").asc(), u.c("b").desc()])
        .order_by(vec![u.c("c")]);
    check(
        &q,
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."a" ASC, "users"."b" DESC, "users"."c""#,
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."a" ASC, "users"."b" DESC, "users"."c""#,
        "SELECT `users`.`id` FROM `users` ORDER BY `users`.`a` ASC, `users`.`b` DESC, `users`.`c`",
    );
}

#[test]
fn labels_name_result_columns_and_are_reused_in_group_and_order() {
    let u = users();
    let n = func::count(u.c("id")).label("n");
    let q = select((u.c("city").label("town"), n.clone()))
        .group_by(u.c("city").label("town"))
        .having(func::count(u.c("id")).gt(1))
        .order_by(n.desc());
    check_params(
        &q,
        r#"SELECT "users"."city" AS "town", count("users"."id") AS "n" FROM "users" GROUP BY "town" HAVING count("users"."id") > ? ORDER BY "n" DESC"#,
        r#"SELECT "users"."city" AS "town", count("users"."id") AS "n" FROM "users" GROUP BY "town" HAVING count("users"."id") > $1 ORDER BY "n" DESC"#,
        "SELECT `users`.`city` AS `town`, count(`users`.`id`) AS `n` FROM `users` GROUP BY `town` HAVING count(`users`.`id`) > ? ORDER BY `n` DESC",
        &[v(1)],
    );
    // A label that is not a result column is rendered as its expression; in a WHERE the
    // label is dropped.
    let q = select(u.c("id"))
        .where_(u.c("a").label("x").eq(1))
        .order_by(u.c("b").label("y"));
    check(
        &q,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" = ? ORDER BY "users"."b""#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" = $1 ORDER BY "users"."b""#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` = ? ORDER BY `users`.`b`",
    );
}

#[test]
fn casts_name_types_per_dialect() {
    let t = table("t");
    let x = || t.c("x");
    let q = select((
        x().cast(SqlType::Integer),
        cast(x(), SqlType::BigInteger),
        x().cast(SqlType::Double),
        x().cast(SqlType::numeric(10, 2)),
        x().cast(SqlType::string(20)),
        x().cast(SqlType::Text),
        x().cast(SqlType::Date),
        x().cast(SqlType::DateTime { timezone: false }),
        x().cast(SqlType::Boolean),
        x().cast(SqlType::LargeBinary),
        x().cast(SqlType::Json),
    ));
    check(
        &q,
        r#"SELECT CAST("t"."x" AS INTEGER), CAST("t"."x" AS INTEGER), CAST("t"."x" AS REAL), round(CAST("t"."x" AS NUMERIC), 2), CAST("t"."x" AS TEXT), CAST("t"."x" AS TEXT), CAST("t"."x" AS TEXT), CAST("t"."x" AS TEXT), CAST("t"."x" AS INTEGER), CAST("t"."x" AS BLOB), CAST("t"."x" AS TEXT) FROM "t""#,
        r#"SELECT CAST("t"."x" AS INTEGER), CAST("t"."x" AS BIGINT), CAST("t"."x" AS DOUBLE PRECISION), CAST("t"."x" AS NUMERIC(10, 2)), CAST("t"."x" AS VARCHAR(20)), CAST("t"."x" AS TEXT), CAST("t"."x" AS DATE), CAST("t"."x" AS TIMESTAMP), CAST("t"."x" AS BOOLEAN), CAST("t"."x" AS BYTEA), CAST("t"."x" AS JSON) FROM "t""#,
        "SELECT CAST(`t`.`x` AS SIGNED), CAST(`t`.`x` AS SIGNED), CAST(`t`.`x` AS DOUBLE), CAST(`t`.`x` AS DECIMAL(10, 2)), CAST(`t`.`x` AS CHAR(20)), CAST(`t`.`x` AS CHAR), CAST(`t`.`x` AS DATE), CAST(`t`.`x` AS DATETIME(6)), CAST(`t`.`x` AS SIGNED), CAST(`t`.`x` AS BINARY), CAST(`t`.`x` AS CHAR) FROM `t`",
    );
    // MySQL proper has a JSON cast; MariaDB does not.
    let q = select(x().cast(SqlType::Json));
    assert_eq!(
        compile(&q, &MYSQL).sql,
        "SELECT CAST(`t`.`x` AS JSON) FROM `t`"
    );
    // Named enum types are quoted identifiers on PostgreSQL.
    let q = select(x().cast(SqlType::enumeration("mood", ["happy", "sad"])));
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"SELECT CAST("t"."x" AS "mood") FROM "t""#
    );
    assert_eq!(x().cast(SqlType::Date).sql_type(), Some(SqlType::Date));
}

// ---------------------------------------------------------------- functions and windows

#[test]
fn functions_are_rendered_and_typed() {
    let u = users();
    let q = select((
        func::count(u.c("id")),
        func::count_star(),
        func::count_distinct(u.c("city")),
        func::sum(u.c("age")),
        func::avg(u.c("age")),
        func::min(u.c("age")),
        func::max(u.c("age")),
        func::coalesce((u.c("nick"), u.c("name"), "anon")),
        func::lower(u.c("name")),
        func::upper(u.c("name")),
        func::length(u.c("name")),
        func::abs(u.c("balance")),
    ));
    check_params(
        &q,
        r#"SELECT count("users"."id"), count(*), count(DISTINCT "users"."city"), sum("users"."age"), avg("users"."age"), min("users"."age"), max("users"."age"), coalesce("users"."nick", "users"."name", ?), lower("users"."name"), upper("users"."name"), length("users"."name"), abs("users"."balance") FROM "users""#,
        r#"SELECT count("users"."id"), count(*), count(DISTINCT "users"."city"), sum("users"."age"), avg("users"."age"), min("users"."age"), max("users"."age"), coalesce("users"."nick", "users"."name", $1), lower("users"."name"), upper("users"."name"), length("users"."name"), abs("users"."balance") FROM "users""#,
        "SELECT count(`users`.`id`), count(*), count(DISTINCT `users`.`city`), sum(`users`.`age`), avg(`users`.`age`), min(`users`.`age`), max(`users`.`age`), coalesce(`users`.`nick`, `users`.`name`, ?), lower(`users`.`name`), upper(`users`.`name`), length(`users`.`name`), abs(`users`.`balance`) FROM `users`",
        &[v("anon")],
    );
    assert_eq!(func::count(u.c("id")).sql_type(), Some(SqlType::BigInteger));
    assert_eq!(func::count_star().sql_type(), Some(SqlType::BigInteger));
    assert_eq!(
        func::avg(u.c("x")).sql_type(),
        Some(SqlType::Numeric {
            precision: None,
            scale: None
        })
    );
    assert_eq!(func::length(u.c("x")).sql_type(), Some(SqlType::Integer));
    let typed = u.c("x").cast(SqlType::SmallInteger);
    assert_eq!(
        func::sum(typed.clone()).sql_type(),
        Some(SqlType::SmallInteger)
    );
    assert_eq!(
        func::max(typed.clone()).sql_type(),
        Some(SqlType::SmallInteger)
    );
    assert_eq!(
        func::coalesce((u.c("y"), typed)).sql_type(),
        Some(SqlType::SmallInteger)
    );
    assert_eq!(func::call("whatever", ()).sql_type(), None);
    assert_eq!(
        func::call_typed("f", (), SqlType::Text).sql_type(),
        Some(SqlType::Text)
    );
}

#[test]
fn now_and_current_timestamp() {
    let q = select((func::now(), func::current_timestamp()));
    check(
        &q,
        "SELECT CURRENT_TIMESTAMP, CURRENT_TIMESTAMP",
        "SELECT now(), CURRENT_TIMESTAMP",
        "SELECT now(), CURRENT_TIMESTAMP",
    );
}

#[test]
fn any_function_by_name_and_unsafe_names_are_quoted() {
    let t = table("t");
    let q = select((
        func::call("json_extract", (t.c("doc"), "$.a")),
        func::call("pg_catalog.lower", t.c("s")),
        func::call("f(); DROP TABLE t; --", t.c("s")),
        func::call("random", ()),
    ));
    check_params(
        &q,
        r#"SELECT json_extract("t"."doc", ?), pg_catalog.lower("t"."s"), "f(); DROP TABLE t; --"("t"."s"), random() FROM "t""#,
        r#"SELECT json_extract("t"."doc", $1), pg_catalog.lower("t"."s"), "f(); DROP TABLE t; --"("t"."s"), random() FROM "t""#,
        "SELECT json_extract(`t`.`doc`, ?), pg_catalog.lower(`t`.`s`), `f(); DROP TABLE t; --`(`t`.`s`), random() FROM `t`",
        &[v("$.a")],
    );
}

#[test]
fn window_functions() {
    let e = table("emp");
    let q = select((
        e.c("name"),
        func::row_number()
            .over(
                Over::new()
                    .partition_by(e.c("dept"))
                    .order_by(e.c("pay").desc()),
            )
            .label("rn"),
        func::rank().over(Over::new().order_by(e.c("pay"))),
        func::dense_rank().over(Over::new().partition_by((e.c("dept"), e.c("team")))),
        func::sum(e.c("pay")).over(Over::new()),
    ));
    check(
        &q,
        r#"SELECT "emp"."name", row_number() OVER (PARTITION BY "emp"."dept" ORDER BY "emp"."pay" DESC) AS "rn", rank() OVER (ORDER BY "emp"."pay"), dense_rank() OVER (PARTITION BY "emp"."dept", "emp"."team"), sum("emp"."pay") OVER () FROM "emp""#,
        r#"SELECT "emp"."name", row_number() OVER (PARTITION BY "emp"."dept" ORDER BY "emp"."pay" DESC) AS "rn", rank() OVER (ORDER BY "emp"."pay"), dense_rank() OVER (PARTITION BY "emp"."dept", "emp"."team"), sum("emp"."pay") OVER () FROM "emp""#,
        "SELECT `emp`.`name`, row_number() OVER (PARTITION BY `emp`.`dept` ORDER BY `emp`.`pay` DESC) AS `rn`, rank() OVER (ORDER BY `emp`.`pay`), dense_rank() OVER (PARTITION BY `emp`.`dept`, `emp`.`team`), sum(`emp`.`pay`) OVER () FROM `emp`",
    );
    assert_eq!(
        func::row_number().over(Over::new()).sql_type(),
        Some(SqlType::BigInteger)
    );
}

#[test]
fn case_expressions() {
    let t = table("t");
    let searched = case()
        .when(t.c("n").lt(0), "neg")
        .when(t.c("n").eq(0), "zero")
        .else_("pos");
    let simple = case()
        .value(t.c("kind"))
        .when(1, "one")
        .when(2, "two")
        .end();
    let q = select((searched.end().label("sign"), simple));
    check_params(
        &q,
        r#"SELECT CASE WHEN "t"."n" < ? THEN ? WHEN "t"."n" = ? THEN ? ELSE ? END AS "sign", CASE "t"."kind" WHEN ? THEN ? WHEN ? THEN ? END FROM "t""#,
        r#"SELECT CASE WHEN "t"."n" < $1 THEN $2 WHEN "t"."n" = $3 THEN $4 ELSE $5 END AS "sign", CASE "t"."kind" WHEN $6 THEN $7 WHEN $8 THEN $9 END FROM "t""#,
        "SELECT CASE WHEN `t`.`n` < ? THEN ? WHEN `t`.`n` = ? THEN ? ELSE ? END AS `sign`, CASE `t`.`kind` WHEN ? THEN ? WHEN ? THEN ? END FROM `t`",
        &[v(0), v("neg"), v(0), v("zero"), v("pos"), v(1), v("one"), v(2), v("two")],
    );
    // A Case is usable directly as an expression.
    let q = select(t.c("id")).where_(case().when(t.c("a"), t.c("b")).else_(false));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "t"."id" FROM "t" WHERE CASE WHEN "t"."a" THEN "t"."b" ELSE ? END"#
    );
    let empty = select(case().else_(1));
    assert!(matches!(
        compile_error(&empty, &SqliteDialect),
        Error::Compile(_)
    ));
}

#[test]
fn literal_null_star_tuple_and_unqualified_columns() {
    let t = table("t");
    let q = select((literal(1).label("one"), null(), star()))
        .from(&t)
        .where_(column("x").gt(2))
        .where_(tuple_((t.c("a"), t.c("b"))).in_([tuple_((1, 2)), tuple_((3, 4))]));
    check_params(
        &q,
        r#"SELECT ? AS "one", NULL, * FROM "t" WHERE "x" > ? AND ("t"."a", "t"."b") IN ((?, ?), (?, ?))"#,
        r#"SELECT $1::INTEGER AS "one", NULL, * FROM "t" WHERE "x" > $2 AND ("t"."a", "t"."b") IN (($3, $4), ($5, $6))"#,
        "SELECT ? AS `one`, NULL, * FROM `t` WHERE `x` > ? AND (`t`.`a`, `t`.`b`) IN ((?, ?), (?, ?))",
        &[v(1), v(2), v(1), v(2), v(3), v(4)],
    );
    let q = select(t.star());
    check(
        &q,
        r#"SELECT "t".* FROM "t""#,
        r#"SELECT "t".* FROM "t""#,
        "SELECT `t`.* FROM `t`",
    );
}

#[test]
fn exists_and_not_exists() {
    let (u, a) = (users(), addresses());
    let has = select(a.c("id")).where_(a.c("user_id").eq(u.c("id")));
    let q = select(u.c("name"))
        .where_(exists(has.clone()))
        .where_(not_exists(
            select(a.c("id")).where_(a.c("user_id").eq(u.c("id")).and(a.c("bad").eq(true))),
        ));
    check(
        &q,
        r#"SELECT "users"."name" FROM "users" WHERE EXISTS (SELECT "addresses"."id" FROM "addresses" WHERE "addresses"."user_id" = "users"."id") AND NOT EXISTS (SELECT "addresses"."id" FROM "addresses" WHERE "addresses"."user_id" = "users"."id" AND "addresses"."bad" = ?)"#,
        r#"SELECT "users"."name" FROM "users" WHERE EXISTS (SELECT "addresses"."id" FROM "addresses" WHERE "addresses"."user_id" = "users"."id") AND NOT EXISTS (SELECT "addresses"."id" FROM "addresses" WHERE "addresses"."user_id" = "users"."id" AND "addresses"."bad" = $1)"#,
        "SELECT `users`.`name` FROM `users` WHERE EXISTS (SELECT `addresses`.`id` FROM `addresses` WHERE `addresses`.`user_id` = `users`.`id`) AND NOT EXISTS (SELECT `addresses`.`id` FROM `addresses` WHERE `addresses`.`user_id` = `users`.`id` AND `addresses`.`bad` = ?)",
    );
    // The method form and negation with `!`.
    assert_eq!(has.clone().exists(), exists(has.clone()));
    assert_eq!(!has.clone().exists(), not_exists(has));
}

// ---------------------------------------------------------------- text()

#[test]
fn text_statement_with_named_parameters() {
    let q = text("SELECT * FROM users WHERE id = :id AND (name = :name OR nick = :name)")
        .bind("id", 5)
        .bind(":name", "al");
    check_params(
        &q,
        "SELECT * FROM users WHERE id = ? AND (name = ? OR nick = ?)",
        "SELECT * FROM users WHERE id = $1 AND (name = $2 OR nick = $3)",
        "SELECT * FROM users WHERE id = ? AND (name = ? OR nick = ?)",
        &[v(5), v("al"), v("al")],
    );
    // Binding a name again replaces the value.
    let q = text("SELECT :x").bind("x", 1).bind("x", 2);
    assert_eq!(compile(&q, &SqliteDialect).params, vec![v(2)]);
}

#[test]
fn text_leaves_quotes_comments_casts_and_escaped_colons_alone() {
    let q = text(
        "SELECT ':no', \":no\", `:no`, 'it''s :no', x::int, :yes::text, 10\\:30, a:b -- :no\n\
         /* :no */ FROM t WHERE y = :yes2 AND z = $tag$ :no $tag$ AND w = $$:no$$",
    )
    .bind("yes", 1)
    .bind("yes2", 2);
    check_params(
        &q,
        "SELECT ':no', \":no\", `:no`, 'it''s :no', x::int, ?::text, 10:30, a:b -- :no\n\
         /* :no */ FROM t WHERE y = ? AND z = $tag$ :no $tag$ AND w = $$:no$$",
        "SELECT ':no', \":no\", `:no`, 'it''s :no', x::int, $1::text, 10:30, a:b -- :no\n\
         /* :no */ FROM t WHERE y = $2 AND z = $tag$ :no $tag$ AND w = $$:no$$",
        "SELECT ':no', \":no\", `:no`, 'it''s :no', x::int, ?::text, 10:30, a:b -- :no\n\
         /* :no */ FROM t WHERE y = ? AND z = $tag$ :no $tag$ AND w = $$:no$$",
        &[v(1), v(2)],
    );
    // A lone colon and a positional `$1` are plain text.
    let q = text("SELECT ':' || x, $1, : FROM t");
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        "SELECT ':' || x, $1, : FROM t"
    );
}

#[test]
fn text_placeholder_and_bind_mismatches_are_argument_errors() {
    let missing = text("SELECT * FROM t WHERE a = :a AND b = :b").bind("a", 1);
    match compile_error(&missing, &SqliteDialect) {
        Error::Argument(msg) => assert!(msg.contains(":b"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    let extra = text("SELECT * FROM t WHERE a = :a")
        .bind("a", 1)
        .bind("zzz", 2);
    match compile_error(&extra, &PostgresDialect) {
        Error::Argument(msg) => assert!(msg.contains("zzz"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    // A name used only inside a string literal is not a placeholder.
    let quoted = text("SELECT ':a'").bind("a", 1);
    assert!(matches!(
        compile_error(&quoted, &MARIADB),
        Error::Argument(_)
    ));
}

#[test]
fn text_inside_a_select_numbers_its_parameters_in_order() {
    let u = users();
    let q = select((u.c("id"), text("upper(name) AS shout")))
        .where_(u.c("age").gt(1))
        .where_(text("name LIKE :p").bind("p", "a%"))
        .where_(u.c("id").lt(9));
    check_params(
        &q,
        r#"SELECT "users"."id", upper(name) AS shout FROM "users" WHERE "users"."age" > ? AND (name LIKE ?) AND "users"."id" < ?"#,
        r#"SELECT "users"."id", upper(name) AS shout FROM "users" WHERE "users"."age" > $1 AND (name LIKE $2) AND "users"."id" < $3"#,
        "SELECT `users`.`id`, upper(name) AS shout FROM `users` WHERE `users`.`age` > ? AND (name LIKE ?) AND `users`.`id` < ?",
        &[v(1), v("a%"), v(9)],
    );
}

// ---------------------------------------------------------------- FROM inference and joins

#[test]
fn from_is_inferred_in_order_of_first_appearance() {
    let (u, a, o) = (users(), addresses(), table("orders"));
    let q = select((a.c("email"), u.c("name")))
        .where_(o.c("user_id").eq(u.c("id")))
        .order_by(table("extra").c("x"));
    check(
        &q,
        r#"SELECT "addresses"."email", "users"."name" FROM "addresses", "users", "orders", "extra" WHERE "orders"."user_id" = "users"."id" ORDER BY "extra"."x""#,
        r#"SELECT "addresses"."email", "users"."name" FROM "addresses", "users", "orders", "extra" WHERE "orders"."user_id" = "users"."id" ORDER BY "extra"."x""#,
        "SELECT `addresses`.`email`, `users`.`name` FROM `addresses`, `users`, `orders`, `extra` WHERE `orders`.`user_id` = `users`.`id` ORDER BY `extra`.`x`",
    );
    // Explicit FROM items come first and are not repeated.
    let q = select((u.c("name"), a.c("email"))).from(&a);
    check(
        &q,
        r#"SELECT "users"."name", "addresses"."email" FROM "addresses", "users""#,
        r#"SELECT "users"."name", "addresses"."email" FROM "addresses", "users""#,
        "SELECT `users`.`name`, `addresses`.`email` FROM `addresses`, `users`",
    );
    // A FROM with no column from it.
    let q = select(func::count_star()).select_from(&u);
    check(
        &q,
        r#"SELECT count(*) FROM "users""#,
        r#"SELECT count(*) FROM "users""#,
        "SELECT count(*) FROM `users`",
    );
    // No table at all.
    check(
        &select(literal(1)),
        "SELECT ?",
        "SELECT $1::INTEGER",
        "SELECT ?",
    );
}

#[test]
fn schemas_and_aliases() {
    let u = table("users").schema("app");
    let a = u.alias("u2");
    let q = select((u.c("id"), a.c("id"))).where_(a.c("boss").eq(u.c("id")));
    check(
        &q,
        r#"SELECT "app"."users"."id", "u2"."id" FROM "app"."users", "app"."users" AS "u2" WHERE "u2"."boss" = "app"."users"."id""#,
        r#"SELECT "app"."users"."id", "u2"."id" FROM "app"."users", "app"."users" AS "u2" WHERE "u2"."boss" = "app"."users"."id""#,
        "SELECT `app`.`users`.`id`, `u2`.`id` FROM `app`.`users`, `app`.`users` AS `u2` WHERE `u2`.`boss` = `app`.`users`.`id`",
    );
}

#[test]
fn joins() {
    let (u, a, o) = (users(), addresses(), table("orders"));
    let on_a = || u.c("id").eq(a.c("user_id"));
    let on_o = || u.c("id").eq(o.c("user_id"));
    // The left side is taken from the columns when there is no FROM yet.
    let q = select((u.c("name"), a.c("email"))).join(&a, on_a());
    check(
        &q,
        r#"SELECT "users"."name", "addresses"."email" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        r#"SELECT "users"."name", "addresses"."email" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        "SELECT `users`.`name`, `addresses`.`email` FROM `users` JOIN `addresses` ON `users`.`id` = `addresses`.`user_id`",
    );
    // Chained joins extend the last FROM item.
    let q = select(u.c("name"))
        .from(&u)
        .outerjoin(&a, on_a())
        .left_join(&o, on_o())
        .cross_join(table("t"));
    check(
        &q,
        r#"SELECT "users"."name" FROM "users" LEFT OUTER JOIN "addresses" ON "users"."id" = "addresses"."user_id" LEFT OUTER JOIN "orders" ON "users"."id" = "orders"."user_id" CROSS JOIN "t""#,
        r#"SELECT "users"."name" FROM "users" LEFT OUTER JOIN "addresses" ON "users"."id" = "addresses"."user_id" LEFT OUTER JOIN "orders" ON "users"."id" = "orders"."user_id" CROSS JOIN "t""#,
        "SELECT `users`.`name` FROM `users` LEFT OUTER JOIN `addresses` ON `users`.`id` = `addresses`.`user_id` LEFT OUTER JOIN `orders` ON `users`.`id` = `orders`.`user_id` CROSS JOIN `t`",
    );
    let q = select(u.c("name")).from(&u).right_join(&a, on_a());
    check(
        &q,
        r#"SELECT "users"."name" FROM "users" RIGHT OUTER JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        r#"SELECT "users"."name" FROM "users" RIGHT OUTER JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        "SELECT `users`.`name` FROM `users` RIGHT OUTER JOIN `addresses` ON `users`.`id` = `addresses`.`user_id`",
    );
    // join_from joins to the item holding its left side.
    let q = select((u.c("name"), o.c("total")))
        .from(&u)
        .join(&a, on_a())
        .join_from(&u, &o, on_o());
    check(
        &q,
        r#"SELECT "users"."name", "orders"."total" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id" JOIN "orders" ON "users"."id" = "orders"."user_id""#,
        r#"SELECT "users"."name", "orders"."total" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id" JOIN "orders" ON "users"."id" = "orders"."user_id""#,
        "SELECT `users`.`name`, `orders`.`total` FROM `users` JOIN `addresses` ON `users`.`id` = `addresses`.`user_id` JOIN `orders` ON `users`.`id` = `orders`.`user_id`",
    );
    // ... or adds it.
    let q = select(o.c("total")).join_from(&u, &o, on_o());
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "orders"."total" FROM "users" JOIN "orders" ON "users"."id" = "orders"."user_id""#
    );
    // With no other table in the columns, the left side comes from the ON condition.
    let boss = u.alias("boss");
    let q = select(boss.c("name")).join(&boss, u.c("boss_id").eq(boss.c("id")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "boss"."name" FROM "users" JOIN "users" AS "boss" ON "users"."boss_id" = "boss"."id""#
    );
    // A self-join through an alias.
    let q = select((u.c("name"), boss.c("name").label("boss_name")))
        .join(&boss, u.c("boss_id").eq(boss.c("id")));
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"SELECT "users"."name", "boss"."name" AS "boss_name" FROM "users" JOIN "users" AS "boss" ON "users"."boss_id" = "boss"."id""#
    );
}

#[test]
fn full_outer_join_is_refused_on_mysql() {
    let (u, a) = (users(), addresses());
    let q = select(u.c("name"))
        .from(&u)
        .full_join(&a, u.c("id").eq(a.c("user_id")));
    let sql = r#"SELECT "users"."name" FROM "users" FULL OUTER JOIN "addresses" ON "users"."id" = "addresses"."user_id""#;
    assert_eq!(compile(&q, &SqliteDialect).sql, sql);
    assert_eq!(compile(&q, &PostgresDialect).sql, sql);
    for d in [MARIADB, MYSQL] {
        match compile_error(&q, &d) {
            Error::Compile(msg) => {
                assert!(
                    msg.contains("FULL OUTER JOIN") && msg.contains("mysql"),
                    "{msg}"
                )
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn join_without_a_left_side_is_an_error() {
    let q = select(func::count_star()).join(users(), literal(true));
    assert!(matches!(
        compile_error(&q, &SqliteDialect),
        Error::Compile(_)
    ));
}

#[test]
fn group_by_having_distinct() {
    let o = table("orders");
    let q = select((o.c("customer"), func::sum(o.c("amount"))))
        .distinct()
        .group_by((o.c("customer"), o.c("region")))
        .having(func::sum(o.c("amount")).gt(100))
        .having(func::count_star().ge(2));
    check_params(
        &q,
        r#"SELECT DISTINCT "orders"."customer", sum("orders"."amount") FROM "orders" GROUP BY "orders"."customer", "orders"."region" HAVING sum("orders"."amount") > ? AND count(*) >= ?"#,
        r#"SELECT DISTINCT "orders"."customer", sum("orders"."amount") FROM "orders" GROUP BY "orders"."customer", "orders"."region" HAVING sum("orders"."amount") > $1 AND count(*) >= $2"#,
        "SELECT DISTINCT `orders`.`customer`, sum(`orders`.`amount`) FROM `orders` GROUP BY `orders`.`customer`, `orders`.`region` HAVING sum(`orders`.`amount`) > ? AND count(*) >= ?",
        &[v(100), v(2)],
    );
}

// ---------------------------------------------------------------- LIMIT, OFFSET, locking

#[test]
fn limit_and_offset() {
    let u = users();
    let both = select(u.c("id"))
        .where_(u.c("a").eq(1))
        .limit(10)
        .offset(20);
    let [s, p, m] = check(
        &both,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" = ? LIMIT 10 OFFSET 20"#,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."a" = $1 LIMIT $2 OFFSET $3"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`a` = ? LIMIT ? OFFSET ?",
    );
    assert_eq!(s.params, vec![v(1)]);
    assert_eq!(p.params, vec![v(1), v(10), v(20)]);
    assert_eq!(m.params, vec![v(1), v(10), v(20)]);

    let limit = select(u.c("id")).limit(3);
    check(
        &limit,
        r#"SELECT "users"."id" FROM "users" LIMIT 3"#,
        r#"SELECT "users"."id" FROM "users" LIMIT $1"#,
        "SELECT `users`.`id` FROM `users` LIMIT ?",
    );
    let offset = select(u.c("id")).offset(7);
    let [s, p, m] = check(
        &offset,
        r#"SELECT "users"."id" FROM "users" LIMIT -1 OFFSET 7"#,
        r#"SELECT "users"."id" FROM "users" OFFSET $1"#,
        "SELECT `users`.`id` FROM `users` LIMIT 18446744073709551615 OFFSET ?",
    );
    assert!(s.params.is_empty());
    assert_eq!(p.params, vec![v(7)]);
    assert_eq!(m.params, vec![v(7)]);
}

#[test]
fn row_locking() {
    let u = users();
    let base = || select(u.c("id")).where_(u.c("id").eq(1));
    let cases = [
        (base().for_update(), " FOR UPDATE", " FOR UPDATE"),
        (
            base().for_update_nowait(),
            " FOR UPDATE NOWAIT",
            " FOR UPDATE NOWAIT",
        ),
        (
            base().for_update_skip_locked(),
            " FOR UPDATE SKIP LOCKED",
            " FOR UPDATE SKIP LOCKED",
        ),
        (base().for_share(), " FOR SHARE", " LOCK IN SHARE MODE"),
    ];
    for (q, pg, my) in cases {
        // SQLite has no row locks: the clause is left out.
        check(
            &q,
            r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = ?"#,
            &format!(r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1{pg}"#),
            &format!("SELECT `users`.`id` FROM `users` WHERE `users`.`id` = ?{my}"),
        );
    }
    // The lock comes after LIMIT.
    let q = base().limit(1).for_update();
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 LIMIT $2 FOR UPDATE"#
    );
}

// ---------------------------------------------------------------- subqueries and correlation

#[test]
fn subquery_in_from_is_inferred_from_its_columns() {
    let o = table("orders");
    let totals = select((o.c("customer"), func::sum(o.c("amount")).label("total")))
        .where_(o.c("status").eq("paid"))
        .group_by(o.c("customer"))
        .subquery("totals");
    let q = select((totals.c("customer"), totals.c("total")))
        .where_(totals.c("total").gt(100))
        .order_by(totals.c("total").desc());
    check_params(
        &q,
        r#"SELECT "totals"."customer", "totals"."total" FROM (SELECT "orders"."customer", sum("orders"."amount") AS "total" FROM "orders" WHERE "orders"."status" = ? GROUP BY "orders"."customer") AS "totals" WHERE "totals"."total" > ? ORDER BY "totals"."total" DESC"#,
        r#"SELECT "totals"."customer", "totals"."total" FROM (SELECT "orders"."customer", sum("orders"."amount") AS "total" FROM "orders" WHERE "orders"."status" = $1 GROUP BY "orders"."customer") AS "totals" WHERE "totals"."total" > $2 ORDER BY "totals"."total" DESC"#,
        "SELECT `totals`.`customer`, `totals`.`total` FROM (SELECT `orders`.`customer`, sum(`orders`.`amount`) AS `total` FROM `orders` WHERE `orders`.`status` = ? GROUP BY `orders`.`customer`) AS `totals` WHERE `totals`.`total` > ? ORDER BY `totals`.`total` DESC",
        &[v("paid"), v(100)],
    );
    // Joined explicitly, it is not added twice.
    let u = users();
    let q = select((u.c("name"), totals.c("total")))
        .from(&u)
        .join(&totals, totals.c("customer").eq(u.c("id")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."name", "totals"."total" FROM "users" JOIN (SELECT "orders"."customer", sum("orders"."amount") AS "total" FROM "orders" WHERE "orders"."status" = ? GROUP BY "orders"."customer") AS "totals" ON "totals"."customer" = "users"."id""#
    );
    assert_eq!(totals.c("total").sql_type(), None);
}

#[test]
fn unknown_subquery_column_is_a_compile_error() {
    let t = table("t");
    let sq = select((t.c("a"), t.c("b").label("bee"))).subquery("sq");
    let q = select(sq.c("nope"));
    match compile_error(&q, &PostgresDialect) {
        Error::Compile(msg) => assert!(msg.contains("nope") && msg.contains("sq"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    // Known names are fine; so is any name when a column has no known name.
    assert!(select(sq.c("bee")).compile(&PostgresDialect).is_ok());
    let opaque = select((t.c("a"), func::count_star())).subquery("o");
    assert!(select(opaque.c("count")).compile(&PostgresDialect).is_ok());
}

#[test]
fn scalar_subquery_correlates_to_the_enclosing_from() {
    let (u, a) = (users(), addresses());
    let n = select(func::count(a.c("id")))
        .where_(a.c("user_id").eq(u.c("id")))
        .scalar_subquery()
        .label("n");
    let q = select((u.c("name"), n)).where_(u.c("active").eq(true));
    check_params(
        &q,
        r#"SELECT "users"."name", (SELECT count("addresses"."id") FROM "addresses" WHERE "addresses"."user_id" = "users"."id") AS "n" FROM "users" WHERE "users"."active" = ?"#,
        r#"SELECT "users"."name", (SELECT count("addresses"."id") FROM "addresses" WHERE "addresses"."user_id" = "users"."id") AS "n" FROM "users" WHERE "users"."active" = $1"#,
        "SELECT `users`.`name`, (SELECT count(`addresses`.`id`) FROM `addresses` WHERE `addresses`.`user_id` = `users`.`id`) AS `n` FROM `users` WHERE `users`.`active` = ?",
        &[v(true)],
    );
    // SQLAlchemy's auto-correlation: every table the outer query has is left out, here
    // `addresses`, so the subquery refers to the outer row...
    let latest = select(func::max(a.c("id"))).where_(a.c("user_id").eq(u.c("id")));
    let q = select(a.c("email")).where_(a.c("id").eq(latest.clone().scalar_subquery()));
    check(
        &q,
        r#"SELECT "addresses"."email" FROM "addresses" WHERE "addresses"."id" = (SELECT max("addresses"."id") FROM "users" WHERE "addresses"."user_id" = "users"."id")"#,
        r#"SELECT "addresses"."email" FROM "addresses" WHERE "addresses"."id" = (SELECT max("addresses"."id") FROM "users" WHERE "addresses"."user_id" = "users"."id")"#,
        "SELECT `addresses`.`email` FROM `addresses` WHERE `addresses`.`id` = (SELECT max(`addresses`.`id`) FROM `users` WHERE `addresses`.`user_id` = `users`.`id`)",
    );
    // ... and correlate_none() keeps it, for a subquery over the whole table.
    let q = select(a.c("email")).where_(
        a.c("id")
            .eq(latest.clone().correlate_none().scalar_subquery()),
    );
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "addresses"."email" FROM "addresses" WHERE "addresses"."id" = (SELECT max("addresses"."id") FROM "addresses", "users" WHERE "addresses"."user_id" = "users"."id")"#
    );
    let q = select(a.c("email")).where_(
        a.c("id")
            .eq(latest.correlate_except([&a]).scalar_subquery()),
    );
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "addresses"."email" FROM "addresses" WHERE "addresses"."id" = (SELECT max("addresses"."id") FROM "addresses", "users" WHERE "addresses"."user_id" = "users"."id")"#
    );
}

#[test]
fn correlation_never_empties_the_from_and_can_be_chosen() {
    let (u, a) = (users(), addresses());
    // Every table of the subquery is in the outer FROM: it keeps them rather than have none.
    let q = select(u.c("name")).where_(
        u.c("id")
            .in_subquery(select(u.c("id")).where_(u.c("score").gt(10))),
    );
    check(
        &q,
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "users"."id" FROM "users" WHERE "users"."score" > ?)"#,
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "users"."id" FROM "users" WHERE "users"."score" > $1)"#,
        "SELECT `users`.`name` FROM `users` WHERE `users`.`id` IN (SELECT `users`.`id` FROM `users` WHERE `users`.`score` > ?)",
    );
    // correlate([t]) leaves out only t.
    let inner = select(func::count_star())
        .where_(a.c("user_id").eq(u.c("id")))
        .where_(table("x").c("k").eq(a.c("k")));
    let q = select((
        u.c("name"),
        a.c("email"),
        inner.clone().correlate([&u]).label("n"),
    ));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."name", "addresses"."email", (SELECT count(*) FROM "addresses", "x" WHERE "addresses"."user_id" = "users"."id" AND "x"."k" = "addresses"."k") AS "n" FROM "users", "addresses""#
    );
    let q = select((u.c("name"), a.c("email"), inner.label("n")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."name", "addresses"."email", (SELECT count(*) FROM "x" WHERE "addresses"."user_id" = "users"."id" AND "x"."k" = "addresses"."k") AS "n" FROM "users", "addresses""#
    );
    // Correlation reaches through several levels, and a FROM subquery does not correlate.
    let deep = select(a.c("id")).where_(a.c("user_id").eq(u.c("id")));
    let middle = select(table("x").c("id")).where_(exists(deep.clone()));
    let q = select(u.c("name")).where_(exists(middle));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."name" FROM "users" WHERE EXISTS (SELECT "x"."id" FROM "x" WHERE EXISTS (SELECT "addresses"."id" FROM "addresses" WHERE "addresses"."user_id" = "users"."id"))"#
    );
    let sq = deep.subquery("d");
    let q = select((u.c("name"), sq.c("id")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."name", "d"."id" FROM "users", (SELECT "addresses"."id" FROM "addresses", "users" WHERE "addresses"."user_id" = "users"."id") AS "d""#
    );
}

// ---------------------------------------------------------------- CTEs

#[test]
fn cte_is_put_in_the_with_clause_when_used() {
    let o = table("orders");
    let big = select((o.c("customer"), o.c("amount")))
        .where_(o.c("amount").gt(1000))
        .cte("big");
    let q = select(big.c("customer")).where_(big.c("amount").lt(5000));
    check_params(
        &q,
        r#"WITH "big" AS (SELECT "orders"."customer", "orders"."amount" FROM "orders" WHERE "orders"."amount" > ?) SELECT "big"."customer" FROM "big" WHERE "big"."amount" < ?"#,
        r#"WITH "big" AS (SELECT "orders"."customer", "orders"."amount" FROM "orders" WHERE "orders"."amount" > $1) SELECT "big"."customer" FROM "big" WHERE "big"."amount" < $2"#,
        "WITH `big` AS (SELECT `orders`.`customer`, `orders`.`amount` FROM `orders` WHERE `orders`.`amount` > ?) SELECT `big`.`customer` FROM `big` WHERE `big`.`amount` < ?",
        &[v(1000), v(5000)],
    );
    // Used only inside a nested subquery, it is still hoisted to the top.
    let u = users();
    let q = select(u.c("name")).where_(u.c("id").in_subquery(select(big.c("customer"))));
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"WITH "big" AS (SELECT "orders"."customer", "orders"."amount" FROM "orders" WHERE "orders"."amount" > $1) SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "big"."customer" FROM "big")"#
    );
    // add_cte puts it there even when nothing selects from it by its columns.
    let q = select(func::count_star()).from(&big).add_cte(&big);
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"WITH "big" AS (SELECT "orders"."customer", "orders"."amount" FROM "orders" WHERE "orders"."amount" > ?) SELECT count(*) FROM "big""#
    );
}

#[test]
fn ctes_come_after_the_ctes_they_use() {
    let t = table("t");
    let first = select(t.c("a")).cte("first");
    let second = select(first.c("a").label("b"))
        .where_(first.c("a").gt(1))
        .cte("second");
    let q = select((second.c("b"), first.c("a"))).with_cte(&first);
    check(
        &q,
        r#"WITH "first" AS (SELECT "t"."a" FROM "t"), "second" AS (SELECT "first"."a" AS "b" FROM "first" WHERE "first"."a" > ?) SELECT "second"."b", "first"."a" FROM "second", "first""#,
        r#"WITH "first" AS (SELECT "t"."a" FROM "t"), "second" AS (SELECT "first"."a" AS "b" FROM "first" WHERE "first"."a" > $1) SELECT "second"."b", "first"."a" FROM "second", "first""#,
        "WITH `first` AS (SELECT `t`.`a` FROM `t`), `second` AS (SELECT `first`.`a` AS `b` FROM `first` WHERE `first`.`a` > ?) SELECT `second`.`b`, `first`.`a` FROM `second`, `first`",
    );
}

#[test]
fn recursive_cte() {
    let anchor = select(literal(1).label("n")).cte_recursive("counter");
    let counter = anchor.union_all(select(anchor.c("n") + 1).where_(anchor.c("n").lt(10)));
    let q = select(func::sum(counter.c("n")));
    check_params(
        &q,
        r#"WITH RECURSIVE "counter" AS (SELECT ? AS "n" UNION ALL SELECT "counter"."n" + ? FROM "counter" WHERE "counter"."n" < ?) SELECT sum("counter"."n") FROM "counter""#,
        r#"WITH RECURSIVE "counter" AS (SELECT $1::INTEGER AS "n" UNION ALL SELECT "counter"."n" + $2 FROM "counter" WHERE "counter"."n" < $3) SELECT sum("counter"."n") FROM "counter""#,
        "WITH RECURSIVE `counter` AS (SELECT ? AS `n` UNION ALL SELECT `counter`.`n` + ? FROM `counter` WHERE `counter`.`n` < ?) SELECT sum(`counter`.`n`) FROM `counter`",
        &[v(1), v(1), v(10)],
    );
    // A tree walk with a column list, and a plain CTE beside the recursive one.
    let nodes = table("nodes");
    let root = select((nodes.c("id"), nodes.c("parent")))
        .where_(nodes.c("id").eq(1))
        .cte("tree")
        .recursive()
        .with_columns(["id", "parent"]);
    let tree = root.union_all(
        select((nodes.c("id"), nodes.c("parent"))).join(&root, nodes.c("parent").eq(root.c("id"))),
    );
    let names = select(nodes.c("id")).cte("plain");
    let q = select((tree.c("id"), names.c("id").label("x")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"WITH RECURSIVE "tree" ("id", "parent") AS (SELECT "nodes"."id", "nodes"."parent" FROM "nodes" WHERE "nodes"."id" = ? UNION ALL SELECT "nodes"."id", "nodes"."parent" FROM "nodes" JOIN "tree" ON "nodes"."parent" = "tree"."id"), "plain" AS (SELECT "nodes"."id" FROM "nodes") SELECT "tree"."id", "plain"."id" AS "x" FROM "tree", "plain""#
    );
    assert!(matches!(
        select(tree.c("nope")).compile(&SqliteDialect),
        Err(Error::Compile(_))
    ));
}

// ---------------------------------------------------------------- compound selects

#[test]
fn unions_and_friends() {
    let (a, b) = (table("a"), table("b"));
    let sa = || select(a.c("x"));
    let sb = || select(b.c("x")).where_(b.c("y").eq(1));
    check_params(
        &sa().union(sb()),
        r#"SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b" WHERE "b"."y" = ?"#,
        r#"SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b" WHERE "b"."y" = $1"#,
        "SELECT `a`.`x` FROM `a` UNION SELECT `b`.`x` FROM `b` WHERE `b`.`y` = ?",
        &[v(1)],
    );
    for (q, op) in [
        (sa().union_all(sb()), "UNION ALL"),
        (sa().intersect(sb()), "INTERSECT"),
        (sa().except_(sb()), "EXCEPT"),
    ] {
        check(
            &q,
            &format!(r#"SELECT "a"."x" FROM "a" {op} SELECT "b"."x" FROM "b" WHERE "b"."y" = ?"#),
            &format!(r#"SELECT "a"."x" FROM "a" {op} SELECT "b"."x" FROM "b" WHERE "b"."y" = $1"#),
            &format!("SELECT `a`.`x` FROM `a` {op} SELECT `b`.`x` FROM `b` WHERE `b`.`y` = ?"),
        );
    }
    // A chain of one operator needs no grouping.
    let q = sa().union(sb()).union(select(table("c").c("x")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b" WHERE "b"."y" = ? UNION SELECT "c"."x" FROM "c""#
    );
}

#[test]
fn intersect_and_except_all_where_supported() {
    let (a, b) = (table("a"), table("b"));
    for (q, op) in [
        (
            select(a.c("x")).intersect_all(select(b.c("x"))),
            "INTERSECT ALL",
        ),
        (select(a.c("x")).except_all(select(b.c("x"))), "EXCEPT ALL"),
    ] {
        assert_eq!(
            compile(&q, &PostgresDialect).sql,
            format!(r#"SELECT "a"."x" FROM "a" {op} SELECT "b"."x" FROM "b""#)
        );
        assert_eq!(
            compile(&q, &MARIADB).sql,
            format!("SELECT `a`.`x` FROM `a` {op} SELECT `b`.`x` FROM `b`")
        );
        for d in [&SqliteDialect as &dyn Dialect, &MYSQL] {
            match compile_error(&q, d) {
                Error::Compile(msg) => assert!(msg.contains(op), "{msg}"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

#[test]
fn compound_order_limit_and_grouped_members() {
    let (a, b) = (table("a"), table("b"));
    let q = select((a.c("x"), a.c("y").label("z")))
        .union_all(select((b.c("x"), b.c("y"))))
        .order_by((a.c("x").desc(), a.c("y").label("z")))
        .limit(5)
        .offset(10);
    let [s, p, _] = check(
        &q,
        r#"SELECT "a"."x", "a"."y" AS "z" FROM "a" UNION ALL SELECT "b"."x", "b"."y" FROM "b" ORDER BY "x" DESC, "z" LIMIT 5 OFFSET 10"#,
        r#"SELECT "a"."x", "a"."y" AS "z" FROM "a" UNION ALL SELECT "b"."x", "b"."y" FROM "b" ORDER BY "x" DESC, "z" LIMIT $1 OFFSET $2"#,
        "SELECT `a`.`x`, `a`.`y` AS `z` FROM `a` UNION ALL SELECT `b`.`x`, `b`.`y` FROM `b` ORDER BY `x` DESC, `z` LIMIT ? OFFSET ?",
    );
    assert!(s.params.is_empty());
    assert_eq!(p.params, vec![v(5), v(10)]);

    // A member with its own ORDER BY / LIMIT is grouped: parenthesised, or on SQLite (which
    // forbids parentheses there) wrapped in a SELECT.
    let q = select(a.c("x"))
        .order_by(a.c("x"))
        .limit(1)
        .union(select(b.c("x")));
    check(
        &q,
        r#"SELECT * FROM (SELECT "a"."x" FROM "a" ORDER BY "a"."x" LIMIT 1) UNION SELECT "b"."x" FROM "b""#,
        r#"(SELECT "a"."x" FROM "a" ORDER BY "a"."x" LIMIT $1) UNION SELECT "b"."x" FROM "b""#,
        "(SELECT `a`.`x` FROM `a` ORDER BY `a`.`x` LIMIT ?) UNION SELECT `b`.`x` FROM `b`",
    );
    // Mixed operators are grouped to keep their order.
    let c = table("c");
    let q = select(a.c("x"))
        .union(select(b.c("x")))
        .intersect(select(c.c("x")));
    check(
        &q,
        r#"SELECT * FROM (SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b") INTERSECT SELECT "c"."x" FROM "c""#,
        r#"(SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b") INTERSECT SELECT "c"."x" FROM "c""#,
        "(SELECT `a`.`x` FROM `a` UNION SELECT `b`.`x` FROM `b`) INTERSECT SELECT `c`.`x` FROM `c`",
    );
    let q = select(a.c("x")).except_(select(b.c("x")).union(select(c.c("x"))));
    check(
        &q,
        r#"SELECT "a"."x" FROM "a" EXCEPT SELECT * FROM (SELECT "b"."x" FROM "b" UNION SELECT "c"."x" FROM "c")"#,
        r#"SELECT "a"."x" FROM "a" EXCEPT (SELECT "b"."x" FROM "b" UNION SELECT "c"."x" FROM "c")"#,
        "SELECT `a`.`x` FROM `a` EXCEPT (SELECT `b`.`x` FROM `b` UNION SELECT `c`.`x` FROM `c`)",
    );
}

#[test]
fn compound_as_subquery_cte_and_scalar() {
    let (a, b) = (table("a"), table("b"));
    let both = select(a.c("x")).union(select(b.c("x")));
    let sq = both.clone().subquery("u");
    let q = select(func::count(sq.c("x")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT count("u"."x") FROM (SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b") AS "u""#
    );
    let cte = both.clone().cte("u");
    let q = select(cte.c("x"));
    assert_eq!(
        compile(&q, &MARIADB).sql,
        "WITH `u` AS (SELECT `a`.`x` FROM `a` UNION SELECT `b`.`x` FROM `b`) SELECT `u`.`x` FROM `u`"
    );
    let t = table("t");
    let q = select(t.c("id")).where_(t.c("x").in_subquery(both.clone()));
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"SELECT "t"."id" FROM "t" WHERE "t"."x" IN (SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b")"#
    );
    let q = select((
        t.c("id"),
        both.clone().limit(1).scalar_subquery().label("one"),
    ));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "t"."id", (SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b" LIMIT 1) AS "one" FROM "t""#
    );
    let q = select(t.c("id")).where_(both.exists());
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "t"."id" FROM "t" WHERE EXISTS (SELECT "a"."x" FROM "a" UNION SELECT "b"."x" FROM "b")"#
    );
}

// ---------------------------------------------------------------- INSERT

#[test]
fn insert_one_row() {
    let u = users();
    let q = insert(&u)
        .value("name", "ann")
        .values([("age", 31), ("rank", 2)]);
    check_params(
        &q,
        r#"INSERT INTO "users" ("name", "age", "rank") VALUES (?, ?, ?)"#,
        r#"INSERT INTO "users" ("name", "age", "rank") VALUES ($1, $2, $3)"#,
        "INSERT INTO `users` (`name`, `age`, `rank`) VALUES (?, ?, ?)",
        &[v("ann"), v(31), v(2)],
    );
    // Values may be expressions.
    let q = insert(&u)
        .value("created", func::now())
        .value("n", literal(1) + 2);
    check(
        &q,
        r#"INSERT INTO "users" ("created", "n") VALUES (CURRENT_TIMESTAMP, ? + ?)"#,
        r#"INSERT INTO "users" ("created", "n") VALUES (now(), $1 + $2)"#,
        "INSERT INTO `users` (`created`, `n`) VALUES (now(), ? + ?)",
    );
}

#[test]
fn insert_many_rows_in_one_values_clause() {
    let q = insert(users()).values_many(["name", "age"], [("ann", 31), ("bob", 42), ("cy", 7)]);
    check_params(
        &q,
        r#"INSERT INTO "users" ("name", "age") VALUES (?, ?), (?, ?), (?, ?)"#,
        r#"INSERT INTO "users" ("name", "age") VALUES ($1, $2), ($3, $4), ($5, $6)"#,
        "INSERT INTO `users` (`name`, `age`) VALUES (?, ?), (?, ?), (?, ?)",
        &[v("ann"), v(31), v("bob"), v(42), v("cy"), v(7)],
    );
    // A row of the wrong width is refused.
    let bad = insert(users()).values_many(
        ["a", "b"],
        vec![vec![literal(1)], vec![literal(1), literal(2)]],
    );
    match compile_error(&bad, &SqliteDialect) {
        Error::Compile(msg) => assert!(msg.contains("row 1"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn insert_from_select_and_default_values() {
    let (u, a) = (users(), addresses());
    let q = insert(&a).from_select(
        ["user_id", "email"],
        select((u.c("id"), u.c("name").concat("@x.org"))).where_(u.c("id").gt(5)),
    );
    check_params(
        &q,
        r#"INSERT INTO "addresses" ("user_id", "email") SELECT "users"."id", "users"."name" || ? FROM "users" WHERE "users"."id" > ?"#,
        r#"INSERT INTO "addresses" ("user_id", "email") SELECT "users"."id", "users"."name" || $1 FROM "users" WHERE "users"."id" > $2"#,
        "INSERT INTO `addresses` (`user_id`, `email`) SELECT `users`.`id`, CONCAT(`users`.`name`, ?) FROM `users` WHERE `users`.`id` > ?",
        &[v("@x.org"), v(5)],
    );
    // A CTE used by the SELECT goes before it.
    let recent = select(u.c("id")).where_(u.c("new").eq(true)).cte("recent");
    let q = insert(&a).from_select(["user_id"], select(recent.c("id")));
    check(
        &q,
        r#"INSERT INTO "addresses" ("user_id") WITH "recent" AS (SELECT "users"."id" FROM "users" WHERE "users"."new" = ?) SELECT "recent"."id" FROM "recent""#,
        r#"INSERT INTO "addresses" ("user_id") WITH "recent" AS (SELECT "users"."id" FROM "users" WHERE "users"."new" = $1) SELECT "recent"."id" FROM "recent""#,
        "INSERT INTO `addresses` (`user_id`) WITH `recent` AS (SELECT `users`.`id` FROM `users` WHERE `users`.`new` = ?) SELECT `recent`.`id` FROM `recent`",
    );
    for q in [insert(&u), insert(&u).value("x", 1).default_values()] {
        check_params(
            &q,
            r#"INSERT INTO "users" DEFAULT VALUES"#,
            r#"INSERT INTO "users" DEFAULT VALUES"#,
            "INSERT INTO `users` () VALUES ()",
            &[],
        );
    }
}

#[test]
fn insert_returning_where_supported() {
    let u = users();
    let q = insert(&u)
        .value("name", "ann")
        .returning((u.c("id"), u.c("created").label("at")));
    check(
        &q,
        r#"INSERT INTO "users" ("name") VALUES (?) RETURNING "id", "created" AS "at""#,
        r#"INSERT INTO "users" ("name") VALUES ($1) RETURNING "id", "created" AS "at""#,
        "INSERT INTO `users` (`name`) VALUES (?) RETURNING `id`, `created` AS `at`",
    );
    match compile_error(&q, &MYSQL) {
        Error::Compile(msg) => {
            assert!(
                msg.contains("INSERT ... RETURNING") && msg.contains("mysql"),
                "{msg}"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
    let q = insert(&u).value("name", "ann").returning(star());
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"INSERT INTO "users" ("name") VALUES ($1) RETURNING *"#
    );
}

#[test]
fn upserts() {
    let c = table("counters");
    let q = insert(&c)
        .value("name", "hits")
        .value("n", 1)
        .on_conflict_do_update(["name"], [("n", c.c("n") + excluded("n"))]);
    check_params(
        &q,
        r#"INSERT INTO "counters" ("name", "n") VALUES (?, ?) ON CONFLICT ("name") DO UPDATE SET "n" = "counters"."n" + excluded."n""#,
        r#"INSERT INTO "counters" ("name", "n") VALUES ($1, $2) ON CONFLICT ("name") DO UPDATE SET "n" = "counters"."n" + excluded."n""#,
        "INSERT INTO `counters` (`name`, `n`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `counters`.`n` = `counters`.`n` + VALUES(`n`)",
        &[v("hits"), v(1)],
    );
    let q = insert(&c)
        .value("name", "hits")
        .on_conflict_do_nothing(["name"]);
    check(
        &q,
        r#"INSERT INTO "counters" ("name") VALUES (?) ON CONFLICT ("name") DO NOTHING"#,
        r#"INSERT INTO "counters" ("name") VALUES ($1) ON CONFLICT ("name") DO NOTHING"#,
        "INSERT INTO `counters` (`name`) VALUES (?) ON DUPLICATE KEY UPDATE `counters`.`name` = `counters`.`name`",
    );
    let q = insert(&c)
        .value("name", "hits")
        .value("n", 3)
        .on_conflict_do_nothing(Vec::<&str>::new());
    check(
        &q,
        r#"INSERT INTO "counters" ("name", "n") VALUES (?, ?) ON CONFLICT DO NOTHING"#,
        r#"INSERT INTO "counters" ("name", "n") VALUES ($1, $2) ON CONFLICT DO NOTHING"#,
        "INSERT INTO `counters` (`name`, `n`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `counters`.`name` = `counters`.`name`",
    );
    // A condition on the update, with RETURNING.
    let q = insert(&c)
        .value("name", "hits")
        .value("n", 1)
        .on_conflict_do_update(["name"], [("n", excluded("n"))])
        .on_conflict_where(c.c("locked").eq(false))
        .returning(c.c("n"));
    let sql_pg = r#"INSERT INTO "counters" ("name", "n") VALUES ($1, $2) ON CONFLICT ("name") DO UPDATE SET "n" = excluded."n" WHERE "counters"."locked" = $3 RETURNING "n""#;
    assert_eq!(compile(&q, &PostgresDialect).sql, sql_pg);
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"INSERT INTO "counters" ("name", "n") VALUES (?, ?) ON CONFLICT ("name") DO UPDATE SET "n" = excluded."n" WHERE "counters"."locked" = ? RETURNING "n""#
    );
    match compile_error(&q, &MARIADB) {
        Error::Compile(msg) => assert!(msg.contains("WHERE") && msg.contains("mysql"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    // DO UPDATE needs a target on PostgreSQL and SQLite; MySQL ignores it.
    let q = insert(&c)
        .value("name", "x")
        .on_conflict_do_update(Vec::<&str>::new(), [("n", 0)]);
    assert!(matches!(
        compile_error(&q, &PostgresDialect),
        Error::Compile(_)
    ));
    assert!(matches!(
        compile_error(&q, &SqliteDialect),
        Error::Compile(_)
    ));
    assert_eq!(
        compile(&q, &MARIADB).sql,
        "INSERT INTO `counters` (`name`) VALUES (?) ON DUPLICATE KEY UPDATE `counters`.`n` = ?"
    );
}

#[test]
fn upsert_from_select() {
    let (c, u) = (table("counters"), users());
    // SQLite would read ON CONFLICT as the ON of a join without a WHERE in between: an
    // always-true one is added.
    let q = insert(&c)
        .from_select(["name", "n"], select((u.c("name"), u.c("age"))))
        .on_conflict_do_update(["name"], [("n", excluded("n"))]);
    check(
        &q,
        r#"INSERT INTO "counters" ("name", "n") SELECT "users"."name", "users"."age" FROM "users" WHERE 1 = 1 ON CONFLICT ("name") DO UPDATE SET "n" = excluded."n""#,
        r#"INSERT INTO "counters" ("name", "n") SELECT "users"."name", "users"."age" FROM "users" WHERE 1 = 1 ON CONFLICT ("name") DO UPDATE SET "n" = excluded."n""#,
        "INSERT INTO `counters` (`name`, `n`) SELECT `users`.`name`, `users`.`age` FROM `users` ON DUPLICATE KEY UPDATE `counters`.`n` = VALUES(`n`)",
    );
    // With a WHERE of its own, nothing is added.
    let q = insert(&c)
        .from_select(["name"], select(u.c("name")).where_(u.c("id").gt(1)))
        .on_conflict_do_nothing(["name"]);
    check(
        &q,
        r#"INSERT INTO "counters" ("name") SELECT "users"."name" FROM "users" WHERE "users"."id" > ? ON CONFLICT ("name") DO NOTHING"#,
        r#"INSERT INTO "counters" ("name") SELECT "users"."name" FROM "users" WHERE "users"."id" > $1 ON CONFLICT ("name") DO NOTHING"#,
        "INSERT INTO `counters` (`name`) SELECT `users`.`name` FROM `users` WHERE `users`.`id` > ? ON DUPLICATE KEY UPDATE `counters`.`name` = `counters`.`name`",
    );
}

// ---------------------------------------------------------------- UPDATE and DELETE

#[test]
fn update_statements() {
    let u = users();
    let q = update(&u)
        .set("name", "ann")
        .set("visits", u.c("visits") + 1)
        .where_(u.c("id").eq(7));
    check_params(
        &q,
        r#"UPDATE "users" SET "name" = ?, "visits" = "users"."visits" + ? WHERE "users"."id" = ?"#,
        r#"UPDATE "users" SET "name" = $1, "visits" = "users"."visits" + $2 WHERE "users"."id" = $3"#,
        "UPDATE `users` SET `name` = ?, `visits` = `users`.`visits` + ? WHERE `users`.`id` = ?",
        &[v("ann"), v(1), v(7)],
    );
    // Setting a column again replaces the value; values() takes pairs.
    let q = update(&u)
        .set("a", 1)
        .values([("b", 2), ("a", 3)])
        .filter(u.c("x").is_null());
    check_params(
        &q,
        r#"UPDATE "users" SET "a" = ?, "b" = ? WHERE "users"."x" IS NULL"#,
        r#"UPDATE "users" SET "a" = $1, "b" = $2 WHERE "users"."x" IS NULL"#,
        "UPDATE `users` SET `a` = ?, `b` = ? WHERE `users`.`x` IS NULL",
        &[v(3), v(2)],
    );
    // RETURNING: not on MySQL nor MariaDB.
    let q = update(&u).set("a", 1).returning(u.c("id"));
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"UPDATE "users" SET "a" = $1 RETURNING "id""#
    );
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"UPDATE "users" SET "a" = ? RETURNING "id""#
    );
    for d in [MARIADB, MYSQL] {
        assert!(
            matches!(compile_error(&q, &d), Error::Compile(m) if m.contains("UPDATE ... RETURNING"))
        );
    }
    assert!(matches!(
        compile_error(&update(&u), &PostgresDialect),
        Error::Compile(_)
    ));
}

#[test]
fn update_with_a_correlated_subquery() {
    let (u, a) = (users(), addresses());
    let q = update(&u)
        .set(
            "n_addresses",
            select(func::count_star())
                .where_(a.c("user_id").eq(u.c("id")))
                .scalar_subquery(),
        )
        .where_(exists(
            select(a.c("id")).where_(a.c("user_id").eq(u.c("id"))),
        ));
    check(
        &q,
        r#"UPDATE "users" SET "n_addresses" = (SELECT count(*) FROM "addresses" WHERE "addresses"."user_id" = "users"."id") WHERE EXISTS (SELECT "addresses"."id" FROM "addresses" WHERE "addresses"."user_id" = "users"."id")"#,
        r#"UPDATE "users" SET "n_addresses" = (SELECT count(*) FROM "addresses" WHERE "addresses"."user_id" = "users"."id") WHERE EXISTS (SELECT "addresses"."id" FROM "addresses" WHERE "addresses"."user_id" = "users"."id")"#,
        "UPDATE `users` SET `n_addresses` = (SELECT count(*) FROM `addresses` WHERE `addresses`.`user_id` = `users`.`id`) WHERE EXISTS (SELECT `addresses`.`id` FROM `addresses` WHERE `addresses`.`user_id` = `users`.`id`)",
    );
}

#[test]
fn delete_statements() {
    let u = users();
    let q = delete(&u)
        .where_(u.c("id").eq(3))
        .where_(u.c("name").ne("root"));
    check_params(
        &q,
        r#"DELETE FROM "users" WHERE "users"."id" = ? AND "users"."name" != ?"#,
        r#"DELETE FROM "users" WHERE "users"."id" = $1 AND "users"."name" != $2"#,
        "DELETE FROM `users` WHERE `users`.`id` = ? AND `users`.`name` != ?",
        &[v(3), v("root")],
    );
    check(
        &delete(&u),
        r#"DELETE FROM "users""#,
        r#"DELETE FROM "users""#,
        "DELETE FROM `users`",
    );
    let q = delete(&u)
        .filter(u.c("id").eq(3))
        .returning((u.c("id"), u.c("name")));
    check(
        &q,
        r#"DELETE FROM "users" WHERE "users"."id" = ? RETURNING "id", "name""#,
        r#"DELETE FROM "users" WHERE "users"."id" = $1 RETURNING "id", "name""#,
        "DELETE FROM `users` WHERE `users`.`id` = ? RETURNING `id`, `name`",
    );
    assert!(
        matches!(compile_error(&q, &MYSQL), Error::Compile(m) if m.contains("DELETE ... RETURNING"))
    );
}

// ---------------------------------------------------------------- safety

#[test]
fn injection_shaped_values_stay_parameters() {
    let evil = "x'; DROP TABLE users; --";
    let u = users();
    let stmts: Vec<Statement> = vec![
        select(u.c("id")).where_(u.c("name").eq(evil)).into(),
        select(u.c("id"))
            .where_(u.c("name").in_([evil, evil]))
            .into(),
        select(u.c("id")).where_(u.c("name").contains(evil)).into(),
        insert(&u).value("name", evil).into(),
        update(&u)
            .set("name", evil)
            .where_(u.c("name").like(evil))
            .into(),
        delete(&u).where_(u.c("name").ilike(evil)).into(),
        text("SELECT :v").bind("v", evil).into(),
    ];
    for stmt in &stmts {
        for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MARIADB] {
            let c = compile(stmt, d);
            assert!(!c.sql.contains("DROP"), "{}: {}", d.name(), c.sql);
            assert!(
                c.params
                    .iter()
                    .any(|p| matches!(p, Value::Text(s) if s.contains("DROP TABLE"))),
                "{}: {:?}",
                d.name(),
                c.params
            );
        }
    }
}

#[test]
fn identifiers_are_always_quoted_and_escaped() {
    let t = table("we\"ird`tab le").schema("my.schema");
    let q = select((
        t.c("select"),
        t.c("a\"b"),
        t.c("c`d"),
        t.c("with space"),
        t.c("dotted.name"),
        t.c("ünïcødé"),
        t.c("Mixed").label("order"),
    ))
    .where_(column("group").eq(1));
    check(
        &q,
        r#"SELECT "my.schema"."we""ird`tab le"."select", "my.schema"."we""ird`tab le"."a""b", "my.schema"."we""ird`tab le"."c`d", "my.schema"."we""ird`tab le"."with space", "my.schema"."we""ird`tab le"."dotted.name", "my.schema"."we""ird`tab le"."ünïcødé", "my.schema"."we""ird`tab le"."Mixed" AS "order" FROM "my.schema"."we""ird`tab le" WHERE "group" = ?"#,
        r#"SELECT "my.schema"."we""ird`tab le"."select", "my.schema"."we""ird`tab le"."a""b", "my.schema"."we""ird`tab le"."c`d", "my.schema"."we""ird`tab le"."with space", "my.schema"."we""ird`tab le"."dotted.name", "my.schema"."we""ird`tab le"."ünïcødé", "my.schema"."we""ird`tab le"."Mixed" AS "order" FROM "my.schema"."we""ird`tab le" WHERE "group" = $1"#,
        "SELECT `my.schema`.`we\"ird``tab le`.`select`, `my.schema`.`we\"ird``tab le`.`a\"b`, `my.schema`.`we\"ird``tab le`.`c``d`, `my.schema`.`we\"ird``tab le`.`with space`, `my.schema`.`we\"ird``tab le`.`dotted.name`, `my.schema`.`we\"ird``tab le`.`ünïcødé`, `my.schema`.`we\"ird``tab le`.`Mixed` AS `order` FROM `my.schema`.`we\"ird``tab le` WHERE `group` = ?",
    );
    // DML targets, column lists, aliases, CTE and subquery names too.
    let q = insert(table("o\"k"))
        .value("va`l", 1)
        .returning(column("i\"d"));
    check(
        &q,
        r#"INSERT INTO "o""k" ("va`l") VALUES (?) RETURNING "i""d""#,
        r#"INSERT INTO "o""k" ("va`l") VALUES ($1) RETURNING "i""d""#,
        "INSERT INTO `o\"k` (`va``l`) VALUES (?) RETURNING `i\"d`",
    );
    let sq = select(column("x")).from(table("t")).subquery("s\"q`");
    assert_eq!(
        compile(&select(sq.c("x")), &MARIADB).sql,
        "SELECT `s\"q```.`x` FROM (SELECT `x` FROM `t`) AS `s\"q```"
    );
}

#[test]
fn invalid_expressions_and_empty_statements_are_compile_errors() {
    let bad = Expr::Invalid("table 'users' has no column 'nme'".into());
    let u = users();
    let stmts: Vec<Statement> = vec![
        select(bad.clone()).into(),
        select(u.c("id")).where_(u.c("a").eq(bad.clone())).into(),
        select(u.c("id")).order_by(bad.clone()).into(),
        insert(&u).value("a", bad.clone()).into(),
        update(&u).set("a", 1).where_(bad.clone()).into(),
        delete(&u).where_(not_(bad.clone())).into(),
    ];
    for stmt in &stmts {
        for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MARIADB] {
            match compile_error(stmt, d) {
                Error::Compile(msg) => assert!(msg.contains("nme"), "{msg}"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(matches!(
        compile_error(&select(()), &SqliteDialect),
        Error::Compile(_)
    ));
    assert!(matches!(
        compile_error(
            &insert(&u).values_many(Vec::<&str>::new(), [(1,)]),
            &SqliteDialect
        ),
        Error::Compile(_)
    ));
}

// ---------------------------------------------------------------- display and statements

#[test]
fn display_with_literals_is_for_reading() {
    let u = users();
    let q = select((u.c("id"), text("'?' AS q")))
        .where_(u.c("name").eq("O'Brien\\"))
        .where_(u.c("n").in_([1.5, 2.0]))
        .where_(u.c("ok").eq(true))
        .limit(3);
    assert_eq!(
        q.to_sql_string(&SqliteDialect).unwrap(),
        r#"SELECT "users"."id", '?' AS q FROM "users" WHERE "users"."name" = 'O''Brien\' AND "users"."n" IN (1.5, 2.0) AND "users"."ok" = 1 LIMIT 3"#
    );
    assert_eq!(
        q.to_sql_string(&PostgresDialect).unwrap(),
        r#"SELECT "users"."id", '?' AS q FROM "users" WHERE "users"."name" = 'O''Brien\' AND "users"."n" IN (1.5, 2.0) AND "users"."ok" = TRUE LIMIT 3"#
    );
    assert_eq!(
        q.to_sql_string(&MARIADB).unwrap(),
        // Floats get an exponent on MySQL: a plain 1.5 would be an exact DECIMAL there.
        r"SELECT `users`.`id`, '?' AS q FROM `users` WHERE `users`.`name` = 'O''Brien\\' AND `users`.`n` IN (1.5e0, 2e0) AND `users`.`ok` = 1 LIMIT 3"
    );
    // More than nine parameters: $1 is not mistaken for the start of $10.
    let q = select(u.c("id")).where_(u.c("id").in_(1..=11));
    assert_eq!(
        q.to_sql_string(&PostgresDialect).unwrap(),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."id" IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)"#
    );
    // Compiled shows its SQL with placeholders.
    let c = compile(&select(u.c("id")).where_(u.c("id").eq(1)), &PostgresDialect);
    assert_eq!(
        c.to_string(),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1"#
    );
    // A value without a literal form is an error, not a wrong display.
    let q = select(literal(f64::NAN));
    assert!(matches!(
        q.to_sql_string(&SqliteDialect),
        Err(Error::Argument(_))
    ));
}

#[test]
fn statements_compile_the_same_through_the_enum() {
    let u = users();
    let pairs: Vec<(Statement, String)> = vec![
        (
            select(u.c("id")).into(),
            compile(&select(u.c("id")), &PostgresDialect).sql,
        ),
        (
            select(u.c("id")).union(select(u.c("id"))).into(),
            compile(
                &select(u.c("id")).union(select(u.c("id"))),
                &PostgresDialect,
            )
            .sql,
        ),
        (
            insert(&u).value("a", 1).into(),
            compile(&insert(&u).value("a", 1), &PostgresDialect).sql,
        ),
        (
            update(&u).set("a", 1).into(),
            compile(&update(&u).set("a", 1), &PostgresDialect).sql,
        ),
        (
            delete(&u).into(),
            compile(&delete(&u), &PostgresDialect).sql,
        ),
        (text("SELECT 1").into(), "SELECT 1".to_string()),
    ];
    for (stmt, sql) in pairs {
        assert_eq!(compile(&stmt, &PostgresDialect).sql, sql);
    }
    let q: Query = select(u.c("id")).into();
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."id" FROM "users""#
    );
}

#[test]
fn too_many_parameters_for_the_dialect_is_a_compile_error() {
    let u = users();
    let q = select(u.c("id")).where_(u.c("id").in_(0..40_000));
    match compile_error(&q, &SqliteDialect) {
        Error::Compile(msg) => assert!(msg.contains("40000") && msg.contains("32766"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(compile(&q, &PostgresDialect).params.len(), 40_000);
}

#[test]
fn expression_types() {
    assert_eq!(literal(1).sql_type(), Some(SqlType::BigInteger));
    assert_eq!(literal("a").sql_type(), Some(SqlType::String(None)));
    assert_eq!(null().sql_type(), None);
    assert_eq!(users().c("a").eq(1).sql_type(), Some(SqlType::Boolean));
    assert_eq!(
        func::coalesce((null(), 2.5)).sql_type(),
        Some(SqlType::Double)
    );
    assert_eq!(
        case().when(users().c("a"), "x").end().sql_type(),
        Some(SqlType::String(None))
    );
    let sq = select(literal(1).cast(SqlType::SmallInteger).label("k")).subquery("s");
    assert_eq!(sq.c("k").sql_type(), Some(SqlType::SmallInteger));
    assert_eq!(
        select(func::count_star()).scalar_subquery().sql_type(),
        Some(SqlType::BigInteger)
    );
}

#[test]
fn postgresql_types_bare_parameters_by_their_value() {
    // Alone in the select list or as a CAST operand, PostgreSQL would type the placeholder
    // from its context (text, or the cast's target), so a non-text value carries its type.
    let q = select((
        literal(1),
        literal(i64::MAX),
        literal(true),
        literal(1.5),
        literal("text"),
        null(),
        cast(literal(2.7), SqlType::Integer).label("n"),
        literal(3) + 1,
    ));
    check(
        &q,
        r#"SELECT ?, ?, ?, ?, ?, NULL, CAST(? AS INTEGER) AS "n", ? + ?"#,
        r#"SELECT $1::INTEGER, $2::BIGINT, $3::BOOLEAN, $4::DOUBLE PRECISION, $5, NULL, CAST($6::DOUBLE PRECISION AS INTEGER) AS "n", $7 + $8"#,
        "SELECT ?, ?, ?, ?, ?, NULL, CAST(? AS SIGNED) AS `n`, ? + ?",
    );
    assert_eq!(
        q.to_sql_string(&PostgresDialect).unwrap(),
        r#"SELECT 1::INTEGER, 9223372036854775807::BIGINT, TRUE::BOOLEAN, 1.5::DOUBLE PRECISION, 'text', NULL, CAST(2.7::DOUBLE PRECISION AS INTEGER) AS "n", 3 + 1"#
    );
}

// ---------------------------------------------------------------- UPDATE / DELETE naming other tables

#[test]
fn update_naming_another_table_gets_it_in_the_dialects_form() {
    let (u, a) = (users(), addresses());
    let stmt = update(&u)
        .set("email", a.c("email"))
        .where_(a.c("user_id").eq(u.c("id")))
        .where_(a.c("primary").eq(true));
    check_params(
        &stmt,
        r#"UPDATE "users" SET "email" = "addresses"."email" FROM "addresses" WHERE "addresses"."user_id" = "users"."id" AND "addresses"."primary" = ?"#,
        r#"UPDATE "users" SET "email" = "addresses"."email" FROM "addresses" WHERE "addresses"."user_id" = "users"."id" AND "addresses"."primary" = $1"#,
        "UPDATE `users`, `addresses` SET `users`.`email` = `addresses`.`email` WHERE `addresses`.`user_id` = `users`.`id` AND `addresses`.`primary` = ?",
        &[v(true)],
    );
    // An alias of the target is another table; RETURNING stays on the target.
    let boss = u.alias("boss");
    let stmt = update(&u)
        .set("age", boss.c("age"))
        .where_(u.c("boss_id").eq(boss.c("id")))
        .returning(u.c("id"));
    assert_eq!(
        compile(&stmt, &PostgresDialect).sql,
        r#"UPDATE "users" SET "age" = "boss"."age" FROM "users" AS "boss" WHERE "users"."boss_id" = "boss"."id" RETURNING "id""#
    );
    // A correlated subquery does not make its tables the UPDATE's.
    let stmt = update(&u).set(
        "n",
        select(func::count_star())
            .where_(a.c("user_id").eq(u.c("id")))
            .scalar_subquery(),
    );
    assert_eq!(
        compile(&stmt, &PostgresDialect).sql,
        r#"UPDATE "users" SET "n" = (SELECT count(*) FROM "addresses" WHERE "addresses"."user_id" = "users"."id")"#
    );
    // A subquery as the other table.
    let totals = select((a.c("user_id"), func::count_star().label("n")))
        .group_by(a.c("user_id"))
        .subquery("totals");
    let stmt = update(&u)
        .set("n", totals.c("n"))
        .where_(totals.c("user_id").eq(u.c("id")));
    assert_eq!(
        compile(&stmt, &SqliteDialect).sql,
        r#"UPDATE "users" SET "n" = "totals"."n" FROM (SELECT "addresses"."user_id", count(*) AS "n" FROM "addresses" GROUP BY "addresses"."user_id") AS "totals" WHERE "totals"."user_id" = "users"."id""#
    );
}

#[test]
fn delete_naming_another_table_gets_it_in_the_dialects_form() {
    let (u, a) = (users(), addresses());
    let stmt = delete(&a)
        .where_(a.c("user_id").eq(u.c("id")))
        .where_(u.c("name").eq("bob"));
    check_params(
        &stmt,
        r#"DELETE FROM "addresses" WHERE EXISTS (SELECT 1 FROM "users" WHERE "addresses"."user_id" = "users"."id" AND "users"."name" = ?)"#,
        r#"DELETE FROM "addresses" USING "users" WHERE "addresses"."user_id" = "users"."id" AND "users"."name" = $1"#,
        "DELETE `addresses` FROM `addresses`, `users` WHERE `addresses`.`user_id` = `users`.`id` AND `users`.`name` = ?",
        &[v("bob")],
    );
    let returning = stmt.clone().returning(a.c("id"));
    assert_eq!(
        compile(&returning, &SqliteDialect).sql,
        r#"DELETE FROM "addresses" WHERE EXISTS (SELECT 1 FROM "users" WHERE "addresses"."user_id" = "users"."id" AND "users"."name" = ?) RETURNING "id""#
    );
    assert!(matches!(
        compile_error(&returning, &MARIADB),
        Error::Compile(_)
    ));
    // RETURNING another table's columns: refused everywhere, before anything is sent.
    let other = stmt.clone().returning(u.c("name"));
    for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect] {
        match compile_error(&other, d) {
            Error::Compile(msg) => assert!(msg.contains("users"), "{msg}"),
            e => panic!("{e}"),
        }
    }
    // An aliased target on MySQL is deleted through its alias.
    let x = a.alias("x");
    let stmt = delete(&x).where_(x.c("user_id").eq(u.c("id")));
    assert_eq!(
        compile(&stmt, &MARIADB).sql,
        "DELETE `x` FROM `addresses` AS `x`, `users` WHERE `x`.`user_id` = `users`.`id`"
    );
    // A CTE cannot be one of the other tables.
    let cte = select(u.c("id")).cte("ids");
    let stmt = delete(&a).where_(a.c("user_id").eq(cte.c("id")));
    for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MARIADB] {
        assert!(matches!(compile_error(&stmt, d), Error::Compile(_)));
    }
}

// ---------------------------------------------------------------- numeric casts, frames, FETCH

#[test]
fn numeric_casts_keep_precision_and_scale() {
    let t = table("t");
    let q = select((
        t.c("x").cast(SqlType::numeric(10, 2)),
        t.c("x").cast(SqlType::Numeric {
            precision: Some(5),
            scale: None,
        }),
        t.c("x").cast(SqlType::Numeric {
            precision: None,
            scale: None,
        }),
    ));
    check(
        &q,
        r#"SELECT round(CAST("t"."x" AS NUMERIC), 2), round(CAST("t"."x" AS NUMERIC), 0), CAST("t"."x" AS NUMERIC) FROM "t""#,
        r#"SELECT CAST("t"."x" AS NUMERIC(10, 2)), CAST("t"."x" AS NUMERIC(5)), CAST("t"."x" AS NUMERIC) FROM "t""#,
        "SELECT CAST(`t`.`x` AS DECIMAL(10, 2)), CAST(`t`.`x` AS DECIMAL(5)), CAST(`t`.`x` AS DECIMAL(38, 10)) FROM `t`",
    );
    let scale_only = select(t.c("x").cast(SqlType::Numeric {
        precision: None,
        scale: Some(2),
    }));
    for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MARIADB] {
        assert!(matches!(compile_error(&scale_only, d), Error::Compile(_)));
    }
}

#[test]
fn window_frames() {
    let e = table("emp");
    let q = select((
        func::sum(e.c("pay")).over(
            Over::new()
                .partition_by(e.c("dept"))
                .order_by(e.c("day"))
                .rows(FrameBound::Preceding(2), FrameBound::CurrentRow),
        ),
        func::sum(e.c("pay")).over(
            Over::new()
                .order_by(e.c("day"))
                .range(FrameBound::UnboundedPreceding, FrameBound::Following(3)),
        ),
        func::count_star()
            .over(Over::new().rows(FrameBound::CurrentRow, FrameBound::UnboundedFollowing)),
    ));
    let frames = "OVER (PARTITION BY {e}.{dept} ORDER BY {e}.{day} ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), sum({e}.{pay}) OVER (ORDER BY {e}.{day} RANGE BETWEEN UNBOUNDED PRECEDING AND 3 FOLLOWING), count(*) OVER (ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM {e}";
    let quoted = |q: char| {
        let name = |n: &str| format!("{q}{n}{q}");
        format!(
            "SELECT sum({}.{}) {}",
            name("emp"),
            name("pay"),
            frames
                .replace("{e}", &name("emp"))
                .replace("{dept}", &name("dept"))
                .replace("{day}", &name("day"))
                .replace("{pay}", &name("pay"))
        )
    };
    check(&q, &quoted('"'), &quoted('"'), &quoted('`'));
    // Huge offsets are lowered as LIMIT is.
    let q = select(
        func::sum(e.c("pay"))
            .over(Over::new().rows(FrameBound::Preceding(u64::MAX), FrameBound::Following(5))),
    );
    assert!(compile(&q, &PostgresDialect)
        .sql
        .contains("ROWS BETWEEN 9223372036854775807 PRECEDING AND 5 FOLLOWING"));
    // Frames the databases refuse are compile errors.
    let bad = [
        Over::new().rows(FrameBound::CurrentRow, FrameBound::Preceding(1)),
        Over::new().rows(FrameBound::Following(1), FrameBound::CurrentRow),
        Over::new().rows(
            FrameBound::UnboundedFollowing,
            FrameBound::UnboundedFollowing,
        ),
        Over::new().rows(
            FrameBound::UnboundedPreceding,
            FrameBound::UnboundedPreceding,
        ),
        Over::new().range(FrameBound::Preceding(1), FrameBound::CurrentRow),
        Over::new()
            .order_by((e.c("a"), e.c("b")))
            .range(FrameBound::Preceding(1), FrameBound::CurrentRow),
    ];
    for over in bad {
        let q = select(func::count_star().over(over));
        for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MARIADB] {
            assert!(matches!(compile_error(&q, d), Error::Compile(_)));
        }
    }
}

#[test]
fn fetch_first() {
    let u = users();
    let q = select(u.c("id")).order_by(u.c("id")).offset(5).fetch(10);
    let [s, p, m] = check(
        &q,
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."id" LIMIT 10 OFFSET 5"#,
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."id" OFFSET $1 ROWS FETCH FIRST $2 ROWS ONLY"#,
        "SELECT `users`.`id` FROM `users` ORDER BY `users`.`id` LIMIT ? OFFSET ?",
    );
    assert!(s.params.is_empty());
    assert_eq!(p.params, vec![v(5), v(10)]);
    assert_eq!(m.params, vec![v(10), v(5)]);
    // FETCH and LIMIT replace each other.
    let q = select(u.c("id")).limit(3).fetch(4);
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"SELECT "users"."id" FROM "users" FETCH FIRST $1 ROWS ONLY"#
    );
    let q = select(u.c("id")).fetch(4).limit(3);
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"SELECT "users"."id" FROM "users" LIMIT $1"#
    );
    let ties = select(u.c("id")).order_by(u.c("age")).fetch_with_ties(2);
    assert_eq!(
        compile(&ties, &PostgresDialect).sql,
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."age" FETCH FIRST $1 ROWS WITH TIES"#
    );
    for d in [&SqliteDialect as &dyn Dialect, &MARIADB] {
        assert!(matches!(compile_error(&ties, d), Error::Compile(_)));
    }
    let unordered = select(u.c("id")).fetch_with_ties(2);
    assert!(matches!(
        compile_error(&unordered, &PostgresDialect),
        Error::Compile(_)
    ));
    // A compound member with FETCH is grouped.
    let q = select(u.c("id")).fetch(1).union(select(u.c("id")));
    assert_eq!(
        compile(&q, &PostgresDialect).sql,
        r#"(SELECT "users"."id" FROM "users" FETCH FIRST $1 ROWS ONLY) UNION SELECT "users"."id" FROM "users""#
    );
}
