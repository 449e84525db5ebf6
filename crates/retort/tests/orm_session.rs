//! Session semantics on SQLite, PostgreSQL and MariaDB: object states, the identity map,
//! expiry and refresh, expunge, merge, savepoints, rollback, and moving a session to another
//! thread.

mod common;

use common::*;
use retort::prelude::*;
use retort_testkit::for_each_backend;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn objects_move_through_the_lifecycle_states() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());

        let user = Obj::new(User::named("Ann", 20));
        assert_eq!(user.state(), ObjectState::Transient);
        session.add_obj(&user).unwrap();
        assert_eq!(user.state(), ObjectState::Pending);
        assert!(session.has_changes());
        session.flush().unwrap();
        assert_eq!(user.state(), ObjectState::Persistent);
        assert!(!session.has_changes());
        let id = user.read().unwrap().id.unwrap();

        session.delete(&user).unwrap();
        assert_eq!(user.state(), ObjectState::Deleted);
        session.flush().unwrap();
        assert_eq!(user.state(), ObjectState::Deleted);
        assert!(
            session.get::<User>(id).unwrap().is_none(),
            "a deleted object is not found"
        );
        session.commit().unwrap();
        assert_eq!(user.state(), ObjectState::Detached);
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 0);

        // A pending object that is deleted (or expunged) just leaves the session.
        let pending = session.add(User::named("Bob", 30));
        session.delete(&pending).unwrap();
        assert_eq!(pending.state(), ObjectState::Transient);
        let pending = session.add(User::named("Bob", 30));
        session.expunge(&pending);
        assert_eq!(pending.state(), ObjectState::Transient);
        session.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 0);

        // Deleting what the session does not hold is refused.
        let err = session.delete(&Obj::new(User::default())).unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err}");

        // A persistent object leaves by expunge or close and becomes detached.
        let kept = session.add(User::named("Carol", 40));
        let other = session.add(User::named("Dan", 50));
        session.commit().unwrap();
        session.expunge(&kept);
        assert_eq!(kept.state(), ObjectState::Detached);
        let other_id = other.read().unwrap().id.unwrap();
        session.close().unwrap();
        assert_eq!(other.state(), ObjectState::Detached);
        assert_eq!(session.identity_count(), 0);

        // A detached object becomes persistent again when added back.
        let fresh = Session::new(db.engine());
        fresh.add_obj(&other).unwrap();
        assert_eq!(other.state(), ObjectState::Persistent);
        assert!(fresh.get::<User>(other_id).unwrap().unwrap().ptr_eq(&other));
    });
}

#[test]
fn one_row_is_one_object_across_all_queries() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30), ("Bob", 40)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());

        let all = session.query::<User>().order_by(User::id).all().unwrap();
        let alice = session
            .query::<User>()
            .filter_by("name", "Alice")
            .one()
            .unwrap();
        assert!(all[0].ptr_eq(&alice));
        let by_scalars = session
            .scalars(&User::select().where_(User::age.gt(35)))
            .unwrap();
        assert!(by_scalars[0].ptr_eq(&all[1]));
        let first = session
            .query::<User>()
            .order_by(User::age.desc())
            .first()
            .unwrap()
            .unwrap();
        assert!(first.ptr_eq(&all[1]));
        assert_eq!(session.identity_count(), 2);
        capture.clear();
        assert!(session.get::<User>(1).unwrap().unwrap().ptr_eq(&alice));
        assert!(
            capture.take().is_empty(),
            "get found it in the identity map"
        );

        // A query does not overwrite a change that is not flushed yet.
        alice.write().unwrap().age = Some(99);
        let again = session.no_autoflush(|s| {
            s.query::<User>()
                .filter(User::name.eq("Alice"))
                .one()
                .unwrap()
        });
        assert!(again.ptr_eq(&alice));
        assert_eq!(again.read().unwrap().age, Some(99));
    });
}

#[test]
fn expire_on_commit_reloads_on_next_access() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let user = session.get::<User>(1).unwrap().unwrap();
        session.commit().unwrap();
        checker.exec(db, "UPDATE users SET age = 31 WHERE id = 1", &[]);
        capture.clear();

        assert_eq!(user.read().unwrap().age, Some(31));
        assert_eq!(
            capture.take(),
            vec!["BEGIN".to_string(), dialect_sql(db, SELECT_USER_BY_ID)]
        );
        assert_eq!(user.read().unwrap().age, Some(31));
        assert!(capture.take().is_empty(), "loaded once");
    });
}

#[test]
fn without_expire_on_commit_objects_keep_their_values() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let user = session.get::<User>(1).unwrap().unwrap();
        let added = session.add(User::named("Bob", 40));
        session.commit().unwrap();
        checker.exec(db, "UPDATE users SET age = 31 WHERE id = 1", &[]);
        capture.clear();

        assert_eq!(user.read().unwrap().age, Some(30), "not reloaded");
        assert_eq!(added.read().unwrap().name.as_deref(), Some("Bob"));
        assert!(capture.take().is_empty());
    });
}

#[test]
fn refresh_reloads_and_discards_unflushed_changes() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let user = session.get::<User>(1).unwrap().unwrap();
        session.commit().unwrap();
        checker.exec(db, "UPDATE users SET age = 40 WHERE id = 1", &[]);
        assert_eq!(user.read().unwrap().age, Some(30));
        capture.clear();

        session.refresh(&user).unwrap();
        assert_eq!(
            capture.take(),
            vec!["BEGIN".to_string(), dialect_sql(db, SELECT_USER_BY_ID)]
        );
        assert_eq!(user.read().unwrap().age, Some(40));

        // An unflushed change is discarded by refresh...
        user.write().unwrap().age = Some(50);
        session.refresh(&user).unwrap();
        assert_eq!(user.read().unwrap().age, Some(40));
        // ... and a change made after it is still flushed.
        user.write().unwrap().name = Some("Zed".into());
        capture.clear();
        session.commit().unwrap();
        assert_eq!(
            capture.take(),
            vec![
                dialect_sql(
                    db,
                    r#"UPDATE "users" SET "name" = ? WHERE "users"."id" = ?"#
                ),
                "COMMIT".to_string()
            ]
        );
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users", &[]),
            vec![vec![txt("Zed"), Value::Int(40)]]
        );

        // Refreshing an object whose row is gone is an error, not a panic.
        checker.exec(db, "DELETE FROM users", &[]);
        assert!(session.refresh(&user).is_err());
    });
}

#[test]
fn expire_reloads_on_next_access() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30), ("Bob", 40)]);
        let capture = Capture::install(db.engine());
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let alice = session.get::<User>(1).unwrap().unwrap();
        let bob = session.get::<User>(2).unwrap().unwrap();
        session.commit().unwrap();
        checker.exec(db, "UPDATE users SET age = age + 1", &[]);
        capture.clear();

        session.expire(&alice);
        assert!(capture.take().is_empty(), "expire itself sends nothing");
        assert_eq!(alice.read().unwrap().age, Some(31));
        assert_eq!(bob.read().unwrap().age, Some(40), "bob was not expired");
        assert_eq!(capture.count("SELECT"), 1);

        // An unflushed change is discarded by expire; a later one is flushed.
        bob.write().unwrap().age = Some(77);
        session.expire(&bob);
        assert_eq!(bob.read().unwrap().age, Some(41));
        bob.write().unwrap().name = Some("Robert".into());
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users WHERE id = 2", &[]),
            vec![vec![txt("Robert"), Value::Int(41)]]
        );

        // expire_all: every object reloads.
        checker.exec(db, "UPDATE users SET age = 0", &[]);
        session.expire_all();
        capture.clear();
        assert_eq!(alice.read().unwrap().age, Some(0));
        assert_eq!(bob.read().unwrap().age, Some(0));
        assert_eq!(capture.count("SELECT"), 2);
    });
}

#[test]
fn expunge_removes_an_object_from_the_session() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let user = session.get::<User>(1).unwrap().unwrap();
        session.expunge(&user);
        assert_eq!(user.state(), ObjectState::Detached);
        assert_eq!(session.identity_count(), 0);

        // Its changes are no longer the session's business.
        user.write().unwrap().age = Some(5);
        capture.clear();
        let again = session.get::<User>(1).unwrap().unwrap();
        assert!(!again.ptr_eq(&user), "a new object for the row");
        assert_eq!(again.read().unwrap().age, Some(30));
        assert_eq!(capture.take(), vec![dialect_sql(db, SELECT_USER_BY_ID)]);
        session.commit().unwrap();
        assert_eq!(capture.take(), strings(&["COMMIT"]));
        assert_eq!(
            checker.rows(db, "SELECT age FROM users", &[]),
            vec![vec![Value::Int(30)]]
        );
    });
}

#[test]
fn merge_copies_onto_the_existing_row_or_adds_a_new_one() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());

        // Existing row: loaded, then the given state copied onto it.
        let merged = session
            .merge(User {
                id: Some(1),
                name: Some("Alice".into()),
                age: Some(31),
            })
            .unwrap();
        assert_eq!(merged.state(), ObjectState::Persistent);
        assert_eq!(merged.read().unwrap().age, Some(31));
        assert_eq!(
            capture.take(),
            vec!["BEGIN".to_string(), dialect_sql(db, SELECT_USER_BY_ID)]
        );
        // Already in the identity map: no SELECT, same object.
        let again = session
            .merge(User {
                id: Some(1),
                name: Some("Alice".into()),
                age: Some(32),
            })
            .unwrap();
        assert!(again.ptr_eq(&merged));
        assert!(capture.take().is_empty());

        // New row: a pending object, INSERTed at commit.
        let new = session
            .merge(User {
                id: Some(50),
                name: Some("Zoe".into()),
                age: None,
            })
            .unwrap();
        assert_eq!(new.state(), ObjectState::Pending);
        assert_eq!(
            capture.take(),
            vec![
                dialect_sql(db, r#"UPDATE "users" SET "age" = ? WHERE "users"."id" = ?"#),
                dialect_sql(db, SELECT_USER_BY_ID),
            ],
            "autoflushed the merged change (only the changed column), then looked for row 50"
        );
        // No key at all: nothing to look for.
        let keyless = session.merge(User::named("Kim", 22)).unwrap();
        assert_eq!(keyless.state(), ObjectState::Pending);
        assert!(capture.take().is_empty());

        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            statements[0],
            dialect_sql(
                db,
                r#"INSERT INTO "users" ("id", "name", "age") VALUES (?, ?, ?)"#
            )
        );
        assert_eq!(kinds(&statements), ["INSERT", "INSERT", "COMMIT"]);
        assert_eq!(
            checker.rows(db, "SELECT id, name, age FROM users ORDER BY name", &[]),
            vec![
                vec![Value::Int(1), txt("Alice"), Value::Int(32)],
                vec![
                    keyless.read().unwrap().id.map_or(Value::Null, Value::Int),
                    txt("Kim"),
                    Value::Int(22)
                ],
                vec![Value::Int(50), txt("Zoe"), Value::Null],
            ]
        );
    });
}

#[test]
fn begin_nested_commit_keeps_the_savepoints_work() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        session.add(User::named("Outer", 1));
        let nested = session.begin_nested().unwrap();
        session.add(User::named("Inner", 2));
        nested.commit().unwrap();
        session.commit().unwrap();
        let statements = capture.take();
        assert_eq!(
            kinds(&statements),
            [
                "BEGIN",
                "INSERT",
                "SAVEPOINT",
                "INSERT",
                "RELEASE",
                "COMMIT"
            ]
        );
        assert_eq!(
            statements[4],
            format!("RELEASE {}", statements[2]),
            "the savepoint it opened"
        );
        assert_eq!(
            Checker::new(db).rows(db, "SELECT name FROM users ORDER BY age", &[]),
            vec![vec![txt("Outer")], vec![txt("Inner")]]
        );
    });
}

#[test]
fn begin_nested_rollback_undoes_only_the_savepoint() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let outer = session.add(User::named("Outer", 1));
        let nested = session.begin_nested().unwrap();
        // It flushed the outer object; the SAVEPOINT waits for the savepoint's first flush.
        assert_eq!(kinds(&capture.take()), ["BEGIN", "INSERT"]);
        let inner = session.add(User::named("Inner", 2));
        outer.write().unwrap().age = Some(10);
        session.flush().unwrap();
        let flushed = capture.take();
        assert_eq!(kinds(&flushed), ["SAVEPOINT", "INSERT", "UPDATE"]);
        let sp_name = flushed[0].trim_start_matches("SAVEPOINT ").to_owned();
        assert!(inner.read().unwrap().id.is_some());
        let unflushed = session.add(User::named("Unflushed", 3));
        nested.rollback().unwrap();
        assert_eq!(
            capture.take().last().unwrap(),
            &format!("ROLLBACK TO SAVEPOINT {sp_name}")
        );

        assert_eq!(inner.state(), ObjectState::Transient);
        assert_eq!(inner.read().unwrap().id, None, "its generated key is gone");
        assert_eq!(unflushed.state(), ObjectState::Transient);
        assert_eq!(outer.state(), ObjectState::Persistent);
        assert_eq!(
            outer.read().unwrap().age,
            Some(1),
            "reloaded as of the savepoint"
        );
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users", &[]),
            vec![vec![txt("Outer"), Value::Int(1)]]
        );

        // Dropping an uncommitted savepoint rolls it back too.
        {
            let _nested = session.begin_nested().unwrap();
            session.add(User::named("Dropped", 4));
            session.flush().unwrap();
        }
        session.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 1);
    });
}

#[test]
fn an_integrity_error_inside_a_savepoint_rolls_back_only_the_savepoint() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Item>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        session.add(Item {
            id: 1,
            name: Some("first".into()),
            code: None,
        });
        // The classic pattern: try each row in its own savepoint, skip the ones that fail.
        let mut skipped = Vec::new();
        for (id, name) in [(2, "second"), (1, "duplicate"), (3, "third")] {
            let savepoint = session.begin_nested().unwrap();
            session.add(Item {
                id,
                name: Some(name.into()),
                code: None,
            });
            match savepoint.commit() {
                Ok(()) => {}
                Err(Error::Integrity(_)) => skipped.push(name),
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(skipped, ["duplicate"]);
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT id, name FROM items ORDER BY id", &[]),
            vec![
                vec![Value::Int(1), txt("first")],
                vec![Value::Int(2), txt("second")],
                vec![Value::Int(3), txt("third")],
            ]
        );

        // A flush that fails inside a savepoint leaves the session needing the savepoint's
        // rollback; after it the outer transaction goes on.
        let savepoint = session.begin_nested().unwrap();
        let dup = session.add(Item {
            id: 3,
            name: Some("dup".into()),
            code: None,
        });
        assert!(matches!(session.flush(), Err(Error::Integrity(_))));
        assert!(matches!(
            session.query::<Item>().count(),
            Err(Error::PendingRollback(_))
        ));
        savepoint.rollback().unwrap();
        assert_eq!(dup.state(), ObjectState::Transient);
        assert_eq!(session.query::<Item>().count().unwrap(), 3);
        session.add(Item {
            id: 4,
            name: Some("fourth".into()),
            code: None,
        });
        session.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM items"), 4);
    });
}

#[test]
fn rollback_makes_pending_objects_transient_and_expires_the_rest() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        alice.write().unwrap().age = Some(99);
        let flushed = session.add(User::named("Flushed", 1));
        session.flush().unwrap();
        assert!(flushed.read().unwrap().id.is_some());
        let unflushed = session.add(User::named("Unflushed", 2));
        session.delete(&alice).unwrap();
        capture.clear();

        session.rollback().unwrap();
        assert_eq!(capture.take(), strings(&["ROLLBACK"]));
        assert_eq!(flushed.state(), ObjectState::Transient);
        assert_eq!(flushed.read().unwrap().id, None);
        assert_eq!(unflushed.state(), ObjectState::Transient);
        assert_eq!(alice.state(), ObjectState::Persistent);
        assert_eq!(alice.read().unwrap().age, Some(30), "reloaded");
        assert_eq!(
            capture.take(),
            vec!["BEGIN".to_string(), dialect_sql(db, SELECT_USER_BY_ID)]
        );
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users", &[]),
            vec![vec![txt("Alice"), Value::Int(30)]],
            "nothing was written"
        );

        // The transient objects can be added again, to this session or another.
        let other = Session::new(db.engine());
        other.add_obj(&flushed).unwrap();
        session.add_obj(&unflushed).unwrap();
        // (One at a time: SQLite lets one transaction write.)
        session.commit().unwrap();
        other.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 3);
    });
}

#[test]
fn objects_stay_readable_after_close() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        session.close().unwrap();
        assert_eq!(alice.state(), ObjectState::Detached);
        // Loaded values stay (SQLAlchemy: a closed session's objects are detached, not
        // expired).
        assert_eq!(alice.read().unwrap().name.as_deref(), Some("Alice"));

        // Expired attributes of a detached object cannot be loaded.
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        session.commit().unwrap();
        session.close().unwrap();
        let err = alice.read().err().unwrap();
        assert!(matches!(err, Error::DetachedInstance(_)), "{err}");

        // A closed session can be used again.
        assert_eq!(session.query::<User>().count().unwrap(), 1);

        // Closing with flushed work: the DELETE and the INSERT are rolled back; the deleted
        // object leaves detached, the inserted one transient (its row never existed).
        let alice = session.get::<User>(1).unwrap().unwrap();
        session.delete(&alice).unwrap();
        let new = session.add(User::named("New", 1));
        session.flush().unwrap();
        session.close().unwrap();
        assert_eq!(alice.state(), ObjectState::Detached);
        assert_eq!(new.state(), ObjectState::Transient);
        assert_eq!(new.read().unwrap().id, None);
        assert_eq!(session.identity_count(), 0);
        assert_eq!(
            checker.rows(db, "SELECT name FROM users", &[]),
            vec![vec![txt("Alice")]]
        );
    });
}

#[test]
fn dropping_a_session_detaches_its_objects() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        let pending = session.add(User::named("Pending", 1));
        drop(session);
        assert_eq!(alice.state(), ObjectState::Detached);
        assert_eq!(pending.state(), ObjectState::Transient);
        assert_eq!(alice.read().unwrap().name.as_deref(), Some("Alice"));
        // The dropped session's open transaction was rolled back: nothing was written.
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 1);
        // A detached object joins another session as persistent again.
        let other = Session::new(db.engine());
        other.add_obj(&alice).unwrap();
        assert_eq!(alice.state(), ObjectState::Persistent);
        assert!(alice.ptr_eq(&other.get::<User>(1).unwrap().unwrap()));
    });
}

fn assert_send<T: Send>() {}

#[test]
fn a_session_and_its_objects_move_to_another_thread() {
    assert_send::<Session>();
    assert_send::<Obj<User>>();
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        let bob = session.add(User::named("Bob", 40));

        let (session, alice, bob) = std::thread::spawn(move || {
            alice.write().unwrap().age = Some(31);
            session.commit().unwrap();
            let n = session.query::<User>().count().unwrap();
            assert_eq!(n, 2);
            let again = session.get::<User>(1).unwrap().unwrap();
            assert!(again.ptr_eq(&alice), "the identity map came along");
            (session, alice, bob)
        })
        .join()
        .unwrap();

        assert_eq!(alice.read().unwrap().age, Some(31));
        assert!(bob.read().unwrap().id.is_some());
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users ORDER BY id", &[]),
            vec![
                vec![txt("Alice"), Value::Int(31)],
                vec![txt("Bob"), Value::Int(40)],
            ]
        );
    });
}

#[test]
fn changing_a_primary_key_keeps_one_object_per_row() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Item>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        let item = session.add(Item {
            id: 1,
            name: Some("one".into()),
            code: None,
        });
        session.commit().unwrap();
        item.write().unwrap().id = 2;
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT id, name FROM items", &[]),
            vec![vec![Value::Int(2), txt("one")]]
        );
        assert!(
            session.get::<Item>(1).unwrap().is_none(),
            "no row 1 any more"
        );
        let by_new_key = session.get::<Item>(2).unwrap().unwrap();
        assert!(by_new_key.ptr_eq(&item), "the row is still the same object");
        let by_query = session.query::<Item>().one().unwrap();
        assert!(by_query.ptr_eq(&item));
    });
}

fn invalid_request(result: Result<bool>, needle: &str) {
    match result {
        Err(Error::InvalidRequest(msg)) => {
            assert!(msg.contains(needle), "{msg:?} lacks {needle:?}")
        }
        other => panic!("expected an InvalidRequest naming {needle:?}, got {other:?}"),
    }
}

#[test]
fn is_modified_compares_an_object_with_its_loaded_values() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());

        // Pending: the next flush INSERTs it.
        let bob = session.add(User::named("Bob", 40));
        assert!(session.is_modified(&bob).unwrap());
        session.flush().unwrap();
        assert!(!session.is_modified(&bob).unwrap(), "flushed");

        let alice = session.get::<User>(1).unwrap().unwrap();
        assert!(!session.is_modified(&alice).unwrap(), "as loaded");
        alice.write().unwrap().age = Some(30);
        assert!(
            !session.is_modified(&alice).unwrap(),
            "the same value written back is no change"
        );
        assert!(session.has_changes(), "though the session saw a write");
        alice.write().unwrap().age = Some(31);
        assert!(session.is_modified(&alice).unwrap());
        alice.write().unwrap().age = Some(30);
        assert!(!session.is_modified(&alice).unwrap(), "set, then set back");
        capture.clear();
        session.flush().unwrap();
        assert!(capture.take().is_empty(), "a flush has nothing to write");

        alice.write().unwrap().name = Some("Alicia".into());
        assert!(session.is_modified(&alice).unwrap());
        assert!(!session.is_modified(&bob).unwrap(), "per object");
        {
            let _guard = alice.write().unwrap();
            invalid_request(session.is_modified(&alice), "already borrowed");
        }
        session.flush().unwrap();
        assert_eq!(kinds(&capture.take()), ["UPDATE"]);
        assert!(!session.is_modified(&alice).unwrap(), "after the flush");

        // Marked for deletion, with no column changed.
        session.delete(&bob).unwrap();
        assert!(!session.is_modified(&bob).unwrap());

        alice.write().unwrap().age = Some(50);
        session.commit().unwrap();
        capture.clear();
        assert!(!session.is_modified(&alice).unwrap(), "after the commit");
        assert!(capture.take().is_empty(), "answered without loading");
        assert_eq!(alice.read().unwrap().age, Some(50));

        // An expired object's unflushed change is gone.
        alice.write().unwrap().age = Some(60);
        session.expire(&alice);
        assert!(!session.is_modified(&alice).unwrap());

        // Objects that are not in this session have nothing to compare with.
        invalid_request(session.is_modified(&bob), "not in this session");
        invalid_request(
            session.is_modified(&Obj::new(User::named("Eve", 1))),
            "not in this session",
        );
        let other = Session::new(db.engine());
        let carol = other.add(User::named("Carol", 9));
        invalid_request(session.is_modified(&carol), "not in this session");
    });
}

#[test]
fn is_modified_after_a_commit_that_keeps_the_values() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let user = session.add(User::named("Ann", 20));
        session.commit().unwrap();
        assert!(!session.is_modified(&user).unwrap());
        user.write().unwrap().age = Some(21);
        assert!(session.is_modified(&user).unwrap());
        session.commit().unwrap();
        assert!(!session.is_modified(&user).unwrap());
        user.write().unwrap().age = Some(22);
        session.rollback().unwrap();
        assert!(
            !session.is_modified(&user).unwrap(),
            "the change was discarded"
        );
        assert_eq!(user.read().unwrap().age, Some(21));
    });
}

#[test]
fn an_empty_begin_nested_sends_nothing() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());

        // Before any transaction: not even BEGIN.
        session.begin_nested().unwrap().commit().unwrap();
        session.begin_nested().unwrap().rollback().unwrap();
        drop(session.begin_nested().unwrap());
        assert!(capture.take().is_empty());

        // Inside one, nested in each other.
        session.add(User::named("Ann", 1));
        session.flush().unwrap();
        capture.clear();
        let outer = session.begin_nested().unwrap();
        let inner = session.begin_nested().unwrap();
        inner.commit().unwrap();
        outer.commit().unwrap();
        session.begin_nested().unwrap().rollback().unwrap();
        assert!(capture.take().is_empty());

        // Work that does not reach the database is undone in memory alone.
        let nested = session.begin_nested().unwrap();
        let pending = session.add(User::named("Never", 2));
        nested.rollback().unwrap();
        assert!(capture.take().is_empty());
        assert_eq!(pending.state(), ObjectState::Transient);

        session.commit().unwrap();
        assert_eq!(kinds(&capture.take()), ["COMMIT"]);
        assert_eq!(Checker::new(db).count(db, "SELECT count(*) FROM users"), 1);
    });
}

#[test]
fn a_savepoint_opens_when_its_work_first_needs_the_database() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        let capture = Capture::install(db.engine());
        let session = Session::new(db.engine());
        session.add(User::named("Ann", 1));
        session.commit().unwrap();
        capture.clear();

        // A query inside the savepoint needs the database: SAVEPOINT comes before it.
        let nested = session.begin_nested().unwrap();
        assert_eq!(session.query::<User>().count().unwrap(), 1);
        nested.commit().unwrap();
        assert_eq!(
            kinds(&capture.take()),
            ["BEGIN", "SAVEPOINT", "SELECT", "RELEASE"]
        );
        session.commit().unwrap();
        capture.clear();

        // An outer savepoint left empty opens with the inner one that needs it, outermost
        // first; rolling back the outer one undoes the inner one's released work.
        let outer = session.begin_nested().unwrap();
        let inner = session.begin_nested().unwrap();
        session.add(User::named("Cy", 3));
        inner.commit().unwrap();
        let sent = capture.take();
        assert_eq!(
            kinds(&sent),
            ["BEGIN", "SAVEPOINT", "SAVEPOINT", "INSERT", "RELEASE"]
        );
        assert_ne!(sent[1], sent[2]);
        assert_eq!(sent[4], format!("RELEASE {}", sent[2]));
        outer.rollback().unwrap();
        assert_eq!(
            capture.take(),
            [sent[1].replace("SAVEPOINT", "ROLLBACK TO SAVEPOINT")]
        );
        session.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 1);
    });
}
