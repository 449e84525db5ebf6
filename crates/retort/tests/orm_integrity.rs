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
        assert!(session.is_modified(), "the change must still be pending");
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
            session.is_modified(),
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
            session.is_modified(),
            "the raced write must stay registered"
        );
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT name, age FROM users", &[]),
            vec![vec![txt("carol"), Value::Int(52)]]
        );
    });
}
