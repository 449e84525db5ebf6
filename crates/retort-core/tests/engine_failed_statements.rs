//! A statement fails inside a transaction and the caller commits anyway.
//!
//! The databases differ. PostgreSQL aborts the whole transaction on any error and answers a
//! later COMMIT with ROLLBACK; SQLite and MariaDB undo only the failed statement and keep the
//! transaction going, except for errors after which the database rolls back the whole
//! transaction by itself (a MariaDB deadlock, SQLite's `INSERT OR ROLLBACK`). Whatever the
//! database did, a COMMIT that commits nothing must not report success, the connection must
//! come out of it with no transaction open, and no statement may quietly run outside the
//! transaction its caller thinks it is in.

use std::sync::{Arc, Barrier};
use std::thread;

use retort_core::{Connection, Error, ErrorKind, Value};
use retort_testkit::{for_each_backend, TestDb};

fn setup(db: &TestDb) -> Connection {
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql("CREATE TABLE t (x INTEGER NOT NULL)", &[])
        .unwrap();
    conn
}

fn insert(conn: &mut Connection, db: &TestDb, x: i64) {
    conn.exec_driver_sql(&db.sql("INSERT INTO t (x) VALUES (?)"), &[Value::Int(x)])
        .unwrap();
}

/// A statement every backend refuses, leaving what the database does next to the database.
fn fail_a_statement(conn: &mut Connection) {
    let err = conn
        .exec_driver_sql("INSERT INTO t (x) VALUES (NULL)", &[])
        .unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");
}

/// What another connection sees: only committed work.
fn committed(db: &TestDb) -> Vec<i64> {
    db.engine()
        .connect()
        .unwrap()
        .exec_driver_sql("SELECT x FROM t ORDER BY x", &[])
        .unwrap()
        .scalars()
        .unwrap()
}

/// Whether the backend aborts the whole transaction when one statement fails.
fn aborts_on_error(db: &TestDb) -> bool {
    db.name() == "postgresql"
}

/// The error a COMMIT of a transaction the database had already rolled back must give.
fn assert_rolled_back_commit(err: &Error) {
    assert!(matches!(err, Error::Operational(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("rolled back"), "{text}");
    assert!(text.contains("earlier statement"), "{text}");
    assert!(!err.is_disconnect(), "{err:?}");
}

/// The connection has no transaction open and works: an autocommitted row is committed.
fn assert_reusable(conn: &mut Connection, db: &TestDb, x: i64) {
    assert!(!conn.in_transaction());
    insert(conn, db, x);
    assert!(committed(db).contains(&x), "{:?}", committed(db));
    let mut tx = conn.begin().unwrap();
    insert(&mut tx, db, x + 1);
    tx.commit().unwrap();
    assert!(committed(db).contains(&(x + 1)), "{:?}", committed(db));
}

#[test]
fn commit_after_a_failed_statement() {
    for_each_backend(|db| {
        let mut conn = setup(db);
        let mut tx = conn.begin().unwrap();
        insert(&mut tx, db, 1);
        fail_a_statement(&mut tx);
        let result = tx.commit();
        if aborts_on_error(db) {
            // The server answers this COMMIT with ROLLBACK: nothing was committed.
            let err = result.unwrap_err();
            assert_rolled_back_commit(&err);
            let e = err.database_error().unwrap();
            assert_eq!(e.code(), Some("25P02"), "{err}");
            assert_eq!(e.kind(), ErrorKind::OtherOperational, "{err}");
            assert_eq!(e.sql(), Some("COMMIT"), "{err}");
            // The message names the statement error that aborted the transaction.
            assert!(e.message().contains("null value"), "{err}");
            assert_eq!(committed(db), Vec::<i64>::new());
        } else {
            // Only the failed statement was undone; the work before it is committed.
            result.unwrap();
            assert_eq!(committed(db), [1]);
        }
        assert_reusable(&mut conn, db, 10);
    });
}

#[test]
fn commit_transaction_after_a_failed_statement() {
    for_each_backend(|db| {
        // The guardless form the ORM's session uses.
        let mut conn = setup(db);
        conn.begin_transaction().unwrap();
        insert(&mut conn, db, 1);
        fail_a_statement(&mut conn);
        let after = conn.exec_driver_sql(&db.sql("INSERT INTO t (x) VALUES (?)"), &[Value::Int(2)]);
        let result = conn.commit_transaction();
        if aborts_on_error(db) {
            // The server refuses statements until the transaction ends.
            let refused = after.unwrap_err();
            assert_eq!(
                refused.database_error().and_then(|e| e.code()),
                Some("25P02")
            );
            assert_rolled_back_commit(&result.unwrap_err());
            assert_eq!(committed(db), Vec::<i64>::new());
        } else {
            after.unwrap();
            result.unwrap();
            assert_eq!(committed(db), [1, 2]);
        }
        assert_reusable(&mut conn, db, 10);
    });
}

#[test]
fn closure_transaction_that_swallows_a_statement_error() {
    for_each_backend(|db| {
        let mut conn = setup(db);
        let result = conn.transaction(|tx| {
            insert(tx, db, 1);
            let swallowed = tx.exec_driver_sql("INSERT INTO t (x) VALUES (NULL)", &[]);
            assert!(swallowed.is_err());
            Ok("done")
        });
        if aborts_on_error(db) {
            assert_rolled_back_commit(&result.unwrap_err());
            assert_eq!(committed(db), Vec::<i64>::new());
        } else {
            assert_eq!(result.unwrap(), "done");
            assert_eq!(committed(db), [1]);
        }
        assert_reusable(&mut conn, db, 10);
    });
}

#[test]
fn a_savepoint_rolled_back_below_the_failure_heals_the_transaction() {
    for_each_backend(|db| {
        let mut conn = setup(db);

        // Rolled back explicitly.
        let mut tx = conn.begin().unwrap();
        insert(&mut tx, db, 1);
        {
            let mut sp = tx.begin_nested().unwrap();
            insert(&mut sp, db, 100);
            fail_a_statement(&mut sp);
            sp.rollback().unwrap();
        }
        insert(&mut tx, db, 2);
        tx.commit().unwrap();
        assert_eq!(committed(db), [1, 2]);

        // Dropped: the guard rolls back to the savepoint.
        let mut tx = conn.begin().unwrap();
        insert(&mut tx, db, 3);
        {
            let mut sp = tx.begin_nested().unwrap();
            fail_a_statement(&mut sp);
        }
        tx.commit().unwrap();
        assert_eq!(committed(db), [1, 2, 3]);

        // A failure inside a savepoint nested in another, healed by rolling back the outer
        // one (the inner one is never ended).
        conn.begin_transaction().unwrap();
        insert(&mut conn, db, 4);
        let outer = conn.savepoint().unwrap();
        insert(&mut conn, db, 101);
        let _inner = conn.savepoint().unwrap();
        fail_a_statement(&mut conn);
        conn.rollback_to_savepoint(&outer).unwrap();
        conn.commit_transaction().unwrap();
        assert_eq!(committed(db), [1, 2, 3, 4]);

        // The guardless savepoint calls, as the ORM's session makes them.
        conn.begin_transaction().unwrap();
        insert(&mut conn, db, 5);
        let name = conn.savepoint().unwrap();
        fail_a_statement(&mut conn);
        conn.rollback_to_savepoint(&name).unwrap();
        insert(&mut conn, db, 6);
        conn.commit_transaction().unwrap();
        assert_eq!(committed(db), [1, 2, 3, 4, 5, 6]);
    });
}

#[test]
fn a_savepoint_released_over_a_failure_does_not_heal_it() {
    for_each_backend(|db| {
        let mut conn = setup(db);
        let mut tx = conn.begin().unwrap();
        insert(&mut tx, db, 1);
        let released = {
            let mut sp = tx.begin_nested().unwrap();
            insert(&mut sp, db, 2);
            fail_a_statement(&mut sp);
            sp.commit()
        };
        let result = tx.commit();
        if aborts_on_error(db) {
            // RELEASE is refused in an aborted transaction, and so is the COMMIT.
            assert!(released.is_err());
            assert_rolled_back_commit(&result.unwrap_err());
            assert_eq!(committed(db), Vec::<i64>::new());
        } else {
            released.unwrap();
            result.unwrap();
            assert_eq!(committed(db), [1, 2]);
        }
        assert_reusable(&mut conn, db, 10);
    });
}

/// Two transactions lock two rows in opposite orders; the server picks a victim, whose
/// caller ignores the deadlock, runs another statement and commits. PostgreSQL aborts the
/// victim's transaction; MariaDB rolls it back whole, after which a statement would run in
/// autocommit mode. Either way nothing of the victim may be committed.
#[test]
fn commit_after_a_deadlock() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return; // one writer at a time: no deadlocks
        }
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql(
            "CREATE TABLE locks (id INTEGER PRIMARY KEY, v INTEGER)",
            &[],
        )
        .unwrap();
        conn.exec_driver_sql("CREATE TABLE log (who INTEGER)", &[])
            .unwrap();
        conn.exec_driver_sql("INSERT INTO locks (id, v) VALUES (1, 0), (2, 0)", &[])
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let update = db.sql("UPDATE locks SET v = v + ? WHERE id = ?");
        let log = db.sql("INSERT INTO log (who) VALUES (?)");
        let handles: Vec<_> = [(1_i64, 2_i64, 10_i64), (2, 1, 100)]
            .into_iter()
            .map(|(first, second, add)| {
                let engine = db.engine().clone();
                let barrier = barrier.clone();
                let (update, log) = (update.clone(), log.clone());
                thread::spawn(move || {
                    let mut conn = engine.connect().unwrap();
                    let mut tx = conn.begin().unwrap();
                    tx.exec_driver_sql(&update, &[Value::Int(add), Value::Int(first)])
                        .unwrap();
                    barrier.wait();
                    let deadlock = tx
                        .exec_driver_sql(&update, &[Value::Int(add), Value::Int(second)])
                        .err();
                    // The victim carries on as if nothing happened.
                    let after = tx.exec_driver_sql(&log, &[Value::Int(add)]).err();
                    let commit = tx.commit().err();
                    let open_after = conn.in_transaction();
                    let usable = conn.exec_driver_sql("SELECT 1", &[]).is_ok();
                    (add, deadlock, after, commit, open_after, usable)
                })
            })
            .collect();
        let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let victims: Vec<_> = outcomes.iter().filter(|o| o.1.is_some()).collect();
        assert_eq!(victims.len(), 1, "exactly one victim: {outcomes:?}");
        let (victim, deadlock, after, commit, open_after, usable) = victims[0];
        let winner = if *victim == 10 { 100 } else { 10 };
        assert_eq!(
            deadlock.as_ref().and_then(Error::kind),
            Some(ErrorKind::Deadlock)
        );
        assert!(
            after.is_some(),
            "a statement after the deadlock ran: {after:?}"
        );
        assert_rolled_back_commit(commit.as_ref().expect("the victim's COMMIT succeeded"));
        assert!(!open_after);
        assert!(usable);

        let mut check = db.engine().connect().unwrap();
        let vs: Vec<i64> = check
            .exec_driver_sql("SELECT v FROM locks ORDER BY id", &[])
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(
            vs,
            [winner, winner],
            "only the winner's updates are committed"
        );
        let logged: Vec<i64> = check
            .exec_driver_sql("SELECT who FROM log", &[])
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(logged, [winner]);
    });
}

/// SQLite's `OR ROLLBACK` conflict clause rolls back the whole transaction when it fires.
/// The statements after it would run in autocommit mode, outside the transaction their
/// caller thinks is open; they are refused instead, and so is the COMMIT.
#[test]
fn sqlite_statement_that_rolls_back_the_whole_transaction() {
    let db = retort_testkit::sqlite();
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)", &[])
        .unwrap();
    let mut tx = conn.begin().unwrap();
    insert(&mut tx, &db, 1);
    let err = tx
        .exec_driver_sql("INSERT OR ROLLBACK INTO t (x) VALUES (1)", &[])
        .unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");

    let refused = tx
        .exec_driver_sql("INSERT INTO t (x) VALUES (2)", &[])
        .unwrap_err();
    assert_rolled_back_commit(&refused);
    assert!(refused.to_string().contains("UNIQUE"), "{refused}");
    assert!(tx.begin_nested().is_err());
    assert_rolled_back_commit(&tx.commit().unwrap_err());
    assert_eq!(committed(&db), Vec::<i64>::new());
    assert_reusable(&mut conn, &db, 10);

    // Rolling back instead is what the caller should do, and it succeeds.
    let mut tx = conn.begin().unwrap();
    insert(&mut tx, &db, 1);
    let _ = tx.exec_driver_sql("INSERT OR ROLLBACK INTO t (x) VALUES (1)", &[]);
    tx.rollback().unwrap();
    assert_reusable(&mut conn, &db, 20);
}
