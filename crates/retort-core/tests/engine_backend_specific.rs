//! What each driver adapter sets up and understands beyond the common ground.

use retort_core::{create_engine, Error, ErrorKind, Value};

#[test]
fn sqlite_connections_enforce_foreign_keys_and_wait_when_busy() {
    let db = retort_testkit::sqlite();
    let mut conn = db.engine().connect().unwrap();
    let fk: i64 = conn
        .exec_driver_sql("PRAGMA foreign_keys", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = conn
        .exec_driver_sql("PRAGMA busy_timeout", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(busy, 5000);

    let url = db.url().clone().with_query_value("timeout", "0.75");
    let mut conn = create_engine(&url).unwrap().connect().unwrap();
    let busy: i64 = conn
        .exec_driver_sql("PRAGMA busy_timeout", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(busy, 750);

    let bad = create_engine(db.url().clone().with_query_value("timeout", "soon")).unwrap();
    assert!(matches!(bad.connect(), Err(Error::Url(m)) if m.contains("'soon'")));
}

#[test]
fn postgresql_types_beyond_the_common_ones() {
    let Some(db) = retort_testkit::postgresql() else {
        return;
    };
    let mut conn = db.engine().connect().unwrap();
    // The test kit selected the schema through the URL's options.
    let search_path: String = conn
        .exec_driver_sql("SHOW search_path", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert!(search_path.starts_with("retort_"), "{search_path}");

    conn.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')", &[])
        .unwrap();
    conn.exec_driver_sql("CREATE DOMAIN posint AS INTEGER CHECK (VALUE > 0)", &[])
        .unwrap();
    conn.exec_driver_sql(
        "CREATE TABLE p (id SMALLINT PRIMARY KEY, m mood, n posint, j JSON, c CHAR(5), \
         v VARCHAR(10), span INTERVAL)",
        &[],
    )
    .unwrap();
    conn.exec_driver_sql(
        "INSERT INTO p (id, m, n, j, c, v, span) VALUES ($1, $2, $3, $4, $5, $6, '1 day')",
        &[
            Value::Int(1),
            "happy".into(),
            Value::Int(7),
            serde_json::json!({"k": [1, "two"]}).into(),
            "ab".into(),
            Value::Int(12345),
        ],
    )
    .unwrap();
    let row = conn
        .exec_driver_sql(
            "SELECT id, m, n, j, c, v FROM p WHERE m = $1",
            &["happy".into()],
        )
        .unwrap()
        .one()
        .unwrap();
    assert_eq!(row.get_value("id").unwrap(), &Value::Int(1));
    assert_eq!(row.get_value("m").unwrap(), &Value::from("happy"));
    assert_eq!(row.get_value("n").unwrap(), &Value::Int(7));
    assert_eq!(
        row.get_value("j").unwrap(),
        &Value::Json(serde_json::json!({"k": [1, "two"]}))
    );
    assert_eq!(row.get_value("c").unwrap(), &Value::from("ab   "));
    // An integer bound to a VARCHAR parameter is sent as its text.
    assert_eq!(row.get_value("v").unwrap(), &Value::from("12345"));

    // A value out of the parameter type's range is caught before it is sent.
    let err = conn
        .exec_driver_sql("INSERT INTO p (id) VALUES ($1)", &[Value::Int(70_000)])
        .unwrap_err();
    assert!(matches!(err, Error::Data(_)), "{err:?}");
    assert_eq!(err.kind(), Some(ErrorKind::OutOfRange));
    assert!(err.to_string().contains("70000"), "{err}");
    // A value of an impossible kind names both types.
    let err = conn
        .exec_driver_sql(
            "INSERT INTO p (id, m) VALUES (2, $1)",
            &[Value::Bytes(vec![1])],
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("bytes") && msg.contains("mood"), "{msg}");
    // An enum value the type lacks, and a domain's CHECK, are the server's errors.
    let err = conn
        .exec_driver_sql("INSERT INTO p (id, m) VALUES (3, $1)", &["angry".into()])
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::InvalidValue), "{err:?}");
    let err = conn
        .exec_driver_sql("INSERT INTO p (id, n) VALUES (4, $1)", &[Value::Int(-1)])
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::CheckViolation), "{err:?}");

    // A type retort does not decode says so, naming it; cast in SQL to read it.
    let err = conn.exec_driver_sql("SELECT span FROM p", &[]).unwrap_err();
    assert!(
        matches!(&err, Error::Conversion(m) if m.contains("interval") && m.contains("'span'")),
        "{err:?}"
    );
    let span: String = conn
        .exec_driver_sql("SELECT span::text FROM p", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(span, "1 day");

    // An untyped placeholder is text.
    let v: String = conn
        .exec_driver_sql("SELECT $1", &[Value::Int(5)])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(v, "5");
}

#[test]
fn postgresql_connection_options() {
    let Some(db) = retort_testkit::postgresql() else {
        return;
    };
    let url = db
        .url()
        .clone()
        .with_query_value("connect_timeout", "5")
        .with_query_value("application_name", "retort tests");
    let mut conn = create_engine(&url).unwrap().connect().unwrap();
    let name: String = conn
        .exec_driver_sql("SHOW application_name", &[])
        .unwrap()
        .scalar()
        .unwrap();
    assert_eq!(name, "retort tests");

    let bad = create_engine(db.url().clone().with_query_value("no_such_option", "1")).unwrap();
    let err = bad.connect().unwrap_err();
    assert!(
        matches!(&err, Error::Url(m) if m.contains("no_such_option")),
        "{err:?}"
    );
}

#[test]
fn mysql_session_setup_and_flavour_detection() {
    let Some(db) = retort_testkit::mysql() else {
        return;
    };
    // The URL says mysql://: whether it is MariaDB is learnt on the first connection.
    let engine = create_engine(db.url()).unwrap();
    assert_eq!(db.url().drivername(), "mysql");
    assert!(!engine.dialect().capabilities().insert_returning);
    let mut conn = engine.connect().unwrap();
    let version: String = conn
        .exec_driver_sql("SELECT VERSION()", &[])
        .unwrap()
        .scalar()
        .unwrap();
    let mariadb = version.contains("MariaDB");
    assert_eq!(engine.dialect().capabilities().insert_returning, mariadb);
    assert_eq!(conn.dialect().capabilities().insert_returning, mariadb);

    let row = conn
        .exec_driver_sql(
            "SELECT @@SESSION.sql_mode, @@SESSION.character_set_client, @@SESSION.character_set_results",
            &[],
        )
        .unwrap()
        .one()
        .unwrap();
    assert!(row
        .get::<String>(0)
        .unwrap()
        .contains("STRICT_TRANS_TABLES"));
    assert_eq!(row.get::<String>(1).unwrap(), "utf8mb4");
    assert_eq!(row.get::<String>(2).unwrap(), "utf8mb4");

    let bad = create_engine(db.url().clone().with_query_value("no_such_option", "1")).unwrap();
    assert!(matches!(bad.connect(), Err(Error::Url(m)) if m.contains("no_such_option")));
}

#[test]
fn sqlite_file_databases_use_wal_so_a_reader_does_not_block_a_writer() {
    use std::time::{Duration, Instant};

    let db = retort_testkit::sqlite();
    let mode = |engine: &retort_core::Engine| -> String {
        engine
            .connect()
            .unwrap()
            .exec_driver_sql("PRAGMA journal_mode", &[])
            .unwrap()
            .scalar()
            .unwrap()
    };
    assert_eq!(mode(db.engine()), "wal");
    db.engine()
        .connect()
        .unwrap()
        .exec_driver_sql("CREATE TABLE t (x INTEGER)", &[])
        .unwrap();

    // A reader holds an open transaction that has read; a writer on another connection
    // commits at once, and the reader keeps its snapshot until it ends.
    let count = |conn: &mut retort_core::Connection| -> i64 {
        conn.exec_driver_sql("SELECT count(*) FROM t", &[])
            .unwrap()
            .scalar()
            .unwrap()
    };
    let engine = create_engine(db.url().clone().with_query_value("timeout", "1")).unwrap();
    let mut reader = engine.connect().unwrap();
    let mut tx = reader.begin().unwrap();
    assert_eq!(count(&mut tx), 0);
    let start = Instant::now();
    engine
        .connect()
        .unwrap()
        .transaction(|w| w.exec_driver_sql("INSERT INTO t VALUES (1)", &[]).map(drop))
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(count(&mut tx), 0, "the reader's snapshot");
    tx.commit().unwrap();
    assert_eq!(count(&mut reader), 1);
    drop(reader);

    // The rollback journal, on request: a reader that has read then blocks the writer, which
    // fails with LockTimeout once the busy timeout is over. Leaving WAL needs every other
    // connection to the file closed.
    engine.dispose();
    db.engine().dispose();
    let url = db
        .url()
        .clone()
        .with_query_value("journal_mode", "DELETE")
        .with_query_value("timeout", "0.2");
    let engine = create_engine(url).unwrap();
    assert_eq!(mode(&engine), "delete");
    let mut reader = engine.connect().unwrap();
    let mut tx = reader.begin().unwrap();
    assert_eq!(count(&mut tx), 1);
    let err = engine
        .connect()
        .unwrap()
        .exec_driver_sql("INSERT INTO t VALUES (2)", &[])
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::LockTimeout), "{err:?}");
    tx.rollback().unwrap();

    // In-memory databases keep SQLite's memory journal; unknown modes are refused.
    assert_eq!(mode(&create_engine("sqlite://").unwrap()), "memory");
    for bad in ["sideways", "off"] {
        let engine = create_engine(db.url().clone().with_query_value("journal_mode", bad)).unwrap();
        assert!(
            matches!(engine.connect(), Err(Error::Url(m)) if m.contains("journal_mode")),
            "{bad}"
        );
    }
}
