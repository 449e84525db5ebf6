//! The query API on SQLite, PostgreSQL and MariaDB: `session.query::<User>()` with its
//! filters and terminal methods, joins, column and aggregate queries through
//! `session.execute`, bulk UPDATE and DELETE, and the 2.0 forms (`User::select()` through
//! `session.scalars`).

mod common;

use common::*;
use retort::prelude::*;
use retort_testkit::{for_each_backend, TestDb};

/// Users 1..=5: Alice 30, Bob 40, Carol 30, Dan 25, Eve (no age); addresses for Alice (two)
/// and Bob (one).
fn seed(db: &TestDb) -> Checker {
    create_tables(
        db,
        &[Registry::register::<User>, Registry::register::<Address>],
    );
    let checker = Checker::new(db);
    seed_users(
        db,
        &checker,
        &[("Alice", 30), ("Bob", 40), ("Carol", 30), ("Dan", 25)],
    );
    checker.exec(
        db,
        "INSERT INTO users (name, age) VALUES ('Eve', NULL)",
        &[],
    );
    for (email, user) in [("a1@x.org", 1), ("a2@y.org", 1), ("b@x.org", 2)] {
        checker.exec(
            db,
            "INSERT INTO addresses (email, user_id) VALUES (?, ?)",
            &[txt(email), Value::Int(user)],
        );
    }
    checker
}

fn names(objs: &[Obj<User>]) -> Vec<String> {
    objs.iter()
        .map(|u| u.read().unwrap().name.clone().unwrap_or_default())
        .collect()
}

const USER_COLUMNS: &str = r#""users"."id", "users"."name", "users"."age""#;

#[test]
fn filter_order_by_limit_offset_distinct() {
    for_each_backend(|db| {
        seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());

        let adults = session
            .query::<User>()
            .filter(User::age.ge(30))
            .order_by(User::age.desc())
            .order_by(User::name)
            .all()
            .unwrap();
        assert_eq!(names(&adults), ["Bob", "Alice", "Carol"]);
        assert_eq!(
            capture.take_with_params()[1],
            (
                dialect_sql(
                    db,
                    &format!(
                        r#"SELECT {USER_COLUMNS} FROM "users" WHERE "users"."age" >= ? ORDER BY "users"."age" DESC, "users"."name""#
                    )
                ),
                vec![Value::Int(30)]
            )
        );

        let page = session
            .query::<User>()
            .filter(User::age.is_not_null())
            .order_by(User::id)
            .limit(2)
            .offset(1)
            .distinct()
            .all()
            .unwrap();
        assert_eq!(names(&page), ["Bob", "Carol"]);
        let (limit, offset) = if db.name() == "sqlite" {
            ("2", "1") // SQLite takes them inline
        } else {
            ("?", "?")
        };
        assert_eq!(
            capture.take(),
            vec![dialect_sql(
                db,
                &format!(
                    r#"SELECT DISTINCT {USER_COLUMNS} FROM "users" WHERE "users"."age" IS NOT NULL ORDER BY "users"."id" LIMIT {limit} OFFSET {offset}"#
                )
            )]
        );

        // OFFSET alone, and several filters ANDed.
        let rest = session
            .query::<User>()
            .order_by(User::id)
            .offset(3)
            .all()
            .unwrap();
        assert_eq!(names(&rest), ["Dan", "Eve"]);
        let both = session
            .query::<User>()
            .filter(User::age.eq(30))
            .filter(User::name.ne("Alice"))
            .filter_by("id", 3)
            .all()
            .unwrap();
        assert_eq!(names(&both), ["Carol"]);
        assert_eq!(
            capture.take()[1],
            dialect_sql(
                db,
                &format!(
                    r#"SELECT {USER_COLUMNS} FROM "users" WHERE "users"."age" = ? AND "users"."name" != ? AND "users"."id" = ?"#
                )
            )
        );

        // DISTINCT collapses rows: ages 30, 30, 40, 25 and NULL are four distinct rows of one
        // column, seen through a Core select in the session.
        let ages = session
            .execute(&select(User::age).distinct())
            .unwrap()
            .scalars::<Option<i32>>()
            .unwrap();
        assert_eq!(ages.len(), 4);
    });
}

#[test]
fn typed_operators() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let q = |e: Expr| {
            names(
                &session
                    .query::<User>()
                    .filter(e)
                    .order_by(User::id)
                    .all()
                    .unwrap(),
            )
        };
        // (Lower case only: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.)
        assert_eq!(q(User::name.like("%o%")), ["Bob", "Carol"]);
        assert_eq!(q(User::name.like("_a%")), ["Carol", "Dan"]);
        assert_eq!(q(User::name.ilike("a%")), ["Alice"]);
        assert_eq!(q(User::name.startswith("C")), ["Carol"]);
        assert_eq!(q(User::name.endswith("e")), ["Alice", "Eve"]);
        assert_eq!(q(User::name.contains("o")), ["Bob", "Carol"]);
        assert_eq!(q(User::age.in_([25, 40])), ["Bob", "Dan"]);
        assert_eq!(q(User::age.not_in([30])), ["Bob", "Dan"]);
        assert!(q(User::age.in_(Vec::<i32>::new())).is_empty());
        assert_eq!(q(User::age.between(26, 35)), ["Alice", "Carol"]);
        assert_eq!(q(User::age.is_null()), ["Eve"]);
        assert_eq!(q(User::age.lt(30)), ["Dan"]);
        assert_eq!(q(User::age.le(30)), ["Alice", "Carol", "Dan"]);
        assert_eq!(q(User::age.gt(30)), ["Bob"]);
        assert_eq!(q(User::id.eq(Some(2))), ["Bob"]);
        assert_eq!(q(User::age.eq(None::<i32>)), ["Eve"], "= NULL is IS NULL");
        assert_eq!(
            q(or_((User::name.eq("Bob"), User::age.lt(30)))),
            ["Bob", "Dan"]
        );
        assert_eq!(q(not_(User::age.ge(30))), ["Dan"]);
    });
}

#[test]
fn first_one_one_or_none() {
    for_each_backend(|db| {
        seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());

        let first = session
            .query::<User>()
            .filter(User::age.is_not_null())
            .order_by(User::age.desc())
            .first()
            .unwrap()
            .unwrap();
        assert_eq!(first.read().unwrap().name.as_deref(), Some("Bob"));
        let limit_1 = if db.name() == "sqlite" { "1" } else { "?" };
        assert!(
            capture.take()[1].ends_with(&dialect_sql(db, &format!(" LIMIT {limit_1}"))),
            "first() asks for one row"
        );
        assert!(session
            .query::<User>()
            .filter(User::age.gt(100))
            .first()
            .unwrap()
            .is_none());

        let one = session
            .query::<User>()
            .filter_by("name", "Dan")
            .one()
            .unwrap();
        assert_eq!(one.read().unwrap().age, Some(25));
        assert!(matches!(
            session.query::<User>().filter_by("name", "Nobody").one(),
            Err(Error::NoResultFound)
        ));
        assert!(matches!(
            session.query::<User>().filter(User::age.eq(30)).one(),
            Err(Error::MultipleResultsFound)
        ));
        assert!(session
            .query::<User>()
            .filter_by("name", "Nobody")
            .one_or_none()
            .unwrap()
            .is_none());
        assert!(session
            .query::<User>()
            .filter_by("name", "Eve")
            .one_or_none()
            .unwrap()
            .unwrap()
            .ptr_eq(&session.get::<User>(5).unwrap().unwrap()));
        assert!(matches!(
            session
                .query::<User>()
                .filter(User::age.eq(30))
                .one_or_none(),
            Err(Error::MultipleResultsFound)
        ));
        let got = session.query::<User>().get(3).unwrap().unwrap();
        assert_eq!(got.read().unwrap().name.as_deref(), Some("Carol"));
    });
}

#[test]
fn count_and_exists() {
    for_each_backend(|db| {
        seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        assert_eq!(session.query::<User>().count().unwrap(), 5);
        assert_eq!(
            session
                .query::<User>()
                .filter(User::age.eq(30))
                .count()
                .unwrap(),
            2
        );
        let statements = capture.take();
        assert_eq!(
            statements[1..],
            [
                dialect_sql(db, r#"SELECT count(*) FROM "users""#),
                dialect_sql(
                    db,
                    r#"SELECT count(*) FROM "users" WHERE "users"."age" = ?"#
                ),
            ]
        );
        // With LIMIT, OFFSET or DISTINCT the count is of the query's rows.
        assert_eq!(
            session.query::<User>().limit(2).count().unwrap(),
            2,
            "count of a limited query"
        );
        assert_eq!(session.query::<User>().offset(4).count().unwrap(), 1);
        assert!(session
            .query::<User>()
            .filter_by("name", "Alice")
            .exists()
            .unwrap());
        assert!(!session
            .query::<User>()
            .filter_by("name", "Nobody")
            .exists()
            .unwrap());
        // Counting a join counts joined rows.
        assert_eq!(
            session
                .query::<User>()
                .join_on::<Address>(Address::user_id.eq(User::id))
                .count()
                .unwrap(),
            3
        );
        assert_eq!(
            session
                .query::<User>()
                .join_on::<Address>(Address::user_id.eq(User::id))
                .distinct()
                .count()
                .unwrap(),
            2
        );
    });
}

#[test]
fn filter_by_an_unknown_name_is_a_clear_error() {
    for_each_backend(|db| {
        seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let err = session
            .query::<User>()
            .filter_by("nmae", "Alice")
            .all()
            .unwrap_err();
        match &err {
            Error::Argument(message) => {
                assert!(message.contains("User"), "{message}");
                assert!(message.contains("'nmae'"), "{message}");
                assert!(message.contains("name"), "lists the attributes: {message}");
            }
            other => panic!("expected ArgumentError, got {other}"),
        }
        for result in [
            session
                .query::<User>()
                .filter_by("nmae", 1)
                .count()
                .map(drop),
            session
                .query::<User>()
                .filter_by("nmae", 1)
                .first()
                .map(drop),
            session
                .query::<User>()
                .filter_by("nmae", 1)
                .exists()
                .map(drop),
            session
                .query::<User>()
                .filter_by("nmae", 1)
                .update(vec![("age", Value::Int(1))])
                .map(drop),
            session
                .query::<User>()
                .filter_by("nmae", 1)
                .delete()
                .map(drop),
            session
                .scalars(&User::select().filter_by("nmae", 1))
                .map(drop),
        ] {
            assert!(
                matches!(&result, Err(Error::Argument(m)) if m.contains("User") && m.contains("nmae")),
                "{result:?}"
            );
        }
        let err = session
            .query::<User>()
            .update(vec![("agee", Value::Int(1))])
            .unwrap_err();
        assert!(
            matches!(&err, Error::Argument(m) if m.contains("User") && m.contains("'agee'")),
            "{err}"
        );
        assert!(capture.take().is_empty(), "nothing was sent");
        // Field names and column names are both accepted.
        assert_eq!(
            session
                .query::<Address>()
                .filter_by("user_id", 1)
                .count()
                .unwrap(),
            2
        );
        assert_eq!(
            checker_count(db, "SELECT count(*) FROM users"),
            5,
            "no bulk statement ran"
        );
    });
}

fn checker_count(db: &TestDb, sql: &str) -> i64 {
    Checker::new(db).count(db, sql)
}

#[test]
fn join_with_an_explicit_condition() {
    for_each_backend(|db| {
        seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let with_x = session
            .query::<User>()
            .join_on::<Address>(Address::user_id.eq(User::id))
            .filter(Address::email.like("%@x.org"))
            .order_by(User::id)
            .all()
            .unwrap();
        assert_eq!(names(&with_x), ["Alice", "Bob"]);
        assert_eq!(
            capture.take()[1],
            dialect_sql(
                db,
                &format!(
                    r#"SELECT {USER_COLUMNS} FROM "users" JOIN "addresses" ON "addresses"."user_id" = "users"."id" WHERE "addresses"."email" LIKE ? ORDER BY "users"."id""#
                )
            )
        );
        // Joined rows are the same objects as anywhere else in the session.
        assert!(with_x[0].ptr_eq(&session.get::<User>(1).unwrap().unwrap()));

        let distinct = session
            .query::<User>()
            .join_on::<Address>(Address::user_id.eq(User::id))
            .distinct()
            .order_by(User::id)
            .all()
            .unwrap();
        assert_eq!(names(&distinct), ["Alice", "Bob"]);

        // Without DISTINCT the join sends Alice's row twice (two addresses); the query still
        // returns her object once, as SQLAlchemy's Query does for a joined entity.
        capture.clear();
        let joined = session
            .query::<User>()
            .join_on::<Address>(Address::user_id.eq(User::id))
            .order_by(User::id)
            .all()
            .unwrap();
        assert_eq!(names(&joined), ["Alice", "Bob"]);
        assert!(!capture.take().iter().any(|sql| sql.contains("DISTINCT")));

        let without = session
            .query::<User>()
            .outerjoin_on::<Address>(Address::user_id.eq(User::id))
            .filter(Address::id.is_null())
            .order_by(User::id)
            .all()
            .unwrap();
        assert_eq!(names(&without), ["Carol", "Dan", "Eve"]);

        // The other direction, with the 2.0 form.
        let bobs = session
            .scalars(
                &Address::select()
                    .join_on::<User>(User::id.eq(Address::user_id))
                    .where_(User::name.eq("Bob")),
            )
            .unwrap();
        assert_eq!(bobs.len(), 1);
        assert_eq!(bobs[0].read().unwrap().email.as_deref(), Some("b@x.org"));
    });
}

#[test]
fn column_and_aggregate_queries_return_tuples() {
    for_each_backend(|db| {
        seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let stmt = select((User::age, func::count(User::id), func::min(User::name)))
            .where_(User::age.is_not_null())
            .group_by(User::age)
            .having(func::count(User::id).ge(1))
            .order_by(User::age);
        let rows: Vec<(i32, i64, String)> = session
            .execute(&stmt)
            .unwrap()
            .into_rows()
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
            .collect();
        assert_eq!(
            rows,
            [
                (25, 1, "Dan".to_string()),
                (30, 2, "Alice".to_string()),
                (40, 1, "Bob".to_string())
            ]
        );
        assert_eq!(
            capture.take()[1],
            dialect_sql(
                db,
                r#"SELECT "users"."age", count("users"."id"), min("users"."name") FROM "users" WHERE "users"."age" IS NOT NULL GROUP BY "users"."age" HAVING count("users"."id") >= ? ORDER BY "users"."age""#
            )
        );

        let shared: Vec<(i32, i64)> = session
            .execute(
                &select((User::age, func::count(User::id)))
                    .group_by(User::age)
                    .having(func::count(User::id).gt(1)),
            )
            .unwrap()
            .into_rows()
            .into_iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
        assert_eq!(shared, [(30, 2)]);

        // Per-user address counts through an outer join, by column name.
        let per_user: Vec<(String, i64)> = session
            .execute(
                &select((
                    User::name.expr().label("who"),
                    func::count(Address::id).label("n"),
                ))
                .select_from(table("users"))
                .outerjoin(table("addresses"), Address::user_id.eq(User::id))
                .group_by(User::name)
                .order_by(User::name),
            )
            .unwrap()
            .into_rows()
            .into_iter()
            .map(|r| (r.get("who").unwrap(), r.get("n").unwrap()))
            .collect();
        assert_eq!(
            per_user,
            [
                ("Alice".to_string(), 2),
                ("Bob".to_string(), 1),
                ("Carol".to_string(), 0),
                ("Dan".to_string(), 0),
                ("Eve".to_string(), 0)
            ]
        );
    });
}

#[test]
fn scalar_functions() {
    for_each_backend(|db| {
        seed(db);
        let session = Session::new(db.engine());
        let scalar = |e: Expr| -> Value {
            session
                .execute(&select(e))
                .unwrap()
                .one()
                .unwrap()
                .into_values()
                .remove(0)
        };
        assert_eq!(scalar(func::count(User::id)), Value::Int(5));
        let all: i64 = session
            .execute(&select(func::count_star()).select_from(table("users")))
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(all, 5);
        assert_eq!(
            scalar(func::count(User::age)),
            Value::Int(4),
            "NULLs not counted"
        );
        assert_eq!(scalar(func::count_distinct(User::age)), Value::Int(3));
        assert_eq!(scalar(func::max(User::age)), Value::Int(40));
        assert_eq!(scalar(func::min(User::name)), txt("Alice"));
        let n: i64 = session
            .execute(&select(func::count(User::id)).where_(User::age.eq(30)))
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 2);
        let upper: Vec<String> = session
            .execute(
                &select(func::upper(User::name))
                    .where_(User::id.le(2))
                    .order_by(User::id),
            )
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(upper, ["ALICE", "BOB"]);
        // The query sees the session's pending rows (autoflush).
        session.add(User::named("Zed", 99));
        assert_eq!(scalar(func::max(User::age)), Value::Int(99));
    });
}

#[test]
fn bulk_update_by_query() {
    for_each_backend(|db| {
        let checker = seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        let bob = session.get::<User>(2).unwrap().unwrap();
        capture.clear();

        let n = session
            .query::<User>()
            .filter(User::age.eq(30))
            .update(vec![("age", Value::Int(31))])
            .unwrap();
        assert_eq!(n, 2);
        // Objects of the table are loaded, so the keys of the rows to change are fetched
        // first (SQLAlchemy's synchronize_session="fetch").
        assert_eq!(
            capture.take_with_params(),
            vec![
                (
                    dialect_sql(
                        db,
                        r#"SELECT DISTINCT "users"."id" FROM "users" WHERE "users"."age" = ?"#
                    ),
                    vec![Value::Int(30)]
                ),
                (
                    dialect_sql(
                        db,
                        r#"UPDATE "users" SET "age" = ? WHERE "users"."age" = ?"#
                    ),
                    vec![Value::Int(31), Value::Int(30)]
                )
            ]
        );
        // Objects already loaded see the new values.
        assert_eq!(alice.read().unwrap().age, Some(31));
        assert_eq!(bob.read().unwrap().age, Some(40));
        // Without a filter every row is updated; "name" is found by field or column name.
        assert_eq!(
            session
                .query::<User>()
                .update(vec![("name", txt("same"))])
                .unwrap(),
            5
        );
        assert_eq!(alice.read().unwrap().name.as_deref(), Some("same"));
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users WHERE id IN (1, 3)", &[]),
            vec![vec![txt("same"), Value::Int(31)]; 2]
        );
    });
}

#[test]
fn bulk_delete_by_query() {
    for_each_backend(|db| {
        let checker = seed(db);
        checker.exec(db, "DELETE FROM addresses", &[]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let eve = session.get::<User>(5).unwrap().unwrap();
        assert_eq!(eve.read().unwrap().name.as_deref(), Some("Eve"));
        capture.clear();
        let n = session
            .query::<User>()
            .filter(or_((User::age.is_null(), User::age.lt(30))))
            .delete()
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            capture.take(),
            vec![
                dialect_sql(
                    db,
                    r#"SELECT DISTINCT "users"."id" FROM "users" WHERE "users"."age" IS NULL OR "users"."age" < ?"#
                ),
                dialect_sql(
                    db,
                    r#"DELETE FROM "users" WHERE "users"."age" IS NULL OR "users"."age" < ?"#
                )
            ]
        );
        assert_eq!(eve.state(), ObjectState::Deleted);
        assert_eq!(session.query::<User>().count().unwrap(), 3);
        // The session does not hand out a deleted row.
        assert!(session.get::<User>(5).unwrap().is_none());
        assert!(session.get::<User>(4).unwrap().is_none());
        session.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 3);
    });
}

#[test]
fn select_in_the_2_0_style() {
    for_each_backend(|db| {
        seed(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let stmt = User::select()
            .where_(User::age.ge(30))
            .order_by(User::age.desc())
            .limit(2);
        let users = session.scalars(&stmt).unwrap();
        assert_eq!(names(&users), ["Bob", "Alice"]);
        let limit = if db.name() == "sqlite" { "2" } else { "?" };
        assert_eq!(
            capture.take()[1],
            dialect_sql(
                db,
                &format!(
                    r#"SELECT {USER_COLUMNS} FROM "users" WHERE "users"."age" >= ? ORDER BY "users"."age" DESC LIMIT {limit}"#
                )
            )
        );
        // The same objects as the legacy query's.
        let again = session
            .query::<User>()
            .filter_by("name", "Bob")
            .one()
            .unwrap();
        assert!(again.ptr_eq(&users[0]));
        let filtered = session
            .scalars(
                &User::select()
                    .filter_by("name", "Carol")
                    .filter(User::age.eq(30))
                    .offset(0)
                    .distinct(),
            )
            .unwrap();
        assert_eq!(names(&filtered), ["Carol"]);

        // session.execute with the statement returns plain rows.
        let rows = session
            .execute(&User::select().where_(User::id.eq(2)).statement())
            .unwrap()
            .into_rows();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<String>("name").unwrap(), "Bob");
        assert_eq!(rows[0].get::<i64>(0).unwrap(), 2);
    });
}
