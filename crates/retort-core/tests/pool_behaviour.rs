//! The connection pool on every backend: exhaustion, connections killed from outside,
//! pre-ping, recycling, transactions left open, in-memory SQLite, and connect failures.

use std::thread;
use std::time::{Duration, Instant};

use retort_core::{create_engine, Connection, Engine, Error, ErrorKind, Value};
use retort_testkit::{for_each_backend, TestDb};

fn backend_pid(db: &TestDb, conn: &mut Connection) -> i64 {
    db.backend_pid(conn).unwrap()
}

#[test]
fn exhaustion_gives_pool_timeout_after_the_timeout() {
    for_each_backend(|db| {
        let timeout = Duration::from_millis(300);
        let engine = db
            .builder()
            .pool_size(2)
            .pool_timeout(timeout)
            .build()
            .unwrap();
        let a = engine.connect().unwrap();
        let _b = engine.connect().unwrap();
        assert_eq!(engine.pool_status(), (2, 0));

        let start = Instant::now();
        let err = engine.connect().unwrap_err();
        let waited = start.elapsed();
        assert!(
            matches!(err, Error::PoolTimeout(t) if t == timeout),
            "{err:?}"
        );
        assert!(waited >= timeout, "returned after {waited:?}");
        assert!(waited < Duration::from_secs(3), "hung for {waited:?}");

        // A waiting checkout gets a connection as soon as one is returned.
        let engine2 = engine.clone();
        let waiter = thread::spawn(move || {
            let start = Instant::now();
            engine2
                .checkout_within(Duration::from_secs(5))
                .map(|_| start.elapsed())
        });
        thread::sleep(Duration::from_millis(100));
        drop(a);
        let waited = waiter.join().unwrap().unwrap();
        assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    });
}

/// A checkout with a longer timeout than the engine's, by retrying on PoolTimeout.
trait Checkout {
    fn checkout_within(&self, total: Duration) -> retort_core::Result<Connection>;
}

impl Checkout for Engine {
    fn checkout_within(&self, total: Duration) -> retort_core::Result<Connection> {
        let deadline = Instant::now() + total;
        loop {
            match self.connect() {
                Err(Error::PoolTimeout(_)) if Instant::now() < deadline => continue,
                other => return other,
            }
        }
    }
}

#[test]
fn killed_connection_is_lost_and_never_handed_out_again() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return; // an embedded database has no server to lose
        }
        let engine = db.builder().pool_size(1).build().unwrap();
        let mut conn = engine.connect().unwrap();
        let pid = backend_pid(db, &mut conn);
        db.kill_backend(pid);

        let err = conn.exec_driver_sql("SELECT 1", &[]).unwrap_err();
        assert!(matches!(err, Error::Operational(_)), "{err:?}");
        assert_eq!(err.kind(), Some(ErrorKind::ConnectionLost), "{err:?}");
        assert!(err.is_disconnect());
        assert_eq!(err.database_error().unwrap().sql(), Some("SELECT 1"));
        drop(conn);

        // The dead connection was discarded: the next checkout is a new one that works.
        let mut conn = engine.connect().unwrap();
        let new_pid = backend_pid(db, &mut conn);
        assert_ne!(new_pid, pid);
        assert_eq!(engine.pool_status().0, 1);
    });
}

#[test]
fn pre_ping_replaces_a_dead_idle_connection() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return;
        }
        let engine = db
            .builder()
            .pool_size(1)
            .pool_pre_ping(true)
            .build()
            .unwrap();
        let pid = backend_pid(db, &mut engine.connect().unwrap());
        db.kill_backend(pid);
        // The idle connection is dead; pre-ping notices and the first statement works.
        let mut conn = engine.connect().unwrap();
        let new_pid = backend_pid(db, &mut conn);
        assert_ne!(new_pid, pid);
    });
}

#[test]
fn recycle_replaces_old_connections() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return;
        }
        let engine = db
            .builder()
            .pool_size(1)
            .pool_recycle(Duration::from_millis(200))
            .build()
            .unwrap();
        let first = backend_pid(db, &mut engine.connect().unwrap());
        let again = backend_pid(db, &mut engine.connect().unwrap());
        assert_eq!(first, again, "a young connection is reused");
        thread::sleep(Duration::from_millis(300));
        let later = backend_pid(db, &mut engine.connect().unwrap());
        assert_ne!(first, later);
    });
}

#[test]
fn a_transaction_left_open_is_rolled_back_on_return() {
    for_each_backend(|db| {
        let engine = db.builder().pool_size(1).build().unwrap();
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)", &[])
            .unwrap();

        // A transaction guard forgotten, so only the connection's return can end it.
        let mut tx = conn.begin().unwrap();
        tx.exec_driver_sql("INSERT INTO t (x) VALUES (1)", &[])
            .unwrap();
        std::mem::forget(tx);
        assert!(conn.in_transaction());
        drop(conn);

        // With one pooled connection this is the same one; it is no longer in a
        // transaction and the insert is gone.
        let mut conn = engine.connect().unwrap();
        assert!(!conn.in_transaction());
        let n: i64 = conn
            .exec_driver_sql("SELECT count(*) FROM t", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 0);

        // The same for a transaction opened with raw SQL.
        conn.exec_driver_sql("BEGIN", &[]).unwrap();
        conn.exec_driver_sql("INSERT INTO t (x) VALUES (2)", &[])
            .unwrap();
        drop(conn);
        let mut conn = engine.connect().unwrap();
        let n: i64 = conn
            .exec_driver_sql("SELECT count(*) FROM t", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 0);
        // And the connection works normally afterwards.
        conn.transaction(|tx| {
            tx.exec_driver_sql("INSERT INTO t (x) VALUES (3)", &[])
                .map(drop)
        })
        .unwrap();
        let n: i64 = db
            .engine()
            .connect()
            .unwrap()
            .exec_driver_sql("SELECT count(*) FROM t", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 1);
    });
}

#[test]
fn engine_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Engine>();
    for_each_backend(|db| {
        let engine = db.builder().pool_size(3).build().unwrap();
        engine
            .connect()
            .unwrap()
            .exec_driver_sql("CREATE TABLE hits (n INTEGER)", &[])
            .unwrap();
        let insert = db.sql("INSERT INTO hits (n) VALUES (?)");
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let engine = engine.clone();
                let insert = insert.clone();
                thread::spawn(move || {
                    for j in 0..10 {
                        let mut conn = engine.checkout_within(Duration::from_secs(30)).unwrap();
                        conn.exec_driver_sql(&insert, &[Value::Int(i * 10 + j)])
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let n: i64 = engine
            .connect()
            .unwrap()
            .exec_driver_sql("SELECT count(*) FROM hits", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 60);
        assert!(engine.pool_status().0 <= 3);
    });
}

#[test]
fn in_memory_sqlite_has_one_shared_connection() {
    let engine = Engine::builder("sqlite://")
        .pool_size(5)
        .pool_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    {
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)", &[])
            .unwrap();
        conn.exec_driver_sql("INSERT INTO t VALUES (1)", &[])
            .unwrap();
        // A second checkout would need a second connection, which would see another
        // database. On this thread, which holds the only one, it fails at once rather than
        // wait for ever; another thread waits for it (here, past the timeout).
        let start = Instant::now();
        let err = engine.connect().unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
        assert!(start.elapsed() < Duration::from_millis(100));
        let other = engine.clone();
        let from_elsewhere = thread::spawn(move || other.connect().map(|_| ()))
            .join()
            .unwrap();
        assert!(matches!(from_elsewhere, Err(Error::PoolTimeout(_))));
    }
    let n: i64 = engine
        .connect()
        .unwrap()
        .exec_driver_sql("SELECT count(*) FROM t", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(engine.pool_status(), (1, 1));

    // A transaction begun and committed in raw SQL leaves nothing to roll back, and the only
    // connection (the whole database) is kept.
    {
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("BEGIN", &[]).unwrap();
        conn.exec_driver_sql("INSERT INTO t VALUES (2)", &[])
            .unwrap();
        conn.exec_driver_sql("COMMIT", &[]).unwrap();
        let mut tx = conn.begin().unwrap();
        tx.exec_driver_sql("COMMIT", &[]).unwrap();
        tx.rollback().unwrap();
    }
    let n: i64 = engine
        .connect()
        .unwrap()
        .exec_driver_sql("SELECT count(*) FROM t", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(engine.pool_status(), (1, 1));

    // Two in-memory engines are two databases.
    let other = create_engine("sqlite:///:memory:").unwrap();
    let err = other
        .connect()
        .unwrap()
        .exec_driver_sql("SELECT * FROM t", &[])
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::UndefinedTable));
}

#[test]
fn connect_failures_are_reported_at_once_with_their_kind() {
    let timeout = Duration::from_secs(20);
    for url in [
        "postgresql://postgres@127.0.0.1:1/test",
        "mysql://root@127.0.0.1:1/test",
    ] {
        let engine = Engine::builder(url).pool_timeout(timeout).build().unwrap();
        let start = Instant::now();
        let err = engine.connect().unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{url}: took {:?}",
            start.elapsed()
        );
        assert_eq!(
            err.kind(),
            Some(ErrorKind::ConnectionLost),
            "{url}: {err:?}"
        );
        assert!(matches!(err, Error::Operational(_)));
    }

    // A database that does not exist, on a server that does.
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return;
        }
        let url = db
            .url()
            .clone()
            .with_database(Some("retort_no_such_database"));
        let engine = Engine::builder(url).pool_timeout(timeout).build().unwrap();
        let start = Instant::now();
        let err = engine.connect().unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(matches!(err, Error::Operational(_)), "{err:?}");
        let code = err.database_error().unwrap().code().unwrap().to_owned();
        assert!(code == "3D000" || code == "1049", "{code}");
    });

    // An unopenable SQLite file.
    let engine = create_engine("sqlite:////nonexistent-dir/x/y.db").unwrap();
    let err = engine.connect().unwrap_err();
    assert!(matches!(err, Error::Operational(_)), "{err:?}");
}

#[test]
fn invalid_pool_options_are_argument_errors() {
    let cases = [
        Engine::builder("sqlite://")
            .pool_size(0)
            .pool_timeout(Duration::from_secs(1)),
        Engine::builder("sqlite:///x.db").pool_size(0),
        Engine::builder("sqlite:///x.db").pool_timeout(Duration::ZERO),
        Engine::builder("sqlite:///x.db").pool_recycle(Duration::ZERO),
    ];
    for (i, builder) in cases.into_iter().enumerate() {
        match builder.build() {
            Err(Error::Argument(msg)) => assert!(msg.starts_with("pool_"), "{msg}"),
            Ok(_) if i == 0 => {} // in-memory SQLite always has exactly one connection
            other => panic!("case {i}: expected an argument error, got {other:?}"),
        }
    }
}

#[test]
fn close_returns_and_invalidate_discards() {
    for_each_backend(|db| {
        let engine = db.builder().pool_size(1).build().unwrap();
        let mut conn = engine.connect().unwrap();
        let first = db.backend_pid(&mut conn);
        conn.close();
        assert_eq!(engine.pool_status(), (1, 1));
        let mut conn = engine.connect().unwrap();
        assert_eq!(
            db.backend_pid(&mut conn),
            first,
            "close() keeps it for reuse"
        );

        conn.invalidate();
        assert_eq!(engine.pool_status(), (0, 0));
        let mut conn = engine.connect().unwrap();
        if first.is_some() {
            assert_ne!(db.backend_pid(&mut conn), first);
        }
        conn.exec_driver_sql("SELECT 1", &[]).unwrap();
    });
}
