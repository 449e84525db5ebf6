//! Failed flushes on SQLite, PostgreSQL and MariaDB: the IntegrityError, the session refusing
//! work until it is rolled back, what the rollback restores, and that nothing of the failed
//! flush reaches the database.

mod common;

use common::*;
use retort::prelude::*;
use retort_testkit::for_each_backend;

fn item(id: i64, name: Option<&str>) -> Item {
    Item {
        id,
        name: name.map(str::to_owned),
        code: None,
    }
}

/// Every way of using the session that needs the database fails with PendingRollback.
fn assert_pending_rollback(session: &Session) {
    let checks: Vec<(&str, Result<()>)> = vec![
        ("flush", session.flush()),
        ("commit", session.commit()),
        ("query", session.query::<Item>().all().map(drop)),
        ("count", session.query::<Item>().count().map(drop)),
        ("get", session.get::<Item>(12345).map(drop)),
        (
            "execute",
            session.execute(&select(func::count(Item::id))).map(drop),
        ),
        ("begin_nested", session.begin_nested().map(drop)),
    ];
    for (what, result) in checks {
        match result {
            Err(Error::PendingRollback(message)) => {
                assert!(message.contains("rollback()"), "{what}: {message}");
            }
            other => panic!("{what}: expected PendingRollback, got {other:?}"),
        }
    }
}

#[test]
fn duplicate_primary_key_then_rollback_then_a_successful_commit() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Item>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        session.add(item(1, Some("first")));
        session.commit().unwrap();

        let dup = session.add(item(1, Some("second")));
        let err = session.commit().unwrap_err();
        match &err {
            Error::Integrity(e) => assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}"),
            other => panic!("expected IntegrityError, got {other}"),
        }
        assert!(err.to_string().contains("INSERT INTO"), "{err}");
        assert_pending_rollback(&session);
        assert_eq!(dup.state(), ObjectState::Pending);

        session.rollback().unwrap();
        assert_eq!(dup.state(), ObjectState::Transient);
        session.add(item(2, Some("second")));
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT id, name FROM items ORDER BY id", &[]),
            vec![
                vec![Value::Int(1), txt("first")],
                vec![Value::Int(2), txt("second")]
            ]
        );
    });
}

#[test]
fn not_null_violation_then_rollback_then_a_successful_commit() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Item>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        let bad = session.add(item(1, None));
        match session.flush() {
            Err(Error::Integrity(e)) => assert_eq!(e.kind(), ErrorKind::NotNullViolation, "{e}"),
            other => panic!("expected IntegrityError, got {other:?}"),
        }
        assert_pending_rollback(&session);
        session.rollback().unwrap();
        assert_eq!(bad.state(), ObjectState::Transient);

        // Fixed and added again, it goes in.
        bad.write().unwrap().name = Some("named".into());
        session.add_obj(&bad).unwrap();
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT id, name FROM items", &[]),
            vec![vec![Value::Int(1), txt("named")]]
        );
    });
}

#[test]
fn unique_violation_inside_a_multi_row_insert() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Item>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        let items = session.add_all((1..=5).map(|i| Item {
            id: i,
            name: Some(format!("item{i}")),
            code: Some(if i == 4 {
                "same".into()
            } else {
                format!("c{i}")
            }),
        }));
        items[1].write().unwrap().code = Some("same".into());
        match session.commit() {
            Err(Error::Integrity(e)) => assert_eq!(e.kind(), ErrorKind::UniqueViolation),
            other => panic!("expected IntegrityError, got {other:?}"),
        }
        session.rollback().unwrap();
        assert!(items.iter().all(|i| i.state() == ObjectState::Transient));
        assert_eq!(checker.count(db, "SELECT count(*) FROM items"), 0);
    });
}

#[test]
fn a_failed_flush_leaves_nothing_in_the_database_and_rollback_clears_generated_keys() {
    for_each_backend(|db| {
        create_tables(
            db,
            &[Registry::register::<User>, Registry::register::<Item>],
        );
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let session = Session::new(db.engine());
        let alice = session.get::<User>(1).unwrap().unwrap();
        alice.write().unwrap().age = Some(31);
        // The users INSERT succeeds and gives `user` a key; the items INSERT then fails.
        let user = session.add(User::named("Bob", 40));
        let bad = session.add(item(1, None));
        assert!(matches!(session.flush(), Err(Error::Integrity(_))));
        assert_eq!(user.state(), ObjectState::Pending);
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 1);
        assert_eq!(
            checker.rows(db, "SELECT age FROM users", &[]),
            vec![vec![Value::Int(30)]]
        );
        assert_pending_rollback(&session);

        session.rollback().unwrap();
        assert_eq!(user.state(), ObjectState::Transient);
        assert_eq!(bad.state(), ObjectState::Transient);
        assert_eq!(
            user.read().unwrap().id,
            None,
            "the key of a row that was rolled back is cleared"
        );
        assert_eq!(alice.state(), ObjectState::Persistent);
        assert_eq!(alice.read().unwrap().age, Some(30), "expired and reloaded");

        // Both can be added again; the user gets a key of a row that exists.
        bad.write().unwrap().name = Some("fixed".into());
        session.add_obj(&user).unwrap();
        session.add_obj(&bad).unwrap();
        session.commit().unwrap();
        let id = user.read().unwrap().id.unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name FROM users WHERE id = ?", &[Value::Int(id)]),
            vec![vec![txt("Bob")]]
        );
        assert_eq!(checker.count(db, "SELECT count(*) FROM items"), 1);
    });
}

#[test]
fn a_failed_flush_keeps_earlier_flushes_of_the_transaction_out_of_the_database() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<Item>]);
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        let first = session.add(item(1, Some("flushed")));
        session.flush().unwrap();
        session.add(item(1, Some("duplicate")));
        assert!(session.flush().is_err());
        session.rollback().unwrap();
        assert_eq!(first.state(), ObjectState::Transient);
        assert_eq!(checker.count(db, "SELECT count(*) FROM items"), 0);
    });
}

#[test]
fn errors_that_are_not_the_databases_leave_the_session_usable() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let session = Session::new(db.engine());
        let err = session
            .query::<User>()
            .filter_by("nmae", "x")
            .all()
            .unwrap_err();
        assert!(matches!(err, Error::Argument(_)), "{err}");
        assert!(matches!(
            session.query::<User>().one(),
            Err(Error::NoResultFound)
        ));
        // A write guard held across a flush is reported, not a deadlock or a panic. Nothing
        // was sent, so no rollback is needed: the pending object is flushed once the guard
        // is gone.
        let user = session.add(User::named("A", 1));
        {
            let _guard = user.write().unwrap();
            let err = session.flush().unwrap_err();
            assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
        }
        assert_eq!(user.state(), ObjectState::Pending);
        session.commit().unwrap();
        assert_eq!(user.state(), ObjectState::Persistent);
        assert_eq!(session.query::<User>().count().unwrap(), 1);
    });
}

#[test]
fn a_failed_commit_leaves_the_session_needing_a_rollback() {
    for_each_backend(|db| {
        // A foreign key checked at COMMIT: the flush succeeds and the COMMIT fails.
        // MariaDB has no deferrable constraints.
        let id = match db.name() {
            "sqlite" => "id INTEGER PRIMARY KEY",
            "postgresql" => "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            _ => return,
        };
        let checker = Checker::new(db);
        checker.exec(
            db,
            &format!("CREATE TABLE users ({id}, name VARCHAR(50), age INTEGER)"),
            &[],
        );
        checker.exec(
            db,
            &format!(
                "CREATE TABLE addresses ({id}, email VARCHAR(100), user_id BIGINT \
                 REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED)"
            ),
            &[],
        );
        let session = Session::new(db.engine());
        let user = session.add(User::named("Ann", 20));
        let orphan = session.add(Address {
            id: None,
            email: Some("nobody@example.com".into()),
            user_id: Some(999),
        });
        match session.commit() {
            Err(Error::Integrity(e)) => assert_eq!(e.kind(), ErrorKind::ForeignKeyViolation),
            other => panic!("expected IntegrityError at COMMIT, got {other:?}"),
        }
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 0);
        assert!(matches!(
            session.query::<User>().count(),
            Err(Error::PendingRollback(_))
        ));
        session.rollback().unwrap();
        for state in [user.state(), orphan.state()] {
            assert_eq!(state, ObjectState::Transient);
        }
        assert_eq!(user.read().unwrap().id, None);
        assert_eq!(session.identity_count(), 0);
        session.add_obj(&user).unwrap();
        session.commit().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 1);
    });
}

#[test]
fn a_failed_core_statement_then_commit() {
    for_each_backend(|db| {
        // `session.execute` of a Core statement that fails leaves the session as it was (the
        // failure is not a flush's); what the COMMIT after it does is the database's answer.
        let registry = create_tables(db, &[Registry::register::<Item>]);
        let items = registry.metadata().table("items").unwrap();
        let checker = Checker::new(db);
        let session = Session::new(db.engine());
        let flushed = session.add(item(1, Some("flushed")));
        session.flush().unwrap();
        let err = session
            .execute(
                &update(&items)
                    .set("name", Value::Null)
                    .where_(items.c("id").eq(1)),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Integrity(_)), "{err}");

        let result = session.commit();
        if db.name() == "postgresql" {
            // The failed statement aborted the transaction: the flushed row is not
            // committed, and the COMMIT says so rather than succeeding.
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Operational(_)), "{err}");
            assert_eq!(err.database_error().and_then(|e| e.code()), Some("25P02"));
            assert!(err.to_string().contains("rolled back"), "{err}");
            assert_eq!(checker.count(db, "SELECT count(*) FROM items"), 0);
            // As after any failed COMMIT: the session needs a rollback, which makes the
            // object whose INSERT was lost transient again.
            assert_pending_rollback(&session);
            assert_eq!(flushed.state(), ObjectState::Persistent);
            session.rollback().unwrap();
            assert_eq!(flushed.state(), ObjectState::Transient);
            assert_eq!(session.identity_count(), 0);
            session.add_obj(&flushed).unwrap();
            session.commit().unwrap();
        } else {
            // Only the failed UPDATE was undone; the flushed INSERT is committed.
            result.unwrap();
        }
        assert_eq!(flushed.state(), ObjectState::Persistent);
        assert_eq!(
            checker.rows(db, "SELECT id, name FROM items", &[]),
            vec![vec![Value::Int(1), txt("flushed")]]
        );
    });
}
