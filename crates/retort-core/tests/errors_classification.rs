//! Errors provoked for real on every backend, matched by family and kind, with the constraint,
//! table and column the database names and the statement that failed.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use retort_core::{Connection, DatabaseError, Error, ErrorKind, Value};
use retort_testkit::{for_each_backend, TestDb};

fn schema(db: &TestDb) -> Connection {
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql(
        "CREATE TABLE parent (
            id INTEGER PRIMARY KEY,
            name VARCHAR(20) NOT NULL,
            age INTEGER,
            CONSTRAINT uq_parent_name UNIQUE (name),
            CONSTRAINT chk_parent_age CHECK (age >= 0)
        )",
        &[],
    )
    .unwrap();
    conn.exec_driver_sql(
        "CREATE TABLE child (
            id INTEGER PRIMARY KEY,
            parent_id INTEGER,
            CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id)
        )",
        &[],
    )
    .unwrap();
    conn.exec_driver_sql(
        "INSERT INTO parent (id, name, age) VALUES (1, 'alice', 30)",
        &[],
    )
    .unwrap();
    conn.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (1, 1)", &[])
        .unwrap();
    conn
}

/// Runs a statement that must fail and returns its database error, checking the family
/// variant agrees with the kind and that the statement and parameters are attached.
fn fails(
    db: &TestDb,
    conn: &mut Connection,
    sql: &str,
    params: &[Value],
) -> (Error, DatabaseError) {
    let sql = db.sql(sql);
    let err = conn.exec_driver_sql(&sql, params).unwrap_err();
    let dbe = err
        .database_error()
        .unwrap_or_else(|| panic!("{}: not a database error: {err:?}", db.name()))
        .clone();
    assert_eq!(dbe.sql(), Some(sql.as_str()));
    assert_eq!(dbe.params(), Some(params));
    let shown = err.to_string();
    assert!(shown.contains(&sql), "{shown}");
    for p in params {
        assert!(shown.contains(&p.to_string()), "{shown}");
    }
    // Every error the server reports has its code; a dropped socket has none.
    if dbe.kind() != ErrorKind::ConnectionLost {
        assert!(
            dbe.code().is_some(),
            "{}: no driver code in {dbe}",
            db.name()
        );
    }
    (err, dbe)
}

#[test]
fn unique_violation() {
    for_each_backend(|db| {
        let mut conn = schema(db);
        let (err, e) = fails(
            db,
            &mut conn,
            "INSERT INTO parent (id, name) VALUES (?, ?)",
            &[Value::Int(2), "alice".into()],
        );
        assert!(matches!(err, Error::Integrity(_)), "{err:?}");
        assert_eq!(e.kind(), ErrorKind::UniqueViolation);
        match db.name() {
            "sqlite" => {
                // SQLite names the column, not the constraint.
                assert_eq!(e.table(), Some("parent"));
                assert_eq!(e.column(), Some("name"));
            }
            _ => assert_eq!(e.constraint(), Some("uq_parent_name"), "{e}"),
        }

        let (_, pk) = fails(
            db,
            &mut conn,
            "INSERT INTO parent (id, name) VALUES (?, ?)",
            &[Value::Int(1), "bob".into()],
        );
        assert_eq!(pk.kind(), ErrorKind::UniqueViolation);
        match db.name() {
            "postgresql" => assert_eq!(pk.constraint(), Some("parent_pkey")),
            "mysql" => assert_eq!(pk.constraint(), Some("PRIMARY")),
            _ => assert_eq!(pk.column(), Some("id")),
        }
    });
}

#[test]
fn foreign_key_violation() {
    for_each_backend(|db| {
        let mut conn = schema(db);
        let (err, e) = fails(
            db,
            &mut conn,
            "INSERT INTO child (id, parent_id) VALUES (?, ?)",
            &[Value::Int(2), Value::Int(99)],
        );
        assert!(matches!(err, Error::Integrity(_)));
        assert_eq!(e.kind(), ErrorKind::ForeignKeyViolation);
        if db.name() != "sqlite" {
            assert_eq!(e.constraint(), Some("fk_child_parent"), "{e}");
            assert_eq!(e.table(), Some("child"), "{e}");
        }
        // Deleting a referenced parent.
        let (_, e) = fails(
            db,
            &mut conn,
            "DELETE FROM parent WHERE id = ?",
            &[Value::Int(1)],
        );
        assert_eq!(e.kind(), ErrorKind::ForeignKeyViolation);
        if db.name() != "sqlite" {
            assert_eq!(e.constraint(), Some("fk_child_parent"), "{e}");
        }
    });
}

#[test]
fn not_null_violation() {
    for_each_backend(|db| {
        let mut conn = schema(db);
        let (err, e) = fails(
            db,
            &mut conn,
            "INSERT INTO parent (id, name) VALUES (?, ?)",
            &[Value::Int(3), Value::Null],
        );
        assert!(matches!(err, Error::Integrity(_)));
        assert_eq!(e.kind(), ErrorKind::NotNullViolation);
        assert_eq!(e.column(), Some("name"), "{e}");
        // Leaving out a NOT NULL column without a default.
        let (_, e) = fails(
            db,
            &mut conn,
            "INSERT INTO parent (id) VALUES (?)",
            &[Value::Int(4)],
        );
        assert_eq!(e.kind(), ErrorKind::NotNullViolation);
    });
}

#[test]
fn check_violation() {
    for_each_backend(|db| {
        let mut conn = schema(db);
        let (err, e) = fails(
            db,
            &mut conn,
            "INSERT INTO parent (id, name, age) VALUES (?, ?, ?)",
            &[Value::Int(5), "eve".into(), Value::Int(-1)],
        );
        assert!(matches!(err, Error::Integrity(_)));
        assert_eq!(e.kind(), ErrorKind::CheckViolation);
        assert_eq!(e.constraint(), Some("chk_parent_age"), "{e}");
    });
}

#[test]
fn programming_errors() {
    for_each_backend(|db| {
        let mut conn = schema(db);
        let (err, e) = fails(db, &mut conn, "SELEC name FROM parent", &[]);
        assert!(matches!(err, Error::Programming(_)));
        assert_eq!(e.kind(), ErrorKind::Syntax);

        let (err, e) = fails(
            db,
            &mut conn,
            "SELECT * FROM no_such_table WHERE id = ?",
            &[Value::Int(1)],
        );
        assert!(matches!(err, Error::Programming(_)));
        assert_eq!(e.kind(), ErrorKind::UndefinedTable);

        let (err, e) = fails(db, &mut conn, "SELECT no_such_column FROM parent", &[]);
        assert!(matches!(err, Error::Programming(_)));
        assert_eq!(e.kind(), ErrorKind::UndefinedColumn);

        let (err, e) = fails(db, &mut conn, "CREATE TABLE parent (id INTEGER)", &[]);
        assert!(matches!(err, Error::Programming(_)));
        assert_eq!(e.kind(), ErrorKind::DuplicateObject);

        // A wrong parameter count.
        let err = conn
            .exec_driver_sql(&db.sql("SELECT * FROM parent WHERE id = ?"), &[])
            .unwrap_err();
        assert!(matches!(err, Error::Programming(_)), "{err:?}");
    });
}

#[test]
fn data_errors() {
    for_each_backend(|db| {
        let mut conn = schema(db);
        let long = "x".repeat(30);
        let too_long = conn.exec_driver_sql(
            &db.sql("INSERT INTO parent (id, name) VALUES (?, ?)"),
            &[Value::Int(10), long.as_str().into()],
        );
        let big = conn.exec_driver_sql(
            &db.sql("INSERT INTO parent (id, name, age) VALUES (?, ?, ?)"),
            &[Value::Int(11), "big".into(), Value::Int(1 << 40)],
        );
        if db.name() == "sqlite" {
            // SQLite enforces neither VARCHAR lengths nor integer widths: both are stored.
            too_long.unwrap();
            big.unwrap();
            return;
        }
        let err = too_long.unwrap_err();
        assert!(matches!(err, Error::Data(_)), "{err:?}");
        assert_eq!(err.kind(), Some(ErrorKind::TooLong));

        let err = big.unwrap_err();
        assert!(matches!(err, Error::Data(_)), "{err:?}");
        assert_eq!(err.kind(), Some(ErrorKind::OutOfRange));

        let err = conn
            .exec_driver_sql(
                &db.sql("INSERT INTO parent (id, name, age) VALUES (?, ?, ?)"),
                &[Value::Int(12), "bad".into(), "not a number".into()],
            )
            .unwrap_err();
        assert!(matches!(err, Error::Data(_)), "{err:?}");
        assert_eq!(err.kind(), Some(ErrorKind::InvalidValue));
    });
}

#[test]
fn deadlock_between_two_connections() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return; // covered by sqlite_reports_a_locked_database
        }
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql(
            "CREATE TABLE locks (id INTEGER PRIMARY KEY, v INTEGER)",
            &[],
        )
        .unwrap();
        conn.exec_driver_sql("INSERT INTO locks (id, v) VALUES (1, 0), (2, 0)", &[])
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let update = db.sql("UPDATE locks SET v = v + 1 WHERE id = ?");
        let handles: Vec<_> = [(1, 2), (2, 1)]
            .into_iter()
            .map(|(first, second)| {
                let engine = db.engine().clone();
                let barrier = barrier.clone();
                let update = update.clone();
                thread::spawn(move || {
                    let mut conn = engine.connect().unwrap();
                    let mut tx = conn.begin().unwrap();
                    tx.exec_driver_sql(&update, &[Value::Int(first)]).unwrap();
                    barrier.wait();
                    let result = tx.exec_driver_sql(&update, &[Value::Int(second)]);
                    match result {
                        Ok(_) => tx.commit().map(|_| None),
                        Err(e) => Ok(Some(e)), // dropping tx rolls back, freeing the other
                    }
                })
            })
            .collect();
        let outcomes: Vec<Option<Error>> = handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect();
        let errors: Vec<&Error> = outcomes.iter().flatten().collect();
        assert_eq!(errors.len(), 1, "exactly one victim: {outcomes:?}");
        let err = errors[0];
        assert!(matches!(err, Error::Operational(_)), "{err:?}");
        assert_eq!(err.kind(), Some(ErrorKind::Deadlock), "{err:?}");
        assert!(err.to_string().contains("UPDATE locks"), "{err}");
    });
}

#[test]
fn sqlite_reports_a_locked_database() {
    let db = retort_testkit::sqlite();
    let url = db.url().clone().with_query_value("timeout", "0.2");
    let engine = retort_core::create_engine(&url).unwrap();
    let mut a = engine.connect().unwrap();
    a.exec_driver_sql(
        "CREATE TABLE locks (id INTEGER PRIMARY KEY, v INTEGER)",
        &[],
    )
    .unwrap();
    a.exec_driver_sql("INSERT INTO locks VALUES (1, 0), (2, 0)", &[])
        .unwrap();
    let mut b = engine.connect().unwrap();

    let mut tx_a = a.begin().unwrap();
    tx_a.exec_driver_sql("UPDATE locks SET v = 1 WHERE id = 1", &[])
        .unwrap();
    // B's writer waits the busy timeout for A's write lock, then gives up: SQLite has no
    // deadlock detection, one writer at a time.
    let mut tx_b = b.begin().unwrap();
    let start = std::time::Instant::now();
    let err = tx_b
        .exec_driver_sql("UPDATE locks SET v = 2 WHERE id = 2", &[])
        .unwrap_err();
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(err, Error::Operational(_)), "{err:?}");
    assert_eq!(err.kind(), Some(ErrorKind::LockTimeout));
    assert_eq!(err.database_error().unwrap().code(), Some("5")); // SQLITE_BUSY
    drop(tx_b);
    tx_a.commit().unwrap();
    // With A done, B can write.
    b.exec_driver_sql("UPDATE locks SET v = 2 WHERE id = 2", &[])
        .unwrap();
}

#[test]
fn killed_connection_error_carries_the_statement() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return;
        }
        let mut conn = db.engine().connect().unwrap();
        let pid = db.backend_pid(&mut conn).unwrap();
        db.kill_backend(pid);
        let (err, e) = fails(db, &mut conn, "SELECT ? + 1", &[Value::Int(41)]);
        assert!(matches!(err, Error::Operational(_)));
        assert_eq!(e.kind(), ErrorKind::ConnectionLost);
    });
}

#[test]
fn postgresql_statement_timeout_and_lock_timeout() {
    let Some(db) = retort_testkit::postgresql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql("SET statement_timeout = '50ms'", &[])
        .unwrap();
    let err = conn.exec_driver_sql("SELECT pg_sleep(2)", &[]).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::StatementTimeout), "{err:?}");
    conn.exec_driver_sql("SET statement_timeout = 0", &[])
        .unwrap();

    conn.exec_driver_sql("CREATE TABLE l (id INTEGER)", &[])
        .unwrap();
    let mut other = db.engine().connect().unwrap();
    let mut tx = other.begin().unwrap();
    tx.exec_driver_sql("LOCK TABLE l", &[]).unwrap();
    conn.exec_driver_sql("SET lock_timeout = '50ms'", &[])
        .unwrap();
    let err = conn.exec_driver_sql("SELECT * FROM l", &[]).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::LockTimeout), "{err:?}");
    tx.rollback().unwrap();
}
