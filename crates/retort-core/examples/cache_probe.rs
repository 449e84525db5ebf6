//! A probe for the compiled-statement cache: builds and executes a one-row
//! `SELECT ... WHERE id = ?` 10 000 times through Core on in-memory SQLite. Measured with
//! callgrind (instruction counts), its first argument the engine's `query_cache_size`
//! (default 500; 0 compiles every statement):
//!
//! ```text
//! CARGO_PROFILE_RELEASE_DEBUG=1 cargo build --release -p retort-core --example cache_probe \
//!     --no-default-features --features sqlite
//! valgrind --tool=callgrind target/release/examples/cache_probe 500
//! ```

use retort_core::sql::{select, table};
use retort_core::{Engine, Value};

fn main() -> retort_core::Result<()> {
    let size = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    let engine = Engine::builder("sqlite://")
        .query_cache_size(size)
        .build()?;
    let mut conn = engine.connect()?;
    conn.exec_driver_sql(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)",
        &[],
    )?;
    for id in 0..100_i64 {
        conn.exec_driver_sql(
            "INSERT INTO users (id, name, age) VALUES (?, ?, ?)",
            &[
                Value::Int(id),
                format!("user {id}").into(),
                Value::Int(20 + id % 50),
            ],
        )?;
    }
    let users = table("users");
    let mut total = 0;
    for i in 0..10_000_i64 {
        let stmt = select((users.c("id"), users.c("name"), users.c("age")))
            .where_(users.c("id").eq(i % 100));
        let row = conn.execute(&stmt)?.one()?;
        total += row.get::<String>("name")?.len();
    }
    println!("{total} {:?}", engine.query_cache_stats());
    Ok(())
}
