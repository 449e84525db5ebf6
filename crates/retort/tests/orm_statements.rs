//! The exact statements each Session step sends — their number, order and text — on SQLite,
//! PostgreSQL and MariaDB, as SQLAlchemy's own ORM tests pin them.

mod common;

use common::*;
use retort::prelude::*;
use retort_testkit::for_each_backend;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `" RETURNING ..."` where the database has INSERT ... RETURNING, else nothing.
fn returning(db: &retort_testkit::TestDb, columns: &str) -> String {
    if insert_returning(db) {
        format!(" RETURNING {columns}")
    } else {
        String::new()
    }
}

#[test]
fn two_gets_of_one_id_emit_one_select() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());

        let first = session.get::<User>(1).unwrap().unwrap();
        let second = session.get::<User>(1i64).unwrap().unwrap();
        assert!(first.ptr_eq(&second), "one row, one object");
        assert_eq!(
            capture.take_with_params(),
            vec![
                ("BEGIN".to_string(), vec![]),
                (dialect_sql(db, SELECT_USER_BY_ID), vec![Value::Int(1)]),
            ]
        );
        assert_eq!(second.read().unwrap().name.as_deref(), Some("Alice"));
        assert_eq!(
            session
                .query::<User>()
                .get(1)
                .unwrap()
                .unwrap()
                .read()
                .unwrap()
                .age,
            Some(30)
        );
        assert!(
            capture.take().is_empty(),
            "reads from the identity map send nothing"
        );

        // A key that does not exist is looked up every time (it is not in the map).
        assert!(session.get::<User>(2).unwrap().is_none());
        assert_eq!(capture.take(), vec![dialect_sql(db, SELECT_USER_BY_ID)]);
    });
}

#[test]
fn a_commit_with_nothing_changed_emits_no_update() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());

        // A session that did nothing commits nothing: not even BEGIN.
        let idle = Session::new(db.engine());
        idle.commit().unwrap();
        assert!(capture.take().is_empty());

        let session = Session::new(db.engine());
        let user = session.get::<User>(1).unwrap().unwrap();
        capture.clear();
        {
            // Writing the same value is not a change.
            let mut w = user.write().unwrap();
            w.age = Some(30);
            w.name = Some("Alice".into());
        }
        session.commit().unwrap();
        assert_eq!(capture.take(), strings(&["COMMIT"]));

        // A change undone before the flush is no change either.
        let user = session.get::<User>(1).unwrap().unwrap(); // reloads (expired at commit)
        capture.clear();
        user.write().unwrap().age = Some(99);
        user.write().unwrap().age = Some(30);
        session.flush().unwrap();
        session.commit().unwrap();
        assert_eq!(capture.take(), strings(&["COMMIT"]));
    });
}

#[test]
fn changing_one_column_emits_one_update_with_one_set() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30), ("Bob", 40)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        let _bob = session.get::<User>(2).unwrap().unwrap();
        capture.clear();

        alice.write().unwrap().age = Some(31);
        session.commit().unwrap();
        assert_eq!(
            capture.take_with_params(),
            vec![
                (
                    dialect_sql(db, r#"UPDATE "users" SET "age" = ? WHERE "users"."id" = ?"#),
                    vec![Value::Int(31), Value::Int(1)]
                ),
                ("COMMIT".to_string(), vec![]),
            ]
        );
        assert_eq!(
            checker.rows(db, "SELECT id, name, age FROM users ORDER BY id", &[]),
            vec![
                vec![Value::Int(1), txt("Alice"), Value::Int(31)],
                vec![Value::Int(2), txt("Bob"), Value::Int(40)],
            ]
        );

        // Two columns of one object: one UPDATE, both in its SET, in column order.
        {
            let mut w = alice.write().unwrap(); // reloads first: expired at commit
            w.age = Some(32);
            w.name = Some("Alicia".into());
        }
        capture.clear();
        session.flush().unwrap();
        assert_eq!(
            capture.take_with_params(),
            vec![(
                dialect_sql(
                    db,
                    r#"UPDATE "users" SET "name" = ?, "age" = ? WHERE "users"."id" = ?"#
                ),
                vec![txt("Alicia"), Value::Int(32), Value::Int(1)]
            )]
        );
        // Flushed changes are not sent again.
        session.flush().unwrap();
        session.commit().unwrap();
        assert_eq!(capture.take(), strings(&["COMMIT"]));
    });
}

/// `" RETURNING <columns>"` for an INSERT whose only generated column is its integer key,
/// where such rows go in multi-row INSERTs; nothing where they go one by one.
fn key_returning(db: &retort_testkit::TestDb, columns: &str) -> String {
    if inserts_one_by_one(db) {
        String::new()
    } else {
        returning(db, columns)
    }
}

/// The INSERT of `rows` users sending `(name, age)`, as this backend words it.
fn users_insert(db: &retort_testkit::TestDb, rows: usize) -> String {
    let values = vec!["(?, ?)"; rows].join(", ");
    dialect_sql(
        db,
        &format!(
            r#"INSERT INTO "users" ("name", "age") VALUES {values}{}"#,
            key_returning(db, r#""id""#)
        ),
    )
}

#[test]
fn adding_a_thousand_users_emits_the_batched_inserts_and_no_more() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let capture = Capture::install(db.engine());
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let users = session.add_all((0..1000).map(|i| User::named(&format!("user{i}"), i % 90)));
        assert!(users.iter().all(|u| u.read().unwrap().id.is_none()));
        session.commit().unwrap();

        let sent = capture.take_with_params();
        let statements: Vec<String> = sent.iter().map(|(s, _)| s.clone()).collect();
        if inserts_one_by_one(db) {
            // One row per execution, each reporting its generated key, each seen with its
            // own parameters.
            assert_eq!(statements.len(), 1002);
            for (i, (sql, params)) in (0..1000).zip(&sent[1..1001]) {
                assert_eq!(*sql, users_insert(db, 1));
                assert_eq!(
                    *params,
                    [txt(&format!("user{i}")), Value::Int(i64::from(i % 90))]
                );
            }
        } else {
            assert_eq!(statements.len(), 3, "BEGIN, one INSERT, COMMIT");
            assert_eq!(statements[1], users_insert(db, 1000));
        }
        assert_eq!(statements[0], "BEGIN");
        assert_eq!(statements[statements.len() - 1], "COMMIT");

        // Every object got the key of its own row.
        let rows = Checker::new(db).rows(db, "SELECT id, name FROM users ORDER BY id", &[]);
        assert_eq!(rows.len(), 1000);
        let by_id: std::collections::HashMap<i64, String> = rows
            .into_iter()
            .map(|r| match (&r[0], &r[1]) {
                (Value::Int(id), Value::Text(name)) => (*id, name.clone()),
                other => panic!("unexpected row {other:?}"),
            })
            .collect();
        for user in &users {
            let u = user.read().unwrap();
            assert_eq!(by_id.get(&u.id.unwrap()), u.name.as_ref());
        }
        assert!(
            capture.take().is_empty(),
            "reading the objects sends nothing"
        );
        assert_eq!(session.identity_count(), 1000);
    });
}

#[test]
fn large_flushes_are_chunked_into_inserts_of_at_most_a_thousand_rows() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        session.add_all((0..2500).map(|i| User::named(&format!("u{i}"), 1)));
        session.flush().unwrap();
        let inserts: Vec<(String, Vec<Value>)> = capture
            .take_with_params()
            .into_iter()
            .filter(|(s, _)| kind_of(s) == "INSERT")
            .collect();
        if inserts_one_by_one(db) {
            assert_eq!(inserts.len(), 2500);
            assert!(inserts.iter().all(|(s, _)| *s == users_insert(db, 1)));
        } else {
            let rows: Vec<usize> = inserts.iter().map(|(_, p)| p.len() / 2).collect();
            assert_eq!(rows, vec![1000, 1000, 500]);
            assert_eq!(inserts[0].0, users_insert(db, 1000));
            assert_eq!(inserts[2].0, users_insert(db, 500));
        }
        session.commit().unwrap();
        assert_eq!(
            Checker::new(db).count(db, "SELECT count(*) FROM users"),
            2500
        );
    });
}

/// 35 columns besides the key: a thousand rows would need 35,000 parameters, more than
/// SQLite's limit of 32,766.
#[derive(Model, Debug, Default)]
#[retort(table = "wide")]
struct Wide {
    #[retort(primary_key)]
    id: Option<i64>,
    c01: Option<i32>,
    c02: Option<i32>,
    c03: Option<i32>,
    c04: Option<i32>,
    c05: Option<i32>,
    c06: Option<i32>,
    c07: Option<i32>,
    c08: Option<i32>,
    c09: Option<i32>,
    c10: Option<i32>,
    c11: Option<i32>,
    c12: Option<i32>,
    c13: Option<i32>,
    c14: Option<i32>,
    c15: Option<i32>,
    c16: Option<i32>,
    c17: Option<i32>,
    c18: Option<i32>,
    c19: Option<i32>,
    c20: Option<i32>,
    c21: Option<i32>,
    c22: Option<i32>,
    c23: Option<i32>,
    c24: Option<i32>,
    c25: Option<i32>,
    c26: Option<i32>,
    c27: Option<i32>,
    c28: Option<i32>,
    c29: Option<i32>,
    c30: Option<i32>,
    c31: Option<i32>,
    c32: Option<i32>,
    c33: Option<i32>,
    c34: Option<i32>,
    c35: Option<i32>,
}

#[test]
fn inserts_stay_below_the_databases_parameter_limit() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Wide>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let objs = session.add_all((0..1000).map(|i| Wide {
            c01: Some(i),
            c35: Some(-i),
            ..Default::default()
        }));
        session.commit().unwrap();
        let max = db.engine().dialect().capabilities().max_params;
        let params = insert_param_counts(&capture);
        assert!(params.iter().all(|&n| n <= max), "{params:?} within {max}");
        assert_eq!(params.iter().sum::<usize>(), 35 * 1000);
        if inserts_one_by_one(db) {
            assert_eq!(params, vec![35; 1000]);
        } else {
            assert_eq!(params, vec![35_000]);
        }
        let checker = Checker::new(db);
        assert_eq!(
            checker.count(db, "SELECT count(*) FROM wide WHERE c01 = -c35"),
            1000
        );
        // Keys came back in the right order across the statements.
        let sql = "SELECT c01 FROM wide WHERE id = ?";
        for obj in [&objs[0], &objs[935], &objs[936], &objs[999]] {
            let (id, c01) = {
                let o = obj.read().unwrap();
                (o.id.unwrap(), o.c01.unwrap())
            };
            assert_eq!(
                checker.rows(db, sql, &[Value::Int(id)]),
                vec![vec![Value::Int(i64::from(c01))]]
            );
        }
    });
}

#[test]
fn inserts_that_send_their_keys_stay_below_the_parameter_limit_too() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Wide>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        // Nothing to read back: multi-row INSERTs everywhere, of 36 parameters a row.
        session.add_all((0..1000).map(|i| Wide {
            id: Some(i64::from(i) + 1),
            c01: Some(i),
            ..Default::default()
        }));
        session.commit().unwrap();
        let params = insert_param_counts(&capture);
        match db.name() {
            // 32,766 / 36 = 910 rows per statement.
            "sqlite" => assert_eq!(params, vec![910 * 36, 90 * 36]),
            _ => assert_eq!(params, vec![36_000]),
        }
        assert_eq!(
            Checker::new(db).count(db, "SELECT count(*) FROM wide WHERE id = c01 + 1"),
            1000
        );
    });
}

#[test]
fn autoflush_runs_before_a_query_that_would_see_a_pending_row() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let bob = session.add(User::named("Bob", 20));
        assert!(capture.take().is_empty(), "add sends nothing");

        let found = session
            .query::<User>()
            .filter(User::name.eq("Bob"))
            .all()
            .unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].ptr_eq(&bob));
        assert_eq!(
            capture.take(),
            vec![
                "BEGIN".to_string(),
                users_insert(db, 1),
                dialect_sql(
                    db,
                    r#"SELECT "users"."id", "users"."name", "users"."age" FROM "users" WHERE "users"."name" = ?"#
                ),
            ]
        );

        // A changed object is flushed before a query too.
        bob.write().unwrap().age = Some(21);
        let n = session
            .query::<User>()
            .filter(User::age.eq(21))
            .count()
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            kinds(&capture.take()),
            ["UPDATE", "SELECT"],
            "UPDATE before the count"
        );
    });
}

#[test]
fn no_autoflush_suspends_autoflush_for_a_block() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        session.add(User::named("Bob", 20));
        let inside = session.no_autoflush(|s| {
            // Nested blocks keep it suspended until the outermost ends.
            s.no_autoflush(|s| s.query::<User>().count().unwrap())
                + s.query::<User>().count().unwrap()
        });
        assert_eq!(inside, 0, "the pending row was not flushed");
        assert_eq!(kinds(&capture.take()), ["BEGIN", "SELECT", "SELECT"]);
        assert_eq!(session.query::<User>().count().unwrap(), 1);
        assert_eq!(kinds(&capture.take()), ["INSERT", "SELECT"]);
    });
}

#[test]
fn autoflush_can_be_switched_off_in_the_session_factory() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let capture = Capture::install(db.engine());
        let session = sessionmaker(db.engine()).autoflush(false).session();
        session.add(User::named("Bob", 20));
        assert_eq!(session.query::<User>().count().unwrap(), 0);
        assert!(session.query::<User>().first().unwrap().is_none());
        assert_eq!(kinds(&capture.take()), ["BEGIN", "SELECT", "SELECT"]);
        session.flush().unwrap();
        assert_eq!(kinds(&capture.take()), ["INSERT"]);
        assert_eq!(session.query::<User>().count().unwrap(), 1);
        // commit still flushes.
        session.add(User::named("Carol", 30));
        session.commit().unwrap();
        assert_eq!(kinds(&capture.take()), ["SELECT", "INSERT", "COMMIT"]);
        assert_eq!(Checker::new(db).count(db, "SELECT count(*) FROM users"), 2);
    });
}

#[test]
fn deletes_of_one_model_are_batched() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("A", 1), ("B", 2), ("C", 3), ("D", 4)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let users = session.query::<User>().order_by(User::id).all().unwrap();
        capture.clear();
        for user in &users[..3] {
            session.delete(user).unwrap();
        }
        session.commit().unwrap();
        // PostgreSQL binds a list of integer keys as one array.
        let delete = if db.name() == "postgresql" {
            (
                r#"DELETE FROM "users" WHERE "users"."id" = ANY($1)"#.to_string(),
                vec![Value::Text("{1,2,3}".into())],
            )
        } else {
            (
                dialect_sql(db, r#"DELETE FROM "users" WHERE "users"."id" IN (?, ?, ?)"#),
                vec![Value::Int(1), Value::Int(2), Value::Int(3)],
            )
        };
        assert_eq!(
            capture.take_with_params(),
            vec![delete, ("COMMIT".to_string(), vec![])]
        );
        assert_eq!(
            checker.rows(db, "SELECT name FROM users", &[]),
            vec![vec![txt("D")]]
        );
    });
}

#[test]
fn flush_orders_inserts_and_deletes_by_foreign_key() {
    for_each_backend(|db| {
        create_tables(
            db,
            &[Registry::register::<User>, Registry::register::<Address>],
        );
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        // The address is added first, but it refers to the user: the user's INSERT goes first.
        let address = session.add(Address {
            id: None,
            email: Some("ann@example.com".into()),
            user_id: Some(7),
        });
        let user = session.add(User {
            id: Some(7),
            name: Some("Ann".into()),
            age: None,
        });
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            statements[1],
            dialect_sql(
                db,
                r#"INSERT INTO "users" ("id", "name", "age") VALUES (?, ?, ?)"#
            )
        );
        assert_eq!(
            statements[2],
            dialect_sql(
                db,
                &format!(
                    r#"INSERT INTO "addresses" ("email", "user_id") VALUES (?, ?){}"#,
                    key_returning(db, r#""id""#)
                )
            )
        );
        assert_eq!(kinds(&statements), ["BEGIN", "INSERT", "INSERT", "COMMIT"]);

        // Deleting both: the address (which refers to the user) is deleted first.
        session.delete(&user).unwrap();
        session.delete(&address).unwrap();
        session.commit().unwrap();
        let deletes: Vec<String> = capture
            .take()
            .into_iter()
            .filter(|s| kind_of(s) == "DELETE")
            .collect();
        assert_eq!(deletes.len(), 2);
        assert!(deletes[0].contains("addresses"), "{deletes:?}");
        assert!(deletes[1].contains("users"), "{deletes:?}");
        let checker = Checker::new(db);
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 0);
        assert_eq!(checker.count(db, "SELECT count(*) FROM addresses"), 0);
    });
}

#[test]
fn a_database_generated_key_is_none_before_the_flush_and_some_after() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let session = Session::new(db.engine());
        let first = session.add(User::named("A", 1));
        let second = session.add(User::named("B", 2));
        assert_eq!(first.read().unwrap().id, None);
        assert_eq!(first.state(), ObjectState::Pending);
        session.flush().unwrap();
        let (a, b) = (
            first.read().unwrap().id.unwrap(),
            second.read().unwrap().id.unwrap(),
        );
        assert!(a < b, "keys follow the order of add: {a} < {b}");
        assert_eq!(first.state(), ObjectState::Persistent);
        // The flushed objects are in the identity map under their new keys.
        assert!(session.get::<User>(a).unwrap().unwrap().ptr_eq(&first));
        assert!(session.get::<User>(b).unwrap().unwrap().ptr_eq(&second));
    });
}

#[test]
fn server_defaults_come_back_into_the_objects_after_flush() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Ticket>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let plain = session.add(Ticket {
            title: Some("plain".into()),
            ..Default::default()
        });
        let closed = session.add(Ticket {
            title: Some("closed".into()),
            status: Some("closed".into()),
            ..Default::default()
        });
        session.flush().unwrap();
        let statements = capture.take();
        assert_eq!(
            statements[1..],
            [
                dialect_sql(
                    db,
                    &format!(
                        r#"INSERT INTO "tickets" ("title") VALUES (?){}"#,
                        returning(db, r#""id", "status", "priority""#)
                    )
                ),
                dialect_sql(
                    db,
                    &format!(
                        r#"INSERT INTO "tickets" ("title", "status") VALUES (?, ?){}"#,
                        returning(db, r#""id", "priority""#)
                    )
                ),
            ]
        );
        {
            let t = plain.read().unwrap();
            assert!(t.id.is_some());
            assert_eq!(t.status.as_deref(), Some("open"));
            assert_eq!(t.priority, Some(3));
        }
        {
            let t = closed.read().unwrap();
            assert_eq!(t.status.as_deref(), Some("closed"));
            assert_eq!(t.priority, Some(3));
        }
        if insert_returning(db) {
            assert!(capture.take().is_empty(), "RETURNING brought them back");
        }
    });
}

#[test]
fn objects_that_send_no_column_are_inserted_one_row_each() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Counter>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let counters = session.add_all((0..3).map(|_| Counter::default()));
        session.commit().unwrap();
        assert_eq!(capture.count("INSERT"), 3);
        let checker = Checker::new(db);
        assert_eq!(
            checker.rows(db, "SELECT hits FROM counters", &[]),
            vec![vec![Value::Int(0)]; 3]
        );
        let mut ids: Vec<i64> = counters
            .iter()
            .map(|c| c.read().unwrap().id.unwrap())
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 3);
        assert_eq!(counters[2].read().unwrap().hits, Some(0));
    });
}

#[test]
fn the_first_flush_of_a_new_engine_is_batched_too() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        // A new engine whose first connection is the session's: what the database can do is
        // known only once it is connected (MariaDB vs MySQL).
        let engine = db.builder().build().unwrap();
        let capture = Capture::install(&engine);
        let session = Session::new(&engine);
        let users = session.add_all([User::named("a", 1), User::named("b", 2)]);
        session.commit().unwrap();
        let inserts = if inserts_one_by_one(db) {
            vec![users_insert(db, 1), users_insert(db, 1)]
        } else {
            vec![users_insert(db, 2)]
        };
        let mut expected = vec!["BEGIN".to_string()];
        expected.extend(inserts);
        expected.push("COMMIT".to_string());
        assert_eq!(capture.take(), expected);
        assert!(users.iter().all(|u| u.read().unwrap().id.is_some()));
    });
}

#[test]
fn composite_primary_keys() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Membership>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        session.add_all([
            Membership {
                group_id: 1,
                member: "ann".into(),
                role: Some("owner".into()),
            },
            Membership {
                group_id: 1,
                member: "bob".into(),
                role: None,
            },
            Membership {
                group_id: 2,
                member: "ann".into(),
                role: None,
            },
        ]);
        session.commit().unwrap();
        assert_eq!(
            capture.take()[1],
            dialect_sql(
                db,
                r#"INSERT INTO "memberships" ("group_id", "member", "role") VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)"#
            )
        );

        let session = Session::new(db.engine());
        let bob = session.get::<Membership>((1i64, "bob")).unwrap().unwrap();
        let again = session
            .get::<Membership>(vec![Value::Int(1), txt("bob")])
            .unwrap()
            .unwrap();
        assert!(bob.ptr_eq(&again));
        let by_query = session
            .query::<Membership>()
            .filter(Membership::member.eq("bob"))
            .one()
            .unwrap();
        assert!(bob.ptr_eq(&by_query));
        let select = r#"SELECT "memberships"."group_id", "memberships"."member", "memberships"."role" FROM "memberships""#;
        assert_eq!(
            capture.take_with_params()[1],
            (
                dialect_sql(
                    db,
                    &format!(
                        r#"{select} WHERE "memberships"."group_id" = ? AND "memberships"."member" = ?"#
                    )
                ),
                vec![Value::Int(1), txt("bob")]
            )
        );
        assert!(session.get::<Membership>((2i64, "bob")).unwrap().is_none());
        let err = session.get::<Membership>(1).unwrap_err();
        assert!(matches!(err, Error::Argument(_)), "{err}");
        capture.clear();

        let ann2 = session.get::<Membership>((2i64, "ann")).unwrap().unwrap();
        let ann1 = session.get::<Membership>((1i64, "ann")).unwrap().unwrap();
        capture.clear();
        bob.write().unwrap().role = Some("admin".into());
        session.delete(&ann2).unwrap();
        session.delete(&ann1).unwrap();
        session.commit().unwrap();
        let pk = r#""memberships"."group_id" = ? AND "memberships"."member" = ?"#;
        let delete = dialect_sql(db, &format!(r#"DELETE FROM "memberships" WHERE {pk}"#));
        assert_eq!(
            capture.take(),
            vec![
                dialect_sql(
                    db,
                    &format!(r#"UPDATE "memberships" SET "role" = ? WHERE {pk}"#)
                ),
                delete.clone(),
                delete,
                "COMMIT".to_string(),
            ]
        );
        assert_eq!(
            Checker::new(db).rows(db, "SELECT group_id, member, role FROM memberships", &[]),
            vec![vec![Value::Int(1), txt("bob"), txt("admin")]]
        );
    });
}

/// How many parameters each INSERT the capture saw carried, in order.
fn insert_param_counts(capture: &Capture) -> Vec<usize> {
    capture
        .take_with_params()
        .into_iter()
        .filter(|(s, _)| kind_of(s) == "INSERT")
        .map(|(_, p)| p.len())
        .collect()
}
