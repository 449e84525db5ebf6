//! # retort
//!
//! A SQL toolkit and object-relational mapper for Rust, in the spirit of Python's SQLAlchemy:
//!
//! - [`core`]: the engine and connection pool, schema objects and DDL, and an expression
//!   language compiled for SQLite, PostgreSQL and MySQL/MariaDB — SQLAlchemy Core.
//! - [`orm`]: models declared with `#[derive(Model)]`, and a [`Session`](orm::Session) with an
//!   identity map, automatic dirty tracking and a unit of work — SQLAlchemy's ORM.
//!
//! `use retort::prelude::*;` brings in what a program needs:
//!
//! ```
//! use retort::prelude::*;
//!
//! #[derive(Model, Debug, Default)]
//! #[retort(table = "users")]
//! pub struct User {
//!     #[retort(primary_key)]
//!     pub id: Option<i64>,
//!     pub name: Option<String>,
//!     pub age: Option<i32>,
//! }
//!
//! # fn main() -> retort::Result<()> {
//! let engine = create_engine("sqlite://")?;
//! Base::metadata()?.create_all(&engine)?;
//! let session = Session::new(&engine);
//!
//! let alice = session.add(User { name: Some("Alice".into()), age: Some(25), ..Default::default() });
//! session.commit()?;
//! assert!(alice.read()?.id.is_some());
//!
//! let adults = session.query::<User>().filter(User::age.ge(20)).all()?;
//! assert_eq!(adults.len(), 1);
//! assert!(adults[0].ptr_eq(&alice)); // one row, one object
//! # Ok(()) }
//! ```

//! # Choosing backends and types
//!
//! Each database's driver is a cargo feature; the dialects (SQL, DDL, reflection queries)
//! are always compiled, so `--sql` migration scripts and [`core::sql`] statements render for
//! any database. A URL whose backend is left out fails in [`create_engine`] with
//! [`Error::BackendNotCompiled`], which names the feature.
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `sqlite` | yes | the SQLite driver (`rusqlite`, with SQLite compiled in: no server, no system library) |
//! | `postgres` | no | the PostgreSQL driver (`postgres`) |
//! | `mysql` | no | the MySQL / MariaDB driver (`mysql`) |
//! | `chrono` | yes | date and time columns; re-exported as [`retort::chrono`](crate::chrono) |
//! | `uuid` | yes | UUID columns; re-exported as [`retort::uuid`](crate::uuid) |
//! | `json` | yes | JSON columns; re-exported as [`retort::serde_json`](crate::serde_json) |
//! | `decimal` | yes | exact decimals; re-exported as [`retort::rust_decimal`](crate::rust_decimal) |
//!
//! ```toml
//! # In [dependencies], one of:
//! retort = { version = "0.1", features = ["postgres"] }   # SQLite and PostgreSQL
//! retort = { version = "0.1", default-features = false, features = ["mysql", "chrono"] }
//! ```
//!
//! Use the re-exported type crates rather than depending on them yourself, and the versions
//! always agree:
//!
//! ```
//! use retort::chrono::NaiveDate;
//! use retort::prelude::*;
//!
//! #[derive(Model, Debug, Default)]
//! #[retort(table = "events")]
//! pub struct Event {
//!     #[retort(primary_key)]
//!     pub id: Option<i64>,
//!     pub day: Option<NaiveDate>,
//! }
//! # let _ = Event::day;
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub use retort_core as core;
pub use retort_orm as orm;

pub mod testing;

/// Runs a test function on a fresh database on each backend it names:
/// `#[retort::test(sqlite, postgres, mysql)] fn name(db: TestDatabase)` becomes the tests
/// `name::sqlite`, `name::postgres` and `name::mysql`. See [`testing`] for its options, the
/// servers it uses and when it skips.
pub use retort_macros::test;

/// Maps a struct to a table: `#[derive(Model)]` implements [`orm::Model`], registers the model
/// with [`orm::Base`], and adds a typed column attribute per field (`User::age`).
///
/// A field's Rust type gives its column type ([`core::types::SqlTyped`]) and nullability:
/// `Option<T>` may be NULL, `T` may not (a primary key is never NULL; `Option` there means
/// "not assigned yet"). Attributes:
///
/// | on | attribute | meaning |
/// |---|---|---|
/// | struct | `table = "users"` | the table's name (default: the struct's name in snake_case) |
/// | struct | `crate = "path"` | where retort is, when it is not `::retort` |
/// | struct | `const_suffix = "_col"` | appended to the name of every field's constant: `User::name_col` (see below) |
/// | field | `primary_key` | part of the primary key (several fields make a composite key) |
/// | field | `column = "name"` | the column's name (default: the field's) |
/// | field | `const_name = "name_col"` | the name of the field's constant (default: the field's), for a column or a relationship |
/// | field | `sql_type = Text`, `sql_type = numeric(10, 2)` | a [`core::types::SqlType`] variant or constructor |
/// | field | `length = 50` | `VARCHAR(50)` |
/// | field | `nullable`, `not_null` | override the nullability the type gives |
/// | field | `default = expr` | a client-side default, sent when the value is NULL |
/// | field | `server_default = "CURRENT_TIMESTAMP"` | the column's DDL default, as SQL |
/// | field | `unique`, `index` | a unique constraint, an index |
/// | field | `foreign_key = "users.id"`, `on_delete = "cascade"`, `on_update = "..."` | a foreign key |
/// | field | `autoincrement = false` | opt a single integer key out of database generation |
/// | field | `version` | the optimistic-locking counter, checked and bumped by every UPDATE |
/// | field | `skip` | not a column; takes its `Default` when loaded |
/// | field | `relationship(..)` on a `Many<T>` or `One<T>` field | a relationship to model `T` (options below) |
///
/// Relationship options, SQLAlchemy's `relationship()` arguments (a misspelled one is a
/// compile error):
///
/// | option | meaning |
/// |---|---|
/// | `back_populates = "field"` | the relationship on `T` that mirrors this one; both sides follow each change in memory |
/// | `order_by = "col"`, `"col desc, other"` | the order of a collection, by columns of `T` |
/// | `secondary = "table"` | the association table of a many-to-many, declared with [`orm::association_table!`] |
/// | `foreign_keys = "col"` | the foreign key column to join on where two paths exist (two keys to one table) |
/// | `lazy = "select"` | how it loads when no option says: `select` (on access, the default), `joined`, `selectin`, `raise`, `noload` |
/// | `cascade = "all, delete-orphan"` | `save-update` and `merge` (the default), `delete`, `delete-orphan`, `all` |
/// | `passive_deletes` | leave related rows of a deleted parent to the database's `ON DELETE` |
/// | `viewonly` | for loading only; changes to it are not flushed |
///
/// The derive also adds a typed relationship attribute per relationship field (`User::addresses`,
/// a [`orm::Rel`]) for loader options, joins and filters.
///
/// These attributes are associated constants of the struct, named after their fields, so they
/// share a namespace with its methods and constants. A method or constant of your own with a
/// field's name — a getter `fn name(&self)`, say — makes rustc report E0592, "duplicate
/// definitions with name \`name\`", pointing at the field and at your item. Rename the
/// constant: `const_name = "name_col"` on the field gives `User::name_col`, and
/// `const_suffix = "_col"` on the struct renames every constant at once (a field's
/// `const_name` still wins). Only the constant changes: the field, its column, and the names
/// that `filter_by` and `back_populates` take stay the field's. Rename it too for a field named
/// after a method of [`orm::Model`] such as `select`, which the constant would hide
/// (`User::select()` would no longer compile).
///
/// A value read from the database that the field's type cannot hold (a NULL for a
/// non-`Option` field, text where an integer is expected, an integer beyond `i32`) is an
/// [`Error::Conversion`] that names the model and field: `conversion error: User.age: ...`.
///
/// ```
/// use retort::prelude::*;
///
/// #[derive(Model, Debug, Default)]
/// #[retort(table = "accounts")]
/// pub struct Account {
///     #[retort(primary_key)]
///     pub id: Option<i64>,
///     #[retort(length = 320, unique)]
///     pub email: String,
///     #[retort(sql_type = numeric(12, 2), default = 0.0)]
///     pub balance: Option<f64>,
///     #[retort(version)]
///     pub version: i64,
///     #[retort(skip)]
///     pub cached_note: Option<String>,
/// }
///
/// let mapper = <Account as retort::orm::Model>::mapper();
/// assert_eq!(mapper.table_name(), "accounts");
/// assert_eq!(mapper.columns().len(), 4);
/// assert!(!mapper.columns()[1].nullable);
/// assert_eq!(Account::email.name(), "email");
/// ```
///
/// With getters of the same names as the fields:
///
/// ```
/// use retort::prelude::*;
///
/// #[derive(Model, Debug, Default)]
/// #[retort(table = "users", const_suffix = "_col")]
/// pub struct User {
///     #[retort(primary_key)]
///     id: Option<i64>,
///     #[retort(const_name = "display_name")]
///     name: String,
/// }
///
/// impl User {
///     pub fn id(&self) -> Option<i64> { self.id }
///     pub fn name(&self) -> &str { &self.name }
/// }
///
/// # fn main() -> retort::Result<()> {
/// let engine = create_engine("sqlite://")?;
/// Base::metadata()?.create_all(&engine)?;
/// let session = Session::new(&engine);
/// session.add(User { name: "Ann".into(), ..Default::default() });
/// let found = session.query::<User>().filter(User::display_name.eq("Ann")).all()?;
/// assert_eq!(found[0].read()?.name(), "Ann");
/// assert_eq!(User::display_name.name(), "name"); // the column keeps the field's name
/// # Ok(()) }
/// ```
pub use retort_macros::Model;

#[cfg(feature = "chrono")]
pub use retort_core::chrono;
#[cfg(feature = "decimal")]
pub use retort_core::rust_decimal;
#[cfg(feature = "json")]
pub use retort_core::serde_json;
#[cfg(feature = "uuid")]
pub use retort_core::uuid;

pub use retort_core::{
    create_engine, create_engine_with, Connection, CursorResult, DatabaseError, Engine,
    EngineOptions, Error, ErrorKind, Result, Row, RowReader, Transaction, Value,
};

/// Everything a program using retort usually needs, for a glob import.
pub mod prelude {
    pub use retort_core::schema::{
        CheckConstraint, Column, ForeignKey, ForeignKeyConstraint, Index, MetaData,
        ReferentialAction, ServerDefault, Table, UniqueConstraint,
    };
    pub use retort_core::sql::prelude::*;
    pub use retort_core::types::{SqlType, SqlTyped};
    pub use retort_core::value::{FromValue, ToValue, Value};
    pub use retort_core::{
        create_engine, create_engine_with, Connection, CursorResult, Engine, EngineOptions, Error,
        ErrorKind, Result, Row, RowReader,
    };
    pub use retort_macros::Model;
    pub use retort_orm::{
        association_table, contains_eager, joinedload, lazyload, noload, raiseload, selectinload,
        sessionmaker, Base, Many, Model, Obj, ObjectState, One, Registry, Session, SessionMaker,
    };
}
