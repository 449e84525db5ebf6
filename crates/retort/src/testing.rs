//! A fresh database for each of your tests, with your models' tables, on the backends you name —
//! and gone when the test ends. Like `#[sqlx::test]`.
//!
//! `#[retort::test]` turns a function taking a [`TestDatabase`] into one `#[test]` per backend,
//! in a module named after the function: `cargo test place_order` runs them all,
//! `cargo test place_order::postgres` one of them.
//!
//! ```no_run
//! use retort::prelude::*;
//! use retort::testing::TestDatabase;
//!
//! #[derive(Model, Debug, Default)]
//! #[retort(table = "orders")]
//! pub struct Order {
//!     #[retort(primary_key)]
//!     pub id: Option<i64>,
//!     pub item: String,
//! }
//!
//! // Tests `place_order::sqlite`, `place_order::postgres` and `place_order::mysql`.
//! #[retort::test(sqlite, postgres, mysql)]
//! fn place_order(db: TestDatabase) -> retort::Result<()> {
//!     let session = Session::new(db.engine());
//!     session.add(Order { item: "tea".into(), ..Default::default() });
//!     session.commit()?;
//!     assert_eq!(session.query::<Order>().count()?, 1); // nobody else's orders here
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! The arguments:
//!
//! | argument | meaning |
//! |---|---|
//! | `sqlite`, `postgres`, `mysql` | the backends to run on, one `#[test]` each (MySQL and MariaDB are `mysql`); none named: SQLite only |
//! | `tables = false` | start with an empty database |
//! | `metadata = path::to::fn` | create the tables of the `MetaData` that `fn() -> retort::Result<MetaData>` returns, instead of every model's |
//!
//! By default the database starts with a table for every model registered with
//! [`Base`](crate::orm::Base) in the test binary: [`Base::metadata()`](crate::orm::Base::metadata)
//! created with `create_all`. The function returns `()` or `Result<(), E>` with `E: Display`; an
//! `Err` fails the test with its message and the backend's name. It must be a plain `fn` with one
//! argument: an `async` or generic function, an unknown backend or a second argument is a compile
//! error.
//!
//! What each backend makes, and removes when the [`TestDatabase`] is dropped (also when the test
//! panics): SQLite, a file in the temporary directory; PostgreSQL, a schema, set as the
//! connections' `search_path`; MySQL/MariaDB, a database. Each has a name no other test uses, so
//! tests run in parallel without seeing each other's rows. A removal that fails is reported on
//! stderr, never as a panic.
//!
//! The servers, and what happens when one cannot be reached:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `RETORT_POSTGRES_URL` | the PostgreSQL server to make test schemas on | `postgresql://postgres@127.0.0.1:5432/test` |
//! | `RETORT_MYSQL_URL` | the MySQL/MariaDB server to make test databases on | `mysql://root@127.0.0.1:3306/test` |
//! | `RETORT_REQUIRE_ALL_BACKENDS` | `1`: a backend that cannot be reached fails its tests | unset: they are skipped |
//!
//! A skipped test passes, after a line on stderr that names it, the backend and the reason (it is
//! written past the harness's output capture, so a plain `cargo test` shows it). A backend left
//! out of the build (its cargo feature off) cannot be reached either, and says so. Set
//! `RETORT_REQUIRE_ALL_BACKENDS=1` in CI, where the servers are meant to be up.
//!
//! Without the attribute — in a test of your own shape, or to hold two databases at once — the
//! same fixture is a function call:
//!
//! ```
//! use retort::prelude::*;
//! use retort::testing::{Backend, TestDatabase};
//!
//! #[derive(Model, Debug, Default)]
//! #[retort(table = "orders")]
//! pub struct Order {
//!     #[retort(primary_key)]
//!     pub id: Option<i64>,
//!     pub item: String,
//! }
//!
//! # fn main() -> retort::Result<()> {
//! let db = TestDatabase::create(Backend::Sqlite)?.with_tables(&Base::metadata()?)?;
//! let session = Session::new(db.engine());
//! session.add(Order { item: "tea".into(), ..Default::default() });
//! session.commit()?;
//! assert_eq!(session.query::<Order>().count()?, 1);
//!
//! let other = TestDatabase::create(Backend::Sqlite)?.with_tables(&Base::metadata()?)?;
//! assert_eq!(Session::new(other.engine()).query::<Order>().count()?, 0);
//! # Ok(()) }
//! ```
//!
//! [`TestDatabase::create_or_skip`] follows the skip policy above; [`run`] is what each
//! generated `#[test]` calls.

pub use retort_core::testing::*;
