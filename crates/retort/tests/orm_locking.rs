//! Optimistic locking on SQLite, PostgreSQL and MariaDB: a version column checked and bumped
//! by every UPDATE, so that a concurrent change makes the second flush a StaleData error
//! instead of a lost update.
//!
//! The two sessions take turns (each ends its transaction before the other writes), which is
//! what optimistic locking is for — and what SQLite, with one writer at a time, allows.

mod common;

use common::*;
use retort::prelude::*;
use retort_testkit::{for_each_backend, TestDb};

fn setup(db: &TestDb) -> (Checker, SessionMaker) {
    create_tables(db, &[Registry::register::<Document>]);
    let checker = Checker::new(db);
    checker.exec(
        db,
        "INSERT INTO documents (title, version) VALUES ('draft', 1)",
        &[],
    );
    (checker, sessionmaker(db.engine()).expire_on_commit(false))
}

#[test]
fn every_update_checks_and_bumps_the_version() {
    for_each_backend(|db| {
        let (checker, factory) = setup(db);
        let capture = Capture::install(db.engine());
        let session = factory.session();
        let doc = session.get::<Document>(1).unwrap().unwrap();
        capture.clear();
        doc.write().unwrap().title = Some("second".into());
        session.commit().unwrap();
        assert_eq!(
            capture.take_with_params(),
            vec![
                (
                    dialect_sql(
                        db,
                        r#"UPDATE "documents" SET "title" = ?, "version" = ? WHERE "documents"."id" = ? AND "documents"."version" = ?"#
                    ),
                    vec![txt("second"), Value::Int(2), Value::Int(1), Value::Int(1)]
                ),
                ("COMMIT".to_string(), vec![]),
            ]
        );
        assert_eq!(
            doc.read().unwrap().version,
            2,
            "the object knows its new version"
        );
        doc.write().unwrap().title = Some("third".into());
        session.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT title, version FROM documents", &[]),
            vec![vec![txt("third"), Value::Int(3)]]
        );

        // A new row starts at version 1, whatever the object held; updates count from there.
        let fresh = session.add(Document {
            title: Some("new".into()),
            version: 7,
            ..Default::default()
        });
        session.commit().unwrap();
        assert_eq!(fresh.read().unwrap().version, 1);
        fresh.write().unwrap().title = Some("newer".into());
        session.commit().unwrap();
        assert_eq!(fresh.read().unwrap().version, 2);
        assert_eq!(
            checker.rows(
                db,
                "SELECT version FROM documents WHERE title = 'newer'",
                &[]
            ),
            vec![vec![Value::Int(2)]]
        );
    });
}

#[test]
fn two_sessions_editing_one_versioned_row_give_stale_data() {
    for_each_backend(|db| {
        let (checker, factory) = setup(db);
        let first = factory.session();
        let second = factory.session();
        let mine = first.get::<Document>(1).unwrap().unwrap();
        first.commit().unwrap();
        let theirs = second.get::<Document>(1).unwrap().unwrap();
        theirs.write().unwrap().title = Some("theirs".into());
        second.commit().unwrap();

        mine.write().unwrap().title = Some("mine".into());
        match first.commit() {
            Err(Error::StaleData(message)) => {
                assert!(message.contains("Document"), "{message}");
            }
            other => panic!("expected StaleData, got {other:?}"),
        }
        // Not a lost update: the other session's change stands.
        assert_eq!(
            checker.rows(db, "SELECT title, version FROM documents", &[]),
            vec![vec![txt("theirs"), Value::Int(2)]]
        );
        assert!(matches!(
            first.query::<Document>().count(),
            Err(Error::PendingRollback(_))
        ));

        // After the rollback the object shows the current row and can be changed again.
        first.rollback().unwrap();
        assert_eq!(mine.read().unwrap().title.as_deref(), Some("theirs"));
        assert_eq!(mine.read().unwrap().version, 2);
        mine.write().unwrap().title = Some("mine, on top".into());
        first.commit().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT title, version FROM documents", &[]),
            vec![vec![txt("mine, on top"), Value::Int(3)]]
        );
    });
}

#[test]
fn deleting_a_row_changed_by_another_session_gives_stale_data() {
    for_each_backend(|db| {
        let (checker, factory) = setup(db);
        let capture = Capture::install(db.engine());
        let first = factory.session();
        let mine = first.get::<Document>(1).unwrap().unwrap();
        first.commit().unwrap();
        checker.exec(
            db,
            "UPDATE documents SET title = 'edited', version = version + 1",
            &[],
        );
        first.delete(&mine).unwrap();
        capture.clear();
        assert!(matches!(first.commit(), Err(Error::StaleData(_))));
        assert_eq!(
            capture.take()[1],
            dialect_sql(
                db,
                r#"DELETE FROM "documents" WHERE "documents"."id" = ? AND "documents"."version" = ?"#
            ),
            "a versioned row is deleted by key and version"
        );
        first.rollback().unwrap();
        assert_eq!(mine.state(), ObjectState::Persistent);
        assert_eq!(checker.count(db, "SELECT count(*) FROM documents"), 1);
    });
}

#[test]
fn an_update_of_a_row_deleted_elsewhere_gives_stale_data() {
    for_each_backend(|db| {
        create_tables(db, &[Registry::register::<User>]);
        let checker = Checker::new(db);
        seed_users(db, &checker, &[("Alice", 30)]);
        let session = sessionmaker(db.engine()).expire_on_commit(false).session();
        let alice = session.get::<User>(1).unwrap().unwrap();
        session.commit().unwrap();
        checker.exec(db, "DELETE FROM users", &[]);
        alice.write().unwrap().age = Some(31);
        assert!(matches!(session.commit(), Err(Error::StaleData(_))));
        session.rollback().unwrap();
        assert_eq!(checker.count(db, "SELECT count(*) FROM users"), 0);
    });
}

#[test]
fn interleaved_transactions_on_server_databases() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            // One writer at a time: the turn-taking tests above cover SQLite.
            return;
        }
        let (checker, factory) = setup(db);
        let first = factory.session();
        let second = factory.session();
        // Both read inside open transactions.
        let mine = first.get::<Document>(1).unwrap().unwrap();
        let theirs = second.get::<Document>(1).unwrap().unwrap();
        theirs.write().unwrap().title = Some("theirs".into());
        second.commit().unwrap();
        mine.write().unwrap().title = Some("mine".into());
        assert!(matches!(first.flush(), Err(Error::StaleData(_))));
        first.rollback().unwrap();
        assert_eq!(
            checker.rows(db, "SELECT title, version FROM documents", &[]),
            vec![vec![txt("theirs"), Value::Int(2)]]
        );
    });
}
