//! Data integrity in the Session (issue 7): no change is ever lost or paired with the wrong
//! row, whatever order the user's guards, the database's RETURNING rows or Core statements
//! run through the session come in.

mod common;

use common::*;
use retort::prelude::*;
use retort_testkit::for_each_backend;

#[test]
fn a_change_made_under_a_held_guard_survives_a_failed_autoflush() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("alice", 30)]);
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        {
            let mut guard = alice.write().unwrap();
            guard.age = Some(31);
            // The query's autoflush cannot read the object while the guard is held: it must
            // say so, and keep the change registered for the next flush.
            let err = session.query::<User>().all().unwrap_err();
            match &err {
                Error::InvalidRequest(message) => {
                    assert!(message.contains("User"), "{message}");
                    assert!(message.contains("flush"), "{message}");
                }
                other => panic!("expected InvalidRequest, got {other:?}"),
            }
        }
        assert!(session.has_changes(), "the change must still be pending");
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT age FROM users WHERE id = 1", &[]),
            vec![vec![Value::Int(31)]]
        );
    });
}

#[test]
fn commit_with_a_guard_still_held_fails_and_loses_nothing() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("alice", 30), ("bob", 40)]);
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        let bob = session.get::<User>(2).unwrap().unwrap();
        bob.write().unwrap().age = Some(41);
        let pending = session.add(User::named("carol", 50));
        {
            let mut guard = alice.write().unwrap();
            guard.age = Some(31);
            assert!(
                session.commit().is_err(),
                "a commit must not pass over a held guard"
            );
            // Nothing was sent: the session is still usable, nothing is rolled back.
            assert_eq!(pending.state(), ObjectState::Pending);
        }
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users ORDER BY id", &[]),
            vec![
                vec![txt("alice"), Value::Int(31)],
                vec![txt("bob"), Value::Int(41)],
                vec![txt("carol"), Value::Int(50)],
            ]
        );
    });
}

/// Runs `write` once, the first time the engine sends a statement starting with `kind`: a
/// write from elsewhere that lands while a flush is on its way.
fn write_during(engine: &Engine, kind: &'static str, write: impl Fn() + Send + Sync + 'static) {
    let done = std::sync::atomic::AtomicBool::new(false);
    engine.on_execute(move |sql, _| {
        if sql.starts_with(kind) && !done.swap(true, std::sync::atomic::Ordering::SeqCst) {
            write();
        }
    });
}

#[test]
fn a_write_that_races_an_update_is_flushed_next_time() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("alice", 30)]);
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        alice.write().unwrap().age = Some(31);
        let racer = alice.clone();
        write_during(db.engine(), "UPDATE", move || {
            racer.write().unwrap().name = Some("alicia".into());
        });
        session.commit().unwrap();
        assert!(
            session.has_changes(),
            "the raced write must stay registered"
        );
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users", &[]),
            vec![vec![txt("alicia"), Value::Int(31)]]
        );
    });
}

#[test]
fn a_write_that_races_an_insert_is_flushed_next_time() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        let carol = session.add(User::named("carol", 50));
        carol.write().unwrap().age = Some(51);
        let racer = carol.clone();
        write_during(db.engine(), "INSERT", move || {
            racer.write().unwrap().age = Some(52);
        });
        session.commit().unwrap();
        assert!(
            session.has_changes(),
            "the raced write must stay registered"
        );
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users", &[]),
            vec![vec![txt("carol"), Value::Int(52)]]
        );
    });
}

/// A key the database makes with a UUID server default.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "tokens")]
pub struct Token {
    #[retort(primary_key, server_default = "made by the table's DDL below")]
    pub id: Option<retort::uuid::Uuid>,
    #[retort(length = 20)]
    pub name: Option<String>,
}

/// A key the database draws at random: an integer key that carries no insert order.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "tickets_drawn")]
pub struct Drawn {
    #[retort(primary_key, server_default = "made by the table's DDL below")]
    pub id: Option<i64>,
    #[retort(length = 20)]
    pub name: Option<String>,
}

fn create_tokens(db: &retort_testkit::TestDb, checker: &Checker) {
    let ddl = match db.name() {
        "sqlite" => {
            "CREATE TABLE tokens (id CHAR(36) PRIMARY KEY DEFAULT (lower(hex(randomblob(4)) || \
             '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a' || \
             substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))), name VARCHAR(20))"
        }
        "postgresql" => {
            "CREATE TABLE tokens (id UUID PRIMARY KEY DEFAULT gen_random_uuid(), \
             name VARCHAR(20))"
        }
        _ => "CREATE TABLE tokens (id CHAR(36) PRIMARY KEY DEFAULT (UUID()), name VARCHAR(20))",
    };
    checker.exec(db, ddl, &[]);
}

fn create_drawn(db: &retort_testkit::TestDb, checker: &Checker) {
    let default = match db.name() {
        "sqlite" => "(abs(random()) % 1000000000)",
        "postgresql" => "(floor(random() * 1000000000))::bigint",
        _ => "(FLOOR(RAND() * 1000000000))",
    };
    checker.exec(
        db,
        &format!(
            "CREATE TABLE tickets_drawn (id BIGINT PRIMARY KEY DEFAULT {default}, \
             name VARCHAR(20))"
        ),
        &[],
    );
}

/// Checks that the key each object was given holds that object's row: object `i` was created
/// with the name `{prefix}{i}`. (The object's own name is no witness: after the commit it
/// reloads whatever row its key names.)
fn assert_paired<M: Model>(
    db: &retort_testkit::TestDb,
    checker: &Checker,
    table: &str,
    objects: &[Obj<M>],
    prefix: &str,
    key: impl Fn(&M) -> Option<Value>,
) {
    for (i, obj) in objects.iter().enumerate() {
        let id = key(&obj.read().unwrap()).expect("the flush gave the object its key");
        let rows = checker.rows(db, &format!("SELECT name FROM {table} WHERE id = ?"), &[id]);
        assert_eq!(rows, vec![vec![txt(&format!("{prefix}{i}"))]], "{table}");
    }
}

#[test]
fn server_made_uuid_keys_are_paired_with_their_own_objects() {
    for_each_backend(|db| {
        let checker = Checker::new(db);
        create_tokens(db, &checker);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let tokens = session.add_all((0..40).map(|i| Token {
            id: None,
            name: Some(format!("token{i}")),
        }));
        session.commit().unwrap();
        // A UUID says nothing about the order rows were inserted in: one row per INSERT.
        assert_eq!(capture.count("INSERT"), 40);
        assert_paired(db, &checker, "tokens", &tokens, "token", |m: &Token| {
            m.id.map(Value::from)
        });
    });
}

#[test]
fn server_made_keys_without_order_are_paired_with_their_own_objects() {
    for_each_backend(|db| {
        let checker = Checker::new(db);
        create_drawn(db, &checker);
        let session = Session::new(db.engine());
        let drawn = session.add_all((0..40).map(|i| Drawn {
            id: None,
            name: Some(format!("ticket{i}")),
        }));
        session.commit().unwrap();
        assert_paired(
            db,
            &checker,
            "tickets_drawn",
            &drawn,
            "ticket",
            |m: &Drawn| m.id.map(Value::from),
        );
    });
}

#[test]
fn autoincrement_keys_of_a_multi_row_insert_are_paired_with_their_own_objects() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        // Rows already there, and a gap, so that keys do not simply count from 1.
        seed_users(db, &checker, &[("old", 1), ("older", 2)]);
        checker.exec(db, "DELETE FROM users WHERE name = 'old'", &[]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let users = session.add_all((0..1500).map(|i| User::named(&format!("u{i}"), i)));
        session.flush().unwrap();
        if inserts_one_by_one(db) {
            assert_eq!(capture.count("INSERT"), 1500);
        } else {
            assert_eq!(capture.count("INSERT"), 2, "batched: 1000 + 500 rows");
        }
        session.commit().unwrap();
        assert_paired(db, &checker, "users", &users, "u", |m: &User| {
            m.id.map(Value::from)
        });
    });
}

/// alice (30) and bob (40), loaded into a new session, and a capture installed afterwards.
fn two_loaded_users(db: &retort_testkit::TestDb) -> (Session, Obj<User>, Obj<User>, Capture) {
    create_tables(db, &[Registry::register::<User>]);
    let checker = Checker::new(db);
    seed_users(db, &checker, &[("alice", 30), ("bob", 40)]);
    let session = Session::new(db.engine());
    let alice = session.get::<User>(1).unwrap().unwrap();
    let bob = session.get::<User>(2).unwrap().unwrap();
    let capture = Capture::install(db.engine());
    (session, alice, bob, capture)
}

#[test]
fn a_core_update_through_the_session_refreshes_the_objects_it_changes() {
    for_each_backend(|db| {
        let (session, alice, bob, capture) = two_loaded_users(db);
        let users = table("users");
        session
            .execute(
                &update(&users)
                    .set("age", users.c("age") + 1)
                    .where_(users.c("name").eq("alice")),
            )
            .unwrap();
        assert_eq!(kinds(&capture.take()), ["SELECT", "UPDATE"]);
        assert_eq!(alice.read().unwrap().age, Some(31));
        assert_eq!(kinds(&capture.take()), ["SELECT"], "alice reloads");
        assert_eq!(bob.read().unwrap().age, Some(40));
        assert!(capture.take().is_empty(), "bob was not changed: no reload");
    });
}

#[test]
fn a_core_delete_through_the_session_marks_the_objects_it_deletes() {
    for_each_backend(|db| {
        let (session, alice, bob, capture) = two_loaded_users(db);
        let users = table("users");
        session
            .execute(&delete(&users).where_(users.c("age").gt(35)))
            .unwrap();
        assert_eq!(bob.state(), ObjectState::Deleted);
        assert_eq!(alice.state(), ObjectState::Persistent);
        assert!(session.get::<User>(2).unwrap().is_none());
        capture.clear();
        assert_eq!(alice.read().unwrap().age, Some(30));
        assert!(
            capture.take().is_empty(),
            "alice was not deleted: no reload"
        );
        session.commit().unwrap();
        assert_eq!(bob.state(), ObjectState::Detached);
        assert_eq!(session.query::<User>().count().unwrap(), 1);
    });
}

#[test]
fn bind_parameters_through_the_session_keep_its_objects_in_step() {
    for_each_backend(|db| {
        let (session, alice, bob, capture) = two_loaded_users(db);
        let users = table("users");
        let set_age = update(&users)
            .set("age", bindparam("age"))
            .where_(users.c("name").eq(bindparam("who")));
        // A value missing from the SET is refused after the keys are selected, with nothing
        // changed; an unknown one too.
        for params in [
            vec![("who", Value::from("bob"))],
            vec![
                ("who", Value::from("bob")),
                ("age", Value::Int(41)),
                ("agee", Value::Int(1)),
            ],
        ] {
            let err = session.execute_with(&set_age, &params).unwrap_err();
            assert!(matches!(err, Error::Argument(_)), "{}: {err}", db.name());
        }
        assert_eq!(bob.read().unwrap().age, Some(40));
        let changed = session
            .execute_with(
                &set_age,
                &[("age", Value::Int(41)), ("who", Value::from("bob"))],
            )
            .unwrap();
        assert_eq!(changed.rowcount(), 1, "{}", db.name());
        capture.clear();
        assert_eq!(alice.read().unwrap().age, Some(30));
        assert!(
            capture.take().is_empty(),
            "alice was not matched: no reload"
        );
        assert_eq!(bob.read().unwrap().age, Some(41), "{}", db.name());
        session
            .execute_with(
                &delete(&users).where_(users.c("age").gt(bindparam("over"))),
                &[("over", Value::Int(35))],
            )
            .unwrap();
        assert_eq!(bob.state(), ObjectState::Deleted, "{}", db.name());
        assert_eq!(alice.state(), ObjectState::Persistent);
        let names: Vec<String> = session
            .execute_with(
                &select(users.c("name")).where_(users.c("age").lt(bindparam("under"))),
                &[("under", Value::Int(100))],
            )
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(names, ["alice"], "{}", db.name());
    });
}

#[test]
fn a_core_delete_undone_by_rollback_brings_the_object_back() {
    for_each_backend(|db| {
        let (session, _alice, bob, _capture) = two_loaded_users(db);
        let users = table("users");
        session
            .execute(&delete(&users).where_(users.c("name").eq("bob")))
            .unwrap();
        assert_eq!(bob.state(), ObjectState::Deleted);
        session.rollback().unwrap();
        assert_eq!(bob.state(), ObjectState::Persistent);
        assert_eq!(bob.read().unwrap().name.as_deref(), Some("bob"));
    });
}

#[test]
fn the_orm_bulk_update_expires_only_the_objects_it_matches() {
    for_each_backend(|db| {
        let (session, alice, bob, capture) = two_loaded_users(db);
        let n = session
            .query::<User>()
            .filter(User::name.eq("alice"))
            .update(vec![("age", Value::Int(99))])
            .unwrap();
        assert_eq!(n, 1);
        capture.clear();
        assert_eq!(bob.read().unwrap().age, Some(40));
        assert!(capture.take().is_empty(), "bob was not matched: no reload");
        assert_eq!(alice.read().unwrap().age, Some(99));
        assert_eq!(kinds(&capture.take()), ["SELECT"]);
    });
}

#[test]
fn an_update_that_moves_a_key_detaches_the_object_instead_of_reloading_another_row() {
    for_each_backend(|db| {
        let (session, alice, _bob, _capture) = two_loaded_users(db);
        let users = table("users");
        session
            .execute(&update(&users).set("id", 100).where_(users.c("id").eq(1)))
            .unwrap();
        assert_eq!(alice.state(), ObjectState::Detached);
        assert!(matches!(alice.read(), Err(Error::DetachedInstance(_))));
        let moved = session.get::<User>(100).unwrap().unwrap();
        assert_eq!(moved.read().unwrap().name.as_deref(), Some("alice"));
    });
}

#[test]
fn an_unflushed_change_survives_a_core_update_of_its_row() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("alice", 30)]);
        let session = sessionmaker(db.engine()).autoflush(false).session();
        let alice = session.get::<User>(1).unwrap().unwrap();
        alice.write().unwrap().name = Some("alicia".into());
        let users = table("users");
        session
            .execute(&update(&users).set("age", 31).where_(users.c("id").eq(1)))
            .unwrap();
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users", &[]),
            vec![vec![txt("alicia"), Value::Int(31)]]
        );
    });
}

/// An engine on `db` through a fault proxy (PostgreSQL and MariaDB; `None` on SQLite).
fn proxied(db: &retort_testkit::TestDb) -> Option<(retort_testkit::proxy::FaultProxy, Engine)> {
    let proxy = db.fault_proxy()?;
    let engine = Engine::builder(proxy.url()).pool_size(1).build().unwrap();
    Some((proxy, engine))
}

#[test]
fn a_lost_commit_reply_leaves_nothing_to_insert_twice() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        let Some((proxy, engine)) = proxied(db) else {
            return;
        };
        let session = Session::new(&engine);
        let carol = session.add(User::named("carol", 50));
        session.flush().unwrap();
        proxy.cut_after_commit();
        let err = session.commit().unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::CommitOutcomeUnknown), "{err}");
        // The server did commit. The object stays persistent with its key, so a naive retry
        // sends no second INSERT.
        assert_eq!(carol.state(), ObjectState::Persistent);
        session.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 1);
        // Its next access loads the row the database holds.
        assert_eq!(carol.read().unwrap().name.as_deref(), Some("carol"));
    });
}

#[test]
fn a_commit_lost_before_the_server_saw_it_shows_on_the_next_access() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        let Some((proxy, engine)) = proxied(db) else {
            return;
        };
        let session = Session::new(&engine);
        let carol = session.add(User::named("carol", 50));
        session.flush().unwrap();
        let id = carol.read().unwrap().id.unwrap();
        proxy.cut_before_next_query();
        let err = session.commit().unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::CommitOutcomeUnknown), "{err}");
        // This time the server never saw the COMMIT: the row is not there, and the session
        // says so instead of pretending.
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 0);
        assert!(
            carol.read().is_err(),
            "the object's row is gone: it cannot load"
        );
        assert!(session.get::<User>(id).unwrap().is_none());
    });
}

/// A key made by a server default, in a table declared by the test: what the key is to the
/// database (the rowid or not) is up to the table.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "keyed")]
pub struct Keyed {
    #[retort(primary_key, server_default = "made by the table's DDL below")]
    pub id: Option<i64>,
    #[retort(length = 20)]
    pub name: Option<String>,
}

/// A composite key, one part of it made by a server default.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "pairs")]
pub struct Pair {
    #[retort(primary_key, server_default = "made by the table's DDL below")]
    pub a: Option<i64>,
    #[retort(primary_key)]
    pub b: i64,
    #[retort(length = 20)]
    pub name: Option<String>,
}

/// SQLite's last_insert_rowid() is a new row's key only where the key column is the rowid
/// (declared exactly `INTEGER PRIMARY KEY`, in a table with rowids). There the flush inserts
/// row by row and takes it; for every other key it would be another number (a rowid that is
/// not the key, or no rowid at all), so those keys must still come back through RETURNING.
/// The defaults draw keys far from the rowids, so a key taken from the wrong place names no
/// row.
#[test]
fn sqlite_takes_a_new_key_from_the_rowid_only_where_the_key_is_the_rowid() {
    let db = retort_testkit::sqlite();
    let checker = Checker::new(&db);
    let default = "DEFAULT (abs(random()) % 1000000000 + 1000000)";
    let shapes = [
        (
            format!("id INTEGER PRIMARY KEY {default}, name VARCHAR(20))"),
            true,
        ),
        (
            "id integer primary key autoincrement, name VARCHAR(20))".to_owned(),
            true,
        ),
        (
            format!("id BIGINT PRIMARY KEY {default}, name VARCHAR(20))"),
            false,
        ),
        (
            format!("id INT PRIMARY KEY {default}, name VARCHAR(20))"),
            false,
        ),
        (
            format!("id INTEGER PRIMARY KEY DESC {default}, name VARCHAR(20))"),
            false,
        ),
        (
            format!("id INTEGER PRIMARY KEY {default}, name VARCHAR(20)) WITHOUT ROWID"),
            false,
        ),
    ];
    let capture = Capture::install(db.engine());
    for (shape, by_rowid) in shapes {
        // Through the session's engine: its DDL makes the engine look at the table again.
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql("DROP TABLE IF EXISTS keyed", &[])
            .unwrap();
        conn.exec_driver_sql(&format!("CREATE TABLE keyed ({shape}"), &[])
            .unwrap();
        // A row already there, so that rowids and keys part ways from the start.
        conn.exec_driver_sql("INSERT INTO keyed (id, name) VALUES (500, 'old')", &[])
            .unwrap();
        drop(conn);
        capture.clear();
        let session = Session::new(db.engine());
        let objs = session.add_all((0..5).map(|i| Keyed {
            id: None,
            name: Some(format!("k{i}")),
        }));
        session.commit().unwrap();
        let insert = if by_rowid {
            r#"INSERT INTO "keyed" ("name") VALUES (?)"#
        } else {
            r#"INSERT INTO "keyed" ("name") VALUES (?) RETURNING "id""#
        };
        let sent = capture.take_with_params();
        let inserts: Vec<&Sent> = sent
            .iter()
            .filter(|(s, _)| kind_of(s) == "INSERT")
            .collect();
        assert_eq!(inserts.len(), 5, "{shape}");
        for (i, (sql, params)) in inserts.into_iter().enumerate() {
            assert_eq!(sql, insert, "{shape}");
            assert_eq!(*params, [txt(&format!("k{i}"))], "{shape}");
        }
        assert_paired(&db, &checker, "keyed", &objs, "k", |m: &Keyed| {
            m.id.map(Value::from)
        });
    }

    // A composite key is never one rowid.
    checker.exec(
        &db,
        &format!(
            "CREATE TABLE pairs (a INTEGER {default}, b INTEGER, name VARCHAR(20), \
             PRIMARY KEY (a, b))"
        ),
        &[],
    );
    capture.clear();
    let session = Session::new(db.engine());
    let pairs = session.add_all((0..3).map(|i| Pair {
        a: None,
        b: i,
        name: Some(format!("p{i}")),
    }));
    session.commit().unwrap();
    assert_eq!(
        capture
            .take()
            .into_iter()
            .filter(|s| kind_of(s) == "INSERT")
            .collect::<Vec<_>>(),
        vec![r#"INSERT INTO "pairs" ("b", "name") VALUES (?, ?) RETURNING "a", "b""#; 3]
    );
    for (i, pair) in (0..).zip(&pairs) {
        let a = pair.read().unwrap().a.expect("the flush gave the key");
        assert_eq!(
            checker.rows(
                &db,
                "SELECT name FROM pairs WHERE a = ? AND b = ?",
                &[Value::Int(a), Value::Int(i)]
            ),
            vec![vec![txt(&format!("p{i}"))]]
        );
    }
}

/// A unique code, and a key the database makes.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "gadgets")]
pub struct Gadget {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(unique, length = 20)]
    pub code: Option<String>,
}

#[test]
fn a_row_failing_midway_leaves_every_object_as_it_was_added() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Gadget>]);
        let checker = Checker::new(db);
        checker.exec(db, "INSERT INTO gadgets (code) VALUES ('g2')", &[]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        // The third collides with the row already there.
        let codes: Vec<Value> = (0..5).map(|i| txt(&format!("g{i}"))).collect();
        let gadgets = session.add_all((0..5).map(|i| Gadget {
            id: None,
            code: Some(format!("g{i}")),
        }));
        let err = session.commit().unwrap_err();
        let Error::Integrity(e) = &err else {
            panic!("expected an IntegrityError, got {err:?}")
        };
        // The error names the INSERT that failed, with the parameters it was sent with.
        let sent = capture.take_with_params();
        let inserts: Vec<&Sent> = sent
            .iter()
            .filter(|(s, _)| kind_of(s) == "INSERT")
            .collect();
        if inserts_one_by_one(db) {
            // One execution per object, each seen with its own parameters, up to the one that
            // failed.
            let params: Vec<Vec<Value>> = inserts.iter().map(|(_, p)| p.clone()).collect();
            assert_eq!(params, [&codes[0..1], &codes[1..2], &codes[2..3]]);
            assert_eq!(e.params(), Some(&codes[2..3]));
        } else {
            assert_eq!(inserts.len(), 1);
            assert_eq!(e.params(), Some(&codes[..]));
        }
        assert_eq!(e.sql(), inserts.last().map(|(s, _)| s.as_str()));
        // The two rows inserted before it were rolled back, and their keys with them.
        for g in &gadgets {
            assert_eq!(g.read().unwrap().id, None);
            assert_eq!(g.state(), ObjectState::Pending);
        }
        assert_eq!(checker.count(db, "SELECT count(*) FROM gadgets"), 1);

        session.rollback().unwrap();
        for g in &gadgets {
            assert_eq!(g.read().unwrap().id, None);
            assert_eq!(g.state(), ObjectState::Transient);
        }
        // The session goes on: the same objects, the collision mended, are inserted with keys
        // of their own rows.
        gadgets[2].write().unwrap().code = Some("g2b".into());
        for g in &gadgets {
            session.add_obj(g).unwrap();
        }
        session.commit().unwrap();
        for (i, g) in gadgets.iter().enumerate() {
            let id = g.read().unwrap().id.expect("a key");
            let code = if i == 2 {
                "g2b".to_owned()
            } else {
                format!("g{i}")
            };
            assert_eq!(
                checker.rows(
                    db,
                    "SELECT code FROM gadgets WHERE id = ?",
                    &[Value::Int(id)]
                ),
                vec![vec![txt(&code)]]
            );
        }
        assert_eq!(checker.count(db, "SELECT count(*) FROM gadgets"), 6);
    });
}
