//! Transactions and savepoints on every backend.

use retort_core::{Connection, Error, IsolationLevel, Value};
use retort_testkit::{for_each_backend, TestDb};

fn setup(db: &TestDb) -> Connection {
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql("CREATE TABLE t (x INTEGER NOT NULL)", &[])
        .unwrap();
    conn
}

fn xs(conn: &mut Connection) -> Vec<i64> {
    conn.exec_driver_sql("SELECT x FROM t ORDER BY x", &[])
        .unwrap()
        .scalars()
        .unwrap()
}

/// What another connection sees: only committed work.
fn committed(db: &TestDb) -> Vec<i64> {
    xs(&mut db.engine().connect().unwrap())
}

fn insert(conn: &mut Connection, db: &TestDb, x: i64) {
    conn.exec_driver_sql(&db.sql("INSERT INTO t (x) VALUES (?)"), &[Value::Int(x)])
        .unwrap();
}

#[test]
fn commit_rollback_and_rollback_on_drop() {
    for_each_backend(|db| {
        let mut conn = setup(db);

        let mut tx = conn.begin().unwrap();
        assert!(tx.in_transaction());
        insert(&mut tx, db, 1);
        // Not visible elsewhere until committed.
        assert_eq!(committed(db), Vec::<i64>::new());
        tx.commit().unwrap();
        assert!(!conn.in_transaction());
        assert_eq!(committed(db), [1]);

        let mut tx = conn.begin().unwrap();
        insert(&mut tx, db, 2);
        assert_eq!(xs(&mut tx), [1, 2]);
        tx.rollback().unwrap();
        assert_eq!(xs(&mut conn), [1]);

        {
            let mut tx = conn.begin().unwrap();
            insert(&mut tx, db, 3);
        } // dropped without commit
        assert!(!conn.in_transaction());
        assert_eq!(xs(&mut conn), [1]);
        assert_eq!(committed(db), [1]);

        // Outside a transaction every statement commits by itself.
        insert(&mut conn, db, 4);
        assert_eq!(committed(db), [1, 4]);
    });
}

#[test]
fn closure_form_commits_on_ok_and_rolls_back_on_err() {
    for_each_backend(|db| {
        let mut conn = setup(db);
        let value = conn
            .transaction(|tx| {
                insert(tx, db, 1);
                insert(tx, db, 2);
                Ok(42)
            })
            .unwrap();
        assert_eq!(value, 42);
        assert_eq!(committed(db), [1, 2]);

        let err = conn
            .transaction(|tx| -> retort_core::Result<()> {
                insert(tx, db, 3);
                Err(Error::InvalidRequest("changed my mind".into()))
            })
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(m) if m == "changed my mind"));
        assert_eq!(committed(db), [1, 2]);

        // A database error inside the closure also rolls everything back.
        let err = conn
            .transaction(|tx| {
                insert(tx, db, 5);
                tx.exec_driver_sql("INSERT INTO t (x) VALUES (NULL)", &[])
            })
            .unwrap_err();
        assert!(matches!(err, Error::Integrity(_)), "{err:?}");
        assert!(!conn.in_transaction());
        assert_eq!(committed(db), [1, 2]);

        // The engine-level form checks out its own connection.
        db.engine()
            .transaction(|tx| {
                insert(tx, db, 6);
                Ok(())
            })
            .unwrap();
        assert_eq!(committed(db), [1, 2, 6]);
    });
}

#[test]
fn nested_savepoints() {
    for_each_backend(|db| {
        let mut conn = setup(db);
        let mut tx = conn.begin().unwrap();
        insert(&mut tx, db, 1);
        {
            let mut sp = tx.begin_nested().unwrap();
            assert!(sp.in_nested_transaction());
            insert(&mut sp, db, 2);
            {
                let mut inner = sp.begin_nested().unwrap();
                insert(&mut inner, db, 3);
                inner.rollback().unwrap();
            }
            assert_eq!(xs(&mut sp), [1, 2]);
            {
                let mut inner = sp.begin_nested().unwrap();
                insert(&mut inner, db, 4);
                {
                    let mut deepest = inner.begin_nested().unwrap();
                    insert(&mut deepest, db, 5);
                    deepest.commit().unwrap();
                }
                inner.commit().unwrap();
            }
            sp.commit().unwrap();
        }
        {
            let mut sp = tx.begin_nested().unwrap();
            insert(&mut sp, db, 6);
            // dropped: rolled back to the savepoint
        }
        assert!(!tx.in_nested_transaction());
        assert_eq!(xs(&mut tx), [1, 2, 4, 5]);
        tx.commit().unwrap();
        assert_eq!(committed(db), [1, 2, 4, 5]);

        // Rolling back the outer transaction undoes released savepoints too.
        let mut tx = conn.begin().unwrap();
        {
            let mut sp = tx.begin_nested().unwrap();
            insert(&mut sp, db, 7);
            sp.commit().unwrap();
        }
        tx.rollback().unwrap();
        assert_eq!(committed(db), [1, 2, 4, 5]);
    });
}

#[test]
fn savepoint_recovers_from_an_error_inside_a_transaction() {
    for_each_backend(|db| {
        let mut conn = setup(db);
        let mut tx = conn.begin().unwrap();
        insert(&mut tx, db, 1);
        {
            let mut sp = tx.begin_nested().unwrap();
            let err = sp
                .exec_driver_sql("INSERT INTO t (x) VALUES (NULL)", &[])
                .unwrap_err();
            assert!(matches!(err, Error::Integrity(_)));
            sp.rollback().unwrap();
        }
        // On PostgreSQL the transaction would be aborted without the savepoint.
        insert(&mut tx, db, 2);
        tx.commit().unwrap();
        assert_eq!(committed(db), [1, 2]);
    });
}

#[test]
fn misuse_is_an_invalid_request() {
    for_each_backend(|db| {
        let mut conn = setup(db);
        assert!(matches!(conn.begin_nested(), Err(Error::InvalidRequest(_))));
        let mut tx = conn.begin().unwrap();
        assert!(matches!(tx.begin(), Err(Error::InvalidRequest(_))));
        tx.rollback().unwrap();
    });
}

#[test]
fn ddl_in_transactions() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let transactional = db.engine().dialect().capabilities().transactional_ddl;
        let mut tx = conn.begin().unwrap();
        tx.exec_driver_sql("CREATE TABLE ddl_t (id INTEGER)", &[])
            .unwrap();
        tx.exec_driver_sql("INSERT INTO ddl_t (id) VALUES (1)", &[])
            .unwrap();
        tx.rollback().unwrap();
        let exists = conn.exec_driver_sql("SELECT count(*) FROM ddl_t", &[]);
        if transactional {
            // The CREATE TABLE was rolled back with the rest.
            let err = exists.unwrap_err();
            assert!(
                err.kind() == Some(retort_core::ErrorKind::UndefinedTable),
                "{err:?}"
            );
        } else {
            // MySQL commits DDL implicitly, which ends the transaction: the table stays, and
            // the INSERT after it ran in autocommit mode, so the ROLLBACK undid nothing.
            let n: i64 = exists.unwrap().scalar().unwrap();
            assert_eq!(n, 1);
        }

        conn.transaction(|tx| {
            tx.exec_driver_sql("CREATE TABLE ddl_u (id INTEGER)", &[])?;
            tx.exec_driver_sql("INSERT INTO ddl_u (id) VALUES (1)", &[])?;
            Ok(())
        })
        .unwrap();
        let n: i64 = conn
            .exec_driver_sql("SELECT count(*) FROM ddl_u", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 1);
    });
}

#[test]
fn isolation_level_is_applied_to_every_connection() {
    for_each_backend(|db| {
        let engine = db
            .builder()
            .isolation_level(IsolationLevel::Serializable)
            .build()
            .unwrap();
        let mut conn = engine.connect().unwrap();
        let shown: String = match db.name() {
            "postgresql" => conn
                .exec_driver_sql("SHOW transaction_isolation", &[])
                .unwrap()
                .scalar()
                .unwrap(),
            "mysql" => conn
                .exec_driver_sql("SELECT @@SESSION.tx_isolation", &[])
                .unwrap()
                .scalar()
                .unwrap(),
            _ => {
                // SQLite is always serializable; read_uncommitted stays off.
                let ru: i64 = conn
                    .exec_driver_sql("PRAGMA read_uncommitted", &[])
                    .unwrap()
                    .scalar()
                    .unwrap();
                assert_eq!(ru, 0);
                "serializable".into()
            }
        };
        assert_eq!(shown.to_lowercase().replace('-', " "), "serializable");

        let engine = db
            .builder()
            .isolation_level(IsolationLevel::ReadUncommitted)
            .build()
            .unwrap();
        let mut conn = engine.connect().unwrap();
        if db.name() == "sqlite" {
            let ru: i64 = conn
                .exec_driver_sql("PRAGMA read_uncommitted", &[])
                .unwrap()
                .scalar()
                .unwrap();
            assert_eq!(ru, 1);
        }
        // Transactions work at that level.
        conn.transaction(|tx| tx.exec_driver_sql("SELECT 1", &[]).map(drop))
            .unwrap();
    });
}
