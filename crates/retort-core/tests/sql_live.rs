//! The SQL the compiler writes, run on the real databases through the engine (SQLite,
//! PostgreSQL and MariaDB, each on a fresh test database): each database must accept the
//! syntax, and the result must be what the statement means.
//!
//! Every statement runs compiled, with its values bound as parameters. Queries also run in
//! their display form (`to_sql_string`, values written as literals), which must read the same
//! rows: the display form is what people copy into a console.

use retort_core::schema::{Column, MetaData, Table};
use retort_core::sql::prelude::*;
use retort_core::types::SqlType;
use retort_core::{Connection, Error, Value};
use retort_testkit::TestDb;

/// The tables the cases run on, created through the schema API.
fn create_tables(db: &TestDb) {
    let md = MetaData::new();
    let int = |name: &str| Column::new(name, SqlType::Integer);
    let name = |name: &str| Column::new(name, SqlType::string(50));
    let tables = [
        Table::new("users", &md)
            .column(int("id").primary_key())
            .column(name("name"))
            .column(int("age"))
            .column(name("city"))
            .column(Column::new("active", SqlType::Boolean))
            .column(int("boss_id"))
            .column(int("visits").server_default(0)),
        Table::new("addresses", &md)
            .column(int("id").primary_key())
            .column(int("user_id"))
            .column(Column::new("email", SqlType::string(100))),
        Table::new("counters", &md)
            .column(name("name").primary_key())
            .column(int("n"))
            .column(Column::new("locked", SqlType::Boolean)),
        Table::new("nodes", &md)
            .column(int("id").primary_key())
            .column(int("parent")),
        Table::new("logs", &md)
            .column(int("id").server_default(1))
            .column(Column::new("note", SqlType::string(10)).server_default("x")),
    ];
    for t in tables {
        t.build().unwrap();
    }
    md.create_all(db.engine()).unwrap();
}

/// A statement, the first column of the rows it must return (`None`: not checked), and the
/// backends whose dialect must refuse to compile it.
struct Check {
    name: &'static str,
    stmt: Statement,
    expect: Option<Vec<&'static str>>,
    refused_by: &'static [&'static str],
}

fn check(name: &'static str, stmt: impl Into<Statement>) -> Check {
    Check {
        name,
        stmt: stmt.into(),
        expect: None,
        refused_by: &[],
    }
}

impl Check {
    fn rows(mut self, rows: &[&'static str]) -> Check {
        self.expect = Some(rows.to_vec());
        self
    }

    fn refused_by(mut self, backends: &'static [&'static str]) -> Check {
        self.refused_by = backends;
        self
    }
}

fn cases() -> Vec<Check> {
    let (u, a, c, n) = (
        table("users"),
        table("addresses"),
        table("counters"),
        table("nodes"),
    );
    let boss = u.alias("boss");
    let by_id = || u.c("id").asc();
    let mut v = vec![
        check(
            "insert many",
            insert(&u).values_many(
                ["id", "name", "age", "city", "active", "boss_id"],
                vec![
                    vec![
                        literal(1),
                        literal("ann"),
                        literal(31),
                        literal("Oslo"),
                        literal(true),
                        null(),
                    ],
                    vec![
                        literal(2),
                        literal("bob"),
                        literal(42),
                        literal(None::<&str>),
                        literal(false),
                        literal(1),
                    ],
                    vec![
                        literal(3),
                        literal("cy_%"),
                        literal(7),
                        literal("Rome"),
                        literal(true),
                        literal(1),
                    ],
                ],
            ),
        ),
        check(
            "insert addresses",
            insert(&a).values_many(
                ["id", "user_id", "email"],
                [
                    (10, 1, "ann@x.org"),
                    (11, 1, "ann@y.org"),
                    (12, 2, "bob@x.org"),
                ],
            ),
        ),
        check(
            "insert nodes",
            insert(&n).values_many(["id", "parent"], [(1, 0), (2, 1), (3, 2), (4, 1), (5, 9)]),
        ),
        check("default values", insert(table("logs")).default_values()),
        check(
            "default values count",
            select(func::count_star()).from(table("logs")),
        )
        .rows(&["1"]),
        check(
            "where and null",
            select(u.c("name"))
                .where_(u.c("city").eq(None::<&str>).or(u.c("age").ge(40)))
                .order_by(by_id()),
        )
        .rows(&["bob"]),
        check(
            "distinct from",
            select(u.c("name"))
                .where_(u.c("city").is_distinct_from("Oslo"))
                .order_by(by_id()),
        )
        .rows(&["bob", "cy_%"]),
        check(
            "not distinct from null",
            select(u.c("name")).where_(u.c("city").is_not_distinct_from(None::<&str>)),
        )
        .rows(&["bob"]),
        check(
            "in lists",
            select(u.c("name"))
                .where_(u.c("id").in_([1, 3]))
                .where_(u.c("name").not_in(Vec::<&str>::new()))
                .order_by(by_id()),
        )
        .rows(&["ann", "cy_%"]),
        check(
            "empty in",
            select(u.c("name")).where_(u.c("id").in_(Vec::<i32>::new())),
        )
        .rows(&[]),
        check(
            "in subquery",
            select(u.c("name"))
                .where_(
                    u.c("id")
                        .in_subquery(select(a.c("user_id")).where_(a.c("email").like("%@x.org"))),
                )
                .order_by(by_id()),
        )
        .rows(&["ann", "bob"]),
        check(
            "between",
            select(u.c("name"))
                .where_(u.c("age").not_between(10, 40))
                .order_by(by_id()),
        )
        .rows(&["bob", "cy_%"]),
        check(
            "ilike",
            select(u.c("name")).where_(u.c("name").ilike("AN%")),
        )
        .rows(&["ann"]),
        check(
            "contains escapes",
            select(u.c("name")).where_(u.c("name").contains("_%")),
        )
        .rows(&["cy_%"]),
        check(
            "startswith",
            select(u.c("name")).where_(u.c("name").startswith("b")),
        )
        .rows(&["bob"]),
        check(
            "endswith escapes",
            select(u.c("name")).where_(u.c("name").endswith("y_%")),
        )
        .rows(&["cy_%"]),
        check(
            "contains column",
            select(a.c("email"))
                .from(&a)
                .join(&u, u.c("id").eq(a.c("user_id")))
                .where_(a.c("email").contains(u.c("name")))
                .where_(a.c("email").startswith(u.c("name")))
                .order_by(a.c("id")),
        )
        .rows(&["ann@x.org", "ann@y.org", "bob@x.org"]),
        check(
            "concat",
            select(
                u.c("name")
                    .concat("-")
                    .concat(u.c("age").cast(SqlType::string(10))),
            )
            .where_(u.c("id").eq(1)),
        )
        .rows(&["ann-31"]),
        check(
            "arithmetic",
            select(((u.c("age") + 1) * 2 - -(u.c("id") - 3)) % 7).where_(u.c("id").eq(2)),
        )
        .rows(&["1"]),
        check(
            "boolean nesting",
            select(u.c("name"))
                .where_(not_(and_([u.c("active").eq(true), u.c("age").gt(30)])))
                .where_(!u.c("name").like("x%") & (u.c("id").eq(2) | u.c("id").eq(3)))
                .order_by(by_id()),
        )
        .rows(&["bob", "cy_%"]),
        check("not column", select(u.c("name")).where_(!u.c("active"))).rows(&["bob"]),
        check(
            "nulls first",
            select(u.c("name")).order_by((u.c("city").asc().nulls_first(), by_id())),
        )
        .rows(&["bob", "ann", "cy_%"]),
        check(
            "nulls last desc",
            select(u.c("name")).order_by(u.c("city").desc().nulls_last()),
        )
        .rows(&["cy_%", "ann", "bob"]),
        check(
            "labels group having",
            select((
                a.c("user_id").label("uid"),
                func::count(a.c("id")).label("n"),
            ))
            .group_by(a.c("user_id").label("uid"))
            .having(func::count(a.c("id")).gt(1))
            .order_by(func::count(a.c("id")).label("n").desc()),
        )
        .rows(&["1"]),
        check(
            "casts",
            select((
                literal("12").cast(SqlType::Integer),
                literal("12").cast(SqlType::BigInteger),
                literal(1.5).cast(SqlType::Double),
                literal(1.25).cast(SqlType::numeric(10, 2)),
                literal(12).cast(SqlType::string(20)),
                literal(12).cast(SqlType::Text),
                literal("2024-01-02").cast(SqlType::Date),
                literal("2024-01-02 10:11:12").cast(SqlType::DateTime { timezone: false }),
                literal("abc").cast(SqlType::LargeBinary),
                literal("{\"a\": 1}").cast(SqlType::Json),
            )),
        )
        .rows(&["12"]),
        check(
            "cast datetime keeps the date",
            select(
                func::length(
                    literal("2024-01-02 10:11:12")
                        .cast(SqlType::DateTime { timezone: false })
                        .cast(SqlType::Text),
                )
                .ge(10),
            ),
        ),
        check(
            "functions",
            select(vec![
                func::count(u.c("id")),
                func::count_star(),
                func::count_distinct(u.c("active")),
                func::sum(u.c("age")),
                func::avg(u.c("age")),
                func::min(u.c("name")),
                func::max(u.c("age")),
                func::coalesce((func::max(u.c("city")), "none")),
                func::lower(func::max(u.c("name"))),
                func::upper(func::min(u.c("name"))),
                func::length(func::max(u.c("name"))),
                func::abs(func::min(u.c("age")) - 100),
                func::now(),
                func::current_timestamp(),
                func::call("abs", -3),
            ]),
        )
        .rows(&["3"]),
        check(
            "window",
            select((
                func::row_number().over(
                    Over::new()
                        .partition_by(u.c("active"))
                        .order_by(u.c("age").desc()),
                ),
                func::rank().over(Over::new().order_by(u.c("age"))),
                func::sum(u.c("age")).over(Over::new()),
            ))
            .order_by(by_id()),
        )
        .rows(&["1", "1", "2"]),
        check(
            "case",
            select(
                case()
                    .when(u.c("age").lt(18), "minor")
                    .when(u.c("age").gt(40), "senior")
                    .else_("adult"),
            )
            .order_by(by_id()),
        )
        .rows(&["adult", "senior", "minor"]),
        check(
            "simple case",
            select(case().value(u.c("id")).when(1, "one").when(2, "two").end()).order_by(by_id()),
        )
        .rows(&["one", "two", "NULL"]),
        check(
            "literal null star",
            select((literal(1).label("one"), null())).from(&u).limit(1),
        )
        .rows(&["1"]),
        check("star", select(star()).from(&u).where_(u.c("id").eq(3))).rows(&["3"]),
        check(
            "tuple in",
            select(u.c("name"))
                .where_(tuple_((u.c("id"), u.c("age"))).in_([tuple_((1, 31)), tuple_((2, 0))])),
        )
        .rows(&["ann"]),
        check(
            "exists correlated",
            select(u.c("name"))
                .where_(exists(
                    select(a.c("id")).where_(a.c("user_id").eq(u.c("id"))),
                ))
                .where_(not_exists(select(a.c("id")).where_(
                    a.c("user_id").eq(u.c("id")).and(a.c("email").like("bob%")),
                )))
                .order_by(by_id()),
        )
        .rows(&["ann"]),
        check(
            "scalar subquery",
            select(
                select(func::count(a.c("id")))
                    .where_(a.c("user_id").eq(u.c("id")))
                    .label("n"),
            )
            .order_by(by_id()),
        )
        .rows(&["2", "1", "0"]),
        check(
            "inferred from",
            select(a.c("email"))
                .where_(a.c("user_id").eq(u.c("id")))
                .where_(u.c("name").eq("bob")),
        )
        .rows(&["bob@x.org"]),
        check(
            "joins",
            select(u.c("name"))
                .outerjoin(&a, u.c("id").eq(a.c("user_id")))
                .where_(a.c("id").is_null()),
        )
        .rows(&["cy_%"]),
        check(
            "right join",
            select(a.c("email"))
                .from(&u)
                .right_join(&a, u.c("id").eq(a.c("user_id")))
                .order_by(a.c("id")),
        )
        .rows(&["ann@x.org", "ann@y.org", "bob@x.org"]),
        check(
            "full join",
            select(func::count_star())
                .from(&u)
                .full_join(&a, u.c("id").eq(a.c("user_id"))),
        )
        .rows(&["4"])
        .refused_by(&["mariadb"]),
        check(
            "cross join and join_from",
            select(func::count_star())
                .from(&u)
                .cross_join(&n)
                .join_from(&u, &a, u.c("id").eq(a.c("user_id"))),
        )
        .rows(&["15"]),
        check(
            "self join",
            select(boss.c("name"))
                .join(&boss, u.c("boss_id").eq(boss.c("id")))
                .where_(u.c("id").eq(3)),
        )
        .rows(&["ann"]),
        check(
            "limit offset",
            select(u.c("name")).order_by(by_id()).limit(1).offset(1),
        )
        .rows(&["bob"]),
        check(
            "offset only",
            select(u.c("name")).order_by(by_id()).offset(2),
        )
        .rows(&["cy_%"]),
        check(
            "distinct",
            select(a.c("user_id")).distinct().order_by(a.c("user_id")),
        )
        .rows(&["1", "2"]),
        check(
            "for update",
            select(u.c("id")).where_(u.c("id").eq(1)).for_update(),
        )
        .rows(&["1"]),
        check(
            "for update nowait",
            select(u.c("id"))
                .where_(u.c("id").eq(1))
                .for_update_nowait(),
        ),
        check(
            "for update skip locked",
            select(u.c("id"))
                .where_(u.c("id").eq(1))
                .for_update_skip_locked(),
        ),
        check(
            "for share",
            select(u.c("id")).where_(u.c("id").eq(1)).for_share(),
        )
        .rows(&["1"]),
    ];

    let per_user = select((a.c("user_id"), func::count(a.c("id")).label("n")))
        .group_by(a.c("user_id"))
        .subquery("per_user");
    v.push(
        check(
            "subquery from",
            select((u.c("name"), per_user.c("n")))
                .join(&per_user, per_user.c("user_id").eq(u.c("id")))
                .order_by(per_user.c("n").desc()),
        )
        .rows(&["ann", "bob"]),
    );
    v.push(check("subquery alone", select(func::sum(per_user.c("n")))).rows(&["3"]));

    let adults = select((u.c("id"), u.c("name")))
        .where_(u.c("age").ge(18))
        .cte("adults");
    let with_mail = select(adults.c("name"))
        .where_(exists(
            select(a.c("id")).where_(a.c("user_id").eq(adults.c("id"))),
        ))
        .cte("with_mail");
    v.push(
        check(
            "cte chain",
            select(with_mail.c("name")).order_by(with_mail.c("name")),
        )
        .rows(&["ann", "bob"]),
    );
    v.push(
        check(
            "cte in subquery",
            select(u.c("name")).where_(u.c("id").not_in_subquery(select(adults.c("id")))),
        )
        .rows(&["cy_%"]),
    );
    let anchor = select(literal(1).label("k")).cte_recursive("counter");
    let counter = anchor.union_all(select(anchor.c("k") + 1).where_(anchor.c("k").lt(5)));
    v.push(check("recursive counter", select(func::sum(counter.c("k")))).rows(&["15"]));
    let root = select((n.c("id"), n.c("parent")))
        .where_(n.c("id").eq(1))
        .cte("tree")
        .recursive()
        .with_columns(["id", "parent"]);
    let tree = root
        .union_all(select((n.c("id"), n.c("parent"))).join(&root, n.c("parent").eq(root.c("id"))));
    v.push(
        check(
            "recursive tree",
            select(tree.c("id")).order_by(tree.c("id")),
        )
        .rows(&["1", "2", "3", "4"]),
    );

    let s1 = || select(u.c("id")).where_(u.c("id").le(2));
    let s2 = || select(u.c("id")).where_(u.c("id").ge(2));
    v.extend([
        check("union", s1().union(s2()).order_by(u.c("id"))).rows(&["1", "2", "3"]),
        check("union all", s1().union_all(s2()).order_by(u.c("id").desc()))
            .rows(&["3", "2", "2", "1"]),
        check("intersect", s1().intersect(s2())).rows(&["2"]),
        check("except", s1().except_(s2())).rows(&["1"]),
        check(
            "intersect all",
            s1().union_all(s1())
                .intersect_all(s1().union_all(s2()))
                .order_by(u.c("id")),
        )
        .rows(&["1", "2", "2"])
        .refused_by(&["sqlite"]),
        check(
            "except all",
            s1().union_all(s1()).except_all(s1()).order_by(u.c("id")),
        )
        .rows(&["1", "2"])
        .refused_by(&["sqlite"]),
        check(
            "grouped member",
            select(u.c("id"))
                .order_by(u.c("id").desc())
                .limit(1)
                .union(s1())
                .order_by(u.c("id")),
        )
        .rows(&["1", "2", "3"]),
        check(
            "mixed operators",
            s1().union(s2()).except_(s1()).order_by(u.c("id")),
        )
        .rows(&["3"]),
        check(
            "right grouped",
            s1().except_(s2().union(select(u.c("id")).where_(u.c("id").eq(1)))),
        )
        .rows(&[]),
        check(
            "compound limit",
            s1().union_all(s2()).order_by(u.c("id")).limit(2).offset(1),
        )
        .rows(&["2", "2"]),
        check(
            "compound subquery",
            select(func::count(s1().union(s2()).subquery("x").c("id"))),
        )
        .rows(&["3"]),
        check(
            "compound scalar",
            select(
                s1().union(s2())
                    .order_by(u.c("id").desc())
                    .limit(1)
                    .scalar_subquery(),
            ),
        )
        .rows(&["3"]),
        check(
            "insert returning",
            insert(&c)
                .values([
                    ("name", literal("hits")),
                    ("n", literal(1)),
                    ("locked", literal(false)),
                ])
                .returning(c.c("n")),
        )
        .rows(&["1"]),
        check(
            "upsert update",
            insert(&c)
                .values([
                    ("name", literal("hits")),
                    ("n", literal(5)),
                    ("locked", literal(false)),
                ])
                .on_conflict_do_update(["name"], [("n", c.c("n") + excluded("n"))]),
        ),
        check(
            "upsert result",
            select(c.c("n")).where_(c.c("name").eq("hits")),
        )
        .rows(&["6"]),
        check(
            "upsert nothing",
            insert(&c)
                .values([("name", literal("hits")), ("n", literal(100))])
                .on_conflict_do_nothing(["name"]),
        ),
        check(
            "upsert nothing untargeted",
            insert(&c)
                .values([("name", literal("hits")), ("n", literal(100))])
                .on_conflict_do_nothing(Vec::<&str>::new()),
        ),
        check("upsert nothing result", select(c.c("n")).from(&c)).rows(&["6"]),
        check(
            "upsert where returning",
            insert(&c)
                .values([("name", literal("hits")), ("n", literal(1))])
                .on_conflict_do_update(["name"], [("n", excluded("n"))])
                .on_conflict_where(c.c("locked").eq(false))
                .returning(c.c("n")),
        )
        .rows(&["1"])
        .refused_by(&["mariadb"]),
        check(
            "upsert from select",
            insert(&c)
                .from_select(
                    ["name", "n"],
                    select((u.c("name"), u.c("age"))).where_(u.c("id").eq(1)),
                )
                .on_conflict_do_nothing(["name"]),
        ),
        check(
            "upsert from select without where",
            insert(&c)
                .from_select(["name", "n"], select((u.c("name"), u.c("age"))))
                .on_conflict_do_nothing(["name"]),
        ),
        check(
            "upsert update from select",
            insert(&c)
                .from_select(
                    ["name", "n"],
                    select((u.c("name"), u.c("age"))).where_(u.c("id").eq(2)),
                )
                .on_conflict_do_update(["name"], [("n", c.c("n") + excluded("n"))]),
        ),
        check(
            "upserted from select",
            select(c.c("name")).order_by(c.c("name")),
        )
        .rows(&["ann", "bob", "cy_%", "hits"]),
        check(
            "insert from select with cte",
            insert(&a).from_select(
                ["id", "user_id", "email"],
                select((adults.c("id") + 100, adults.c("id"), adults.c("name"))),
            ),
        ),
        check("inserted", select(func::count_star()).from(&a)).rows(&["5"]),
        check(
            "upserted twice",
            select(c.c("n")).where_(c.c("name").eq("bob")),
        )
        .rows(&["84"]),
        check(
            "update correlated",
            update(&u)
                .set(
                    "visits",
                    select(func::count_star())
                        .where_(a.c("user_id").eq(u.c("id")))
                        .scalar_subquery(),
                )
                .where_(exists(
                    select(a.c("id")).where_(a.c("user_id").eq(u.c("id"))),
                )),
        ),
        check("updated", select(u.c("visits")).order_by(by_id())).rows(&["3", "2", "0"]),
        check(
            "update returning",
            update(&u)
                .set("age", u.c("age") + 1)
                .where_(u.c("id").eq(3))
                .returning(u.c("age")),
        )
        .rows(&["8"])
        .refused_by(&["mariadb"]),
        check(
            "delete returning",
            delete(&a).where_(a.c("id").ge(100)).returning(a.c("email")),
        )
        .rows(&["ann", "bob"]),
        check(
            "text",
            text("SELECT name FROM users WHERE id = :id").bind("id", 2),
        )
        .rows(&["bob"]),
    ]);
    v.extend(newer_constructs(&u, &a));
    v
}

/// Window frames, FETCH FIRST, numeric casts and UPDATE / DELETE naming other tables. The
/// data here: users 1, 2, 3 (ann, bob, cy_%) and addresses 10, 11 (user 1) and 12 (user 2).
fn newer_constructs(u: &TableClause, a: &TableClause) -> Vec<Check> {
    let by_id = || u.c("id").asc();
    let window = |frame: Over| select(func::sum(u.c("id")).over(frame)).order_by(by_id());
    let ordered = || Over::new().order_by(u.c("id"));
    vec![
        check(
            "frame rows",
            window(ordered().rows(FrameBound::Preceding(1), FrameBound::CurrentRow)),
        )
        .rows(&["1", "3", "5"]),
        check(
            "frame range",
            window(ordered().range(FrameBound::Preceding(1), FrameBound::Following(1))),
        )
        .rows(&["3", "6", "5"]),
        check(
            "frame to the end",
            window(ordered().rows(FrameBound::CurrentRow, FrameBound::UnboundedFollowing)),
        )
        .rows(&["6", "5", "3"]),
        check(
            "frame from the start",
            select(
                func::count_star()
                    .over(ordered().rows(FrameBound::UnboundedPreceding, FrameBound::Following(1))),
            )
            .from(u)
            .order_by(by_id()),
        )
        .rows(&["2", "3", "3"]),
        check("fetch", select(u.c("name")).order_by(by_id()).fetch(2)).rows(&["ann", "bob"]),
        check(
            "fetch offset",
            select(u.c("name")).order_by(by_id()).offset(1).fetch(1),
        )
        .rows(&["bob"]),
        check(
            "fetch with ties",
            select(a.c("id"))
                .order_by(a.c("user_id"))
                .fetch_with_ties(1),
        )
        .rows(&["10", "11"])
        .refused_by(&["sqlite", "mariadb"]),
        check(
            "cast numeric scale",
            select(literal(2.345678).cast(SqlType::numeric(10, 2))),
        )
        .rows(&["2.35"]),
        check(
            "cast numeric text",
            select(literal("3.14159").cast(SqlType::numeric(10, 2))),
        )
        .rows(&["3.14"]),
        check(
            "cast bare numeric keeps the fraction",
            select(literal(1.25).cast(SqlType::Numeric {
                precision: None,
                scale: None,
            })),
        )
        .rows(&["1.25"]),
        check(
            "update from",
            update(u)
                .set("visits", a.c("id"))
                .where_(a.c("user_id").eq(u.c("id")))
                .where_(a.c("email").eq("bob@x.org")),
        ),
        check("updated from", select(u.c("visits")).order_by(by_id())).rows(&["3", "12", "0"]),
        check(
            "delete using",
            delete(a)
                .where_(a.c("user_id").eq(u.c("id")))
                .where_(u.c("name").eq("bob")),
        ),
        check("deleted using", select(a.c("id")).order_by(a.c("id"))).rows(&["10", "11"]),
        check(
            "delete using returning",
            delete(a)
                .where_(a.c("user_id").eq(u.c("id")))
                .where_(u.c("name").eq("ann"))
                .where_(a.c("id").eq(11))
                .returning(a.c("email")),
        )
        .rows(&["ann@y.org"])
        .refused_by(&["mariadb"]),
    ]
}

/// A value as the expectations write it: NULL, or its plain text.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::Text(s) => s.clone(),
        Value::Decimal(d) => d.normalize().to_string(),
        other => other.to_string(),
    }
}

fn first_column(conn: &mut Connection, sql: &str, params: &[Value]) -> Result<Vec<String>, Error> {
    let result = conn.exec_driver_sql(sql, params)?;
    Ok(result
        .rows()
        .iter()
        .map(|r| cell(r.get_value(0).unwrap()))
        .collect())
}

/// Which database this is, as the cases name them: `mariadb` and `mysql` differ in what
/// they support.
fn label(conn: &Connection) -> &'static str {
    let d = conn.dialect();
    match d.name() {
        "mysql" if d.capabilities().insert_returning => "mariadb",
        other => other,
    }
}

fn run_cases(db: &TestDb) -> Vec<String> {
    create_tables(db);
    let mut conn = db.engine().connect().unwrap();
    let label = label(&conn);
    let mut failures = Vec::new();
    for case in cases() {
        let refused = case.refused_by.contains(&label);
        let compiled = match (case.stmt.compile(conn.dialect()), refused) {
            (Ok(c), false) => c,
            (Err(Error::Compile(_)), true) => continue,
            (other, true) => {
                failures.push(format!(
                    "{}: expected a CompileError, got {other:?}",
                    case.name
                ));
                continue;
            }
            (Err(e), false) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let mut rows = match first_column(&mut conn, &compiled.sql, &compiled.params) {
            Ok(rows) => rows,
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        // Rows of an unordered DELETE ... RETURNING come in any order.
        if case.name == "delete returning" {
            rows.sort();
        }
        if let Some(expect) = &case.expect {
            if rows != *expect {
                failures.push(format!(
                    "{}: expected {expect:?}, got {rows:?}\n    {}",
                    case.name, compiled.sql
                ));
            }
        }
        if let Statement::Query(_) = &case.stmt {
            let literal = case.stmt.to_sql_string(conn.dialect()).unwrap();
            match first_column(&mut conn, &literal, &[]) {
                Ok(shown) if shown == rows => {}
                Ok(shown) => failures.push(format!(
                    "{}: the display form read {shown:?}, the bound form {rows:?}\n    {literal}",
                    case.name
                )),
                Err(e) => failures.push(format!("{} (display form): {e}", case.name)),
            }
        }
    }
    failures
}

fn verify(db: Option<TestDb>) {
    let Some(db) = db else { return };
    let failures = run_cases(&db);
    assert!(
        failures.is_empty(),
        "{} rejected or misread {} statements:\n{}",
        db.name(),
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sqlite_accepts_the_compiled_sql() {
    verify(Some(retort_testkit::sqlite()));
}

#[test]
fn postgres_accepts_the_compiled_sql() {
    verify(retort_testkit::postgresql());
}

#[test]
fn mariadb_accepts_the_compiled_sql() {
    verify(retort_testkit::mysql());
}
