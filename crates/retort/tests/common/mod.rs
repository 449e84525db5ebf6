//! Shared helpers and models for the ORM tests: statement capture, a separate connection to
//! check what the database holds, and the models the suites map.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use retort::core::schema::Table;
use retort::prelude::*;
use retort_testkit::TestDb;

/// One statement sent: its SQL and parameters.
pub type Sent = (String, Vec<Value>);

/// Every statement an engine sends, in order, as SQL text.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<Sent>>>);

impl Capture {
    /// Starts recording `engine`'s statements.
    pub fn install(engine: &Engine) -> Capture {
        let capture = Capture::default();
        let log = capture.clone();
        engine.on_execute(move |sql, params| {
            log.0
                .lock()
                .unwrap()
                .push((sql.to_owned(), params.to_vec()))
        });
        capture
    }

    /// The statements recorded since the last `take` or `clear`, and forgets them.
    pub fn take(&self) -> Vec<String> {
        self.take_with_params()
            .into_iter()
            .map(|(s, _)| s)
            .collect()
    }

    /// Like `take`, with each statement's parameters.
    pub fn take_with_params(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Forgets what was recorded so far.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// How many statements of `kind` (`"INSERT"`, `"SELECT"`, ...) were recorded, without
    /// forgetting them.
    pub fn count(&self, kind: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| kind_of(s) == kind)
            .count()
    }
}

/// The first keyword of a statement.
pub fn kind_of(sql: &str) -> &str {
    sql.split_whitespace().next().unwrap_or("")
}

/// The first keyword of each statement.
pub fn kinds(statements: &[String]) -> Vec<&str> {
    statements.iter().map(|s| kind_of(s)).collect()
}

/// SQL written once, SQLite style (`"ident"` and `?`), in `db`'s form: backquoted identifiers
/// on MySQL, `$n` placeholders on PostgreSQL.
pub fn dialect_sql(db: &TestDb, sql: &str) -> String {
    let quoted = if db.name() == "mysql" {
        sql.replace('"', "`")
    } else {
        sql.to_owned()
    };
    db.sql(&quoted)
}

/// Creates the tables of the given models (and only those) in `db`.
pub fn create_tables(db: &TestDb, models: &[fn(&Registry) -> Result<Table>]) -> Registry {
    let registry = Registry::new();
    for register in models {
        register(&registry).unwrap();
    }
    registry.metadata().create_all(db.engine()).unwrap();
    registry
}

/// A second engine on the test database, whose statements the capture does not see, for
/// checking what the database holds.
pub struct Checker {
    engine: Engine,
    db_name: &'static str,
}

impl Checker {
    pub fn new(db: &TestDb) -> Checker {
        Checker {
            engine: db.builder().build().unwrap(),
            db_name: db.name(),
        }
    }

    /// The rows of `sql` (written with `?` placeholders), as values.
    pub fn rows(&self, db: &TestDb, sql: &str, params: &[Value]) -> Vec<Vec<Value>> {
        let mut conn = self.engine.connect().unwrap();
        conn.exec_driver_sql(&db.sql(sql), params)
            .unwrap()
            .into_rows()
            .into_iter()
            .map(|r| r.into_values())
            .collect()
    }

    /// A single integer: `SELECT count(*) ...`.
    pub fn count(&self, db: &TestDb, sql: &str) -> i64 {
        let mut conn = self.engine.connect().unwrap();
        conn.exec_driver_sql(&db.sql(sql), &[])
            .unwrap()
            .scalar()
            .unwrap()
    }

    /// Runs a statement that changes the database, committed at once.
    pub fn exec(&self, db: &TestDb, sql: &str, params: &[Value]) -> u64 {
        let mut conn = self.engine.connect().unwrap();
        conn.exec_driver_sql(&db.sql(sql), params)
            .unwrap()
            .rowcount()
    }

    pub fn backend(&self) -> &'static str {
        self.db_name
    }
}

/// `Value::Text` shorthand.
pub fn txt(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 50)]
    pub name: Option<String>,
    pub age: Option<i32>,
}

impl User {
    pub fn named(name: &str, age: i32) -> User {
        User {
            id: None,
            name: Some(name.to_owned()),
            age: Some(age),
        }
    }
}

#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "addresses")]
pub struct Address {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 100)]
    pub email: Option<String>,
    #[retort(foreign_key = "users.id")]
    pub user_id: Option<i64>,
}

/// A model whose key the application assigns, with a NOT NULL and a UNIQUE column.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "items")]
pub struct Item {
    #[retort(primary_key, autoincrement = false)]
    pub id: i64,
    #[retort(not_null, length = 50)]
    pub name: Option<String>,
    #[retort(unique, length = 50)]
    pub code: Option<String>,
}

/// Optimistic locking: `version` is checked and bumped by every UPDATE.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "documents")]
pub struct Document {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 100)]
    pub title: Option<String>,
    #[retort(version)]
    pub version: i64,
}

/// A composite primary key.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "memberships")]
pub struct Membership {
    #[retort(primary_key)]
    pub group_id: i64,
    #[retort(primary_key, length = 30)]
    pub member: String,
    #[retort(length = 30)]
    pub role: Option<String>,
}

/// Columns the database fills in.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "tickets")]
pub struct Ticket {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 100)]
    pub title: Option<String>,
    #[retort(length = 20, server_default = "'open'")]
    pub status: Option<String>,
    #[retort(server_default = "3")]
    pub priority: Option<i32>,
}

/// Every column but the key has a server default, so an INSERT may send no column at all.
#[derive(Model, Debug, Default, Clone, PartialEq)]
#[retort(table = "counters")]
pub struct Counter {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(server_default = "0")]
    pub hits: Option<i32>,
}

/// Whether the database returns generated values from a multi-row INSERT (RETURNING).
pub fn insert_returning(db: &TestDb) -> bool {
    db.engine().dialect().capabilities().insert_returning
}

/// Whether the flush inserts new rows whose only generated column is an integer key one at a
/// time, each taking the key the driver reports: on SQLite, where such a key is the table's
/// rowid (`INTEGER PRIMARY KEY`, as `create_all` declares it) and a multi-row
/// `INSERT ... RETURNING` costs more than the rows, and where there is no RETURNING.
/// Elsewhere they go in multi-row `INSERT ... RETURNING`.
pub fn inserts_one_by_one(db: &TestDb) -> bool {
    db.name() == "sqlite" || !insert_returning(db)
}

/// `SELECT` of every `users` column by primary key, as the session's `get` sends it.
pub const SELECT_USER_BY_ID: &str =
    r#"SELECT "users"."id", "users"."name", "users"."age" FROM "users" WHERE "users"."id" = ?"#;

/// Inserts users `(name, age)` through the checker and returns nothing; ids are 1, 2, ...
pub fn seed_users(db: &TestDb, checker: &Checker, users: &[(&str, i32)]) {
    for (name, age) in users {
        checker.exec(
            db,
            "INSERT INTO users (name, age) VALUES (?, ?)",
            &[txt(name), Value::Int(i64::from(*age))],
        );
    }
}
