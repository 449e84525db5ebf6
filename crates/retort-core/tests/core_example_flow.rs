//! The Core quickstart, run on every backend: the guide's `users` table without models —
//! create it, insert one row and several, query with a filter, an order and a limit, update,
//! delete and count.

use retort_core::schema::{Column, MetaData, Table};
use retort_core::sql::{delete, func, insert, select, update};
use retort_core::types::SqlType;
use retort_testkit::for_each_backend;

#[test]
fn core_quickstart() {
    for_each_backend(|db| {
        let engine = db.engine();

        let metadata = MetaData::new();
        let users = Table::new("users", &metadata)
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::string(50)).not_null())
            .column(Column::new("age", SqlType::Integer))
            .build()
            .unwrap();
        metadata.create_all(engine).unwrap();
        let mut conn = engine.connect().unwrap();

        // Insert one row, then several in one statement.
        let one = insert(&users).value("name", "Alice").value("age", 25);
        assert_eq!(conn.execute(&one).unwrap().rowcount(), 1);
        let many =
            insert(&users).values_many(["name", "age"], [("Bob", 31), ("Carol", 19), ("Dave", 42)]);
        assert_eq!(conn.execute(&many).unwrap().rowcount(), 3);

        // Filter, order and limit; read columns by name, typed.
        let adults = select((users.c("id"), users.c("name"), users.c("age")))
            .where_(users.c("age").ge(20))
            .order_by(users.c("age").desc())
            .limit(2);
        let rows = conn.execute(&adults).unwrap();
        let got: Vec<(String, i32)> = rows
            .into_iter()
            .map(|row| (row.get("name").unwrap(), row.get("age").unwrap()))
            .collect();
        assert_eq!(got, [("Dave".to_owned(), 42), ("Bob".to_owned(), 31)]);

        // Update with an expression.
        let birthday = update(&users)
            .set("age", users.c("age") + 1)
            .where_(users.c("name").eq("Alice"));
        assert_eq!(conn.execute(&birthday).unwrap().rowcount(), 1);
        let age: i32 = conn
            .execute(&select(users.c("age")).where_(users.c("name").eq("Alice")))
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(age, 26);

        // Delete, then count what is left.
        let minors = delete(&users).where_(users.c("age").lt(20));
        assert_eq!(conn.execute(&minors).unwrap().rowcount(), 1);
        let n: i64 = conn
            .execute(&select(func::count(users.c("id"))))
            .unwrap()
            .scalar()
            .unwrap();
        assert_eq!(n, 3);
        let names: Vec<String> = conn
            .execute(&select(users.c("name")).order_by(users.c("id")))
            .unwrap()
            .scalars()
            .unwrap();
        assert_eq!(names, ["Alice", "Bob", "Dave"]);
    });
}
