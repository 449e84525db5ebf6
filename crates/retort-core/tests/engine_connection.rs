//! Connections on every backend: raw SQL, rows and typed access, result helpers, rowcount,
//! generated keys, executemany, streaming, compiled statements and echo.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use retort_core::dialect::Dialect;
use retort_core::sql::text;
use retort_core::sql::{Compiled, Executable};
use retort_core::{Error, Result, Value};
use retort_testkit::{for_each_backend, TestDb};

fn users(db: &TestDb) -> retort_core::Connection {
    let mut conn = db.engine().connect().unwrap();
    conn.exec_driver_sql(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, age INTEGER)",
        &[],
    )
    .unwrap();
    conn.exec_driver_sql(
        &db.sql("INSERT INTO users (id, name, age) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)"),
        &[
            Value::Int(1),
            "Alice".into(),
            Value::Int(25),
            Value::Int(2),
            "Bob".into(),
            Value::Null,
            Value::Int(3),
            "Carol".into(),
            Value::Int(25),
        ],
    )
    .unwrap();
    conn
}

fn autoincrement_table(db: &TestDb) -> &'static str {
    match db.name() {
        "sqlite" => "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(50))",
        "postgresql" => "CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(50))",
        _ => "CREATE TABLE items (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50))",
    }
}

#[test]
fn rows_by_position_and_name_with_typed_get() {
    for_each_backend(|db| {
        let mut conn = users(db);
        let rows = conn
            .exec_driver_sql("SELECT id, name, age FROM users ORDER BY id", &[])
            .unwrap();
        assert_eq!(rows.columns(), ["id", "name", "age"]);
        let rows = rows.all();
        assert_eq!(rows.len(), 3);

        let alice = &rows[0];
        assert_eq!(alice.len(), 3);
        assert_eq!(alice.columns(), ["id", "name", "age"]);
        assert_eq!(alice.get::<i64>(0).unwrap(), 1);
        assert_eq!(alice.get::<String>("name").unwrap(), "Alice");
        assert_eq!(alice.get::<i32>("age").unwrap(), 25);
        assert_eq!(alice.get::<Option<i32>>(2).unwrap(), Some(25));
        assert_eq!(alice.get_value("name").unwrap(), &Value::from("Alice"));

        // NULL reads as None into an Option, and is an error into a plain type.
        let bob = &rows[1];
        assert_eq!(bob.get::<Option<i32>>("age").unwrap(), None);
        match bob.get::<i32>("age") {
            Err(Error::Conversion(msg)) => {
                assert!(msg.contains("'age'") && msg.contains("NULL"), "{msg}")
            }
            other => panic!("expected a conversion error, got {other:?}"),
        }

        // A value of the wrong type names the column.
        match bob.get::<i64>("name") {
            Err(Error::Conversion(msg)) => assert!(msg.contains("'name'"), "{msg}"),
            other => panic!("expected a conversion error, got {other:?}"),
        }

        // Unknown names and positions are argument errors listing what exists.
        match bob.get::<i64>("nmae") {
            Err(Error::Argument(msg)) => {
                assert!(msg.contains("'nmae'"), "{msg}");
                assert!(msg.contains("id, name, age"), "{msg}");
            }
            other => panic!("expected an argument error, got {other:?}"),
        }
        assert!(matches!(bob.get::<i64>(3), Err(Error::Argument(_))));
        assert!(matches!(bob.get_value(99), Err(Error::Argument(_))));

        let values = rows[2].clone().into_values();
        assert_eq!(values[1], Value::from("Carol"));

        // Rows iterate by reference and by value.
        let result = conn
            .exec_driver_sql("SELECT name FROM users ORDER BY id", &[])
            .unwrap();
        let by_ref: Vec<String> = (&result).into_iter().map(|r| r.get(0).unwrap()).collect();
        let by_value: Vec<String> = result.into_iter().map(|r| r.get(0).unwrap()).collect();
        assert_eq!(by_ref, ["Alice", "Bob", "Carol"]);
        assert_eq!(by_ref, by_value);
    });
}

#[test]
fn first_one_scalar_and_friends() {
    for_each_backend(|db| {
        let mut conn = users(db);
        let mut q =
            |sql: &str, params: &[Value]| conn.exec_driver_sql(&db.sql(sql), params).unwrap();

        let none = || Value::Int(99);
        assert!(q("SELECT name FROM users WHERE id = ?", &[none()])
            .first()
            .unwrap()
            .is_none());
        assert!(matches!(
            q("SELECT name FROM users WHERE id = ?", &[none()]).one(),
            Err(Error::NoResultFound)
        ));
        assert!(q("SELECT name FROM users WHERE id = ?", &[none()])
            .one_or_none()
            .unwrap()
            .is_none());
        assert!(matches!(
            q("SELECT name FROM users WHERE id = ?", &[none()]).scalar::<String>(),
            Err(Error::NoResultFound)
        ));

        let one = q("SELECT name FROM users WHERE id = ?", &[Value::Int(2)])
            .one()
            .unwrap();
        assert_eq!(one.get::<String>(0).unwrap(), "Bob");
        let first = q("SELECT name FROM users ORDER BY id", &[])
            .first()
            .unwrap()
            .unwrap();
        assert_eq!(first.get::<String>(0).unwrap(), "Alice");

        assert!(matches!(
            q("SELECT name FROM users WHERE age = ?", &[Value::Int(25)]).one(),
            Err(Error::MultipleResultsFound)
        ));
        assert!(matches!(
            q("SELECT name FROM users WHERE age = ?", &[Value::Int(25)]).one_or_none(),
            Err(Error::MultipleResultsFound)
        ));

        let n: i64 = q("SELECT count(*) FROM users", &[]).scalar().unwrap();
        assert_eq!(n, 3);
        let age: Option<i64> = q("SELECT age FROM users WHERE id = 2", &[])
            .scalar()
            .unwrap();
        assert_eq!(age, None);
        let names: Vec<String> = q("SELECT name FROM users ORDER BY name DESC", &[])
            .scalars()
            .unwrap();
        assert_eq!(names, ["Carol", "Bob", "Alice"]);
        let ages: Vec<Option<i32>> = q("SELECT age FROM users ORDER BY id", &[])
            .scalars()
            .unwrap();
        assert_eq!(ages, [Some(25), None, Some(25)]);

        // A statement that returns no rows cannot be asked for one.
        let update = q("UPDATE users SET age = 30 WHERE id = 99", &[]);
        assert!(!update.returns_rows());
        assert!(matches!(update.first(), Err(Error::InvalidRequest(_))));
    });
}

#[test]
fn rowcount_counts_matched_rows() {
    for_each_backend(|db| {
        let mut conn = users(db);
        // Alice already is 25: MySQL counts her as matched, like the others.
        let r = conn
            .exec_driver_sql(
                &db.sql("UPDATE users SET age = ? WHERE age = ?"),
                &[25.into(), 25.into()],
            )
            .unwrap();
        assert_eq!(r.rowcount(), 2, "{}", db.name());
        let r = conn
            .exec_driver_sql(
                &db.sql("UPDATE users SET age = ? WHERE id = ?"),
                &[40.into(), 99.into()],
            )
            .unwrap();
        assert_eq!(r.rowcount(), 0);
        let r = conn
            .exec_driver_sql("DELETE FROM users WHERE age IS NULL", &[])
            .unwrap();
        assert_eq!(r.rowcount(), 1);
        let r = conn.exec_driver_sql("SELECT * FROM users", &[]).unwrap();
        assert_eq!(r.rowcount(), 2);
        assert_eq!(r.last_insert_id(), None);
    });
}

#[test]
fn last_insert_id_reports_generated_keys() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql(autoincrement_table(db), &[]).unwrap();
        let insert = db.sql("INSERT INTO items (name) VALUES (?)");
        let first = conn.exec_driver_sql(&insert, &["a".into()]).unwrap();
        let second = conn.exec_driver_sql(&insert, &["b".into()]).unwrap();
        assert_eq!(first.rowcount(), 1);
        let update = conn
            .exec_driver_sql("UPDATE items SET name = 'c'", &[])
            .unwrap();
        assert_eq!(update.last_insert_id(), None);
        if db.name() == "postgresql" {
            // PostgreSQL reports keys only through RETURNING.
            assert_eq!(first.last_insert_id(), None);
            let id: i64 = conn
                .exec_driver_sql(
                    &db.sql("INSERT INTO items (name) VALUES (?) RETURNING id"),
                    &["d".into()],
                )
                .unwrap()
                .scalar()
                .unwrap();
            assert_eq!(id, 3);
        } else {
            assert_eq!(first.last_insert_id(), Some(1));
            assert_eq!(second.last_insert_id(), Some(2));
        }
    });
}

#[test]
fn execute_many_runs_one_statement_per_parameter_set() {
    for_each_backend(|db| {
        let mut conn = users(db);
        let sets: Vec<Vec<Value>> = (10..60)
            .map(|i| {
                vec![
                    Value::Int(i),
                    Value::Text(format!("user{i}")),
                    Value::Int(i % 7),
                ]
            })
            .collect();
        let n = conn
            .execute_many(
                db.sql("INSERT INTO users (id, name, age) VALUES (?, ?, ?)")
                    .as_str(),
                &sets,
            )
            .unwrap();
        assert_eq!(n, 50);
        let count: i64 = conn
            .exec_driver_sql("SELECT count(*) FROM users WHERE id >= 10", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(count, 50);

        // Listeners see each execution with its own parameters.
        let seen = listen(db.engine());
        let updated = conn
            .execute_many(
                db.sql("UPDATE users SET age = ? WHERE id = ?").as_str(),
                [
                    [Value::Int(1), Value::Int(10)],
                    [Value::Int(1), Value::Int(11)],
                    [Value::Int(1), Value::Int(999)],
                ],
            )
            .unwrap();
        assert_eq!(updated, 2);
        let params: Vec<Vec<Value>> = seen.lock().unwrap().drain(..).map(|(_, p)| p).collect();
        assert_eq!(
            params,
            [10, 11, 999].map(|id| vec![Value::Int(1), Value::Int(id)])
        );

        // A failing set stops the run and the error names its parameters.
        let err = conn
            .execute_many(
                db.sql("INSERT INTO users (id, name) VALUES (?, ?)")
                    .as_str(),
                [
                    vec![Value::Int(100), "x".into()],
                    vec![Value::Int(1), "dup".into()],
                ],
            )
            .unwrap_err();
        let e = err.database_error().expect("a database error");
        assert_eq!(e.params(), Some(&[Value::Int(1), Value::from("dup")][..]));
    });
}

/// Statements as listeners see them, with their parameters.
type Seen = Arc<Mutex<Vec<(String, Vec<Value>)>>>;

/// Every statement an engine's listeners see, with its parameters.
fn listen(engine: &retort_core::Engine) -> Seen {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    engine.on_execute(move |sql, params| {
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        log.push((sql.to_owned(), params.to_vec()));
    });
    seen
}

#[test]
fn run_many_reports_each_execution_and_stops_at_the_first_failure() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        let key = match db.name() {
            "sqlite" => "id INTEGER PRIMARY KEY",
            "postgresql" => "id SERIAL PRIMARY KEY",
            _ => "id INTEGER AUTO_INCREMENT PRIMARY KEY",
        };
        conn.exec_driver_sql(
            &format!("CREATE TABLE tags ({key}, name VARCHAR(20) NOT NULL UNIQUE)"),
            &[],
        )
        .unwrap();
        let seen = listen(db.engine());
        let insert = db.sql("INSERT INTO tags (name) VALUES (?)");
        let outcomes = conn
            .run_many(
                insert.as_str(),
                [["a"], ["b"], ["c"]].map(|[n]| [Value::from(n)]),
            )
            .unwrap();
        assert!(outcomes.iter().all(|o| o.rows_affected == 1));
        let ids: Vec<Option<i64>> = outcomes.iter().map(|o| o.last_insert_id).collect();
        match db.name() {
            // PostgreSQL reports no generated key.
            "postgresql" => assert_eq!(ids, [None, None, None]),
            _ => assert_eq!(ids, [Some(1), Some(2), Some(3)]),
        }
        // Each execution was seen with its own parameters.
        let sent: Vec<(String, Vec<Value>)> = ["a", "b", "c"]
            .map(|n| (insert.clone(), vec![Value::from(n)]))
            .into();
        assert_eq!(*seen.lock().unwrap(), sent);

        // Inside a transaction, a failing execution stops the run, and its error names its own
        // parameters; the transaction fares as after any failed statement.
        let mut tx = conn.begin().unwrap();
        seen.lock().unwrap().clear();
        let err = tx
            .run_many(
                insert.as_str(),
                [["d"], ["a"], ["e"]].map(|[n]| [Value::from(n)]),
            )
            .unwrap_err();
        let Error::Integrity(e) = &err else {
            panic!("expected an IntegrityError, got {err:?}")
        };
        assert_eq!(e.sql(), Some(insert.as_str()));
        assert_eq!(e.params(), Some(&[Value::from("a")][..]));
        let sent: Vec<(String, Vec<Value>)> = ["d", "a"]
            .map(|n| (insert.clone(), vec![Value::from(n)]))
            .into();
        assert_eq!(*seen.lock().unwrap(), sent, "nothing after the failure");
        let committed = tx.commit();
        let names: Vec<String> = conn
            .exec_driver_sql("SELECT name FROM tags ORDER BY name", &[])
            .unwrap()
            .scalars()
            .unwrap();
        match db.name() {
            // PostgreSQL aborts the whole transaction at the error.
            "postgresql" => {
                assert!(committed.is_err());
                assert_eq!(names, ["a", "b", "c"]);
            }
            _ => {
                committed.unwrap();
                assert_eq!(names, ["a", "b", "c", "d"]);
            }
        }
    });
}

#[test]
fn insert_id_column_names_sqlite_rowid_aliases_only() {
    let db = retort_testkit::sqlite();
    let engine = db.engine();
    let seen = listen(engine);
    let mut conn = engine.connect().unwrap();
    let tables = [
        ("a", "id INTEGER PRIMARY KEY, name TEXT", true),
        ("b", "id integer primary key autoincrement, name TEXT", true),
        // A key named in a table constraint is the rowid even when descending.
        ("c", "id INTEGER, name TEXT, PRIMARY KEY (id DESC)", true),
        ("d", "id BIGINT PRIMARY KEY, name TEXT", false),
        ("e", "id INT PRIMARY KEY, name TEXT", false),
        ("f", "id INTEGER PRIMARY KEY DESC, name TEXT", false),
        (
            "g",
            "id INTEGER PRIMARY KEY, name TEXT) WITHOUT ROWID",
            false,
        ),
        (
            "h",
            "id INTEGER, k INTEGER, name TEXT, PRIMARY KEY (id, k)",
            false,
        ),
        ("i", "id INTEGER, name TEXT", false),
    ];
    for (table, columns, _) in &tables {
        let close = if columns.ends_with("ROWID") { "" } else { ")" };
        conn.exec_driver_sql(&format!("CREATE TABLE {table} ({columns}{close}"), &[])
            .unwrap();
    }
    conn.exec_driver_sql("CREATE VIEW v AS SELECT * FROM a", &[])
        .unwrap();
    seen.lock().unwrap().clear();
    for (table, _, alias) in &tables {
        let found = conn.insert_id_column(table).unwrap();
        assert_eq!(found.as_deref(), alias.then_some("id"), "{table}");
        if *alias {
            // The key of a row inserted without one is the rowid SQLite reports.
            let outcome = conn
                .run_many(
                    format!("INSERT INTO {table} (name) VALUES ('x')").as_str(),
                    [[]; 1],
                )
                .unwrap();
            let id: i64 = conn
                .exec_driver_sql(&format!("SELECT id FROM {table} WHERE name = 'x'"), &[])
                .unwrap()
                .scalar()
                .unwrap();
            assert_eq!(outcome[0].last_insert_id, Some(id), "{table}");
        }
    }
    assert_eq!(conn.insert_id_column("v").unwrap(), None);
    assert_eq!(conn.insert_id_column("missing").unwrap(), None);
    // Listeners saw the three INSERTs and their SELECTs, not the catalog lookups.
    let seen = seen.lock().unwrap().len();
    assert_eq!(seen, 6, "the catalog lookups are not reported");

    // Known to every connection of the engine, until DDL makes the table again.
    let mut other = engine.connect().unwrap();
    assert_eq!(other.insert_id_column("a").unwrap().as_deref(), Some("id"));
    other.exec_driver_sql("DROP TABLE a", &[]).unwrap();
    other
        .exec_driver_sql("CREATE TABLE a (id BIGINT PRIMARY KEY, name TEXT)", &[])
        .unwrap();
    assert_eq!(conn.insert_id_column("a").unwrap(), None);

    // DDL in a transaction: another connection reads the table as it was until the COMMIT,
    // and as it is once the COMMIT changes the schema version it sees.
    let mut tx = conn.begin().unwrap();
    tx.exec_driver_sql("DROP TABLE b", &[]).unwrap();
    tx.exec_driver_sql("CREATE TABLE b (id BIGINT PRIMARY KEY, name TEXT)", &[])
        .unwrap();
    assert_eq!(other.insert_id_column("b").unwrap().as_deref(), Some("id"));
    tx.commit().unwrap();
    assert_eq!(other.insert_id_column("b").unwrap(), None);
}

#[test]
fn insert_id_column_notices_a_table_made_again_by_another_engine() {
    // Another engine on the same file stands for another process: nothing it does passes
    // through this engine, but the schema version it changes is read with each answer.
    let path = std::env::temp_dir().join(format!("retort-insert-id-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite:///{}", path.display());
    let here = retort_core::create_engine(&url).unwrap();
    let elsewhere = retort_core::create_engine(&url).unwrap();
    let mut conn = here.connect().unwrap();
    conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", &[])
        .unwrap();
    assert_eq!(conn.insert_id_column("t").unwrap().as_deref(), Some("id"));
    let mut other = elsewhere.connect().unwrap();
    other.exec_driver_sql("DROP TABLE t", &[]).unwrap();
    other
        .exec_driver_sql("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT)", &[])
        .unwrap();
    assert_eq!(conn.insert_id_column("t").unwrap(), None);
    drop((conn, other, here, elsewhere));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn insert_id_column_is_none_where_the_reported_key_is_not_a_columns() {
    for_each_backend(|db| {
        if db.name() == "sqlite" {
            return;
        }
        let mut conn = db.engine().connect().unwrap();
        let key = match db.name() {
            "postgresql" => "id SERIAL PRIMARY KEY",
            _ => "id INTEGER AUTO_INCREMENT PRIMARY KEY",
        };
        conn.exec_driver_sql(&format!("CREATE TABLE t ({key})"), &[])
            .unwrap();
        assert_eq!(conn.insert_id_column("t").unwrap(), None);
    });
}

/// A statement as the expression language will hand it over: SQL for the dialect plus
/// parameters.
struct Stmt {
    sql: &'static str,
    params: Vec<Value>,
}

impl Executable for Stmt {
    fn compile(&self, dialect: &dyn Dialect) -> Result<Compiled> {
        let mut sql = String::new();
        let mut n = 0;
        for c in self.sql.chars() {
            if c == '?' {
                n += 1;
                dialect.placeholder(n, &mut sql);
            } else {
                sql.push(c);
            }
        }
        Ok(Compiled::new(sql, self.params.clone()))
    }
}

#[test]
fn execute_compiles_for_the_connection_dialect() {
    for_each_backend(|db| {
        let mut conn = users(db);
        let stmt = Stmt {
            sql: "SELECT name FROM users WHERE age = ? AND id > ? ORDER BY id",
            params: vec![Value::Int(25), Value::Int(1)],
        };
        let names: Vec<String> = conn.execute(&stmt).unwrap().scalars().unwrap();
        assert_eq!(names, ["Carol"]);
        let streamed: Vec<String> = conn
            .stream(&stmt)
            .unwrap()
            .map(|r| r.unwrap().get(0).unwrap())
            .collect();
        assert_eq!(streamed, ["Carol"]);
        // execute_many compiles the statement once and takes each set's parameters.
        let insert = Stmt {
            sql: "INSERT INTO users (id, name) VALUES (?, ?)",
            params: vec![],
        };
        let n = conn
            .execute_many(
                &insert,
                [
                    vec![Value::Int(7), "G".into()],
                    vec![Value::Int(8), "H".into()],
                ],
            )
            .unwrap();
        assert_eq!(n, 2);
    });
}

#[test]
fn streaming_a_large_result() {
    const N: i64 = 10_000;
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql(
            "CREATE TABLE nums (n INTEGER PRIMARY KEY, label VARCHAR(20))",
            &[],
        )
        .unwrap();
        let insert = db.sql("INSERT INTO nums (n, label) VALUES (?, ?)");
        conn.transaction(|tx| {
            tx.execute_many(
                insert.as_str(),
                (0..N).map(|i| [Value::Int(i), Value::Text(format!("n{i}"))]),
            )
        })
        .unwrap();

        let select = "SELECT n, label FROM nums ORDER BY n";
        let mut stream = conn.stream_driver_sql(select, &[]).unwrap();
        assert_eq!(stream.columns(), ["n", "label"]);
        let mut count = 0;
        let mut sum = 0;
        for (expected, row) in (0..).zip(stream.by_ref()) {
            let row = row.unwrap();
            let n: i64 = row.get("n").unwrap();
            assert_eq!(n, expected);
            if n == 4321 {
                assert_eq!(row.get::<String>(1).unwrap(), "n4321");
            }
            count += 1;
            sum += n;
        }
        assert!(stream.next().is_none());
        drop(stream);
        assert_eq!(count, N);
        assert_eq!(sum, N * (N - 1) / 2);

        // Dropping a stream part-way leaves the connection usable, and the same statement
        // starts again from its first row.
        let firsts: Vec<i64> = conn
            .stream_driver_sql(select, &[])
            .unwrap()
            .take(3)
            .map(|r| r.unwrap().get(0).unwrap())
            .collect();
        assert_eq!(firsts, [0, 1, 2]);
        let again: Vec<i64> = conn
            .stream_driver_sql(select, &[])
            .unwrap()
            .take(2)
            .map(|r| r.unwrap().get(0).unwrap())
            .collect();
        assert_eq!(again, [0, 1]);
        conn.exec_driver_sql("DELETE FROM nums WHERE n >= 100", &[])
            .unwrap();
        let left: i64 = conn
            .exec_driver_sql("SELECT count(*) FROM nums", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(left, 100);

        // With parameters.
        let some: Vec<i64> = conn
            .stream_driver_sql(
                &db.sql("SELECT n FROM nums WHERE n < ? ORDER BY n"),
                &[Value::Int(3)],
            )
            .unwrap()
            .map(|r| r.unwrap().get(0).unwrap())
            .collect();
        assert_eq!(some, [0, 1, 2]);

        // A bad statement fails when the stream is opened.
        let err = conn
            .stream_driver_sql("SELECT nope FROM nums", &[])
            .unwrap_err();
        assert!(matches!(err, Error::Programming(_)), "{err:?}");
    });
}

#[test]
fn map_rows_reads_typed_values_from_each_streamed_row() {
    for_each_backend(|db| {
        let mut conn = users(db);
        let stmt = text("SELECT id, name, age FROM users ORDER BY id");
        let rows: Vec<(i64, String, Option<i32>)> = conn
            .stream(&stmt)
            .unwrap()
            .map_rows(|row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .collect::<Result<_>>()
            .unwrap();
        let expected: Vec<(i64, String, Option<i32>)> = conn.tuples(&stmt).unwrap();
        assert_eq!(rows, expected);
        assert!(rows.len() >= 3);

        // The same rows as iterating the stream's `Row`s.
        let names: Vec<String> = conn
            .stream(&stmt)
            .unwrap()
            .map(|row| row.unwrap().get(1).unwrap())
            .collect();
        assert_eq!(names, rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>());

        // A value the closure cannot read ends the stream with that error, and is no failure
        // of the connection's: its transaction goes on and commits.
        conn.begin_transaction().unwrap();
        conn.exec_driver_sql(
            &db.sql("INSERT INTO users (id, name) VALUES (?, ?)"),
            &[Value::Int(90), "Zed".into()],
        )
        .unwrap();
        let mut stream = conn
            .stream(&text("SELECT name FROM users ORDER BY id"))
            .unwrap()
            .map_rows(|row| row.get::<i64>(0));
        let err = stream.next().unwrap().unwrap_err();
        assert!(matches!(err, Error::Conversion(_)), "{err:?}");
        assert!(stream.next().is_none(), "an error ends the stream");
        drop(stream);
        conn.commit_transaction().unwrap();
        let zed: i64 = conn
            .exec_driver_sql("SELECT count(*) FROM users WHERE name = 'Zed'", &[])
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(zed, 1);
    });
}

/// Collects the events sent to it.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(String, tracing::Level, String)>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push((
            event.metadata().target().to_owned(),
            *event.metadata().level(),
            fields.0,
        ));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn echo_logs_statements_and_parameters() {
    let db = retort_testkit::sqlite();
    let engine = db.builder().echo(true).build().unwrap();
    let quiet = db.engine().clone();
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let mut conn = engine.connect().unwrap();
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)", &[])
            .unwrap();
        let mut tx = conn.begin().unwrap();
        tx.exec_driver_sql("INSERT INTO t VALUES (?)", &["it's".into()])
            .unwrap();
        tx.commit().unwrap();
        quiet
            .connect()
            .unwrap()
            .exec_driver_sql("SELECT 'not echoed'", &[])
            .unwrap();
    });
    let events = capture.0.lock().unwrap();
    let engine_events: Vec<&String> = events
        .iter()
        .filter(|(target, level, _)| target == "retort::engine" && *level == tracing::Level::INFO)
        .map(|(_, _, fields)| fields)
        .collect();
    let joined = engine_events
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(joined.contains("CREATE TABLE t (x TEXT)"), "{joined}");
    assert!(joined.contains("BEGIN"), "{joined}");
    assert!(
        engine_events
            .iter()
            .any(|e| e.contains("INSERT INTO t VALUES (?)") && e.contains("params=('it''s')")),
        "{joined}"
    );
    assert!(joined.contains("COMMIT"), "{joined}");
    assert!(!joined.contains("not echoed"), "{joined}");
}

#[test]
fn cached_statements_follow_schema_changes() {
    for_each_backend(|db| {
        let mut conn = db.engine().connect().unwrap();
        conn.exec_driver_sql("CREATE TABLE sc (a INTEGER)", &[])
            .unwrap();
        conn.exec_driver_sql("INSERT INTO sc (a) VALUES (1)", &[])
            .unwrap();
        let before = conn.exec_driver_sql("SELECT * FROM sc", &[]).unwrap();
        assert_eq!(before.columns(), ["a"]);
        let streamed: Vec<_> = conn
            .stream_driver_sql("SELECT * FROM sc", &[])
            .unwrap()
            .collect();
        assert_eq!(streamed.len(), 1);

        // Another connection changes the table under the cached statements.
        db.engine()
            .connect()
            .unwrap()
            .exec_driver_sql("ALTER TABLE sc ADD COLUMN b INTEGER", &[])
            .unwrap();
        let after = conn.exec_driver_sql("SELECT * FROM sc", &[]).unwrap();
        assert_eq!(after.columns(), ["a", "b"], "{}", db.name());
        assert_eq!(after.rows()[0].values(), [Value::Int(1), Value::Null]);
        let stream = conn.stream_driver_sql("SELECT * FROM sc", &[]).unwrap();
        assert_eq!(stream.columns(), ["a", "b"]);
        let rows: Vec<_> = stream.map(|r| r.unwrap().into_values()).collect();
        assert_eq!(rows, [vec![Value::Int(1), Value::Null]]);
    });
}

/// `docs`, with a unique title, nullable text, bytes and an integer; `id` is the key the
/// database makes.
fn docs(db: &TestDb) -> retort_core::Connection {
    let mut conn = db.engine().connect().unwrap();
    let (key, bytes) = match db.name() {
        "sqlite" => ("id INTEGER PRIMARY KEY", "BLOB"),
        "postgresql" => ("id SERIAL PRIMARY KEY", "BYTEA"),
        _ => ("id INTEGER AUTO_INCREMENT PRIMARY KEY", "BLOB"),
    };
    conn.exec_driver_sql(
        &format!(
            "CREATE TABLE docs ({key}, title VARCHAR(40) NOT NULL UNIQUE, note VARCHAR(40), \
             data {bytes} NOT NULL, n INTEGER)"
        ),
        &[],
    )
    .unwrap();
    conn
}

/// A `docs` row but its key.
type Doc = (String, Option<String>, Vec<u8>, Option<i64>);

/// Every `docs` row but its key, in key order, as the values the driver reads: text must
/// come back as text and bytes as bytes, not merely convert to them.
fn read_docs(conn: &mut retort_core::Connection) -> Vec<Vec<Value>> {
    conn.exec_driver_sql("SELECT title, note, data, n FROM docs ORDER BY id", &[])
        .unwrap()
        .into_rows()
        .into_iter()
        .map(|row| row.into_values())
        .collect()
}

/// The values of `docs` rows as [`read_docs`] reads them.
fn doc_values(docs: &[Doc]) -> Vec<Vec<Value>> {
    use retort_core::value::ToValue;

    docs.iter()
        .map(|(title, note, data, n)| {
            vec![
                title.to_value(),
                note.to_value(),
                data.to_value(),
                n.to_value(),
            ]
        })
        .collect()
}

#[test]
fn run_prepared_binds_borrowed_parameters_and_reports_each_execution() {
    use retort_core::value::{ParamRef, ToValue};

    for_each_backend(|db| {
        let mut conn = docs(db);
        let docs: Vec<Doc> = vec![
            (String::new(), Some(String::new()), Vec::new(), Some(0)),
            (
                "Grüße, 世界 🎉".to_owned(),
                None,
                vec![0, 255, 10, 0],
                Some(-7),
            ),
            (
                "it's \"quoted\"".to_owned(),
                Some("ñ".into()),
                b"b".to_vec(),
                None,
            ),
        ];
        let insert = db.sql("INSERT INTO docs (title, note, data, n) VALUES (?, ?, ?, ?)");
        let seen = listen(db.engine());
        let outcomes = conn
            .run_prepared(insert.as_str(), |stmt| {
                let mut outcomes = Vec::new();
                for (title, note, data, n) in &docs {
                    let params = [
                        title.to_param(),
                        note.to_param(),
                        data.to_param(),
                        n.to_param(),
                    ];
                    assert!(matches!(params[0], ParamRef::Text(_)), "text is borrowed");
                    assert!(
                        matches!(params[2], ParamRef::Bytes(_)),
                        "bytes are borrowed"
                    );
                    outcomes.push(stmt.run(&params)?);
                }
                Ok(outcomes)
            })
            .unwrap();
        assert!(outcomes.iter().all(|o| o.rows_affected == 1));
        if db.name() != "postgresql" {
            let ids: Vec<Option<i64>> = outcomes.iter().map(|o| o.last_insert_id).collect();
            assert_eq!(ids, [Some(1), Some(2), Some(3)]);
        }
        // Listeners saw each execution with its own parameters, as owned values.
        let sent: Vec<(String, Vec<Value>)> = doc_values(&docs)
            .into_iter()
            .map(|params| (insert.clone(), params))
            .collect();
        assert_eq!(*seen.lock().unwrap(), sent);
        assert_eq!(read_docs(&mut conn), doc_values(&docs));

        // A failing execution stops the run: its error carries that execution's parameters,
        // and the statement refuses to run again.
        seen.lock().unwrap().clear();
        let data = vec![1u8, 2];
        let mut tx = conn.begin().unwrap();
        let mut refused = None;
        let err = tx
            .run_prepared(insert.as_str(), |stmt| {
                for title in ["new", "", "never"] {
                    let params = [
                        ParamRef::Text(title),
                        ParamRef::Owned(Value::Null),
                        ParamRef::Bytes(&data),
                        ParamRef::Value(&Value::Int(5)),
                    ];
                    if let Err(e) = stmt.run(&params) {
                        refused = Some(stmt.run(&params).unwrap_err());
                        return Err(e);
                    }
                }
                Ok(())
            })
            .unwrap_err();
        let Error::Integrity(e) = &err else {
            panic!("expected an IntegrityError, got {err:?}")
        };
        let failed = [
            txt(""),
            Value::Null,
            Value::Bytes(data.clone()),
            Value::Int(5),
        ];
        assert_eq!(e.sql(), Some(insert.as_str()));
        assert_eq!(e.params(), Some(&failed[..]));
        assert!(
            matches!(refused, Some(Error::InvalidRequest(_))),
            "{refused:?}"
        );
        let params: Vec<Vec<Value>> = seen
            .lock()
            .unwrap()
            .drain(..)
            .filter(|(sql, _)| *sql == insert)
            .map(|(_, p)| p)
            .collect();
        let first = vec![
            txt("new"),
            Value::Null,
            Value::Bytes(data.clone()),
            Value::Int(5),
        ];
        assert_eq!(
            params,
            [first, failed.to_vec()],
            "nothing after the failure"
        );
        drop(tx);
        assert_eq!(
            read_docs(&mut conn),
            doc_values(&docs),
            "the transaction was rolled back"
        );
    });
}

fn txt(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[test]
fn to_param_binds_what_to_value_binds() {
    use retort_core::value::{ParamRef, ToValue};

    for_each_backend(|db| {
        let mut conn = docs(db);
        let title = "Ünïcødé ✓".to_owned();
        let note: Option<&str> = Some("");
        let data: &[u8] = &[0, 1, 254, 255];
        let n: Option<i32> = None;
        let values = [
            title.to_value(),
            note.to_value(),
            data.to_value(),
            n.to_value(),
        ];
        let params = [
            title.to_param(),
            note.to_param(),
            data.to_param(),
            n.to_param(),
        ];
        // What each parameter says of itself agrees with the value it stands for.
        for (param, value) in params.iter().zip(&values) {
            assert_eq!(param.is_null(), value.is_null());
            assert_eq!(&param.to_value(), value);
            assert_eq!(&param.clone().into_value(), value);
        }
        assert_eq!(params[3].as_value(), Some(&Value::Null));
        assert_eq!(params[0].as_value(), None);
        let borrowed = Value::from("as a Value");
        assert!(matches!(borrowed.to_param(), ParamRef::Value(v) if v == &borrowed));

        let insert = db.sql("INSERT INTO docs (title, note, data, n) VALUES (?, ?, ?, ?)");
        conn.exec_driver_sql(&insert, &values).unwrap();
        conn.exec_driver_sql("UPDATE docs SET title = 'by value'", &[])
            .unwrap();
        conn.run_prepared(insert.as_str(), |stmt| stmt.run(&params))
            .unwrap();
        let expected = (title.clone(), Some(String::new()), data.to_vec(), None);
        let by_value = (
            "by value".to_owned(),
            expected.1.clone(),
            expected.2.clone(),
            None,
        );
        assert_eq!(read_docs(&mut conn), doc_values(&[by_value, expected]));
    });
}
