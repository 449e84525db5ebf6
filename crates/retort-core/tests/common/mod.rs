//! The fixture the engine tests share: a `people` table with three rows.

use retort_core::{Connection, Engine, Value};
use retort_testkit::TestDb;

/// A connection to `engine` with `people (id, name, age)` made and filled: Ann 30, Bo (no
/// age), Cy 41.
pub fn people(db: &TestDb, engine: &Engine) -> Connection {
    let mut conn = engine.connect().unwrap();
    conn.exec_driver_sql(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, age INTEGER)",
        &[],
    )
    .unwrap();
    conn.exec_driver_sql(
        &db.sql("INSERT INTO people (id, name, age) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)"),
        &[
            Value::Int(1),
            "Ann".into(),
            Value::Int(30),
            Value::Int(2),
            "Bo".into(),
            Value::Null,
            Value::Int(3),
            "Cy".into(),
            Value::Int(41),
        ],
    )
    .unwrap();
    conn
}
