//! Golden tests for join inference: a join between schema tables given no ON clause gets the
//! one foreign key between them (SQLAlchemy's `join()` without `onclause`), on SQLite,
//! PostgreSQL and MySQL/MariaDB; none, or several, is an error naming both tables.

use retort_core::dialect::mysql::MySqlDialect;
use retort_core::dialect::postgres::PostgresDialect;
use retort_core::dialect::sqlite::SqliteDialect;
use retort_core::dialect::Dialect;
use retort_core::schema::{join_condition, Column, ForeignKeyConstraint, MetaData, Table};
use retort_core::sql::prelude::*;
use retort_core::sql::Compiled;
use retort_core::types::SqlType;
use retort_core::Error;

const MARIADB: MySqlDialect = MySqlDialect { mariadb: true };

fn compile(stmt: &impl Executable, dialect: &dyn Dialect) -> Compiled {
    match stmt.compile(dialect) {
        Ok(c) => c,
        Err(e) => panic!("compiling for {} failed: {e}", dialect.name()),
    }
}

/// Asserts the SQL on the three dialects (MySQL as MariaDB).
fn check(stmt: &impl Executable, sqlite: &str, pg: &str, mysql: &str) {
    assert_eq!(compile(stmt, &SqliteDialect).sql, sqlite, "SQLite");
    assert_eq!(compile(stmt, &PostgresDialect).sql, pg, "PostgreSQL");
    assert_eq!(compile(stmt, &MARIADB).sql, mysql, "MySQL");
}

/// The compile error's message, the same on every dialect.
fn compile_message(stmt: &impl Executable) -> String {
    let mut messages = Vec::new();
    for dialect in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MARIADB] {
        match stmt.compile(dialect) {
            Ok(c) => panic!("expected an error on {}, got {}", dialect.name(), c.sql),
            Err(Error::Compile(message)) => messages.push(message),
            Err(other) => panic!("expected a compile error, got {other:?}"),
        }
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
    messages.remove(0)
}

fn int(name: &str) -> Column {
    Column::new(name, SqlType::Integer)
}

/// users <- addresses <- orders -> users, profiles -> users, messages -> users twice,
/// lines (composite key) <- notes (composite foreign key), tags unrelated, nodes -> nodes.
struct Schema {
    // Tables look up the other side of a join in their MetaData, which they do not keep alive.
    _metadata: MetaData,
    users: Table,
    addresses: Table,
    orders: Table,
    profiles: Table,
    messages: Table,
    lines: Table,
    notes: Table,
    tags: Table,
    nodes: Table,
}

fn schema() -> Schema {
    let md = MetaData::new();
    let build = |t: retort_core::schema::TableBuilder| t.build().expect("table builds");
    let users = build(
        Table::new("users", &md)
            .column(int("id").primary_key())
            .column(Column::new("name", SqlType::string(50))),
    );
    let addresses = build(
        Table::new("addresses", &md)
            .column(int("id").primary_key())
            .column(int("user_id").foreign_key("users.id"))
            .column(Column::new("email", SqlType::string(50))),
    );
    let orders = build(
        Table::new("orders", &md)
            .column(int("id").primary_key())
            .column(int("address_id").foreign_key("addresses.id")),
    );
    let profiles = build(
        Table::new("profiles", &md)
            .column(int("id").primary_key())
            // Declared twice, on the column and as a constraint: still one path.
            .column(int("user_id").foreign_key("users.id"))
            .constraint(ForeignKeyConstraint::new(["user_id"], "users", ["id"])),
    );
    let messages = build(
        Table::new("messages", &md)
            .column(int("id").primary_key())
            .column(int("sender_id").foreign_key("users.id"))
            .column(int("recipient_id").foreign_key("users.id")),
    );
    let lines = build(
        Table::new("lines", &md)
            .column(int("order_id").primary_key())
            .column(int("line").primary_key()),
    );
    let notes = build(
        Table::new("notes", &md)
            .column(int("id").primary_key())
            .column(int("order_id"))
            .column(int("line"))
            .constraint(ForeignKeyConstraint::new(
                ["order_id", "line"],
                "lines",
                ["order_id", "line"],
            )),
    );
    let tags = build(Table::new("tags", &md).column(int("id").primary_key()));
    let nodes = build(
        Table::new("nodes", &md)
            .column(int("id").primary_key())
            .column(int("parent_id").foreign_key("nodes.id")),
    );
    Schema {
        _metadata: md,
        users,
        addresses,
        orders,
        profiles,
        messages,
        lines,
        notes,
        tags,
        nodes,
    }
}

#[test]
fn one_to_many_and_many_to_one_either_way_round() {
    let s = schema();
    // The referring table on the right...
    let q = select((s.users.c("name"), s.addresses.c("email"))).join_table(&s.addresses);
    check(
        &q,
        r#"SELECT "users"."name", "addresses"."email" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        r#"SELECT "users"."name", "addresses"."email" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        "SELECT `users`.`name`, `addresses`.`email` FROM `users` JOIN `addresses` ON `users`.`id` = `addresses`.`user_id`",
    );
    // ...or on the left: the referred column still comes first.
    let q = select(s.addresses.c("email"))
        .select_from(&s.addresses)
        .join_table(&s.users);
    check(
        &q,
        r#"SELECT "addresses"."email" FROM "addresses" JOIN "users" ON "users"."id" = "addresses"."user_id""#,
        r#"SELECT "addresses"."email" FROM "addresses" JOIN "users" ON "users"."id" = "addresses"."user_id""#,
        "SELECT `addresses`.`email` FROM `addresses` JOIN `users` ON `users`.`id` = `addresses`.`user_id`",
    );
    // The condition on its own.
    assert_eq!(
        join_condition(&s.addresses, &s.users).unwrap(),
        s.users.c("id").eq(s.addresses.c("user_id"))
    );
}

#[test]
fn outer_joins_and_aliases() {
    let s = schema();
    let a = s.addresses.alias("a");
    let q = select((s.users.c("name"), a.c("email"))).outerjoin_table(&a);
    check(
        &q,
        r#"SELECT "users"."name", "a"."email" FROM "users" LEFT OUTER JOIN "addresses" AS "a" ON "users"."id" = "a"."user_id""#,
        r#"SELECT "users"."name", "a"."email" FROM "users" LEFT OUTER JOIN "addresses" AS "a" ON "users"."id" = "a"."user_id""#,
        "SELECT `users`.`name`, `a`.`email` FROM `users` LEFT OUTER JOIN `addresses` AS `a` ON `users`.`id` = `a`.`user_id`",
    );
    // An aliased left side (given by from()) is qualified by its alias.
    let u = s.users.alias("u");
    let q = select(u.c("name")).from(&u).join_table(&s.profiles);
    check(
        &q,
        r#"SELECT "u"."name" FROM "users" AS "u" JOIN "profiles" ON "u"."id" = "profiles"."user_id""#,
        r#"SELECT "u"."name" FROM "users" AS "u" JOIN "profiles" ON "u"."id" = "profiles"."user_id""#,
        "SELECT `u`.`name` FROM `users` AS `u` JOIN `profiles` ON `u`.`id` = `profiles`.`user_id`",
    );
}

#[test]
fn a_chain_joins_to_the_right_most_table_first_then_to_any() {
    let s = schema();
    // orders refers to addresses, the right-most table of the join so far.
    let q = select(s.users.c("name"))
        .join_table(&s.addresses)
        .join_table(&s.orders);
    check(
        &q,
        r#"SELECT "users"."name" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id" JOIN "orders" ON "addresses"."id" = "orders"."address_id""#,
        r#"SELECT "users"."name" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id" JOIN "orders" ON "addresses"."id" = "orders"."address_id""#,
        "SELECT `users`.`name` FROM `users` JOIN `addresses` ON `users`.`id` = `addresses`.`user_id` JOIN `orders` ON `addresses`.`id` = `orders`.`address_id`",
    );
    // profiles refers to users only, further left in the join.
    let q = select(s.users.c("name"))
        .join_table(&s.addresses)
        .outerjoin_table(&s.profiles);
    check(
        &q,
        r#"SELECT "users"."name" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id" LEFT OUTER JOIN "profiles" ON "users"."id" = "profiles"."user_id""#,
        r#"SELECT "users"."name" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id" LEFT OUTER JOIN "profiles" ON "users"."id" = "profiles"."user_id""#,
        "SELECT `users`.`name` FROM `users` JOIN `addresses` ON `users`.`id` = `addresses`.`user_id` LEFT OUTER JOIN `profiles` ON `users`.`id` = `profiles`.`user_id`",
    );
    // Inferred and explicit joins mix.
    let q = select(s.users.c("name"))
        .join(&s.tags, s.tags.c("id").eq(s.users.c("id")))
        .join_table(&s.addresses);
    check(
        &q,
        r#"SELECT "users"."name" FROM "users" JOIN "tags" ON "tags"."id" = "users"."id" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        r#"SELECT "users"."name" FROM "users" JOIN "tags" ON "tags"."id" = "users"."id" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#,
        "SELECT `users`.`name` FROM `users` JOIN `tags` ON `tags`.`id` = `users`.`id` JOIN `addresses` ON `users`.`id` = `addresses`.`user_id`",
    );
}

#[test]
fn a_composite_foreign_key_joins_on_all_its_columns() {
    let s = schema();
    let q = select(s.notes.c("id")).join_table(&s.lines);
    check(
        &q,
        r#"SELECT "notes"."id" FROM "notes" JOIN "lines" ON "lines"."order_id" = "notes"."order_id" AND "lines"."line" = "notes"."line""#,
        r#"SELECT "notes"."id" FROM "notes" JOIN "lines" ON "lines"."order_id" = "notes"."order_id" AND "lines"."line" = "notes"."line""#,
        "SELECT `notes`.`id` FROM `notes` JOIN `lines` ON `lines`.`order_id` = `notes`.`order_id` AND `lines`.`line` = `notes`.`line`",
    );
}

#[test]
fn no_foreign_key_is_an_error_naming_both_tables() {
    let s = schema();
    let q = select(s.users.c("name")).join_table(&s.tags);
    let message = compile_message(&q);
    assert!(
        message.contains("can't find any foreign key between 'users' and 'tags'"),
        "{message}"
    );
    // The same from the function, as an argument error.
    match join_condition(&s.tags, &s.users) {
        Err(Error::Argument(message)) => {
            assert!(message.contains("'tags' and 'users'"), "{message}")
        }
        other => panic!("expected an argument error, got {other:?}"),
    }
    // A join on the left names every table it was searched for.
    let q = select(s.users.c("name"))
        .join_table(&s.addresses)
        .join_table(&s.tags);
    let message = compile_message(&q);
    assert!(
        message.contains("between 'users', 'addresses' and 'tags'"),
        "{message}"
    );
}

#[test]
fn two_foreign_keys_are_an_error_naming_both_tables_and_the_keys() {
    let s = schema();
    let q = select(s.users.c("name")).join_table(&s.messages);
    let message = compile_message(&q);
    assert!(
        message.contains("can't determine the join between 'users' and 'messages'"),
        "{message}"
    );
    assert!(
        message.contains("messages.sender_id -> users.id; messages.recipient_id -> users.id"),
        "{message}"
    );
    // An explicit ON clause is the way out.
    let q =
        select(s.users.c("name")).join(&s.messages, s.users.c("id").eq(s.messages.c("sender_id")));
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."name" FROM "users" JOIN "messages" ON "users"."id" = "messages"."sender_id""#
    );
    // A table joined to an alias of itself is related both ways round.
    let parent = s.nodes.alias("parent");
    let q = select(s.nodes.c("id")).join_table(&parent);
    let message = compile_message(&q);
    assert!(
        message.contains("between 'nodes' and 'parent'")
            && message.contains("parent.parent_id -> nodes.id; nodes.parent_id -> parent.id"),
        "{message}"
    );
}

#[test]
fn a_left_side_that_cannot_be_known_is_an_error() {
    let s = schema();
    // Nothing to join from.
    let q = select(func::count_star()).join_table(&s.users);
    assert!(compile_message(&q).contains("no table to join from"));
    // A subquery's foreign keys are unknown.
    let sub = select(s.users.c("id")).subquery("u");
    let q = select(sub.c("id")).from(&sub).join_table(&s.addresses);
    let message = compile_message(&q);
    assert!(
        message.contains("from a subquery") && message.contains("'addresses'"),
        "{message}"
    );
    // A table of another MetaData (or a bare table clause of a name it lacks).
    let other = MetaData::new();
    let stray = Table::new("stray", &other)
        .column(int("id").primary_key())
        .column(int("user_id").foreign_key("users.id"))
        .build()
        .unwrap();
    let q = select(table("elsewhere").c("id")).join_table(&stray);
    let message = compile_message(&q);
    assert!(
        message.contains("between 'elsewhere' and 'stray'"),
        "{message}"
    );
    // A MetaData dropped while its tables live on can no longer be searched.
    let orphan = {
        let gone = MetaData::new();
        Table::new("orphans", &gone)
            .column(int("id").primary_key())
            .column(int("user_id").foreign_key("users.id"))
            .build()
            .unwrap()
    };
    let message = compile_message(&select(table("users").c("id")).join_table(&orphan));
    assert!(
        message.contains("between 'users' and 'orphans'") && message.contains("no longer exists"),
        "{message}"
    );
    // A lightweight table clause whose name the MetaData knows is looked up there.
    let q = select(table("users").c("name")).join_table(&s.addresses);
    assert_eq!(
        compile(&q, &SqliteDialect).sql,
        r#"SELECT "users"."name" FROM "users" JOIN "addresses" ON "users"."id" = "addresses"."user_id""#
    );
}
