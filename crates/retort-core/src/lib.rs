//! retort's Core: the engine and pool, schema objects and DDL, the SQL expression language
//! compiled per dialect, and one error type, in the spirit of SQLAlchemy Core.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod dialect;
pub mod engine;
pub mod error;
pub mod schema;
pub mod sql;
pub mod testing;
pub mod types;
pub mod value;

pub use engine::connection::{Connection, RowStream, Savepoint, Transaction};
pub use engine::result::{CursorResult, FromRow, Row, RowIndex};
pub use engine::url::Url;
pub use engine::{
    create_engine, create_engine_with, Engine, EngineBuilder, EngineOptions, Inspector,
    IsolationLevel,
};
pub use error::{DatabaseError, Error, ErrorKind, MigrationError, Result};
pub use value::Value;
