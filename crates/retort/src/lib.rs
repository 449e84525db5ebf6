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

#![warn(missing_docs)]

pub use retort_core as core;
pub use retort_orm as orm;

/// Maps a struct to a table; see [`orm::Model`].
pub use retort_macros::Model;

pub use retort_core::{
    create_engine, create_engine_with, Connection, CursorResult, DatabaseError, Engine,
    EngineOptions, Error, ErrorKind, Result, Row, Transaction, Value,
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
        ErrorKind, Result, Row,
    };
    pub use retort_macros::Model;
    pub use retort_orm::{
        sessionmaker, Base, Model, Obj, ObjectState, Registry, Session, SessionMaker,
    };
}
