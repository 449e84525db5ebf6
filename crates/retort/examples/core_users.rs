//! The seed guide's users table in Core form: no models, just tables and statements.
//!
//! ```text
//! cargo run --example core_users                                  # SQLite, in memory
//! cargo run --example core_users -- postgresql://postgres@127.0.0.1/test
//! cargo run --example core_users -- mysql://root@127.0.0.1/test
//! ```

use retort::prelude::*;

fn main() -> Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://".into());
    let engine = create_engine(url.as_str())?;
    println!("connected: {engine:?} ({})", engine.dialect().name());

    // MetaData, Table, Column; create_all skips what exists.
    let metadata = MetaData::new();
    let users = Table::new("core_example_users", &metadata)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("age", SqlType::Integer))
        .build()?;
    metadata.drop_all(&engine)?;
    metadata.create_all(&engine)?;

    let mut conn = engine.connect()?;
    conn.transaction(|tx| {
        // One row, then several in one multi-row INSERT.
        let first = tx.execute(&insert(&users).value("name", "Alice").value("age", 25))?;
        println!("inserted Alice; rows affected: {}", first.rowcount());
        tx.execute(&insert(&users).values_many(
            ["name", "age"],
            vec![("Bob", 31), ("Carol", 17), ("Dave", 44)],
        ))?;
        Ok(())
    })?;

    // SELECT ... WHERE age >= 20 ORDER BY age DESC LIMIT 10
    let adults = select((users.c("name"), users.c("age")))
        .where_(users.c("age").ge(20))
        .order_by(users.c("age").desc())
        .limit(10);
    println!("{}", adults.to_sql_string(engine.dialect())?);
    for row in conn.execute(&adults)? {
        let name: String = row.get("name")?;
        let age: i32 = row.get(1)?;
        println!("  {name} ({age})");
    }

    // A lookup built and compiled once, run with each name (SQLAlchemy's bindparam).
    let age_of =
        conn.prepare(&select(users.c("age")).where_(users.c("name").eq(bindparam("name"))))?;
    for name in ["Alice", "Bob"] {
        let ages: Vec<i32> =
            conn.query_map_with(&age_of, &[("name", name.into())], |r| r.get(0))?;
        println!("  {name} is {ages:?}");
    }

    // UPDATE and DELETE.
    let updated = conn.execute(
        &update(&users)
            .set("age", users.c("age") + 1)
            .where_(users.c("name").eq("Alice")),
    )?;
    println!("updated {} row(s)", updated.rowcount());
    let deleted = conn.execute(&delete(&users).where_(users.c("age").lt(18)))?;
    println!("deleted {} row(s)", deleted.rowcount());

    // func.count
    let count: i64 = conn
        .execute(&select(func::count(users.c("id"))))?
        .scalar()?;
    println!("{count} users left");

    // A constraint violation is a typed error; the transaction is rolled back.
    let duplicate = conn.transaction(|tx| {
        tx.execute(&insert(&users).value("id", 1).value("name", "Again"))?;
        Ok(())
    });
    match duplicate {
        Err(Error::Integrity(e)) => println!("IntegrityError as expected: {:?}", e.kind()),
        other => println!("unexpected: {other:?}"),
    }

    // Return the connection first: an in-memory SQLite database has exactly one.
    drop(conn);
    metadata.drop_all(&engine)?;
    Ok(())
}
