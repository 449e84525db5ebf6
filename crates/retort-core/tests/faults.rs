//! Faults injected between retort and the server, on PostgreSQL and MariaDB, through the test
//! kit's TCP proxy: connections cut before a statement, in the middle of a transaction, in the
//! middle of a result, after a COMMIT reached the server but before its answer came back, and
//! all at once (a server restart). Each test asserts what retort promises then.

use std::time::Duration;

use retort_core::{Connection, Engine, Error, ErrorKind};
use retort_testkit::proxy::FaultProxy;
use retort_testkit::{for_each_backend, TestDb};

/// The server backends with a proxy in front: the test database and the proxy.
fn for_each_server(mut f: impl FnMut(&TestDb, &FaultProxy)) {
    for_each_backend(|db| {
        if let Some(proxy) = db.fault_proxy() {
            f(db, &proxy);
        }
    });
}

/// An engine reaching the test database through the proxy.
fn proxied(proxy: &FaultProxy, pool_size: u32) -> Engine {
    Engine::builder(proxy.url())
        .pool_size(pool_size)
        .pool_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A direct connection, to see what the database holds.
fn count(db: &TestDb, sql: &str) -> i64 {
    db.engine()
        .connect()
        .unwrap()
        .exec_driver_sql(sql, &[])
        .unwrap()
        .scalar()
        .unwrap()
}

fn create(db: &TestDb, sql: &str) {
    db.engine()
        .connect()
        .unwrap()
        .exec_driver_sql(sql, &[])
        .unwrap();
}

fn assert_lost(err: &Error) {
    assert!(matches!(err, Error::Operational(_)), "{err:?}");
    assert_eq!(err.kind(), Some(ErrorKind::ConnectionLost), "{err:?}");
    assert!(err.is_disconnect());
}

/// The pool hands out a working connection after a fault.
fn assert_pool_recovers(engine: &Engine) {
    let one: i64 = engine
        .connect()
        .unwrap()
        .exec_driver_sql("SELECT 1", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(one, 1);
}

#[test]
fn a_lost_commit_reply_is_an_unknown_outcome_not_a_rollback() {
    for_each_server(|db, proxy| {
        create(db, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
        let engine = proxied(proxy, 1);
        let insert = |conn: &mut Connection, id: i64| {
            conn.exec_driver_sql(&format!("INSERT INTO t (id) VALUES ({id})"), &[])
                .map(drop)
        };
        let check = |err: Error, id: i64, form: &str| {
            assert!(matches!(err, Error::Operational(_)), "{form}: {err:?}");
            assert_eq!(
                err.kind(),
                Some(ErrorKind::CommitOutcomeUnknown),
                "{form}: {err:?}"
            );
            assert!(err.is_disconnect(), "{form}");
            let message = err.to_string();
            assert!(message.contains("may or may not"), "{form}: {message}");
            assert_eq!(err.database_error().unwrap().sql(), Some("COMMIT"));
            // The server did commit: the error must not have claimed a rollback.
            assert_eq!(
                count(db, &format!("SELECT count(*) FROM t WHERE id = {id}")),
                1,
                "{form}: the committed row is there"
            );
        };

        // A transaction guard.
        let mut conn = engine.connect().unwrap();
        let mut tx = conn.begin().unwrap();
        insert(&mut tx, 1).unwrap();
        proxy.cut_after_commit();
        check(tx.commit().unwrap_err(), 1, "Transaction::commit");
        assert_eq!(proxy.fired(), 1);
        assert!(!conn.in_transaction());
        drop(conn);

        // The closure form.
        let mut conn = engine.connect().unwrap();
        proxy.cut_after_commit();
        let err = conn.transaction(|tx| insert(tx, 2)).unwrap_err();
        check(err, 2, "Connection::transaction");
        drop(conn);

        // The guardless form the ORM's Session uses.
        let mut conn = engine.connect().unwrap();
        conn.begin_transaction().unwrap();
        insert(&mut conn, 3).unwrap();
        proxy.cut_after_commit();
        check(
            conn.commit_transaction().unwrap_err(),
            3,
            "commit_transaction",
        );
        drop(conn);

        // COMMIT as raw SQL (on PostgreSQL a prepared statement, not a simple query).
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("BEGIN", &[]).unwrap();
        insert(&mut conn, 4).unwrap();
        proxy.cut_after_commit();
        let err = conn.exec_driver_sql("COMMIT", &[]).unwrap_err();
        check(err, 4, "raw COMMIT");
        drop(conn);
        assert_eq!(proxy.fired(), 4);

        assert_pool_recovers(&engine);
    });
}

#[test]
fn a_connection_lost_mid_transaction_loses_all_of_it() {
    for_each_server(|db, proxy| {
        create(db, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
        let engine = proxied(proxy, 1);
        for cut_all in [false, true] {
            let mut conn = engine.connect().unwrap();
            let mut tx = conn.begin().unwrap();
            tx.exec_driver_sql("INSERT INTO t (id) VALUES (1)", &[])
                .unwrap();
            if cut_all {
                assert_eq!(proxy.cut_all(), 1);
            } else {
                proxy.cut_before_next_query();
            }
            let err = tx
                .exec_driver_sql("INSERT INTO t (id) VALUES (2)", &[])
                .unwrap_err();
            assert_lost(&err);
            // The connection died before COMMIT was sent, so the outcome is known: nothing
            // was committed, and commit says so with ConnectionLost, not an unknown outcome.
            let err = tx.commit().unwrap_err();
            assert_lost(&err);
            drop(conn);
            assert_eq!(count(db, "SELECT count(*) FROM t"), 0, "cut_all: {cut_all}");
            assert_pool_recovers(&engine);
        }
        assert_eq!(proxy.fired(), 1);
    });
}

#[test]
fn a_statement_cut_before_it_is_sent_does_not_run() {
    for_each_server(|db, proxy| {
        create(db, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
        let engine = proxied(proxy, 1);
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("SELECT 1", &[]).unwrap();
        proxy.cut_before_next_query();
        let err = conn
            .exec_driver_sql("INSERT INTO t (id) VALUES (1)", &[])
            .unwrap_err();
        assert_lost(&err);
        assert_eq!(proxy.fired(), 1);
        drop(conn);
        assert_eq!(count(db, "SELECT count(*) FROM t"), 0);
        assert_pool_recovers(&engine);
    });
}

#[test]
fn a_result_cut_midway_is_an_error_never_a_short_result() {
    const ROWS: i64 = 3000;
    for_each_server(|db, proxy| {
        create(
            db,
            "CREATE TABLE big (id INTEGER PRIMARY KEY, pad VARCHAR(200))",
        );
        let pad = "x".repeat(200);
        for chunk in 0..ROWS / 500 {
            let values: Vec<String> = (chunk * 500 + 1..=chunk * 500 + 500)
                .map(|id| format!("({id}, '{pad}')"))
                .collect();
            create(
                db,
                &format!("INSERT INTO big (id, pad) VALUES {}", values.join(", ")),
            );
        }
        let select = "SELECT id, pad FROM big ORDER BY id";
        let engine = proxied(proxy, 1);

        // Read in full: an error, not the rows that arrived.
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("SELECT 1", &[]).unwrap();
        proxy.cut_mid_result(32 * 1024);
        let err = conn.exec_driver_sql(select, &[]).unwrap_err();
        assert_lost(&err);
        assert_eq!(proxy.fired(), 1);
        drop(conn);

        // Streamed: the rows that arrived, then one error, then the end.
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("SELECT 1", &[]).unwrap();
        proxy.cut_mid_result(32 * 1024);
        let mut ok = 0;
        let mut errors = Vec::new();
        for row in conn.stream_driver_sql(select, &[]).unwrap() {
            match row {
                Ok(row) => {
                    ok += 1;
                    assert_eq!(
                        row.get::<i64>(0).unwrap(),
                        ok,
                        "rows arrive whole, in order"
                    );
                }
                Err(e) => errors.push(e),
            }
        }
        assert_eq!(proxy.fired(), 2);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_lost(&errors[0]);
        assert!(ok < ROWS, "{ok} rows: the cut came before the end");
        drop(conn);

        // The pool replaced the connection; the whole result reads through it.
        let n = engine
            .connect()
            .unwrap()
            .stream_driver_sql(select, &[])
            .unwrap()
            .map(|row| row.map(drop))
            .collect::<retort_core::Result<Vec<()>>>()
            .unwrap()
            .len();
        assert_eq!(n as i64, ROWS);
    });
}

#[test]
fn a_server_restart_fails_at_most_one_caller() {
    const POOL: u32 = 5;
    for_each_server(|_db, proxy| {
        let engine = proxied(proxy, POOL);
        // Five connections in the pool, all used once.
        let mut held: Vec<Connection> = (0..POOL).map(|_| engine.connect().unwrap()).collect();
        for conn in &mut held {
            conn.exec_driver_sql("SELECT 1", &[]).unwrap();
        }
        drop(held);
        assert_eq!(engine.pool_status(), (POOL, POOL));

        assert_eq!(proxy.cut_all(), POOL as usize);
        let mut failures = Vec::new();
        for _ in 0..POOL {
            let mut conn = engine.connect().unwrap();
            if let Err(e) = conn.exec_driver_sql("SELECT 1", &[]) {
                failures.push(e);
            }
        }
        assert!(
            failures.len() <= 1,
            "{} callers failed: {failures:?}",
            failures.len()
        );
        for e in &failures {
            assert_lost(e);
        }
        assert_pool_recovers(&engine);
    });
}
#[test]
fn dispose_closes_the_pooled_connections() {
    for_each_server(|_db, proxy| {
        let engine = proxied(proxy, 3);
        let mut kept = engine.connect().unwrap();
        {
            let mut a = engine.connect().unwrap();
            let mut b = engine.connect().unwrap();
            a.exec_driver_sql("SELECT 1", &[]).unwrap();
            b.exec_driver_sql("SELECT 1", &[]).unwrap();
        }
        kept.exec_driver_sql("SELECT 1", &[]).unwrap();
        assert_eq!(engine.pool_status(), (3, 2));

        engine.dispose();
        // The idle ones are closed now; the one checked out keeps working until returned,
        // and is closed then rather than pooled again.
        assert_eq!(engine.pool_status(), (1, 0));
        kept.exec_driver_sql("SELECT 1", &[]).unwrap();
        drop(kept);
        assert_eq!(engine.pool_status(), (0, 0));
        let accepted = proxy.accepted();
        assert_pool_recovers(&engine);
        assert_eq!(
            proxy.accepted(),
            accepted + 1,
            "a new connection was opened"
        );
    });
}
